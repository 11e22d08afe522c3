"""Deadlines by priority, the 已超期 mark, escalation one level per run with a frozen clock,
escalation by hand, `flask cases escalate`, and closing cases left unrated for 7 days."""

import re
from datetime import timedelta

import pytest
from cases_helpers import (
    department_of,
    events,
    messages,
    new_case,
    page_version,
    place,
    reload,
    signed_in,
    text_of,
    walk,
)

from community_board.cases import services, workdays
from community_board.cases.models import CaseStatus, EventKind, Level, Priority, Satisfaction
from community_board.compounds.models import StaffRole
from community_board.errors import ValidationError
from community_board.extensions import db
from community_board.timeutil import utcnow

S = CaseStatus


# Deadlines -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "limit"),
    [(Priority.URGENT, ("hours", 4)), (Priority.NORMAL, ("workdays", 3)), (Priority.LOW, ("workdays", 7))],
    ids=["紧急", "一般", "较低"],
)
def test_the_deadline_follows_the_priority(world, resident, secretary, priority, limit):
    """紧急 counts hours; 一般 and 较低 count working days (the world's district has no holidays set:
    weekends only; tests/test_case_workdays.py crosses holidays and 调休 days)."""
    case = new_case(secretary, resident, priority=priority)
    assert case.deadline_at == workdays.due(case.created_at, limit, {})
    assert case.deadline_at - case.created_at >= timedelta(hours=4 if limit[0] == "hours" else 24 * limit[1])
    assert case.next_escalation_at == case.deadline_at
    assert not case.is_overdue


def test_the_deadlines_are_configurable(app, monkeypatch, world, resident, secretary):
    monkeypatch.setitem(
        app.config, "CASE_DEADLINES", {"urgent": ("hours", 2), "normal": ("workdays", 1), "low": ("workdays", 2)}
    )
    urgent = new_case(secretary, resident, priority=Priority.URGENT, title="燃气味很重")
    low = new_case(secretary, resident, priority=Priority.LOW, title="健身器材掉漆")
    assert urgent.deadline_at - urgent.created_at == timedelta(hours=2)
    assert low.deadline_at == workdays.add_working_days(low.created_at, 2, {})


def test_a_case_is_overdue_while_open_past_its_deadline(world, resident, secretary, dept_staff):
    department = department_of(dept_staff)
    late = new_case(secretary, resident, title="广场变菜园")
    place(late, deadline_at=utcnow() - timedelta(minutes=1))
    assert late.is_overdue

    done = new_case(secretary, resident, title="楼道堆物")
    walk(done, S.CLOSED, filer=secretary, worker=dept_staff, department=department, reporter=resident)
    place(done, deadline_at=utcnow() - timedelta(days=1))
    assert not done.is_overdue

    resolved = new_case(secretary, resident, title="路灯不亮")
    walk(resolved, S.RESOLVED, filer=secretary, worker=dept_staff, department=department, reporter=resident)
    place(resolved, deadline_at=utcnow() - timedelta(days=1))
    assert not resolved.is_overdue


def rows(response) -> dict[str, str]:
    """The inbox rows, by post title."""
    found = re.findall(r'<a class="card case-row".*?</a>', text_of(response), re.S)
    return {re.search(r'case-row__title">([^<]*)<', row).group(1): row for row in found}


def test_overdue_cases_are_marked_in_every_list_and_on_the_post(world, resident, secretary):
    late = new_case(secretary, resident, title="广场变菜园")
    place(late, deadline_at=utcnow() - timedelta(hours=1))
    fresh = new_case(secretary, resident, title="楼道堆物")
    client = signed_in(secretary)

    for view in ("open", "all"):
        listed = rows(client.get(f"/cases?view={view}"))
        assert set(listed) == {"广场变菜园", "楼道堆物"}, view
        assert "已超期" in listed["广场变菜园"] and "已超期" not in listed["楼道堆物"], view
    overdue = rows(client.get("/cases?view=overdue"))
    assert set(overdue) == {"广场变菜园"} and "已超期" in overdue["广场变菜园"]

    assert "case-status_overdue" in text_of(signed_in(resident).get(f"/p/{late.post_id}"))
    assert "case-status_overdue" not in text_of(signed_in(resident).get(f"/p/{fresh.post_id}"))
    assert "已超期" in text_of(client.get(f"/cases/{late.id}"))


