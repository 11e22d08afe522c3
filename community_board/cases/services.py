"""Case verbs. One transition table holds the workflow: the case's status, each department's part
(签收, 退单, 协办完成, 解除协办) and a 延期 request. ``transition`` applies the case's steps and
``_move_part`` a part's, each writing its event; the other verbs (notes, escalation, 包案人,
corrections) write events without changing a status."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..accounts.models import User
from ..compounds.models import Compound, Department, StaffAssignment, StaffRole
from ..enums import LabeledEnum
from ..errors import ValidationError
from ..extensions import db
from ..notifications.models import NotificationKind
from ..notifications.services import notify
from ..permissions import Action, Decision, PermissionDenied, require
from ..persistence import insert_unique
from ..responses import services as responses
from ..timeutil import format_local, to_local, utcnow
from ..web import STALE_MESSAGE
from . import workdays
from .models import (
    DEFAULT_CASE_TYPES,
    OPEN_STATUSES,
    CalendarDay,
    Case,
    CaseDepartment,
    CaseEvent,
    CaseExtension,
    CasePhoto,
    CaseStatus,
    CaseType,
    EventKind,
    ExtensionStatus,
    Level,
    PartRole,
    PartStatus,
    Priority,
    ReturnReason,
    Satisfaction,
)

RATING_WINDOW = timedelta(days=7)

S = CaseStatus
P = PartStatus
X = ExtensionStatus
# The workflow: (from, to) -> (the event the step writes, the action that allows it), for the case's
# status, for a department's part and for a 延期 request. Everything else is refused.
TRANSITIONS: dict[tuple[LabeledEnum, LabeledEnum], tuple[EventKind, Action]] = {
    # The case.
    (S.FILED, S.DISPATCHED): (EventKind.DISPATCHED, Action.DISPATCH_CASE),
    (S.FILED, S.WITHDRAWN): (EventKind.WITHDRAWN, Action.DISPATCH_CASE),
    (S.DISPATCHED, S.IN_PROGRESS): (EventKind.ACCEPTED, Action.WORK_CASE),  # the lead signs for it
    (S.IN_PROGRESS, S.RESOLVED): (EventKind.RESOLVED, Action.WORK_CASE),
    (S.RESOLVED, S.CLOSED): (EventKind.CLOSED, Action.RATE_CASE),
    (S.RESOLVED, S.IN_PROGRESS): (EventKind.REOPENED, Action.RATE_CASE),
    (S.DISPATCHED, S.RETURNED): (EventKind.RETURNED, Action.WORK_CASE),  # the lead's 退单
    (S.IN_PROGRESS, S.RETURNED): (EventKind.RETURNED, Action.WORK_CASE),
    (S.RETURNED, S.DISPATCHED): (EventKind.DISPATCHED, Action.DISPATCH_CASE),  # 改派
    (S.RETURNED, S.WITHDRAWN): (EventKind.WITHDRAWN, Action.DISPATCH_CASE),
    # A department's part (主办 or 协办).
    (P.PENDING, P.ACKNOWLEDGED): (EventKind.ACKNOWLEDGED, Action.WORK_CASE),
    (P.ACKNOWLEDGED, P.DONE): (EventKind.PART_DONE, Action.WORK_CASE),  # 协办 only: the lead's is the case's 办结
    (P.PENDING, P.RETURNED): (EventKind.RETURNED, Action.WORK_CASE),
    (P.ACKNOWLEDGED, P.RETURNED): (EventKind.RETURNED, Action.WORK_CASE),
    (P.PENDING, P.RELEASED): (EventKind.RELEASED, Action.DISPATCH_CASE),
    (P.ACKNOWLEDGED, P.RELEASED): (EventKind.RELEASED, Action.DISPATCH_CASE),
    (P.RETURNED, P.PENDING): (EventKind.DISPATCHED, Action.DISPATCH_CASE),  # sent to it again
    (P.RELEASED, P.PENDING): (EventKind.DISPATCHED, Action.DISPATCH_CASE),
    # A 延期 request.
    (X.PENDING, X.APPROVED): (EventKind.EXTENSION_APPROVED, Action.DISPATCH_CASE),
    (X.PENDING, X.REFUSED): (EventKind.EXTENSION_REFUSED, Action.DISPATCH_CASE),
}
# How long a 延期 may reach beyond today.
LONGEST_EXTENSION = timedelta(days=90)


def _limit_for(setting: str, priority: Priority, start: datetime, district_id: int) -> datetime:
    limit = current_app.config[setting][priority.value]
    exceptions = workdays.exceptions_from(district_id, start) if limit[0] == "workdays" else {}
    return workdays.due(start, limit, exceptions)


def deadline_for(priority: Priority, start: datetime, district_id: int) -> datetime:
    """紧急: hours; 一般/较低: working days of the district's calendar."""
    return _limit_for("CASE_DEADLINES", priority, start, district_id)


