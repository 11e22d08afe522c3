"""Board verbs: post, edit, delete, reply, like, report, statuses and moderation.

Each verb asks ``require`` first, then mutates, writes counters atomically and flushes;
the view commits once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..compounds.models import Compound, StaffRole
from ..errors import ValidationError
from ..extensions import db
from ..notifications.models import NotificationKind
from ..notifications.services import notify
from ..permissions import Action, can, require
from ..persistence import insert_unique
from ..responses import services as responses
from ..security import render_markdown, render_plain_text
from ..timeutil import utcnow
from .models import (
    AidKind,
    AidStatus,
    AuthorRole,
    ItemCondition,
    Like,
    MeToo,
    Photo,
    Post,
    Reply,
    Report,
    ReportReason,
    ReportStatus,
    Section,
    SectionFields,
    TradeStatus,
)
from .photos import StoredPhoto
from .rules import SectionBoard

EXCERPT_LENGTH = 80
PRICE_PATTERN = re.compile(r"^(\d+)(?:\.(\d{1,2}))?$")

# 闲置物品: which status may follow which (a reservation can fall through).
TRADE_TRANSITIONS = {
    TradeStatus.AVAILABLE: {TradeStatus.RESERVED, TradeStatus.GONE},
    TradeStatus.RESERVED: {TradeStatus.AVAILABLE, TradeStatus.GONE},
    TradeStatus.GONE: set(),
}


@dataclass
class PostDraft:
    title: str
    body: str
    price_yuan: str | None = None
    is_free: bool = False
    condition: str | None = None
    aid_kind: str | None = None
    topic: str | None = None
    shared_with_street: bool = False


def author_role_in(user, compound: Compound) -> AuthorRole:
    roles = {a.role for a in user.assignments if a.compound_id == compound.id}
    if StaffRole.SECRETARY in roles:
        return AuthorRole.SECRETARY
    if StaffRole.POLICE in roles:
        return AuthorRole.POLICE
    if roles & {StaffRole.COMMITTEE, StaffRole.GRID_WORKER}:
        return AuthorRole.STAFF
    return AuthorRole.RESIDENT


def _excerpt(body: str) -> str:
    flat = " ".join(line.strip() for line in body.splitlines() if line.strip())
    return flat if len(flat) <= EXCERPT_LENGTH else flat[: EXCERPT_LENGTH - 1] + "…"


def _set_text(post: Post, section: Section, title: str, body: str) -> None:
    title, body = title.strip(), body.strip()
    if not title:
        raise ValidationError("请填写标题", "title")
    if not body:
        raise ValidationError("请填写内容", "body")
    post.title, post.body = title, body
    # Rendered and cleaned once, here; 办事指南 articles may use a little Markdown.
    post.body_html = render_markdown(body) if section.fields is SectionFields.GUIDE else render_plain_text(body)
    post.excerpt = _excerpt(body.replace("#", "").replace("*", ""))


def _parse_price(draft: PostDraft) -> int | None:
    if draft.is_free:
        return None
    raw = (draft.price_yuan or "").strip()
    if not raw:
        raise ValidationError("请填写价格，或勾选“免费送”", "price_yuan")
    match = PRICE_PATTERN.match(raw)
    if not match:
        raise ValidationError("价格请填写数字，最多两位小数，如 50 或 12.5", "price_yuan")
    yuan, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    if int(yuan) > 1_000_000:
        raise ValidationError("价格应在0到100万元之间", "price_yuan")
    return int(yuan) * 100 + int(cents)


def _set_section_fields(post: Post, section: Section, draft: PostDraft) -> None:
    if section.fields is SectionFields.SECOND_HAND:
        post.price_cents = _parse_price(draft)
        post.is_free = draft.is_free
        try:
            post.condition = ItemCondition(draft.condition)
        except ValueError:
            raise ValidationError("请选择成色", "condition") from None
    elif section.fields is SectionFields.MUTUAL_AID:
        try:
            post.aid_kind = AidKind(draft.aid_kind)
        except ValueError:
            raise ValidationError("请选择求助还是帮忙", "aid_kind") from None
    elif section.fields is SectionFields.GUIDE:
        topic = (draft.topic or "").strip()
        if not topic:
            raise ValidationError("请填写主题，如 证件办理、养老服务", "topic")
        post.topic, post.shared_with_street = topic[:20], draft.shared_with_street


def _bump(model, row_id: int, **deltas: int) -> None:
    """Atomic counter changes (UPDATE … SET n = n + 1): no lost updates under concurrency."""
    values = {name: getattr(model, name) + delta for name, delta in deltas.items()}
    db.session.execute(sa.update(model).where(model.id == row_id).values(**values))


def create_post(
    actor,
    compound: Compound,
    section: Section,
    draft: PostDraft,
    photos: list[StoredPhoto] = (),
    *,
    on_behalf_label: str | None = None,
    on_behalf_of=None,
) -> Post:
    """``on_behalf_label`` (网格员代发): ``actor`` writes for a resident met on a visit; the resident's
    account, if they have one (``on_behalf_of``), is the author, and must be one that may post here."""
    board = SectionBoard(compound, section)
    require(actor, Action.POST, board)
    author = actor
    if on_behalf_label and on_behalf_of is not None:
        if not can(on_behalf_of, Action.POST, board):
            raise ValidationError("这位居民的账号目前不能发帖（未认证或被禁言），请选择不以其名义发布")
        author = on_behalf_of
    post = Post(
        district_id=compound.district_id,
        street_id=compound.street_id,
        compound_id=compound.id,
        section=section,
        author_id=author.id,
        author_role=author_role_in(author, compound),
        photo_count=len(photos),
        on_behalf_by_id=actor.id if on_behalf_label else None,
        on_behalf_label=on_behalf_label,
    )
    _set_text(post, section, draft.title, draft.body)
    _set_section_fields(post, section, draft)
    if section.fields is SectionFields.SECOND_HAND:
        post.trade_status = TradeStatus.AVAILABLE
    elif section.fields is SectionFields.MUTUAL_AID:
        post.aid_status = AidStatus.OPEN
    db.session.add(post)
    db.session.flush()
    for position, photo in enumerate(photos):
        db.session.add(
            Photo(
                post_id=post.id,
                compound_id=compound.id,
                position=position,
                file_name=photo.file_name,
                thumb_name=photo.thumb_name,
                width=photo.width,
                height=photo.height,
            )
        )
    if section.on_board:  # a message to the 居委会 shows in no count of the board
        _bump(Compound, compound.id, post_count=1)
    return post


# Features that freeze a post's text once others acted on it (议事厅: a ballot) declare it in their
# init_app; the board itself does not know them.
_TEXT_FREEZES = "board_text_freezes"  # in app.extensions: [check(post, for_update) -> reason | None]


def freeze_text_when(app, check: Callable[[Post, bool], str | None]) -> None:
    app.extensions.setdefault(_TEXT_FREEZES, []).append(check)


def frozen_reason(post: Post, for_update: bool = False) -> str | None:
    """Why the post may no longer be edited, whatever the edit window says (None: it may)."""
    checks = current_app.extensions.get(_TEXT_FREEZES, ())
    return next(filter(None, (check(post, for_update) for check in checks)), None)


# Features that follow the replies on their posts (私信居委会: the first staff member to answer
# handles the message) declare it in their init_app, as above.
_REPLY_FOLLOWERS = "board_reply_followers"  # in app.extensions: [follow(post, reply)]


def follow_replies(app, follow: Callable[[Post, Reply], None]) -> None:
    app.extensions.setdefault(_REPLY_FOLLOWERS, []).append(follow)


def edit_post(actor, post: Post, draft: PostDraft) -> None:
    require(actor, Action.EDIT_POST, post)
    if reason := frozen_reason(post, for_update=True):
        raise ValidationError(reason)
    _set_text(post, post.section, draft.title, draft.body)
    _set_section_fields(post, post.section, draft)
    post.edited_at = utcnow()


def delete_post(actor, post: Post) -> None:
    """Soft delete: gone from every list; moderators still find it in the moderation log."""
    require(actor, Action.DELETE_POST, post)
    post.deleted_at = utcnow()
    post.pinned_at = None
    _bump(Compound, post.compound_id, post_count=-1)
    audit.record(actor, "post.deleted", post, compound=post.compound)


def set_trade_status(actor, post: Post, status: TradeStatus) -> None:
    require(actor, Action.SET_POST_STATUS, post)
    if post.trade_status is None:
        raise ValidationError("这条帖子没有交易状态")
    if status not in TRADE_TRANSITIONS[post.trade_status]:
        raise ValidationError(f"“{post.trade_status.label}”不能改为“{status.label}”")
    post.trade_status = status


def mark_aid_fulfilled(actor, post: Post, helper=None, note: str = "") -> None:
    """互助 done; the helper (someone who replied) can be thanked on the post."""
    require(actor, Action.SET_POST_STATUS, post)
    if post.aid_status is not AidStatus.OPEN:
        raise ValidationError("这条互助已经标记为已解决")
    if helper is not None:
        if helper.id == actor.id or helper.id not in helper_candidates(post):
            raise ValidationError("只能感谢在帖子下回复过的邻居", "helper")
        post.thanked_user_id = helper.id
        post.thanks_note = note.strip()[:100] or None
    post.aid_status = AidStatus.FULFILLED
    _bump(Compound, post.compound_id, solved_count=1)


def helper_candidates(post: Post) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Reply.author_id)
            .where(Reply.post_id == post.id, Reply.deleted_at.is_(None), Reply.author_id != post.author_id)
            .distinct()
            .limit(100)
        )
    )


def add_reply(actor, post: Post, body: str, reply_to: Reply | None = None) -> Reply:
    require(actor, Action.REPLY, post)
    body = body.strip()
    if not body:
        raise ValidationError("请填写回复内容", "body")
    if reply_to is not None and reply_to.post_id != post.id:
        raise ValidationError("回复的评论不存在")
    reply = Reply(
        post_id=post.id,
        compound_id=post.compound_id,
        author_id=actor.id,
        author_role=author_role_in(actor, post.compound),
        body=body,
        body_html=render_plain_text(body),
        reply_to_id=reply_to.id if reply_to else None,
        reply_to_user_id=reply_to.author_id if reply_to else None,
    )
    db.session.add(reply)
    db.session.flush()
    _bump(Post, post.id, reply_count=1)
    if (
        post.section.fields is SectionFields.POLICE
        and reply.author_role is AuthorRole.POLICE
        and post.first_answer_at is None
        and post.author_role is AuthorRole.RESIDENT
    ):
        post.first_answer_at = reply.created_at
        post.first_answer_minutes = int((reply.created_at - post.created_at).total_seconds() // 60)
    responses.replied(post, reply)
    for follow in current_app.extensions.get(_REPLY_FOLLOWERS, ()):
        follow(post, reply)
    who = reply.author_role.public_name(actor)
    if post.author_id != actor.id:
        notify(post.author_id, NotificationKind.REPLY, f"{who}回复了“{post.title}”：{body[:40]}", post_id=post.id)
    if reply_to is not None and reply_to.author_id not in (actor.id, post.author_id):
        notify(
            reply_to.author_id,
            NotificationKind.MENTION,
            f"{who}在“{post.title}”中回复了你：{body[:40]}",
            post_id=post.id,
        )
    return reply


def toggle_helpful(actor, post: Post, reply: Reply) -> bool:
    require(actor, Action.MARK_HELPFUL, post)
    if reply.post_id != post.id or reply.author_id == actor.id or reply.is_hidden:
        raise ValidationError("只能标记别人对您帖子的回复")
    reply.helpful = not reply.helpful
    return reply.helpful


def me_too(actor, post: Post) -> int:
    """我也遇到: the actor's household joins the post; returns how many households now have it."""
    require(actor, Action.LIKE, post)
    if actor.household_id is None:
        raise ValidationError("认证住户才能添加“我也遇到”")
    if post.author.household_id == actor.household_id:
        raise ValidationError("这是您家发的帖子")
    insert_unique(MeToo(post_id=post.id, household_id=actor.household_id, user_id=actor.id), "您家已经添加过“我也遇到”")
    _bump(Post, post.id, affected_count=1)
    return post.affected_count


