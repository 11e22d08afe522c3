"""消息: what happened that concerns a user."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..enums import LabeledEnum, enum_column_type
from ..extensions import db
from ..timeutil import utcnow


class NotificationKind(LabeledEnum):
    REPLY = ("reply", "回复了你的帖子")
    MENTION = ("mention", "回复了你")
    REPORT_HANDLED = ("report_handled", "举报已处理")
    POST_HIDDEN = ("post_hidden", "内容被隐藏")
    VERIFIED = ("verified", "实名认证通过")
    REJECTED = ("rejected", "实名认证未通过")
    PARTY_BADGE = ("party_badge", "党员亮身份")
    CASE_UPDATE = ("case_update", "工单进展")
    LINE = ("line", "私信居委会")  # new messages and assignments for the 居委会; closing for the resident
    ACCOUNT = ("account", "账号安全")  # sign-up attempts, reset, changes of details or phone, 禁言


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_created", "user_id", "created_at", "id"),
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[NotificationKind] = mapped_column(enum_column_type(NotificationKind))
    # A short line written once, when the event happens (no per-view rendering or lookups).
    text: Mapped[str] = mapped_column(sa.String(200))
    # The post it concerns, if any; the page links to it (account events link to 我的).
    post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("posts.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    user = relationship("User")