def ack_due_for(priority: Priority, start: datetime, district_id: int) -> datetime:
    """When a department dispatched at ``start`` must have signed for the case (签收)."""
    return _limit_for("CASE_ACK_LIMITS", priority, start, district_id)


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


def owner_label(case: Case) -> str:
    """The 包案人 as residents see them: the role (居民区书记, 居委会工作人员), never the name."""
    return actor_label(case.owner, case) if case.owner is not None else "居委会"


def _event(
    case: Case,
    kind: EventKind,
    actor,
    *,
    public: str = "",
    internal: str = "",
    from_status: CaseStatus | None = None,
    to_status: CaseStatus | None = None,
    department_id: int | None = None,
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
        department_id=department_id,
    )
    db.session.add(event)
    return event


def _step(from_state: LabeledEnum, to_state: LabeledEnum, what: str = "工单") -> tuple[EventKind, Action]:
    step = TRANSITIONS.get((from_state, to_state))
    if step is None:
        raise ValidationError(f"{what}当前为“{from_state.label}”，不能改为“{to_state.label}”")
    return step


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
    kind, action = _step(case.status, to_status)
    if actor is not None:
        require(actor, action, case)
    if to_status is S.RESOLVED:
        _check_parts_done(case)
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


def _check_parts_done(case: Case) -> None:
    """主办/协办: the case is resolved only once every assisting part is done or released."""
    waiting = [p.department.name for p in case.parts if not p.is_lead and p.status is not P.DONE]
    if waiting:
        raise ValidationError(f"协办部门尚未完成：{'、'.join(waiting)}。请等协办完成，或由派单人解除协办")


def _move_part(
    actor, case: Case, part: CaseDepartment, to: PartStatus, *, public: str = "", internal: str = "", event=None
) -> CaseEvent:
    """The one way a department's part changes status: check the table and the actor, write the event
    (or record the move on ``event``, the case's own step that carries it: the lead's 签收 or 退单)."""
    kind, action = _step(part.status, to, f"{part.department.name}的{part.role.label}")
    if actor is not None:
        require(actor, action, case)
    if event is None:
        event = _event(case, kind, actor, public=public, internal=internal, department_id=part.department_id)
    event.department_id, event.part_status = part.department_id, to
    part.status = to
    now = utcnow()
    if to is P.ACKNOWLEDGED:
        part.acknowledged_at = now
    elif to is P.PENDING:  # sent to it again: a new limit to sign for it
        part.dispatched_at = now
        part.ack_due_at = ack_due_for(case.priority, now, case.district_id)
        part.acknowledged_at = part.finished_at = part.ack_flagged_at = None
    else:
        part.finished_at = now
    return event


def _notify_reporter(case: Case, status: CaseStatus) -> None:
    messages = {
        S.DISPATCHED: "已派单给相关部门处理",
        S.IN_PROGRESS: "正在处置中",
        S.RESOLVED: "已办结，请对处理结果进行评价",
        S.CLOSED: "已结案，感谢您的参与",
        S.WITHDRAWN: "经核实不予立案，原因见工单说明",
    }
    if case.for_household:  # the staff member who wrote it for the household cannot rate it: they pass it on
        messages[S.RESOLVED] = "已办结，请把处理结果告知居民"
    if status in messages:
        notify(
            case.reporter_id,
            NotificationKind.CASE_UPDATE,
            f"工单 {case.number}：{messages[status]}",
            post_id=case.post_id,
        )


