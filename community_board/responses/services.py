"""发帖必响应: which posts wait for a staff response, and what counts as one. Defined here once.

A resident's post in a board section where residents raise things (not 闲置物品, a trade between
neighbours, nor 警民直通车, whose questions the police answer from their own queue) or their message
to the 居委会 (私信居委会) waits for a response until, whichever comes first:
- a member of the compound's staff (书记, 居委会, 民警) replies to it: ``replied``;
- a case is filed on it: ``case_filed``;
- the 居委会 acts on the message: takes it, gives it to a colleague or closes it: ``acted``.
The services that do these call the functions below, which fill ``Post.first_response_at`` (and
its minutes) once. The queue, the private line's inbox tabs and the dashboard figures read only
that column, so each of them means the same thing by "responded".
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..board import visibility
from ..board.models import AuthorRole, Post, Section
from ..extensions import db
from ..timeutil import utcnow

NO_RESPONSE_SECTIONS = frozenset({"second_hand", "police"})
WITHIN_MINUTES = 4 * 60  # the 12345 工作法: an answer within four hours


def awaits_response_sql():
    """SQL: posts that call for a staff response (answered or not): residents' posts and messages
    in the sections above, in circulation (a hidden or deleted post waits for nobody)."""
    return sa.and_(
        Post.author_role == AuthorRole.RESIDENT,
        Post.section_id.in_(sa.select(Section.id).where(Section.key.not_in(NO_RESPONSE_SECTIONS))),
        visibility.in_circulation_sql(),
    )


def replied(post: Post, reply) -> None:
    """A reply was added to ``post``: a staff member's reply is a response."""
    if reply.author_role.is_official:
        _record(post, reply.created_at)


def case_filed(post: Post, case) -> None:
    _record(post, case.created_at)


def acted(post: Post) -> None:
    """The 居委会 took, gave away or closed a message to it."""
    _record(post, utcnow())


def _record(post: Post, at: datetime) -> None:
    """The first response only, whatever else happens at the same moment: an UPDATE that matches
    nothing once a response is recorded (two staff answering at once under READ COMMITTED)."""
    if post.author_role is not AuthorRole.RESIDENT or post.first_response_at is not None:
        return
    minutes = max(int((at - post.created_at).total_seconds() // 60), 0)
    db.session.execute(
        sa.update(Post)
        .where(Post.id == post.id, Post.first_response_at.is_(None))
        .values(first_response_at=at, first_response_minutes=minutes)
    )