def toggle_like(actor, post: Post) -> bool:
    """Like or unlike; returns whether the actor now likes the post. The count changes with the row."""
    require(actor, Action.LIKE, post)
    try:
        with db.session.begin_nested():
            db.session.add(Like(post_id=post.id, user_id=actor.id))
    except IntegrityError:
        deleted = db.session.execute(sa.delete(Like).where(Like.post_id == post.id, Like.user_id == actor.id))
        if deleted.rowcount:
            _bump(Post, post.id, like_count=-1)
        return False
    _bump(Post, post.id, like_count=1)
    return True


def report(actor, post: Post, reason: ReportReason, detail: str = "", reply: Reply | None = None) -> Report:
    require(actor, Action.REPORT, post)
    if reply is not None and reply.post_id != post.id:
        raise ValidationError("举报的评论不存在")
    already = db.session.scalar(
        sa.select(Report.id).where(
            Report.reporter_id == actor.id,
            Report.post_id == post.id,
            Report.reply_id.is_(None) if reply is None else Report.reply_id == reply.id,
        )
    )
    if already:
        raise ValidationError("您已经举报过，居委会会尽快处理")
    entry = Report(
        compound_id=post.compound_id,
        post_id=post.id,
        reply_id=reply.id if reply else None,
        reporter_id=actor.id,
        reason=reason,
        detail=detail.strip()[:200],
    )
    return insert_unique(entry, "您已经举报过，居委会会尽快处理")


