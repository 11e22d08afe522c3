"""Case reads: one case, the cases of posts on a feed, inboxes and timelines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import lazyload, selectinload

from ..accounts.models import User
from ..compounds.models import Compound, Department, StaffAssignment, StaffRole
from ..extensions import db
from ..pagination import Page, keyset_page
from ..permissions import Action, Decision, PermissionDenied, require
from ..timeutil import utcnow
from .models import (
    ACTIVE_PARTS,
    OPEN_STATUSES,
    CalendarDay,
    Case,
    CaseDepartment,
    CaseEvent,
    CaseExtension,
    CaseType,
    ExtensionStatus,
    Level,
    PartStatus,
)


def get_case_for(user, case_id: int, action: Action = Action.VIEW_CASE) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    require(user, action, case)
    return case


def case_of_post(post_id: int) -> Case | None:
    return db.session.scalar(sa.select(Case).where(Case.post_id == post_id))


def cases_of_posts(post_ids: list[int]) -> dict[int, Case]:
    """The cases of a list's posts, for their cards (which show no departments: not loaded)."""
    if not post_ids:
        return {}
    stmt = sa.select(Case).where(Case.post_id.in_(post_ids)).options(lazyload(Case.departments))
    return {c.post_id: c for c in db.session.scalars(stmt)}


def timeline(case: Case, *, internal: bool) -> list[CaseEvent]:
    """Every event for staff; residents get the public steps only (internal notes never leave)."""
    stmt = sa.select(CaseEvent).where(CaseEvent.case_id == case.id)
    if internal:
        stmt = stmt.options(selectinload(CaseEvent.actor))  # staff see who did each step
    else:
        stmt = stmt.where(CaseEvent.public_note != "")
    return list(db.session.scalars(stmt.order_by(CaseEvent.created_at, CaseEvent.id).limit(500)))


def case_types(district_id: int, active_only: bool = True) -> list[CaseType]:
    """A district's own case types: cases filed there choose from these only."""
    stmt = sa.select(CaseType).where(CaseType.district_id == district_id).order_by(CaseType.sort_order, CaseType.id)
    if active_only:
        stmt = stmt.where(CaseType.active.is_(True))
    return list(db.session.scalars(stmt))


def scope_condition(user):
    """SQL for 'cases this user's roles reach': departments see what was dispatched to them (and not
    returned or released), compound staff their compound, grid centres their street or district."""
    conditions = []
    for assignment in user.assignments:
        if assignment.role is StaffRole.DEPARTMENT:
            conditions.append(
                Case.id.in_(
                    sa.select(CaseDepartment.case_id).where(
                        CaseDepartment.department_id == assignment.department_id,
                        CaseDepartment.status.in_(ACTIVE_PARTS),
                    )
                )
            )
        elif assignment.compound_id is not None:
            conditions.append(Case.compound_id == assignment.compound_id)
        elif assignment.street_id is not None:
            conditions.append(Case.street_id == assignment.street_id)
        else:
            conditions.append(Case.district_id == assignment.district_id)
    return sa.or_(*conditions) if conditions else sa.false()


@dataclass(frozen=True)
class InboxFilter:
    """What 我的工单 narrows to; empty fields do not filter."""

    number: str = ""  # the whole case number or any part of it
    compound: str = ""  # part of a compound's name
    case_type_id: int | None = None
    level: Level | None = None


INBOX_VIEWS = {"open": "办理中", "overdue": "已超期", "unsigned": "签收超时", "mine": "我包案的", "all": "全部"}


def inbox(user, view: str, cursor: str | None, limit: int, narrow: InboxFilter = InboxFilter()) -> Page[Case]:
    """我的工单: open cases by deadline (soonest first), or those past it, those a department has not
    signed for in time (签收超时), those the user owns (包案); 'all' lists every case newest first."""
    stmt = sa.select(Case).where(scope_condition(user)).options(selectinload(Case.post), selectinload(Case.compound))
    if narrow.number:
        stmt = stmt.where(Case.number.contains(narrow.number.upper(), autoescape=True))
    if narrow.compound:
        named = sa.select(Compound.id).where(Compound.name.contains(narrow.compound, autoescape=True))
        stmt = stmt.where(Case.compound_id.in_(named))
    if narrow.case_type_id is not None:
        stmt = stmt.where(Case.case_type_id == narrow.case_type_id)
    if narrow.level is not None:
        stmt = stmt.where(Case.level == narrow.level)
    if view == "all":
        return keyset_page(stmt, Case, cursor, limit)
    stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    if view == "overdue":
        stmt = stmt.where(Case.deadline_at < utcnow())
    elif view == "unsigned":
        stmt = stmt.where(
            sa.exists().where(
                CaseDepartment.case_id == Case.id,
                CaseDepartment.status == PartStatus.PENDING,
                CaseDepartment.ack_due_at < utcnow(),
            )
        )
    elif view == "mine":
        stmt = stmt.where(Case.owner_id == user.id)
    return keyset_page(stmt, Case, cursor, limit, newest_first=False, sort_column="deadline_at")


def waiting_extensions(case_ids: list[int]) -> set[int]:
    """Which of these cases have a 延期 request waiting for the dispatcher (one query for a page)."""
    if not case_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(CaseExtension.case_id).where(
                CaseExtension.case_id.in_(case_ids), CaseExtension.status == ExtensionStatus.PENDING
            )
        )
    )


def compound_staff(compound_id: int) -> list[User]:
    """Who may own (包案) a case of the compound: its 书记 and committee staff, 书记 first."""
    users = db.session.scalars(
        sa.select(User)
        .join(StaffAssignment, StaffAssignment.user_id == User.id)
        .where(
            StaffAssignment.compound_id == compound_id,
            StaffAssignment.role.in_([StaffRole.SECRETARY, StaffRole.COMMITTEE]),
            User.active.is_(True),
        )
        .order_by(sa.case((StaffAssignment.role == StaffRole.SECRETARY, 0), else_=1), User.id)
        .limit(100)
    )
    return list(dict.fromkeys(users))  # one row per role held


def calendar_year(district_id: int, year: int) -> list[CalendarDay]:
    """The district's holidays and 调休 days of one year, in order."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    return list(
        db.session.scalars(
            sa.select(CalendarDay)
            .where(CalendarDay.district_id == district_id, CalendarDay.day.between(first, last))
            .order_by(CalendarDay.day)
            .limit(366)
        )
    )


def departments_serving(district_id: int, street_id: int) -> list[Department]:
    """Departments a case of this street can go to: the street's own and the district's."""
    return list(
        db.session.scalars(
            sa.select(Department)
            .where(
                Department.district_id == district_id,
                sa.or_(Department.street_id == street_id, Department.street_id.is_(None)),
            )
            .order_by(Department.street_id.is_(None), Department.id)
        )
    )
