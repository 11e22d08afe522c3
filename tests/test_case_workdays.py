"""Working days (工作日): the arithmetic across weekends, a public holiday and a 调休 Saturday; case
deadlines and 签收 limits that follow the district's calendar; the calendar page of the district admin."""

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from cases_helpers import new_case, signed_in, text_of

from community_board.audit import AuditEntry
from community_board.cases import services
from community_board.cases.models import CalendarDay, Priority
from community_board.cases.workdays import add_working_days, due, is_workday, national_calendar
from community_board.compounds.models import District, StaffRole
from community_board.extensions import db
from community_board.timeutil import from_local, replaying_at, to_local

# 2026 as the State Council set it: 国庆节 10-01 … 10-07 off, Saturday 10-10 worked (调休), and
# Sunday 09-20 worked before it.
NATIONAL_DAY = {date(2026, 10, d): False for d in range(1, 8)} | {date(2026, 10, 10): True, date(2026, 9, 20): True}


def shanghai(*args) -> datetime:
    """A Shanghai wall-clock time as stored (naive UTC)."""
    return from_local(datetime(*args))


def local(moment: datetime) -> datetime:
    return to_local(moment).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Plain weeks: Monday 10:00 + 3 working days = Thursday 10:00; Friday + 1 = Monday.
        ((2026, 11, 16, 10, 0), 3, (2026, 11, 19, 10, 0)),
        ((2026, 11, 20, 10, 0), 1, (2026, 11, 23, 10, 0)),
        # Filed on a Sunday: the clock starts on Monday, so 1 working day ends with Monday.
        ((2026, 11, 22, 15, 30), 1, (2026, 11, 24, 0, 0)),
        # Across 国庆节: Wednesday 09-30 15:00 + 1 working day skips 10-01 … 10-07 and lands on Thursday 10-08.
        ((2026, 9, 30, 15, 0), 1, (2026, 10, 8, 15, 0)),
        # The 调休 Saturday 10-10 is a working day: Friday 10-09 + 1 = Saturday 10-10, + 2 = Monday 10-12.
        ((2026, 10, 9, 9, 0), 1, (2026, 10, 10, 9, 0)),
        ((2026, 10, 9, 9, 0), 2, (2026, 10, 12, 9, 0)),
        # The 调休 Sunday 09-20 counts too: Saturday 09-19 + 1 working day ends with that Sunday.
        ((2026, 9, 19, 11, 0), 1, (2026, 9, 21, 0, 0)),
        # Through the whole week off: 09-28 (Monday) 10:00 + 3 = 10-08 10:00.
        ((2026, 9, 28, 10, 0), 3, (2026, 10, 8, 10, 0)),
    ],
    ids=[
        "plain",
        "over-a-weekend",
        "from-a-sunday",
        "over-the-holiday",
        "onto-the-tiaoxiu-saturday",
        "past-it",
        "the-tiaoxiu-sunday",
        "through-the-week-off",
    ],
)
def test_working_days_skip_weekends_and_holidays_and_count_tiaoxiu_days(start, days, expected):
    assert local(add_working_days(shanghai(*start), days, NATIONAL_DAY)) == datetime(*expected)


def test_without_a_calendar_only_weekends_are_off():
    assert is_workday(date(2026, 10, 1), {}) and not is_workday(date(2026, 10, 10), {})
    assert local(add_working_days(shanghai(2026, 9, 30, 15, 0), 1, {})) == datetime(2026, 10, 1, 15, 0)


def test_urgent_limits_count_plain_hours_even_over_a_holiday():
    start = shanghai(2026, 10, 1, 22, 0)
    assert due(start, ("hours", 4), NATIONAL_DAY) == start + timedelta(hours=4)
    assert local(due(start, ("workdays", 1), NATIONAL_DAY)) == datetime(2026, 10, 9, 0, 0)


def test_the_national_calendar_holds_2026_and_2027_with_their_tiaoxiu_days():
    days = {day: (workday, note) for day, workday, note in national_calendar()}
    assert days[date(2026, 2, 17)] == (False, "春节")  # 正月初一
    assert days[date(2026, 2, 14)] == (True, "春节调休上班")  # a Saturday worked
    assert days[date(2026, 10, 10)] == (True, "国庆节调休上班")
    assert {day.year for day in days} == {2026, 2027}
    assert all(day.weekday() >= 5 for day, (workday, _) in days.items() if workday)


