"""私信居委会 reads: the section, one message, the shared inbox, a resident's own messages, the
colleagues a message can be given to. Each list costs a fixed number of queries a page."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import defer, joinedload

from ..accounts.models import User
from ..board.models import Post, Section, SectionFields
from ..board.queries import get_post_for
from ..compounds.models import Compound, StaffAssignment, StaffRole
from ..extensions import db
from ..pagination import Page, keyset_page
from ..permissions import Action, Decision, PermissionDenied
from .models import LineStatus

HANDLER_ROLES = (StaffRole.SECRETARY, StaffRole.COMMITTEE)
HANDLERS_LIMIT = 50  # a 居委会 is a handful of people


def line_section() -> Section:
    return db.session.scalar(sa.select(Section).where(Section.fields == SectionFields.PRIVATE_LINE))


def get_message_for(viewer, post_id: int, action: Action = Action.VIEW_POST, *, for_update: bool = False) -> Post:
    """A message ``viewer`` may do ``action`` on: 404 for whoever may not read it (the post's read
    rule), and for any post that is not a message to the 居委会."""
    post = get_post_for(viewer, post_id, action, for_update=for_update)
    if post.section.fields is not SectionFields.PRIVATE_LINE:
        raise PermissionDenied(Decision.NOT_FOUND)
    return post


def _messages():
    return (
        sa.select(Post)
        .where(
            Post.section_id.in_(sa.select(Section.id).where(Section.fields == SectionFields.PRIVATE_LINE)),
            Post.deleted_at.is_(None),
        )
        .options(defer(Post.body, raiseload=True), defer(Post.body_html, raiseload=True))
    )


def inbox(compound: Compound, status: LineStatus, cursor: str | None, limit: int) -> Page[Post]:
    """The 居委会's shared inbox, one tab, oldest first; the caller checked READ_PRIVATE_LINE."""
    stmt = (
        _messages()
        .where(Post.compound_id == compound.id, status.condition)
        .options(joinedload(Post.author), joinedload(Post.line_handler))
    )
    return keyset_page(stmt, Post, cursor, limit, newest_first=False)


def written_by(resident, cursor: str | None, limit: int) -> Page[Post]:
    """A resident's own messages, newest first (the handler is not shown to them: not loaded)."""
    return keyset_page(_messages().where(Post.author_id == resident.id), Post, cursor, limit)


def handlers(compound: Compound) -> list[User]:
    """The compound's 书记 and 居委会 staff, who may handle a message; active accounts only."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(StaffAssignment, StaffAssignment.user_id == User.id)
            .where(
                StaffAssignment.compound_id == compound.id,
                StaffAssignment.role.in_(HANDLER_ROLES),
                User.active.is_(True),
            )
            .distinct()
            .order_by(User.id)
            .limit(HANDLERS_LIMIT)
        )
    )