def _notify_handlers(
    case: Case, text: str, department_ids: set[int] | None = None, level: Level | None = None, owner: bool = False
) -> None:
    """Tell the people a case has reached: staff of the departments, or grid staff of a level, and
    (``owner``) its 包案人."""
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
    user_ids = set()
    if conditions:
        user_ids = set(db.session.scalars(sa.select(StaffAssignment.user_id).where(sa.or_(*conditions)).limit(200)))
    if owner and case.owner_id is not None:
        user_ids.add(case.owner_id)
    for user_id in user_ids:
        notify(user_id, NotificationKind.CASE_UPDATE, f"工单 {case.number}：{text}", post_id=case.post_id)


# Filing ------------------------------------------------------------------------------------


def _next_number(compound: Compound, now: datetime) -> str:
    prefix = f"{compound.street.district.code}-{to_local(now):%Y%m%d}-"
    last = db.session.scalar(sa.select(sa.func.max(Case.number)).where(Case.number.like(prefix + "%")))
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def _default_owner(actor, compound_id: int) -> int | None:
    """首问负责: the compound staff member who files the case owns it; else the compound's 书记 (or,
    lacking one, a committee member) answers for a case filed by the police or a grid centre."""
    if _is_compound_staff(actor, compound_id):
        return actor.id
    return db.session.scalar(
        sa.select(StaffAssignment.user_id)
        .join(User, User.id == StaffAssignment.user_id)
        .where(
            StaffAssignment.compound_id == compound_id,
            StaffAssignment.role.in_([StaffRole.SECRETARY, StaffRole.COMMITTEE]),
            User.active.is_(True),
        )
        .order_by(sa.case((StaffAssignment.role == StaffRole.SECRETARY, 0), else_=1), StaffAssignment.id)
        .limit(1)
    )


def _is_compound_staff(user, compound_id: int) -> bool:
    return any(
        a.role in (StaffRole.SECRETARY, StaffRole.COMMITTEE) and a.compound_id == compound_id
        for a in getattr(user, "assignments", ())
    )


def file_case(
    actor,
    post,
    case_type: CaseType,
    priority: Priority,
    *,
    reply=None,
    note: str = "",
    departments: list[Department] = (),
    lead: Department | None = None,
) -> Case:
    """立案 on a post (or one of its replies); dispatches at once when departments are given."""
    require(actor, Action.FILE_CASE, post)
    if db.session.scalar(sa.select(Case.id).where(Case.post_id == post.id)):
        raise ValidationError("这条帖子已经立案")
    if not case_type.active or case_type.district_id != post.district_id:
        raise ValidationError("请选择案件类型", "case_type")
    now = utcnow()
    deadline = deadline_for(priority, now, post.district_id)
    owner_id = _default_owner(actor, post.compound_id)
    for _attempt in range(5):  # two filings in the same second may pick the same number
        case = Case(
            number=_next_number(post.compound, now),
            district_id=post.district_id,
            street_id=post.street_id,
            compound_id=post.compound_id,
            post_id=post.id,
            reply_id=reply.id if reply else None,
            reporter_id=reply.author_id if reply else post.author_id,
            owner_id=owner_id,
            case_type=case_type,
            priority=priority,
            created_at=now,
            deadline_at=deadline,
            next_escalation_at=deadline,
            on_behalf_label=post.on_behalf_label,  # reported on the resident's behalf (代发)
        )
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
    if owner_id is not None and owner_id != actor.id:
        notify(owner_id, NotificationKind.CASE_UPDATE, f"工单 {case.number}：您是包案人", post_id=post.id)
    if departments:
        dispatch(actor, case, departments, lead=lead)
    return case


def _check_serves(case: Case, departments: list[Department]) -> None:
    for department in departments:
        if department.district_id != case.district_id or department.street_id not in (None, case.street_id):
            raise ValidationError("所选部门不负责这个居民区", "departments")


def parts_text(case: Case) -> str:
    """承办 as residents read it: 城管中队（主办）、物业; one department needs no mark."""
    parts = case.parts
    if len(parts) == 1:
        return parts[0].department.name
    return "、".join(p.department.name + ("（主办）" if p.is_lead else "") for p in parts) or "无"


