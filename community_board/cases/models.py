"""Cases (工单): a staff flag turns a post into tracked work with a public timeline."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..enums import LabeledEnum, enum_column_type
from ..extensions import db
from ..permissions import Action
from ..timeutil import utcnow


class CaseStatus(LabeledEnum):
    FILED = ("filed", "已立案")
    DISPATCHED = ("dispatched", "已派单")
    IN_PROGRESS = ("in_progress", "处置中")
    RETURNED = ("returned", "已退回")  # the lead department sent it back (退单): the dispatcher redispatches
    RESOLVED = ("resolved", "已办结")
    CLOSED = ("closed", "已关闭")
    WITHDRAWN = ("withdrawn", "不予立案")

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATUSES


OPEN_STATUSES = frozenset({CaseStatus.FILED, CaseStatus.DISPATCHED, CaseStatus.IN_PROGRESS, CaseStatus.RETURNED})


class PartRole(LabeledEnum):
    """One department leads a case (主办); the others assist (协办)."""

    LEAD = ("lead", "主办")
    ASSIST = ("assist", "协办")


class PartStatus(LabeledEnum):
    """A department's own part of a case. The lead's part ends with the case's 办结; an assisting
    part with its own 协办完成, or when the dispatcher releases it (解除协办)."""

    PENDING = ("pending", "待签收")
    ACKNOWLEDGED = ("acknowledged", "已签收")
    DONE = ("done", "已完成")
    RETURNED = ("returned", "已退单")
    RELEASED = ("released", "已解除")


# Parts whose department is on the case: it reads the case and may act on it.
ACTIVE_PARTS = frozenset({PartStatus.PENDING, PartStatus.ACKNOWLEDGED, PartStatus.DONE})


class ReturnReason(LabeledEnum):
    NOT_OUR_DUTY = ("not_our_duty", "不属于本部门职责")
    WRONG_DEPARTMENT = ("wrong_department", "派错部门")
    OTHER = ("other", "其他")


class ExtensionStatus(LabeledEnum):
    PENDING = ("pending", "待审批")
    APPROVED = ("approved", "已同意")
    REFUSED = ("refused", "未同意")


class Priority(LabeledEnum):
    URGENT = ("urgent", "紧急")
    NORMAL = ("normal", "一般")
    LOW = ("low", "较低")


class Level(LabeledEnum):
    """Who answers for the case now; overdue cases climb one level at a time."""

    COMPOUND = ("compound", "居民区")
    STREET = ("street", "街镇网格化中心")
    DISTRICT = ("district", "区网格化中心")

    @property
    def next(self) -> Level | None:
        order = list(Level)
        position = order.index(self)
        return order[position + 1] if position + 1 < len(order) else None


class Satisfaction(LabeledEnum):
    SATISFIED = ("satisfied", "满意")
    BASIC = ("basic", "基本满意")
    UNSATISFIED = ("unsatisfied", "不满意")
    UNRATED = ("unrated", "未评价")


class EventKind(LabeledEnum):
    FILED = ("filed", "立案")
    DISPATCHED = ("dispatched", "派单")
    ACCEPTED = ("accepted", "接单处置")
    PROGRESS = ("progress", "处置进展")
    RESOLVED = ("resolved", "办结")
    RATED = ("rated", "居民评价")
    REOPENED = ("reopened", "重新处置")
    CLOSED = ("closed", "结案")
    WITHDRAWN = ("withdrawn", "不予立案")
    ESCALATED = ("escalated", "升级")
    NOTE = ("note", "内部备注")
    ACKNOWLEDGED = ("acknowledged", "签收")
    RETURNED = ("returned", "退单")
    PART_DONE = ("part_done", "协办完成")
    RELEASED = ("released", "解除协办")
    ACK_OVERDUE = ("ack_overdue", "签收超时")
    EXTENSION_REQUESTED = ("extension_requested", "申请延期")
    EXTENSION_APPROVED = ("extension_approved", "同意延期")
    EXTENSION_REFUSED = ("extension_refused", "不同意延期")
    OWNER_CHANGED = ("owner_changed", "更换包案人")
    CORRECTED = ("corrected", "更正")


# What a new district starts with (cases.services.add_default_case_types, migration 0011, seeders).
DEFAULT_CASE_TYPES = ("环境卫生", "市容绿化", "违章搭建", "停车交通", "物业维修", "治安", "邻里纠纷", "其他")


class CaseType(db.Model):
    """环境卫生, 违章搭建 …: each district's own list, edited by its district admin."""

    __tablename__ = "case_types"
    __table_args__ = (sa.UniqueConstraint("district_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"))
    name: Mapped[str] = mapped_column(sa.String(20))
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class CaseDepartment(db.Model):
    """A department a case was dispatched to, and its own part of the work (主办 or 协办): it signs for
    it (签收) within a time limit, then reports it, or returns it (退单)."""

    __tablename__ = "case_departments"
    __table_args__ = (
        # `flask cases escalate` flags parts left unsigned past their limit (签收超时).
        sa.Index("ix_case_departments_status_ack_due", "status", "ack_due_at"),
    )

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), primary_key=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), primary_key=True, index=True)
    dispatched_at: Mapped[datetime] = mapped_column(default=utcnow)
    role: Mapped[PartRole] = mapped_column(enum_column_type(PartRole), default=PartRole.ASSIST)
    status: Mapped[PartStatus] = mapped_column(enum_column_type(PartStatus), default=PartStatus.PENDING)
    ack_due_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    ack_flagged_at: Mapped[datetime | None]  # when the cron flagged it 签收超时 (once)
    finished_at: Mapped[datetime | None]  # done, returned or released

    department = relationship("Department", lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_PARTS

    @property
    def is_lead(self) -> bool:
        return self.role is PartRole.LEAD

    @property
    def ack_overdue(self) -> bool:
        return self.status is PartStatus.PENDING and self.ack_due_at < utcnow()


# The dashboards read their figures, breakdowns and date ranges from these columns alone.
FIGURE_COLUMNS = (
    "status",
    "satisfaction",
    "case_type_id",
    "deadline_at",
    "resolve_minutes",
    "closed_at",
    "compound_id",
    "level",
    "created_at",
)


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_compound_created", "compound_id", "created_at", "id"),
        sa.Index("ix_cases_street_created", "street_id", "created_at", "id"),
        sa.Index("ix_cases_district_created", "district_id", "created_at", "id"),
        sa.Index("ix_cases_status_escalation", "status", "next_escalation_at"),
        # The street and district dashboards read their figures from these alone (dashboard.figures).
        sa.Index("ix_cases_street_figures", "street_id", *FIGURE_COLUMNS),
        sa.Index("ix_cases_district_figures", "district_id", *FIGURE_COLUMNS),
        sa.Index("ix_cases_street_resolve", "street_id", "resolve_minutes", "status"),
        sa.Index("ix_cases_district_resolve", "district_id", "resolve_minutes", "status"),
        sa.CheckConstraint("status != 'closed' OR closed_at IS NOT NULL", name="closed_has_time"),
        sa.CheckConstraint(
            "status NOT IN ('resolved', 'closed') OR resolved_at IS NOT NULL OR closed_at IS NOT NULL",
            name="resolved_has_time",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(24), unique=True)  # BS-20261122-0007
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"))
    street_id: Mapped[int] = mapped_column(sa.ForeignKey("streets.id"))
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id"), unique=True)
    reply_id: Mapped[int | None] = mapped_column(sa.ForeignKey("replies.id"))
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))  # asked for satisfaction
    # 首问负责/包案人: the compound staff member who answers for the case until it closes.
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    case_type_id: Mapped[int] = mapped_column(sa.ForeignKey("case_types.id"))
    priority: Mapped[Priority] = mapped_column(enum_column_type(Priority))
    status: Mapped[CaseStatus] = mapped_column(enum_column_type(CaseStatus), default=CaseStatus.FILED)
    level: Mapped[Level] = mapped_column(enum_column_type(Level), default=Level.COMPOUND)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime]
    next_escalation_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # Minutes from filing to the (last) resolution: percentiles become a plain ORDER BY on both databases.
    resolve_minutes: Mapped[int | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    satisfaction: Mapped[Satisfaction | None] = mapped_column(enum_column_type(Satisfaction))
    satisfaction_comment: Mapped[str | None] = mapped_column(sa.String(200))
    reopen_count: Mapped[int] = mapped_column(default=0)
    on_behalf_label: Mapped[str | None] = mapped_column(sa.String(20))  # 网格员代发: from its post
    # Optimistic locking: an UPDATE that finds another version raises StaleDataError.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    post = relationship("Post")
    case_type: Mapped[CaseType] = relationship(lazy="joined")
    compound = relationship("Compound")
    reporter = relationship("User", foreign_keys=[reporter_id])
    owner = relationship("User", foreign_keys=[owner_id])
    # Every part, also those returned or released (``parts``: the departments on the case now).
    departments: Mapped[list[CaseDepartment]] = relationship(
        lazy="selectin",
        order_by=(CaseDepartment.dispatched_at, CaseDepartment.department_id),
        cascade="all, delete-orphan",
    )

    # Every action on a case first asks whether the user may see it (permissions.authorize).
    read_action: ClassVar[Action] = Action.VIEW_CASE

    @property
    def scope(self) -> tuple[int, int, int]:
        return (self.district_id, self.street_id, self.compound_id)

    @property
    def is_overdue(self) -> bool:
        return self.status.is_open and self.deadline_at < utcnow()

    @property
    def for_household(self) -> bool:
        """代发 for a household without an account: the staff member who wrote the post stands as its
        reporter, so the resident is the household (grids), not that reporter."""
        return self.on_behalf_label is not None and self.post.on_behalf_by_id == self.reporter_id

    @property
    def parts(self) -> list[CaseDepartment]:
        """The departments on the case (not those that returned it or were released), lead first."""
        return sorted((d for d in self.departments if d.is_active), key=lambda d: not d.is_lead)

    @property
    def department_ids(self) -> set[int]:
        return {d.department_id for d in self.departments if d.is_active}

    @property
    def lead(self) -> CaseDepartment | None:
        return next((d for d in self.departments if d.is_active and d.is_lead), None)

    def part_of(self, department_id: int) -> CaseDepartment | None:
        return next((d for d in self.departments if d.department_id == department_id), None)

    @property
    def unacknowledged(self) -> list[CaseDepartment]:
        """Parts past their 签收 limit, for the dispatcher's list."""
        return [d for d in self.departments if d.ack_overdue] if self.status.is_open else []


class CaseEvent(db.Model):
    """One step on the timeline (办理过程). Residents see the role and the public note only."""

    __tablename__ = "case_events"
    __table_args__ = (sa.Index("ix_case_events_case_created", "case_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[EventKind] = mapped_column(enum_column_type(EventKind))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: the system
    actor_label: Mapped[str] = mapped_column(sa.String(40))  # 居民区书记 / 吴淞街道城管中队 / 系统
    from_status: Mapped[CaseStatus | None] = mapped_column(enum_column_type(CaseStatus))
    to_status: Mapped[CaseStatus | None] = mapped_column(enum_column_type(CaseStatus))
    # A department's own step (签收, 退单, 协办完成 …): whose part, and its status after the step.
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    part_status: Mapped[PartStatus | None] = mapped_column(enum_column_type(PartStatus))
    public_note: Mapped[str] = mapped_column(sa.String(500), default="")
    internal_note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor = relationship("User")
    photos: Mapped[list[CasePhoto]] = relationship(lazy="selectin", order_by="CasePhoto.id")

    @property
    def is_internal_only(self) -> bool:
        return not self.public_note and self.kind is EventKind.NOTE


class CasePhoto(db.Model):
    """Photos of what was done, attached to a resolution event."""

    __tablename__ = "case_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("case_events.id"), index=True)
    file_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    thumb_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    width: Mapped[int]
    height: Mapped[int]


class CaseExtension(db.Model):
    """延期: a department asks for a later deadline before the current one passes; the dispatcher
    approves (the deadline moves) or refuses with a reason. One request waits at a time."""

    __tablename__ = "case_extensions"
    __table_args__ = (
        sa.Index(
            "uq_case_extensions_one_pending",
            "case_id",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_case_extensions_case", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    old_deadline_at: Mapped[datetime]
    new_deadline_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[ExtensionStatus] = mapped_column(enum_column_type(ExtensionStatus), default=ExtensionStatus.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(sa.String(200), default="")

    department = relationship("Department", lazy="joined")


class CalendarDay(db.Model):
    """An exception to "Monday to Friday are working days" in a district: a public holiday on a
    weekday (is_workday false) or a 调休 weekend day worked (true). Edited by the district admin."""

    __tablename__ = "calendar_days"

    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    is_workday: Mapped[bool]
    note: Mapped[str] = mapped_column(sa.String(40), default="")
