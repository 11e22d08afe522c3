"""Compound board versions: every transaction that changes what a board shows moves the version of
the compounds concerned, in the same transaction, so a page part cached under an older version is
never served again (board/cached_parts.py).

Models carrying a compound (posts, replies, cases, proposals) or a post (likes, photos, 我也遇到) are
registered with ``track``; a resident's name, address, party badge, verification and household show
on their compound's board. Statements that bypass the ORM (counters) call ``touch`` or ``touch_posts``.

The version moves once per transaction, as its last statement before COMMIT, compounds in id order:
every board write takes its row locks in one order (its posts, options … first, the compound last),
so concurrent writes queue on PostgreSQL instead of deadlocking. A verb that changes a compound's
own counters (post_count, solved_count) does so as its last update, for the same reason.

A compound's, street's or department's name shows on board pages too: the district admin's rename
(compounds/services.py) calls ``bump`` for the compounds whose pages show it.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..compounds.models import Compound
from .models import Like, MeToo, Photo, Post, Reply

_BY_COMPOUND: set[type] = set()
_BY_POST: set[type] = set()
# Shown with what residents write, or deciding what the post page offers them (我也遇到 per household).
_RESIDENT_FIELDS = ("real_name", "salutation", "building", "party_badge", "resident_status", "household_id")


def track(*models: type, via: str = "compound") -> None:
    """Changes to these models move their compound's version (``via`` its compound_id or post_id)."""
    (_BY_POST if via == "post" else _BY_COMPOUND).update(models)


track(Post, Reply)
track(Like, Photo, MeToo, via="post")


_COMPOUNDS, _POSTS = "board_compounds_touched", "board_posts_touched"  # keys in session.info


def touch(session: Session, compound_ids) -> None:
    """These compounds' boards changed in this transaction: their versions move when it commits."""
    session.info.setdefault(_COMPOUNDS, set()).update(i for i in compound_ids if i is not None)


def touch_posts(session: Session, post_ids) -> None:
    """These posts changed in this transaction: their compounds' versions move when it commits."""
    session.info.setdefault(_POSTS, set()).update(i for i in post_ids if i is not None)


def _resident_changed(user: User) -> bool:
    state = sa.inspect(user)
    return any(state.attrs[name].history.has_changes() for name in _RESIDENT_FIELDS)


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context) -> None:
    compounds, posts = set(), set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        model = type(obj)
        if model in _BY_COMPOUND:
            compounds.add(obj.compound_id)
        elif model in _BY_POST:
            posts.add(obj.post_id)
        elif model is User and obj.compound_id and (obj in session.new or _resident_changed(obj)):
            compounds.add(obj.compound_id)
    touch(session, compounds)
    touch_posts(session, posts)


@event.listens_for(Session, "before_commit")
def _move_versions_last(session: Session) -> None:
    # Also called when a savepoint is released: the versions wait for the transaction's own commit.
    # (Every savepoint here is a ``with begin_nested()`` block, closed before the commit.)
    if session.in_nested_transaction():
        return
    session.flush()  # what is still pending: its changes are noted, its row locks taken first
    compounds, posts = session.info.pop(_COMPOUNDS, set()), session.info.pop(_POSTS, set())
    if not (compounds or posts):
        return
    connection = session.connection()
    if posts:
        compounds |= set(connection.scalars(sa.select(Post.compound_id).where(Post.id.in_(sorted(posts)))))
    table = Compound.__table__
    for compound_id in sorted(compounds):
        connection.execute(table.update().where(table.c.id == compound_id)
                           .values(board_version=table.c.board_version + 1))


@event.listens_for(Session, "after_transaction_end")
def _forget_changes(session: Session, transaction) -> None:
    if transaction.parent is None:  # rolled back (a commit has already taken them)
        session.info.pop(_COMPOUNDS, None)
        session.info.pop(_POSTS, None)
