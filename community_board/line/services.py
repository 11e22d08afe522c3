"""私信居委会 verbs: a resident writes; the 居委会 takes a message, gives it to a colleague, closes or
reopens it. Replies are the board's (``board.services.add_reply``); ``reply_added`` follows them.
Taking, giving and closing are responses (``responses.services``)."""

from __future__ import annotations

import sqlalchemy as sa

from .. import audit
from ..board import services as board_services
from ..board.models import Post, Reply, SectionFields
from ..compounds.models import Compound, StaffAssignment
from ..errors import ValidationError
from ..extensions import db
from ..notifications.models import NotificationKind
from ..notifications.services import notify
from ..permissions import Action, require
from ..responses import services as responses
from ..timeutil import utcnow
from .queries import HANDLER_ROLES, handlers, line_section


def _tell_the_committee(compound_id: int, text: str, post: Post, but=None) -> None:
    """A message for the compound's 书记 and 居委会 staff, who alone read the line."""
    user_ids = set(
        db.session.scalars(
            sa.select(StaffAssignment.user_id)
            .where(StaffAssignment.compound_id == compound_id, StaffAssignment.role.in_(HANDLER_ROLES))
            .limit(50)
        )
    )
    for user_id in sorted(user_ids - {but}):
        notify(user_id, NotificationKind.LINE, text, post_id=post.id)


def write(resident, compound: Compound, draft: board_services.PostDraft, photos=()) -> Post:
    """A private message to the compound's 居委会; it counts on no board figure."""
    require(resident, Action.WRITE_TO_LINE, compound)
    post = board_services.create_post(resident, compound, line_section(), draft, photos)
    post.is_private = True
    _tell_the_committee(compound.id, f"居民私信：“{post.title}”", post)
    return post


def _open(post: Post) -> None:
    if post.line_closed_at is not None:
        raise ValidationError("这条私信已结束，请先重新打开")


def take(actor, post: Post) -> None:
    """A staff member handles the message themselves."""
    require(actor, Action.HANDLE_LINE, post)
    _open(post)
    if post.line_handler_id == actor.id:
        raise ValidationError("这条私信已经由您处理")
    post.line_handler_id = actor.id
    responses.acted(post)
    audit.record(actor, "line.taken", post, compound=post.compound)


def assign(actor, post: Post, handler) -> None:
    """The 书记 gives the message to a colleague (or to themselves)."""
    require(actor, Action.ASSIGN_LINE, post)
    _open(post)
    if handler is None or handler.id not in {u.id for u in handlers(post.compound)}:
        raise ValidationError("只能交给本小区居委会的工作人员", "handler")
    if post.line_handler_id == handler.id:
        raise ValidationError(f"这条私信已经由{handler.real_name}处理", "handler")
    post.line_handler_id = handler.id
    responses.acted(post)
    audit.record(actor, "line.assigned", post, compound=post.compound, note=handler.real_name)
    if handler.id != actor.id:
        notify(handler.id, NotificationKind.LINE, f"书记把居民私信“{post.title}”交给您处理", post_id=post.id)


def close(actor, post: Post) -> None:
    """处理完毕: the message leaves the open tabs; whoever closes an unassigned one handled it."""
    require(actor, Action.HANDLE_LINE, post)
    _open(post)
    post.line_closed_at = utcnow()
    if post.line_handler_id is None:
        post.line_handler_id = actor.id
    responses.acted(post)
    audit.record(actor, "line.closed", post, compound=post.compound)
    notify(post.author_id, NotificationKind.LINE, f"居委会已处理完您的私信“{post.title}”", post_id=post.id)


def reopen(actor, post: Post) -> None:
    require(actor, Action.HANDLE_LINE, post)
    if post.line_closed_at is None:
        raise ValidationError("这条私信没有结束")
    post.line_closed_at = None
    audit.record(actor, "line.reopened", post, compound=post.compound)


def reply_added(post: Post, reply: Reply) -> None:
    """Followed on every reply (board.services.follow_replies). On a message: the first staff member
    to answer handles it (首问负责) unless someone does already; the writer's reply reopens a closed
    message and reaches whoever handles it (or the whole 居委会)."""
    if post.section.fields is not SectionFields.PRIVATE_LINE:
        return
    if reply.author_role.is_official:
        if post.line_handler_id is None:
            post.line_handler_id = reply.author_id
        return
    if reply.author_id != post.author_id:
        return
    post.line_closed_at = None
    text = f"居民在私信“{post.title}”中补充：{reply.body[:40]}"
    if post.line_handler_id is not None:
        notify(post.line_handler_id, NotificationKind.LINE, text, post_id=post.id)
    else:
        _tell_the_committee(post.compound_id, text, post)