def dispatch(
    actor,
    case: Case,
    departments: list[Department],
    note: str = "",
    expected_version: int | None = None,
    lead: Department | None = None,
) -> None:
    """派单 to one or more departments of the case's street or district, one of them leading (主办,
    the first unless named); again later to add assistants (增派), or after a 退单 (改派)."""
    _check_version(case, expected_version)
    require(actor, Action.DISPATCH_CASE, case)
    _check_serves(case, departments)
    if not case.status.is_open:
        raise ValidationError(f"工单已{case.status.label}，不能再派单")
    needs_lead = case.lead is None
    if lead is not None and not needs_lead and lead.id != case.lead.department_id:
        raise ValidationError("已有主办部门；要更换主办，请用“更正”", "lead")
    lead = (lead or (departments[0] if departments else None)) if needs_lead else None
    active = case.department_ids
    promoted = case.part_of(lead.id) if lead is not None and lead.id in active else None
    if not departments and promoted is None:
        raise ValidationError("请至少选择一个部门", "departments")
    if lead is not None and promoted is None and lead.id not in {d.id for d in departments}:
        raise ValidationError("主办部门须在所选部门中", "lead")
    chosen = [d for d in departments if d.id not in active]
    if not chosen and promoted is None:
        raise ValidationError("所选部门都已派过单", "departments")

    now = utcnow()
    ack_due = ack_due_for(case.priority, now, case.district_id)
    again = []
    for department in chosen:
        role = PartRole.LEAD if lead is not None and department.id == lead.id else PartRole.ASSIST
        part = case.part_of(department.id)
        if part is None:
            case.departments.append(
                CaseDepartment(
                    department_id=department.id,
                    department=department,
                    dispatched_at=now,
                    role=role,
                    status=P.PENDING,
                    ack_due_at=ack_due,
                )
            )
        else:  # it returned the case or was released: sent to it again below, once the case has moved
            part.role = role
            again.append(part)
    if promoted is not None:
        if promoted.status is P.DONE:
            raise ValidationError(f"{promoted.department.name}已完成协办，不能改为主办", "lead")
        promoted.role = PartRole.LEAD
    for part in case.parts:  # one lead at a time (one that returned the case stays as it was)
        if lead is not None and part.department_id != lead.id and part.role is PartRole.LEAD:
            part.role = PartRole.ASSIST
    if case.status in (S.FILED, S.RETURNED):
        transition(actor, case, S.DISPATCHED, public=f"派单至：{parts_text(case)}。{note}".strip())
    else:
        names = "、".join(d.name for d in chosen)
        _event(case, EventKind.DISPATCHED, actor, public=f"增派：{names}（协办）。{note}".strip())
    for part in again:
        _move_part(actor, case, part, P.PENDING, internal=f"重新派单至{part.department.name}")
    _notify_handlers(case, f"新派单“{case.post.title}”，请在时限内签收", department_ids={d.id for d in chosen})


def own_part(actor, case: Case) -> CaseDepartment | None:
    """The actor's department's part on the case (its lead part first), if it has one."""
    mine = {a.department_id for a in actor.assignments if a.role is StaffRole.DEPARTMENT}
    parts = [p for p in case.parts if p.department_id in mine]
    return parts[0] if parts else None


def acknowledge(actor, case: Case, note: str = "", expected_version: int | None = None) -> None:
    """签收: the actor's department signs for its part; the lead's 签收 of a dispatched case is its
    接单处置 (one step, one event)."""
    _check_version(case, expected_version)
    require(actor, Action.WORK_CASE, case)
    part = own_part(actor, case)
    if part is None or part.status is not P.PENDING:
        raise ValidationError("您的部门在这个工单上没有待签收的部分")
    _step(part.status, P.ACKNOWLEDGED)
    if part.is_lead and case.status is S.DISPATCHED:
        event = transition(actor, case, S.IN_PROGRESS, public=note or "已签收，正在处置")
        _move_part(actor, case, part, P.ACKNOWLEDGED, event=event)
    else:
        _move_part(actor, case, part, P.ACKNOWLEDGED, public=note or f"已签收（{part.role.label}）")


def accept(actor, case: Case, note: str = "", expected_version: int | None = None) -> None:
    """接单处置: the lead department (signing for it if it has not yet) or a grid centre starts the work."""
    _check_version(case, expected_version)
    require(actor, Action.WORK_CASE, case)
    part = own_part(actor, case)
    if part is not None and part.status is P.PENDING:
        acknowledge(actor, case, note or "已接单，正在处置")
        return
    if part is not None and not part.is_lead:
        raise ValidationError("由主办部门接单处置；协办部门请签收后办理自己的部分")
    transition(actor, case, S.IN_PROGRESS, public=note or "已接单，正在处置")


