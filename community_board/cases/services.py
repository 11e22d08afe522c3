"""Case verbs. One transition table and one ``transition`` function apply every status change
and write its event; the other verbs (notes, escalation) write events without changing status."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..compounds.models import Compound, Department, StaffAssignment, StaffRole
from ..errors import ValidationError
from ..extensions import db
from ..notifications.models import NotificationKind
from ..notifications.services import notify
from ..permissions import Action, Decision, PermissionDenied, require
from ..persistence import insert_unique
from ..responses import services as responses
from ..timeutil import to_local, utcnow
from ..web import STALE_MESSAGE
from .models import (
    DEFAULT_CASE_TYPES,
    Case,
    CaseDepartment,
    CaseEvent,
    CasePhoto,
    CaseStatus,
    CaseType,
    EventKind,
    Level,
    Priority,
    Satisfaction,
)

RATING_WINDOW = timedelta(days=7)

S = CaseStatus
# (from, to) -> (event kind, the action that allows it). Everything else is refused.
TRANSITIONS: dict[tuple[CaseStatus, CaseStatus], tuple[EventKind, Action]] = {
    (S.FILED, S.DISPATCHED): (EventKind.DISPATCHED, Action.DISPATCH_CASE),
    (S.FILED, S.WITHDRAWN): (EventKind.WITHDRAWN, Action.DISPATCH_CASE),
    (S.DISPATCHED, S.IN_PROGRESS): (EventKind.ACCEPTED, Action.WORK_CASE),
    (S.IN_PROGRESS, S.RESOLVED): (EventKind.RESOLVED, Action.WORK_CASE),
    (S.RESOLVED, S.CLOSED): (EventKind.CLOSED, Action.RATE_CASE),
    (S.RESOLVED, S.IN_PROGRESS): (EventKind.REOPENED, Action.RATE_CASE),
}


def deadline_for(priority: Priority, start: datetime) -> datetime:
    return start + timedelta(hours=current_app.config["CASE_DEADLINE_HOURS"][priority.value])


def actor_label(actor, case: Case | None = None) -> str:
    """What residents see instead of a staff name: the role, or the department."""
    if actor is None:
        return "系统"
    for assignment in actor.assignments:
        if (
            assignment.role is StaffRole.DEPARTMENT
            and case is not None
            and assignment.department_id in case.department_ids
        ):
            return assignment.department.name
    for assignment in actor.assignments:
        if case is None or assignment.compound_id in (None, case.compound_id):
            return assignment.department.name if assignment.department else assignment.role.label
    return "居民"


def _event(
    case: Case,
    kind: EventKind,
    actor,
    *,
    public: str = "",
    internal: str = "",
    from_status: CaseStatus | None = None,
    to_status: CaseStatus | None = None,
) -> CaseEvent:
    if kind is not EventKind.FILED:
        case.updated_at = utcnow()  # every later step changes the row, so the version moves with it
    event = CaseEvent(
        case_id=case.id,
        kind=kind,
        actor_id=actor.id if actor else None,
        actor_label=actor_label(actor, case),
        public_note=public.strip()[:500],
        internal_note=internal.strip()[:500],
        from_status=from_status,
        to_status=to_status,
    )
    db.session.add(event)
    return event


def _check_version(case: Case, expected_version: int | None) -> None:
    """The page the user acted on must show the case as it is now."""
    if expected_version is not None and expected_version != case.version:
        raise ValidationError(STALE_MESSAGE)


def transition(
    actor,
    case: Case,
    to_status: CaseStatus,
    *,
    public: str = "",
    internal: str = "",
    expected_version: int | None = None,
) -> CaseEvent:
    """The one way a case changes status: check the table and the actor, write the event."""
    _check_version(case, expected_version)  # acting on an old page: say so before anything else
    step = TRANSITIONS.get((case.status, to_status))
    if step is None:
        raise ValidationError(f"工单当前为“{case.status.label}”，不能改为“{to_status.label}”")
    kind, action = step
    if actor is not None:
        require(actor, action, case)
    event = _event(case, kind, actor, public=public, internal=internal, from_status=case.status, to_status=to_status)
    case.status = to_status
    now = utcnow()
    if to_status is S.RESOLVED:
        case.resolved_at = now
        case.resolve_minutes = int((now - case.created_at).total_seconds() // 60)
    elif to_status is S.CLOSED or to_status is S.WITHDRAWN:
        case.closed_at = now
    _notify_reporter(case, to_status)
    return event


def _notify_reporter(case: Case, status: CaseStatus) -> None:
    messages = {
        S.DISPATCHED: "已派单给相关部门处理",
        S.IN_PROGRESS: "正在处置中",
        S.RESOLVED: "已办结，请对处理结果进行评价",
        S.CLOSED: "已结案，感谢您的参与",
        S.WITHDRAWN: "经核实不予立案，原因见工单说明",
    }
    if status in messages:
        notify(
            case.reporter_id,
            NotificationKind.CASE_UPDATE,
            f"工单 {case.number}：{messages[status]}",
            post_id=case.post_id,
        )


def _notify_handlers(case: Case, text: str, department_ids: set[int] | None = None, level: Level | None = None) -> None:
    """Tell the people a case has reached: staff of the departments, or grid staff of a level."""
    conditions = []
    if department_ids:
        conditions.append(
            sa.and_(StaffAssignment.role == StaffRole.DEPARTMENT, StaffAssignment.department_id.in_(department_ids))
        )
    if level is Level.STREET:
        conditions.append(
            sa.and_(StaffAssignment.role == StaffRole.GRID_STREET, StaffAssignment.street_id == case.street_id)
        )
    elif level is Level.DISTRICT:
        conditions.append(
            sa.and_(StaffAssignment.role == StaffRole.GRID_DISTRICT, StaffAssignment.district_id == case.district_id)
        )
    elif level is Level.COMPOUND:
        conditions.append(
            sa.and_(
                StaffAssignment.role.in_([StaffRole.SECRETARY, StaffRole.COMMITTEE]),
                StaffAssignment.compound_id == case.compound_id,
            )
        )
    if not conditions:
        return
    user_ids = set(db.session.scalars(sa.select(StaffAssignment.user_id).where(sa.or_(*conditions)).limit(200)))
    for user_id in user_ids:
        notify(user_id, NotificationKind.CASE_UPDATE, f"工单 {case.number}：{text}", post_id=case.post_id)


# Filing ------------------------------------------------------------------------------------


def _next_number(compound: Compound, now: datetime) -> str:
    prefix = f"{compound.street.district.code}-{to_local(now):%Y%m%d}-"
    last = db.session.scalar(sa.select(sa.func.max(Case.number)).where(Case.number.like(prefix + "%")))
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def file_case(
    actor,
    post,
    case_type: CaseType,
    priority: Priority,
    *,
    reply=None,
    note: str = "",
    departments: list[Department] = (),
) -> Case:
    """立案 on a post (or one of its replies); dispatches at once when departments are given."""
    require(actor, Action.FILE_CASE, post)
    if db.session.scalar(sa.select(Case.id).where(Case.post_id == post.id)):
        raise ValidationError("这条帖子已经立案")
    if not case_type.active or case_type.district_id != post.district_id:
        raise ValidationError("请选择案件类型", "case_type")
    now = utcnow()
    for _attempt in range(5):  # two filings in the same second may pick the same number
        case = Case(
            number=_next_number(post.compound, now),
            district_id=post.district_id,
            street_id=post.street_id,
            compound_id=post.compound_id,
            post_id=post.id,
            reply_id=reply.id if reply else None,
            reporter_id=reply.author_id if reply else post.author_id,
            case_type=case_type,
            priority=priority,
            created_at=now,
            deadline_at=deadline_for(priority, now),
            on_behalf_label=post.on_behalf_label,  # reported on the resident's behalf (代发)
        )
        case.next_escalation_at = case.deadline_at
        try:
            with db.session.begin_nested():
                db.session.add(case)
        except IntegrityError:
            continue
        break
    else:
        raise ValidationError("立案繁忙，请稍后重试")
    _event(
        case,
        EventKind.FILED,
        actor,
        public=f"已立案（{case_type.name}，{priority.label}）。{note}".strip(),
        to_status=S.FILED,
    )
    notify(
        case.reporter_id,
        NotificationKind.CASE_UPDATE,
        f"您反映的“{post.title}”已立案，编号 {case.number}",
        post_id=post.id,
    )
    responses.case_filed(post, case)
    if departments:
        dispatch(actor, case, departments)
    return case


def dispatch(
    actor, case: Case, departments: list[Department], note: str = "", expected_version: int | None = None
) -> None:
    """派单 to one or more departments of the case's street or district; again later to add more."""
    _check_version(case, expected_version)
    require(actor, Action.DISPATCH_CASE, case)
    if not departments:
        raise ValidationError("请至少选择一个部门", "departments")
    for department in departments:
        if department.district_id != case.district_id or department.street_id not in (None, case.street_id):
            raise ValidationError("所选部门不负责这个居民区", "departments")
    new = [d for d in departments if d.id not in case.department_ids]
    if not new:
        raise ValidationError("所选部门都已派过单", "departments")
    for department in new:
        case.departments.append(CaseDepartment(department_id=department.id, department=department))
    names = "、".join(d.name for d in new)
    if case.status is S.FILED:
        transition(actor, case, S.DISPATCHED, public=f"派单至：{names}。{note}".strip())
    elif case.status.is_open:
        _event(case, EventKind.DISPATCHED, actor, public=f"增派：{names}。{note}".strip())
    else:
        raise ValidationError(f"工单已{case.status.label}，不能再派单")
    _notify_handlers(case, f"新派单“{case.post.title}”，请尽快处置", department_ids={d.id for d in new})


