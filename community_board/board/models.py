"""The compound board: sections, posts, replies, likes, photos and reports."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..enums import LabeledEnum, enum_column_type
from ..extensions import db
from ..permissions import Action
from ..privacy import surname
from ..timeutil import utcnow


class WhoMayPost(LabeledEnum):
    STAFF = ("staff", "仅居委会工作人员")
    MEMBERS = ("members", "本小区居民和工作人员")


class SectionFields(LabeledEnum):
    """Extra fields a section's posts carry."""

    NONE = ("none", "无")
    SECOND_HAND = ("second_hand", "价格、成色、状态")
    MUTUAL_AID = ("mutual_aid", "求助/帮忙、状态")
    DELIBERATION = ("deliberation", "议题选项、投票方式、截止时间")
    POLICE = ("police", "警情通报类型；居民可私下提问")
    GUIDE = ("guide", "主题、Markdown排版、可全街镇共享")
    PRIVATE_LINE = ("private_line", "私信居委会：只有写信的居民和居委会能看到，不上版面")


class Section(db.Model):
    """A 版块. Rows are reference data seeded by a migration, not code."""

    __tablename__ = "sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(24), unique=True)
    name: Mapped[str] = mapped_column(sa.String(20))
    description: Mapped[str] = mapped_column(sa.String(100), default="")
    sort_order: Mapped[int] = mapped_column(default=0)
    who_may_post: Mapped[WhoMayPost] = mapped_column(enum_column_type(WhoMayPost))
    fields: Mapped[SectionFields] = mapped_column(enum_column_type(SectionFields), default=SectionFields.NONE)

    @property
    def staff_only(self) -> bool:
        return self.who_may_post is WhoMayPost.STAFF

    @property
    def on_board(self) -> bool:
        """A section of the board (feed, section pages, counts); 私信居委会 is read in its own inbox."""
        return self.fields is not SectionFields.PRIVATE_LINE


class AuthorRole(LabeledEnum):
    """The author's standing in the compound when they wrote; badges and 官方回复 come from it."""

    RESIDENT = ("resident", "居民")
    SECRETARY = ("secretary", "书记")
    STAFF = ("staff", "工作人员")
    POLICE = ("police", "民警")

    @property
    def is_official(self) -> bool:
        return self is not AuthorRole.RESIDENT

    @property
    def title(self) -> str:
        """How residents address them after the surname: 李书记, 刘警官, 陈干事."""
        return {AuthorRole.SECRETARY: "书记", AuthorRole.POLICE: "警官", AuthorRole.STAFF: "干事"}.get(self, "")

    def public_name(self, user) -> str:
        """The name residents see: 李书记 for officials, 周女士 for residents."""
        official = self.is_official and not user.is_deleted
        return surname(user.real_name) + self.title if official else user.masked_name


class ItemCondition(LabeledEnum):
    NEW = ("new", "全新")
    LIKE_NEW = ("like_new", "几乎全新")
    USED = ("used", "有使用痕迹")
    WORN = ("worn", "旧物")


class TradeStatus(LabeledEnum):
    AVAILABLE = ("available", "在售")
    RESERVED = ("reserved", "已预订")
    GONE = ("gone", "已出")


class AidKind(LabeledEnum):
    REQUEST = ("request", "求助")
    OFFER = ("offer", "帮忙")


class AidStatus(LabeledEnum):
    OPEN = ("open", "进行中")
    FULFILLED = ("fulfilled", "已解决")


class BulletinKind(LabeledEnum):
    FRAUD = ("fraud", "防诈骗提醒")
    SAFETY = ("safety", "治安提示")
    CASE_NOTICE = ("case_notice", "案件通报")
    MISSING = ("missing", "寻人寻物")


