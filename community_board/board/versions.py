"""Compound board versions: every flush that changes what a board shows moves the version of the
compounds concerned, in the same transaction, so a page part cached under an older version is
never served again (board/cached_parts.py).

Models carrying a compound (posts, replies, cases, proposals) or a post (likes, photos, 我也遇到) are
registered with ``track``; a resident's name, address, party badge, verification and household show
on their compound's board. Statements that bypass the ORM (counters) call ``bump`` or ``bump_posts``.

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


def bump(connection, compound_ids) -> None:
    ids = sorted({i for i in compound_ids if i is not None})
    if ids:
        table = Compound.__table__
        connection.execute(table.update().where(table.c.id.in_(ids))
                           .values(board_version=table.c.board_version + 1))


def bump_posts(connection, post_ids) -> None:
    ids = sorted(set(post_ids))
    if ids:
        table = Compound.__table__
        connection.execute(table.update()
                           .where(table.c.id.in_(sa.select(Post.compound_id).where(Post.id.in_(ids))))
                           .values(board_version=table.c.board_version + 1))


def _resident_changed(user: User) -> bool:
    state = sa.inspect(user)
    return any(state.attrs[name].history.has_changes() for name in _RESIDENT_FIELDS)


@event.listens_for(Session, "after_flush")
def _move_versions(session: Session, _context) -> None:
    compounds, posts = set(), set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        model = type(obj)
        if model in _BY_COMPOUND:
            compounds.add(obj.compound_id)
        elif model in _BY_POST:
            posts.add(obj.post_id)
        elif model is User and obj.compound_id and (obj in session.new or _resident_changed(obj)):
            compounds.add(obj.compound_id)
    if compounds or posts:
        connection = session.connection()
        bump(connection, compounds)
        bump_posts(connection, posts)