def accept(actor, case: Case, note: str = "", expected_version: int | None = None) -> None:
    transition(actor, case, S.IN_PROGRESS, public=note or "已接单，正在处置", expected_version=expected_version)


def add_note(actor, case: Case, public: str, internal: str = "", expected_version: int | None = None) -> None:
    """A progress note residents can see, and/or an internal one they never see."""
    _check_version(case, expected_version)
    require(actor, Action.NOTE_CASE, case)
    if not public.strip() and not internal.strip():
        raise ValidationError("请填写进展或内部备注", "public_note")
    if public.strip() and not case.status.is_open:
        raise ValidationError(f"工单已{case.status.label}")
    _event(case, EventKind.PROGRESS if public.strip() else EventKind.NOTE, actor, public=public, internal=internal)


def resolve(actor, case: Case, what_was_done: str, photos=(), expected_version: int | None = None) -> None:
    if not what_was_done.strip():
        raise ValidationError("请写明处置结果，居民会看到它", "public_note")
    event = transition(actor, case, S.RESOLVED, public=what_was_done, expected_version=expected_version)
    db.session.flush()
    for photo in photos:
        db.session.add(
            CasePhoto(
                event_id=event.id,
                file_name=photo.file_name,
                thumb_name=photo.thumb_name,
                width=photo.width,
                height=photo.height,
            )
        )
    _notify_handlers(case, "部门已办结，等待居民评价", level=Level.COMPOUND)