def return_case(
    actor, case: Case, reason: ReturnReason | None, basis: str, expected_version: int | None = None
) -> None:
    """退单: a department sends its part back with a reason and the basis for it. The lead's 退单
    sends the case back to the dispatcher (已退回), who redispatches it."""
    _check_version(case, expected_version)
    require(actor, Action.WORK_CASE, case)
    part = own_part(actor, case)
    if part is None:
        raise ValidationError("您的部门不在这个工单上")
    if reason is None:
        raise ValidationError("请选择退单原因", "return_reason")
    if not basis.strip():
        raise ValidationError("请写明退单依据（如职责规定、应派的部门）", "basis")
    _step(part.status, P.RETURNED, f"{part.department.name}的{part.role.label}")
    public, internal = f"{part.department.name}退单：{reason.label}", f"退单依据：{basis}"
    if part.is_lead:
        event = transition(actor, case, S.RETURNED, public=public, internal=internal)
        _move_part(actor, case, part, P.RETURNED, event=event)
    else:
        _move_part(actor, case, part, P.RETURNED, public=public, internal=internal)
    _notify_handlers(case, f"{part.department.name}退单（{reason.label}），请改派", level=case.level, owner=True)


def finish_part(actor, case: Case, what_was_done: str, expected_version: int | None = None) -> None:
    """协办完成: an assisting department reports its own part."""
    _check_version(case, expected_version)
    require(actor, Action.WORK_CASE, case)
    part = own_part(actor, case)
    if part is None:
        raise ValidationError("您的部门不在这个工单上")
    if part.is_lead:
        raise ValidationError("主办部门完成后请直接“办结”")
    if not what_was_done.strip():
        raise ValidationError("请写明协办完成情况，居民会看到它", "public_note")
    _move_part(actor, case, part, P.DONE, public=what_was_done)
    lead = case.lead
    _notify_handlers(
        case,
        f"协办部门{part.department.name}已完成",
        department_ids={lead.department_id} if lead else None,
        owner=True,
    )


def release_part(actor, case: Case, department_id: int | None, reason: str, expected_version: int | None = None):
    """解除协办: the dispatcher frees an assisting department of its part (no longer needed)."""
    _check_version(case, expected_version)
    require(actor, Action.DISPATCH_CASE, case)
    part = case.part_of(department_id) if department_id is not None else None
    if part is None or not part.is_active or part.is_lead:
        raise ValidationError("请选择要解除的协办部门", "department")
    if not reason.strip():
        raise ValidationError("请写明解除原因，居民会看到它", "public_note")
    _move_part(actor, case, part, P.RELEASED, public=f"解除{part.department.name}的协办：{reason.strip()}")
    _notify_handlers(case, f"已解除您部门的协办：{reason.strip()[:40]}", department_ids={part.department_id})


def pending_extension(case: Case) -> CaseExtension | None:
    return db.session.scalar(
        sa.select(CaseExtension).where(CaseExtension.case_id == case.id, CaseExtension.status == X.PENDING)
    )