# Moderation ---------------------------------------------------------------------------------


def _close_reports(actor, post: Post, reply: Reply | None, status: ReportStatus) -> None:
    reports = list(
        db.session.scalars(
            sa.select(Report)
            .where(
                Report.post_id == post.id,
                Report.status == ReportStatus.OPEN,
                Report.reply_id.is_(None) if reply is None else Report.reply_id == reply.id,
            )
            .limit(500)
        )
    )
    now = utcnow()
    outcome = "已处理，相关内容已隐藏" if status is ReportStatus.UPHELD else "经核实未发现问题，内容保留"
    for entry in reports:
        entry.status, entry.handled_at, entry.handled_by_id = status, now, actor.id
        notify(
            entry.reporter_id, NotificationKind.REPORT_HANDLED, f"您对“{post.title}”的举报{outcome}", post_id=post.id
        )


def hide(actor, post: Post, reason: str, reply: Reply | None = None) -> None:
    """Hide a post or one of its replies; the reason shows in place of the content."""
    require(actor, Action.MODERATE, post)
    reason = reason.strip()
    if not reason:
        raise ValidationError("请填写隐藏原因，居民会看到它", "reason")
    target = reply or post
    if target.hidden_at is not None:
        raise ValidationError("该内容已经隐藏")
    target.hidden_at, target.hidden_reason = utcnow(), reason[:200]
    _close_reports(actor, post, reply, ReportStatus.UPHELD)
    what = "回复" if reply else "帖子"
    notify(
        target.author_id, NotificationKind.POST_HIDDEN, f"您在“{post.title}”的{what}已被隐藏：{reason}", post_id=post.id
    )
    audit.record(actor, f"{'reply' if reply else 'post'}.hidden", target, compound=post.compound, note=reason)


def restore(actor, post: Post, reply: Reply | None = None) -> None:
    require(actor, Action.MODERATE, post)
    target = reply or post
    if target.hidden_at is None:
        raise ValidationError("该内容没有被隐藏")
    target.hidden_at, target.hidden_reason = None, None
    audit.record(actor, f"{'reply' if reply else 'post'}.restored", target, compound=post.compound)


def dismiss_reports(actor, post: Post, reply: Reply | None = None) -> None:
    require(actor, Action.MODERATE, post)
    _close_reports(actor, post, reply, ReportStatus.DISMISSED)
    audit.record(actor, "reports.dismissed", reply or post, compound=post.compound)


def set_pinned(actor, post: Post, pinned: bool) -> None:
    require(actor, Action.MODERATE, post)
    if post.is_deleted or post.is_hidden:
        raise ValidationError("已删除或隐藏的帖子不能置顶")
    post.pinned_at = utcnow() if pinned else None
    audit.record(actor, "post.pinned" if pinned else "post.unpinned", post, compound=post.compound)


def set_locked(actor, post: Post, locked: bool) -> None:
    require(actor, Action.MODERATE, post)
    post.locked = locked
    audit.record(actor, "post.locked" if locked else "post.unlocked", post, compound=post.compound)