def rate(actor, case: Case, satisfaction: Satisfaction, comment: str = "") -> None:
    """回访: 满意/基本满意 close the case; 不满意 sends it back to the handlers."""
    if satisfaction is Satisfaction.UNRATED:
        raise ValidationError("请选择满意度", "satisfaction")
    require(actor, Action.RATE_CASE, case)
    case.satisfaction, case.satisfaction_comment = satisfaction, comment.strip()[:200] or None
    public = f"居民评价：{satisfaction.label}" + (f"。{comment.strip()}" if comment.strip() else "")
    if satisfaction is Satisfaction.UNSATISFIED:
        transition(actor, case, S.IN_PROGRESS, public=public)
        case.reopen_count += 1
        case.resolved_at = None
        case.deadline_at = case.next_escalation_at = deadline_for(case.priority, utcnow())
        _notify_handlers(
            case,
            f"居民不满意，请重新处置：{comment.strip()[:40]}",
            department_ids=case.department_ids,
            level=Level.COMPOUND,
        )
    else:
        transition(actor, case, S.CLOSED, public=public)


def withdraw(actor, case: Case, reason: str, expected_version: int | None = None) -> None:
    if not reason.strip():
        raise ValidationError("请填写不予立案的原因，居民会看到它", "public_note")
    transition(actor, case, S.WITHDRAWN, public=reason, expected_version=expected_version)