def request_extension(
    actor, case: Case, new_deadline: datetime | None, reason: str, expected_version: int | None = None
) -> CaseExtension:
    """延期: a department that signed for its part asks, before the deadline, for a later one."""
    _check_version(case, expected_version)
    require(actor, Action.WORK_CASE, case)
    part = own_part(actor, case)
    if part is None or part.status is not P.ACKNOWLEDGED:
        raise ValidationError("签收后、办完前才能申请延期")
    if case.status not in (S.DISPATCHED, S.IN_PROGRESS):
        raise ValidationError(f"工单{case.status.label}，不能申请延期")
    now = utcnow()
    if case.deadline_at <= now:
        raise ValidationError("已超过处置期限，不能再申请延期")
    if new_deadline is None:
        raise ValidationError("请选择新的期限", "new_deadline")
    if new_deadline <= case.deadline_at:
        raise ValidationError(f"新的期限须晚于当前期限（{format_local(case.deadline_at)}）", "new_deadline")
    if new_deadline > now + LONGEST_EXTENSION:
        raise ValidationError("延期最长到90天以内", "new_deadline")
    if not reason.strip():
        raise ValidationError("请写明延期原因", "basis")
    if pending_extension(case) is not None:
        raise ValidationError("已有一个延期申请在等待审批")
    extension = insert_unique(
        CaseExtension(
            case_id=case.id,
            department_id=part.department_id,
            requested_by_id=actor.id,
            requested_at=now,
            old_deadline_at=case.deadline_at,
            new_deadline_at=new_deadline,
            reason=reason.strip()[:200],
        ),
        "已有一个延期申请在等待审批",
    )
    _event(
        case,
        EventKind.EXTENSION_REQUESTED,
        actor,
        internal=f"申请延期至{format_local(new_deadline)}：{reason.strip()}",
        department_id=part.department_id,
    )
    _notify_handlers(
        case, f"{part.department.name}申请延期至{format_local(new_deadline)}，请审批", level=case.level, owner=True
    )
    return extension


def decide_extension(
    actor, case: Case, approve: bool, note: str = "", expected_version: int | None = None
) -> CaseExtension:
    """The dispatcher approves a 延期 (the deadline moves) or refuses it with a reason."""
    _check_version(case, expected_version)
    require(actor, Action.DISPATCH_CASE, case)
    extension = pending_extension(case)
    if extension is None:
        raise ValidationError("没有等待审批的延期申请")
    if not case.status.is_open:
        raise ValidationError(f"工单已{case.status.label}")
    to = X.APPROVED if approve else X.REFUSED
    kind, action = _step(extension.status, to, "延期申请")
    require(actor, action, case)
    if not approve and not note.strip():
        raise ValidationError("请写明不同意延期的理由", "public_note")
    name = extension.department.name
    extension.status, extension.decided_by_id, extension.decided_at = to, actor.id, utcnow()
    extension.decision_note = note.strip()[:200]
    if approve:
        new = extension.new_deadline_at
        public = f"同意{name}延期，处置期限由{format_local(case.deadline_at)}延至{format_local(new)}。{note}".strip()
        case.deadline_at = new
        case.next_escalation_at = max(case.next_escalation_at or new, new)
        _event(case, kind, actor, public=public, department_id=extension.department_id)
    else:
        _event(case, kind, actor, internal=f"不同意{name}延期：{note.strip()}", department_id=extension.department_id)
    _notify_handlers(
        case,
        f"延期申请{'已同意，新期限 ' + format_local(extension.new_deadline_at) if approve else '未同意：' + note.strip()[:40]}",
        department_ids={extension.department_id},
    )
    return extension


def set_owner(actor, case: Case, owner: User | None, expected_version: int | None = None) -> None:
    """The 书记 hands the case to another 包案人 among the compound's staff."""
    _check_version(case, expected_version)
    require(actor, Action.ASSIGN_CASE_OWNER, case)
    if case.status in (S.CLOSED, S.WITHDRAWN):
        raise ValidationError(f"工单已{case.status.label}")
    if owner is None or not owner.active or not _is_compound_staff(owner, case.compound_id):
        raise ValidationError("包案人须是本居民区的书记或居委会工作人员", "owner")
    if owner.id == case.owner_id:
        raise ValidationError(f"{owner.real_name}已是包案人", "owner")
    before = case.owner.real_name if case.owner is not None else "未指定"
    _event(
        case,
        EventKind.OWNER_CHANGED,
        actor,
        public=f"包案人更换为{actor_label(owner, case)}",
        internal=f"包案人：{before} → {owner.real_name}",
    )
    case.owner_id, case.owner = owner.id, owner
    notify(owner.id, NotificationKind.CASE_UPDATE, f"工单 {case.number}：您已成为包案人", post_id=case.post_id)