# Escalation with a frozen clock -------------------------------------------------------------


@pytest.fixture
def grid_staff(world):
    """Grid-centre staff of street A, of the district, and of street B (who must hear nothing)."""
    return {
        "street": world.staff(StaffRole.GRID_STREET, world.street_a, name="赵磊"),
        "district": world.staff(StaffRole.GRID_DISTRICT, world.district, name="钱进"),
        "other street": world.staff(StaffRole.GRID_STREET, world.street_b, name="孙涛"),
    }


def test_overdue_cases_climb_one_level_per_due_run(world, resident, secretary, grid_staff):
    case = new_case(secretary, resident, priority=Priority.URGENT)
    start = case.created_at

    assert services.escalate_overdue(now=start + timedelta(hours=3)) == 0
    db.session.commit()
    assert reload(case).level is Level.COMPOUND

    assert services.escalate_overdue(now=start + timedelta(hours=5)) == 1
    db.session.commit()
    case = reload(case)
    assert case.level is Level.STREET
    assert case.next_escalation_at == start + timedelta(hours=5 + 4)
    last = events(case)[-1]
    assert last.kind is EventKind.ESCALATED and last.actor_id is None and last.actor_label == "系统"
    assert "升级至街镇网格化中心" in last.public_note
    assert any(case.number in text and "街镇网格化中心" in text for text in messages(grid_staff["street"]))
    assert messages(grid_staff["district"]) == [] and messages(grid_staff["other street"]) == []

    # Not due again until the street's own deadline has passed.
    assert services.escalate_overdue(now=start + timedelta(hours=8)) == 0
    assert services.escalate_overdue(now=start + timedelta(hours=10)) == 1
    db.session.commit()
    assert reload(case).level is Level.DISTRICT
    assert any(case.number in text and "区网格化中心" in text for text in messages(grid_staff["district"]))

    # The district is the top: nothing more happens, however late.
    escalations = len(events(case))
    assert services.escalate_overdue(now=start + timedelta(days=60)) == 0
    db.session.commit()
    assert reload(case).level is Level.DISTRICT and len(events(case)) == escalations


def test_a_very_late_case_still_climbs_only_one_level_per_run(world, resident, secretary, grid_staff):
    case = new_case(secretary, resident, priority=Priority.LOW)
    assert services.escalate_overdue(now=case.created_at + timedelta(days=100)) == 1
    db.session.commit()
    assert reload(case).level is Level.STREET
    assert [e.kind for e in events(case)].count(EventKind.ESCALATED) == 1


def test_closed_resolved_and_withdrawn_cases_do_not_escalate(world, resident, secretary, dept_staff, grid_staff):
    department = department_of(dept_staff)
    people = dict(filer=secretary, worker=dept_staff, department=department, reporter=resident)
    closed = walk(new_case(secretary, resident, title="广场变菜园"), S.CLOSED, **people)
    resolved = walk(new_case(secretary, resident, title="楼道堆物"), S.RESOLVED, **people)
    withdrawn = walk(new_case(secretary, resident, title="邻居吵架"), S.WITHDRAWN, **people)

    assert services.escalate_overdue(now=utcnow() + timedelta(days=30)) == 0
    db.session.commit()
    for case in (closed, resolved, withdrawn):
        assert reload(case).level is Level.COMPOUND
        assert EventKind.ESCALATED not in [e.kind for e in events(case)]
    assert messages(grid_staff["street"]) == []