# Escalation and the clock ------------------------------------------------------------------


def escalate(actor, case: Case, reason: str, now: datetime | None = None, expected_version: int | None = None) -> None:
    """One level up: compound → street grid centre → district grid centre."""
    _check_version(case, expected_version)  # a stale page first: the case may have moved on
    if actor is not None:
        require(actor, Action.ESCALATE_CASE, case)
        if not reason.strip():
            raise ValidationError("请填写升级原因", "public_note")
    if not case.status.is_open:
        raise ValidationError(f"工单已{case.status.label}，不能升级")
    target = case.level.next
    if target is None:
        raise ValidationError("已经是最高层级")
    now = now or utcnow()
    _event(case, EventKind.ESCALATED, actor, public=f"升级至{target.label}。{reason}".strip())
    case.level = target
    case.next_escalation_at = deadline_for(case.priority, now)
    _notify_handlers(case, f"工单升级至{target.label}：{reason}", level=target)


def escalate_overdue(now: datetime | None = None, batch: int = 500) -> int:
    """For cron: every open case past its escalation time climbs one level."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            sa.select(Case)
            .where(
                Case.status.in_([S.FILED, S.DISPATCHED, S.IN_PROGRESS]),
                Case.level != Level.DISTRICT,
                Case.next_escalation_at < now,
            )
            .order_by(Case.next_escalation_at)
            .limit(batch)
        )
    )
    for case in due:
        escalate(None, case, "超过处置期限，自动升级", now=now)
    return len(due)


def close_unrated(now: datetime | None = None, batch: int = 500) -> int:
    """Resolved cases the resident did not rate within 7 days close as 未评价."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            sa.select(Case)
            .where(Case.status == S.RESOLVED, Case.resolved_at < now - RATING_WINDOW)
            .order_by(Case.resolved_at)
            .limit(batch)
        )
    )
    for case in due:
        case.satisfaction = Satisfaction.UNRATED
        transition(None, case, S.CLOSED, public="居民7天内未评价，自动结案")
    return len(due)


# Case types (district admin) ---------------------------------------------------------------


def add_default_case_types(district) -> None:
    """Give a new district the default list (cli create-admin, seed-demo; the tests' world)."""
    db.session.add_all(
        CaseType(district_id=district.id, name=name, sort_order=order)
        for order, name in enumerate(DEFAULT_CASE_TYPES, start=1)
    )
    db.session.flush()


def add_case_type(actor, district, name: str) -> CaseType:
    require(actor, Action.MANAGE_CASE_TYPES, district)
    name = name.strip()
    if not name:
        raise ValidationError("请填写类型名称", "name")
    in_district = CaseType.district_id == district.id
    if db.session.scalar(sa.select(CaseType.id).where(in_district, CaseType.name == name)):
        raise ValidationError("已有同名类型", "name")
    order = (db.session.scalar(sa.select(sa.func.max(CaseType.sort_order)).where(in_district)) or 0) + 1
    case_type = insert_unique(CaseType(district_id=district.id, name=name, sort_order=order), "已有同名类型", "name")
    audit.record(actor, "case_type.created", case_type, district_id=district.id, note=name)
    return case_type


def set_case_type_active(actor, district, case_type: CaseType, active: bool) -> None:
    require(actor, Action.MANAGE_CASE_TYPES, district)
    if case_type.district_id != district.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    case_type.active = active
    audit.record(
        actor,
        "case_type.enabled" if active else "case_type.disabled",
        case_type,
        district_id=district.id,
        note=case_type.name,
    )