class Post(db.Model):
    __tablename__ = "posts"
    __table_args__ = (
        # Home feed, section pages and pinned notices of a compound.
        sa.Index("ix_posts_compound_feed", "compound_id", "created_at", "id"),
        sa.Index("ix_posts_compound_section_feed", "compound_id", "section_id", "created_at", "id"),
        sa.Index("ix_posts_compound_pinned", "compound_id", "pinned_at"),
        # 发帖必响应: a compound's posts still waiting for a staff response, oldest first.
        sa.Index("ix_posts_compound_awaiting", "compound_id", "first_response_at", "created_at", "id"),
        sa.CheckConstraint("reply_count >= 0 AND like_count >= 0", name="counts_not_negative"),
        sa.CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Scope columns repeat the compound's ancestry so scope checks and street/district lists need no join.
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"))
    street_id: Mapped[int] = mapped_column(sa.ForeignKey("streets.id"))
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    section_id: Mapped[int] = mapped_column(sa.ForeignKey("sections.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    author_role: Mapped[AuthorRole] = mapped_column(enum_column_type(AuthorRole))

    title: Mapped[str] = mapped_column(sa.String(60))
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)  # cleaned once, when written
    excerpt: Mapped[str] = mapped_column(sa.String(120))  # the first lines, for cards

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    hidden_reason: Mapped[str | None] = mapped_column(sa.String(200))
    pinned_at: Mapped[datetime | None]
    locked: Mapped[bool] = mapped_column(default=False)

    reply_count: Mapped[int] = mapped_column(default=0)
    like_count: Mapped[int] = mapped_column(default=0)
    photo_count: Mapped[int] = mapped_column(default=0)

    # 闲置物品
    price_cents: Mapped[int | None]
    is_free: Mapped[bool | None]
    condition: Mapped[ItemCondition | None] = mapped_column(enum_column_type(ItemCondition))
    trade_status: Mapped[TradeStatus | None] = mapped_column(enum_column_type(TradeStatus))
    # 互助
    aid_kind: Mapped[AidKind | None] = mapped_column(enum_column_type(AidKind))
    aid_status: Mapped[AidStatus | None] = mapped_column(enum_column_type(AidStatus))
    thanked_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    thanks_note: Mapped[str | None] = mapped_column(sa.String(100))
    # 警民直通车: a bulletin (one copy per compound the officer serves) or a resident's question,
    # which may be private (asker, the compound's police and secretary only).
    bulletin_kind: Mapped[BulletinKind | None] = mapped_column(enum_column_type(BulletinKind))
    is_private: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    first_answer_at: Mapped[datetime | None]  # the first police answer to a question
    first_answer_minutes: Mapped[int | None]
    # 办事指南: a topic to order by, Markdown body, optionally shown to every compound of the street.
    topic: Mapped[str | None] = mapped_column(sa.String(20))
    shared_with_street: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # "我也遇到": households that have the same problem, instead of a post of their own.
    affected_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # 代发: written by staff (on_behalf_by) for a resident met on a visit (grids/), who is the author
    # when they have an account; the label (网格员代发) shows on the post and its case.
    on_behalf_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    on_behalf_label: Mapped[str | None] = mapped_column(sa.String(20))
    # 发帖必响应: when staff first responded to a resident's post (responses.services says what counts).
    first_response_at: Mapped[datetime | None]
    first_response_minutes: Mapped[int | None]
    # 私信居委会: who at the 居委会 handles the message (residents see "居委会"), and when it ended.
    line_handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    line_closed_at: Mapped[datetime | None]

    section: Mapped[Section] = relationship(lazy="joined", innerjoin=True)
    author = relationship("User", foreign_keys=[author_id])
    thanked_user = relationship("User", foreign_keys=[thanked_user_id])
    line_handler = relationship("User", foreign_keys=[line_handler_id])
    compound = relationship("Compound")

    # Every action on a post first asks whether the user may read it (permissions.authorize).
    read_action: ClassVar[Action] = Action.VIEW_POST

    @property
    def scope(self) -> tuple[int, int, int]:
        return (self.district_id, self.street_id, self.compound_id)

    @property
    def read_scope(self) -> tuple[int, int, int | None]:
        """Who may read it: a street-wide guide article is read from every compound of the street."""
        if self.shared_with_street:
            return (self.district_id, self.street_id, None)
        return self.scope

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def price_yuan_text(self) -> str:
        """The price as typed in the form: 50, 12.5, 12345.67."""
        if self.price_cents is None:
            return ""
        yuan, cents = divmod(self.price_cents, 100)
        return str(yuan) if not cents else f"{yuan}.{cents:02d}".rstrip("0")

    @property
    def price_label(self) -> str:
        if self.is_free:
            return "免费送"
        if self.price_cents is None:
            return ""
        yuan, cents = divmod(self.price_cents, 100)
        return f"¥{yuan}" if not cents else f"¥{yuan}.{cents:02d}"


class Reply(db.Model):
    __tablename__ = "replies"
    __table_args__ = (sa.Index("ix_replies_post_created", "post_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id"))
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    author_role: Mapped[AuthorRole] = mapped_column(enum_column_type(AuthorRole))
    # "回复 @周女士": the reply this one answers, and its author (for the mention).
    reply_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("replies.id"))
    reply_to_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    hidden_reason: Mapped[str | None] = mapped_column(sa.String(200))
    helpful: Mapped[bool] = mapped_column(default=False, server_default=sa.false())  # marked by the asker

    post: Mapped[Post] = relationship()
    author = relationship("User", foreign_keys=[author_id])
    reply_to: Mapped[Reply | None] = relationship(remote_side=[id])

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class MeToo(db.Model):
    """A household that has the problem a post describes; one row per household per post."""

    __tablename__ = "me_too"

    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), primary_key=True)
    # Who added it; None once they 注销 (the household's row stays, no longer leading to them).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Like(db.Model):
    """One like per user per post, enforced by the primary key."""

    __tablename__ = "likes"

    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Photo(db.Model):
    """A re-encoded upload kept outside static/, served only to the post's compound."""

    __tablename__ = "photos"
    __table_args__ = (sa.Index("ix_photos_post_position", "post_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id"))
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    position: Mapped[int] = mapped_column(default=0)
    file_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    thumb_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportReason(LabeledEnum):
    ADVERTISING = ("advertising", "广告营销")
    ABUSE = ("abuse", "人身攻击、辱骂")
    PRIVACY = ("privacy", "泄露他人隐私")
    RUMOUR = ("rumour", "不实信息")
    ILLEGAL = ("illegal", "违法违规")
    OTHER = ("other", "其他")


class ReportStatus(LabeledEnum):
    OPEN = ("open", "待处理")
    UPHELD = ("upheld", "已处理")
    DISMISSED = ("dismissed", "未采纳")


class Report(db.Model):
    """举报 of a post or of one reply (reply_id set)."""

    __tablename__ = "reports"
    __table_args__ = (
        sa.Index("ix_reports_compound_status_created", "compound_id", "status", "created_at", "id"),
        sa.Index("ix_reports_post_status", "post_id", "status"),  # closing a post's reports
        sa.UniqueConstraint("reporter_id", "post_id", "reply_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id"))
    reply_id: Mapped[int | None] = mapped_column(sa.ForeignKey("replies.id"))
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[ReportReason] = mapped_column(enum_column_type(ReportReason))
    detail: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[ReportStatus] = mapped_column(enum_column_type(ReportStatus), default=ReportStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    post: Mapped[Post] = relationship()
    reply: Mapped[Reply | None] = relationship()
    reporter = relationship("User", foreign_keys=[reporter_id])