# Deadlines follow the district's calendar -----------------------------------------------------


def test_case_deadlines_and_signing_limits_count_the_districts_working_days(world, resident, secretary, dept_staff):
    """Filed just before 国庆节 in a district that loaded the national calendar: 一般 (3 working days)
    ends on the 调休 Saturday after the week off, 签收 (1 working day) on the first day back; 紧急
    keeps its 4 hours."""
    services.load_national_holidays(None, world.district)
    db.session.commit()
    filed_at = shanghai(2026, 9, 30, 15, 0)
    department = dept_staff.assignments[0].department
    with replaying_at(filed_at):
        normal = new_case(secretary, resident, title="路灯不亮", departments=[department])
        urgent = new_case(secretary, resident, title="燃气味很重", priority=Priority.URGENT)

    assert local(normal.deadline_at) == datetime(2026, 10, 10, 15, 0)  # 9 h on 09-30, 10-08, 10-09, 15 h on 10-10
    assert local(normal.departments[0].ack_due_at) == datetime(2026, 10, 8, 15, 0)
    assert urgent.deadline_at == filed_at + timedelta(hours=4)

    # Another district keeps its own calendar: there, 10-01 is a working day.
    other = District(name="嘉定区", code="JD")
    db.session.add(other)
    db.session.flush()
    assert local(services.deadline_for(Priority.NORMAL, filed_at, other.id)) == datetime(2026, 10, 5, 15, 0)


# The district admin's calendar page -----------------------------------------------------------


def test_the_admin_adds_and_removes_days_and_loads_the_national_holidays(world, admin):
    client = signed_in(admin)
    page = f"/admin/d/{world.district.id}/calendar"

    assert "还没有设置节假日" in text_of(client.get(f"{page}?year=2026"))
    response = client.post(f"{page}?year=2026", data={"day": "2026-11-23", "kind": "off", "note": "区级调休"})
    assert response.status_code == 302
    listed = text_of(client.get(f"{page}?year=2026"))
    assert "11月23日" in listed and "区级调休" in listed and "放假" in listed
    assert db.session.get(CalendarDay, (world.district.id, date(2026, 11, 23))).is_workday is False

    client.post(f"{page}?year=2026", data={"day": "2026-11-23", "kind": "work", "note": ""})
    assert db.session.get(CalendarDay, (world.district.id, date(2026, 11, 23))).is_workday is True

    assert client.post(f"{page}/remove", data={"day": "2026-11-23", "year": "2026"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(CalendarDay, (world.district.id, date(2026, 11, 23))) is None

    assert client.post(f"{page}/holidays").status_code == 302
    listed = text_of(client.get(f"{page}?year=2027"))
    assert "春节" in listed and "调休上班" in listed
    count = db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay))
    assert count == len(national_calendar())
    client.post(f"{page}/holidays")  # again: nothing twice
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == count
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"calendar.day_set", "calendar.day_removed", "calendar.holidays_loaded"} <= actions


def test_a_bad_date_is_a_form_error_not_a_500(world, admin):
    client = signed_in(admin)
    response = client.post(f"/admin/d/{world.district.id}/calendar", data={"day": "2026-02-30", "kind": "off"})
    assert response.status_code == 200 and "field-error" in text_of(response)
    response = client.post(f"/admin/d/{world.district.id}/calendar/remove", data={"day": "不是日期"})
    assert response.status_code == 302


def test_only_the_districts_admin_edits_its_calendar(world, admin, secretary):
    other = District(name="嘉定区", code="JD")
    db.session.add(other)
    db.session.commit()
    other_admin = world.staff(StaffRole.DISTRICT_ADMIN, other, name="孙明")
    page = f"/admin/d/{world.district.id}/calendar"

    assert signed_in(secretary).get(page).status_code == 403
    assert signed_in(secretary).post(f"{page}/holidays").status_code == 403
    assert signed_in(other_admin).get(page).status_code == 404
    assert signed_in(other_admin).post(page, data={"day": "2026-11-23", "kind": "off"}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == 0
