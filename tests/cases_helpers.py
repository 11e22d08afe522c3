"""Builders the case tests share: posts filed as cases through the services, cases walked to a
status, cases placed in the past, events and notifications, the version on a case page."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa
from board_helpers import (  # noqa: F401  (re-exported for the case tests)
    make_post,
    signed_in,
    text_of,
)

from community_board.cases import services
from community_board.cases.models import (
    Case,
    CaseEvent,
    CaseStatus,
    CaseType,
    Priority,
    ReturnReason,
    Satisfaction,
)
from community_board.extensions import db
from community_board.notifications.models import Notification


def case_type(name: str = "市容绿化", district=None) -> CaseType:
    """One of a district's default case types (环境卫生, 市容绿化, 违章搭建 …); the world's district
    (the first made) unless told."""
    stmt = sa.select(CaseType).where(CaseType.name == name)
    if district is not None:
        stmt = stmt.where(CaseType.district_id == district.id)
    found = db.session.scalars(stmt.order_by(CaseType.district_id)).first()
    assert found is not None, f"case type {name} is missing"
    return found


def file_post(
    actor, post, priority: Priority = Priority.NORMAL, type_name: str = "市容绿化", departments=(), note=""
) -> Case:
    """立案 on ``post`` through the service, committed."""
    case = services.file_case(actor, post, case_type(type_name), priority, departments=list(departments), note=note)
    db.session.commit()
    return case


def new_case(
    filer,
    reporter,
    compound=None,
    *,
    title="广场变菜园",
    key="matters",
    priority=Priority.NORMAL,
    type_name="市容绿化",
    departments=(),
) -> Case:
    """A resident's post filed as a case by ``filer`` (dispatched at once when departments are given)."""
    post = make_post(reporter, compound or reporter.compound, key=key, title=title, body=f"{title}，请处理")
    return file_post(filer, post, priority, type_name, departments)


def walk(
    case: Case,
    to: CaseStatus,
    *,
    filer,
    worker,
    department,
    reporter,
    satisfaction: Satisfaction = Satisfaction.SATISFIED,
) -> Case:
    """Take a FILED case along the usual path until it reaches ``to`` (WITHDRAWN is withdrawn
    from FILED; RETURNED is returned by ``worker``'s department once dispatched); every step goes
    through the services and is committed."""
    if to is CaseStatus.WITHDRAWN:
        services.withdraw(filer, case, "经核实属于私人纠纷，不予立案")
        db.session.commit()
        return case
    if to is CaseStatus.RETURNED:
        walk(case, CaseStatus.DISPATCHED, filer=filer, worker=worker, department=department, reporter=reporter)
        services.return_case(worker, case, ReturnReason.WRONG_DEPARTMENT, "绿化带归物业管理")
        db.session.commit()
        return case
    path = [CaseStatus.FILED, CaseStatus.DISPATCHED, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.CLOSED]
    for status in path[path.index(case.status) + 1 : path.index(to) + 1]:
        if status is CaseStatus.DISPATCHED:
            services.dispatch(filer, case, [department])
        elif status is CaseStatus.IN_PROGRESS:
            services.accept(worker, case, "已安排人员到现场")
        elif status is CaseStatus.RESOLVED:
            services.resolve(worker, case, "已恢复绿化带")
        else:
            services.rate(reporter, case, satisfaction)
        db.session.commit()
    assert case.status is to
    return case


def department_of(staff_user):
    """The department a department-staff user works for."""
    return next(a.department for a in staff_user.assignments if a.department is not None)


def place(case: Case, **columns) -> Case:
    """Put a case in the past (created_at, resolved_at, resolve_minutes, closed_at, deadline_at …)."""
    for name, value in columns.items():
        setattr(case, name, value)
    db.session.flush()
    db.session.commit()
    return case


def events(case: Case) -> list[CaseEvent]:
    return list(
        db.session.scalars(
            sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.created_at, CaseEvent.id)
        )
    )


def event_count(case: Case | None = None) -> int:
    stmt = sa.select(sa.func.count()).select_from(CaseEvent)
    if case is not None:
        stmt = stmt.where(CaseEvent.case_id == case.id)
    return db.session.scalar(stmt)


def messages(user) -> list[str]:
    """The texts of the notifications ``user`` received, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Notification.text).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def reload(case: Case) -> Case:
    """The case as the database has it now (after requests, the CLI or another session changed it):
    end the test's transaction, so SQLite does not answer from an old snapshot."""
    db.session.commit()
    return db.session.get(Case, case.id)


def page_version(response) -> str:
    """The version a case page's step forms send back."""
    found = re.search(r'name="version" value="(\d+)"', text_of(response))
    assert found, "no version on the case page"
    return found.group(1)


def errors_shown(response) -> list[str]:
    """Messages a page shows about the form: above it (form-error) or next to a field (field-error)."""
    return [unescape(m) for m in re.findall(r'class="(?:form|field)-error"[^>]*>([^<]*)<', text_of(response))]