def test_staff_escalate_by_hand_with_a_reason(world, resident, secretary, grid_staff):
    case = new_case(secretary, resident)

    with pytest.raises(ValidationError) as refused:
        services.escalate(secretary, case, "  ")
    assert refused.value.message == "请填写升级原因"
    db.session.rollback()
    assert reload(case).level is Level.COMPOUND

    client = signed_in(secretary)
    page = client.get(f"/cases/{case.id}")
    assert "升级到街镇网格化中心" in text_of(page)
    response = client.post(f"/cases/{case.id}/escalate", data={"version": page_version(page), "public_note": ""})
    assert response.status_code == 400  # the message shown is checked in test_cases_workflow
    assert reload(case).level is Level.COMPOUND

    page = client.get(f"/cases/{case.id}")
    response = client.post(
        f"/cases/{case.id}/escalate",
        data={"version": page_version(page), "public_note": "涉及多个部门，居民区协调不了"},
    )
    assert response.status_code == 302
    case = reload(case)
    assert case.level is Level.STREET
    assert events(case)[-1].kind is EventKind.ESCALATED
    assert "涉及多个部门，居民区协调不了" in events(case)[-1].public_note
    assert any("涉及多个部门" in text for text in messages(grid_staff["street"]))


# The clock's command and auto-close ---------------------------------------------------------


def test_flask_cases_escalate_escalates_and_closes_and_prints_the_counts(app, world, resident, secretary, dept_staff):
    department = department_of(dept_staff)
    people = dict(filer=secretary, worker=dept_staff, department=department, reporter=resident)
    late = new_case(secretary, resident, title="广场变菜园", priority=Priority.URGENT)
    place(
        late,
        created_at=utcnow() - timedelta(hours=6),
        deadline_at=utcnow() - timedelta(hours=2),
        next_escalation_at=utcnow() - timedelta(hours=2),
    )
    on_time = new_case(secretary, resident, title="楼道堆物")
    unrated = walk(new_case(secretary, resident, title="路灯不亮"), S.RESOLVED, **people)
    place(unrated, resolved_at=utcnow() - timedelta(days=8))
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["cases", "escalate"])
    assert result.exit_code == 0, result.output
    assert "Escalated 1 overdue case(s); closed 1 unrated case(s)." in result.output

    assert reload(late).level is Level.STREET
    assert reload(on_time).level is Level.COMPOUND
    unrated = reload(unrated)
    assert unrated.status is S.CLOSED and unrated.satisfaction is Satisfaction.UNRATED

    again = app.test_cli_runner().invoke(args=["cases", "escalate"])
    assert "Escalated 0 overdue case(s); closed 0 unrated case(s)." in again.output


def test_resolved_cases_unrated_for_7_days_close_as_unrated(world, resident, secretary, dept_staff):
    department = department_of(dept_staff)
    people = dict(filer=secretary, worker=dept_staff, department=department, reporter=resident)
    old = walk(new_case(secretary, resident, title="广场变菜园"), S.RESOLVED, **people)
    place(old, resolved_at=utcnow() - timedelta(days=7, hours=1))
    young = walk(new_case(secretary, resident, title="楼道堆物"), S.RESOLVED, **people)
    place(young, resolved_at=utcnow() - timedelta(days=6))

    assert services.close_unrated() == 1
    db.session.commit()
    old, young = reload(old), reload(young)
    assert old.status is S.CLOSED and old.satisfaction is Satisfaction.UNRATED and old.closed_at is not None
    last = events(old)[-1]
    assert (last.kind, last.from_status, last.to_status) == (EventKind.CLOSED, S.RESOLVED, S.CLOSED)
    assert "未评价" in last.public_note
    assert "已结案" in messages(resident)[-1] and old.number in messages(resident)[-1]
    assert young.status is S.RESOLVED and young.satisfaction is None

    # Two days on, the younger one's week is up too.
    assert services.close_unrated(now=utcnow() + timedelta(days=2)) == 1
    db.session.commit()
    assert reload(young).status is S.CLOSED and reload(young).satisfaction is Satisfaction.UNRATED