def correct(
    actor,
    case: Case,
    *,
    case_type: CaseType | None = None,
    priority: Priority | None = None,
    departments: list[Department] | None = None,
    lead: Department | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> None:
    """更正 after filing: the type, the priority (the deadline is computed again from filing) and the
    dispatched departments; each change is an event, old → new. Values equal to the case's change nothing."""
    _check_version(case, expected_version)
    require(actor, Action.DISPATCH_CASE, case)
    if not case.status.is_open:
        raise ValidationError(f"工单已{case.status.label}，不能更正")
    note = f"。{note.strip()}" if note.strip() else ""
    changed = False
    if case_type is not None and case_type.id != case.case_type_id:
        if not case_type.active or case_type.district_id != case.district_id:
            raise ValidationError("请选择案件类型", "case_type")
        _event(case, EventKind.CORRECTED, actor, public=f"更正案件类型：{case.case_type.name} → {case_type.name}{note}")
        case.case_type_id, case.case_type = case_type.id, case_type
        changed = True
    if priority is not None and priority is not case.priority:
        deadline = deadline_for(priority, case.created_at, case.district_id)
        _event(
            case,
            EventKind.CORRECTED,
            actor,
            public=f"更正紧急程度：{case.priority.label} → {priority.label}，"
            f"处置期限 {format_local(case.deadline_at)} → {format_local(deadline)}{note}",
        )
        case.priority, case.deadline_at = priority, deadline
        if case.level is Level.COMPOUND:
            case.next_escalation_at = deadline
        now = utcnow()
        for part in case.departments:
            if part.status is P.PENDING:
                part.ack_due_at = ack_due_for(priority, part.dispatched_at, case.district_id)
                if part.ack_due_at > now:
                    part.ack_flagged_at = None
        changed = True
    if departments is not None:
        changed = _correct_departments(actor, case, departments, lead, note) or changed
    if not changed:
        raise ValidationError("没有需要更正的内容")


def _correct_departments(actor, case: Case, departments: list[Department], lead: Department | None, note: str):
    current = {p.department_id: p for p in case.parts}
    wanted = {d.id: d for d in departments}
    old_lead = case.lead
    lead = lead or (old_lead.department if old_lead and old_lead.department_id in wanted else None)
    lead = lead or (departments[0] if departments else None)
    if set(wanted) == set(current) and (lead is None or (old_lead and old_lead.department_id == lead.id)):
        return False
    if case.status not in (S.DISPATCHED, S.IN_PROGRESS):
        raise ValidationError("派单后才能更正承办部门；已退回的工单请改派", "departments")
    if not departments:
        raise ValidationError("请至少选择一个部门", "departments")
    _check_serves(case, departments)
    if lead.id not in wanted:
        raise ValidationError("主办部门须在所选部门中", "lead")
    for department_id, part in current.items():
        if department_id not in wanted and part.status is not P.PENDING:
            raise ValidationError(
                f"{part.department.name}{part.status.label}，不能撤回；不再需要它配合时请“解除协办”", "departments"
            )
    if lead.id in current and current[lead.id].status is P.DONE:
        raise ValidationError(f"{lead.name}已完成协办，不能改为主办", "lead")
    before = parts_text(case)
    for department_id, part in current.items():
        if department_id not in wanted:
            case.departments.remove(part)  # dispatched by mistake and never signed for: as if never sent
    now = utcnow()
    ack_due = ack_due_for(case.priority, now, case.district_id)
    added, again = [], []
    for department_id, department in wanted.items():
        if department_id in current:
            continue
        added.append(department)
        part = case.part_of(department_id)
        if part is not None:
            again.append(part)
        else:
            case.departments.append(
                CaseDepartment(
                    department_id=department_id,
                    department=department,
                    dispatched_at=now,
                    role=PartRole.ASSIST,
                    status=P.PENDING,
                    ack_due_at=ack_due,
                )
            )
    for part in [*case.parts, *again]:
        part.role = PartRole.LEAD if part.department_id == lead.id else PartRole.ASSIST
    _event(case, EventKind.CORRECTED, actor, public=f"更正承办部门：{before} → {parts_text(case)}{note}")
    for part in again:
        _move_part(actor, case, part, P.PENDING, internal=f"重新派单至{part.department.name}")
    if added:
        _notify_handlers(case, f"新派单“{case.post.title}”，请在时限内签收", department_ids={d.id for d in added})
    return True


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
    """办结 by the lead department (or a grid centre), once every assisting part is done or released."""
    _check_version(case, expected_version)
    require(actor, Action.WORK_CASE, case)
    part = own_part(actor, case)
    if part is not None and not part.is_lead:
        raise ValidationError("由主办部门办结；协办部门请提交“协办完成”")
    if not what_was_done.strip():
        raise ValidationError("请写明处置结果，居民会看到它", "public_note")
    event = transition(actor, case, S.RESOLVED, public=what_was_done)
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
        case.deadline_at = case.next_escalation_at = deadline_for(case.priority, utcnow(), case.district_id)
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
    case.next_escalation_at = deadline_for(case.priority, now, case.district_id)
    _notify_handlers(case, f"工单升级至{target.label}：{reason}", level=target)


def escalate_overdue(now: datetime | None = None, batch: int = 500) -> int:
    """For cron: every open case past its escalation time climbs one level."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            sa.select(Case)
            .where(
                Case.status.in_(OPEN_STATUSES),
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


def flag_unacknowledged(now: datetime | None = None, batch: int = 500) -> int:
    """For cron: a department that has not signed for its part of an open case in time (签收超时)
    is flagged once, on the timeline and to the dispatchers; the department is reminded."""
    now = now or utcnow()
    parts = list(
        db.session.scalars(
            sa.select(CaseDepartment)
            .join(Case, Case.id == CaseDepartment.case_id)
            .where(
                CaseDepartment.status == P.PENDING,
                CaseDepartment.ack_due_at < now,
                CaseDepartment.ack_flagged_at.is_(None),
                Case.status.in_(OPEN_STATUSES),
            )
            .order_by(CaseDepartment.ack_due_at)
            .limit(batch)
        )
    )
    cases = {c.id: c for c in db.session.scalars(sa.select(Case).where(Case.id.in_({p.case_id for p in parts})))}
    for part in parts:
        case, name = cases[part.case_id], part.department.name
        part.ack_flagged_at = now
        _event(
            case,
            EventKind.ACK_OVERDUE,
            None,
            internal=f"{name}超过签收时限（{format_local(part.ack_due_at)}）仍未签收",
            department_id=part.department_id,
        )
        _notify_handlers(case, f"{name}超过签收时限仍未签收，请督办或改派", level=case.level, owner=True)
        _notify_handlers(case, "已超过签收时限，请尽快签收", department_ids={part.department_id})
    return len(parts)


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


# The working-day calendar (district admin) --------------------------------------------------


def set_calendar_day(actor, district, day: date | None, is_workday: bool, note: str = "") -> CalendarDay:
    """Mark a day of the district as a holiday (放假) or a 调休 working day; again to change it."""
    require(actor, Action.MANAGE_CALENDAR, district)
    if day is None:
        raise ValidationError("请选择日期", "day")
    row = db.session.get(CalendarDay, (district.id, day))
    if row is None:
        row = CalendarDay(district_id=district.id, day=day)
        db.session.add(row)
    row.is_workday, row.note = is_workday, note.strip()[:40]
    audit.record(
        actor,
        "calendar.day_set",
        district,
        district_id=district.id,
        note=f"{day:%Y-%m-%d} {'调休上班' if is_workday else '放假'} {row.note}".strip(),
    )
    return row


def remove_calendar_day(actor, district, day: date | None) -> None:
    require(actor, Action.MANAGE_CALENDAR, district)
    row = db.session.get(CalendarDay, (district.id, day)) if day is not None else None
    if row is None:
        raise ValidationError("日历里没有这一天")
    db.session.delete(row)
    audit.record(actor, "calendar.day_removed", district, district_id=district.id, note=f"{day:%Y-%m-%d}")


def load_national_holidays(actor, district) -> int:
    """Add the State Council's holidays and 调休 days (data/holidays_cn.json) the district lacks;
    days the admin set already are kept as they are."""
    if actor is not None:
        require(actor, Action.MANAGE_CALENDAR, district)
    kept = set(db.session.scalars(sa.select(CalendarDay.day).where(CalendarDay.district_id == district.id)))
    rows = [
        CalendarDay(district_id=district.id, day=day, is_workday=is_workday, note=note)
        for day, is_workday, note in workdays.national_calendar()
        if day not in kept
    ]
    db.session.add_all(rows)
    if actor is not None:
        audit.record(actor, "calendar.holidays_loaded", district, district_id=district.id, note=f"{len(rows)}天")
    db.session.flush()
    return len(rows)
