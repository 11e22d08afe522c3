"""Where problems are solved (小问题不出网格): the share of solved cases by the level that solved
them, a breakdown by compound and by department with ranks only above a minimum case count, and a
date range on every figure."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from board_helpers import field_error
from cases_helpers import new_case, place, signed_in, text_of, walk
from flask import template_rendered

from community_board.cases import dashboard
from community_board.cases.models import Case, CaseStatus, Level, Satisfaction
from community_board.compounds.models import DepartmentKind, StaffRole
from community_board.timeutil import to_local, utcnow

S = CaseStatus


@pytest.fixture
def district_viewer(world):
    return world.staff(StaffRole.GRID_DISTRICT, world.district, name="区网格")


def build(people, status, title, hours=None, satisfaction=None) -> Case:
    case = walk(new_case(people["filer"], people["reporter"], title=title), status, **people)
    if hours is not None:
        place(case, resolve_minutes=int(hours * 60))
    if satisfaction is not None:  # as rated (an unsatisfied rating would have reopened it through the app)
        place(case, satisfaction=satisfaction)
    return case


def dashboard_rows(response, title) -> list[str]:
    """The rows of a breakdown section, as text."""
    html = text_of(response)
    section = html.split(title, 1)[1].split("</section>", 1)[0]
    rows = section.split('<div class="breakdown__row">')[1:]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", row)).strip() for row in rows]


def test_the_share_solved_at_each_level(world, district_viewer, people):
    for i in range(3):
        build(people, S.CLOSED, f"小区解决{i}")
    street = build(people, S.CLOSED, "街道解决")
    place(street, level=Level.STREET)
    district = build(people, S.RESOLVED, "区里解决")
    place(district, level=Level.DISTRICT)
    build(people, S.IN_PROGRESS, "还在办")  # not solved: not counted
    solved = dict(dashboard.solved_at_level(Case.district_id == world.district.id))
    assert solved == {Level.COMPOUND: 3, Level.STREET: 1, Level.DISTRICT: 1}
    page = signed_in(district_viewer).get(f"/dashboard/district/{world.district.id}")
    assert re.search(r'data-solved="compound">60.0%<', text_of(page))
    assert "已办结 5 件" in text_of(page)


def test_the_breakdown_by_compound_counts_rates_medians_and_ranks(
    world, district_viewer, people, street_b_people, monkeypatch
):
    monkeypatch.setattr(dashboard, "MIN_RANKED", 3)
    for hours in (2, 4, 30):
        build(people, S.CLOSED, f"吴淞{hours}", hours=hours)
    overdue = build(people, S.DISPATCHED, "吴淞超期")
    place(overdue, deadline_at=utcnow() - timedelta(hours=1))
    build(street_b_people, S.CLOSED, "罗店一", hours=5, satisfaction=Satisfaction.UNSATISFIED)
    build(street_b_people, S.CLOSED, "罗店二", hours=7)
    rows = {row.name: row for row in dashboard.by_compound(Case.district_id == world.district.id)}
    wusong, luodian = rows["吴淞新城"], rows["美罗家园"]
    assert (wusong.filed, wusong.closed, wusong.overdue, wusong.median_hours) == (4, 3, 1, 4.0)
    assert (wusong.satisfied, wusong.rated, wusong.rank) == (3, 3, 1)
    assert (luodian.filed, luodian.closed, luodian.median_hours) == (2, 2, 5.0)
    assert luodian.rank is None  # two cases: listed, not ranked, though every one closed
    assert luodian.satisfaction_rate == 0.5
    page = signed_in(district_viewer).get(f"/dashboard/district/{world.district.id}")
    listed = dashboard_rows(page, "按居民区")
    assert listed[0].startswith("1 吴淞新城") and "结案率 75.0%" in listed[0] and "用时中位 4.0 小时" in listed[0]
    assert "美罗家园" in listed[1] and "不足3件，不排名" in listed[1]


def test_the_breakdown_by_department_counts_each_department_a_case_went_to(world, district_viewer, people):
    district_wide = world.department("区房管局", kind=DepartmentKind.HOUSING)
    both = new_case(
        people["filer"], people["reporter"], title="两个部门", departments=[people["department"], district_wide]
    )
    assert both.status is S.DISPATCHED
    build(people, S.CLOSED, "城管办完", hours=3)
    rows = {row.name: row for row in dashboard.by_department(Case.district_id == world.district.id)}
    assert (rows[people["department"].name].filed, rows[people["department"].name].closed) == (2, 1)
    assert (rows["区房管局"].filed, rows["区房管局"].closed) == (1, 0)
    assert rows[people["department"].name].median_hours == 3.0
    page = signed_in(district_viewer).get(f"/dashboard/district/{world.district.id}")
    assert any("区房管局" in row and "结案率 0.0%" in row for row in dashboard_rows(page, "按处置部门"))


def test_a_compound_dashboard_has_no_compound_ranking(world, secretary, people):
    build(people, S.CLOSED, "办完")
    page = signed_in(secretary).get(f"/dashboard/compound/{world.compound_a.id}")
    assert page.status_code == 200
    assert "按居民区" not in text_of(page) and "按处置部门" in text_of(page)


def test_the_date_range_limits_every_figure(world, district_viewer, people):
    old = build(people, S.CLOSED, "两个月前的", hours=1)
    place(old, created_at=utcnow() - timedelta(days=60))
    build(people, S.CLOSED, "这周的", hours=9)
    client = signed_in(district_viewer)
    start = (to_local(utcnow()).date() - timedelta(days=29)).isoformat()
    recent = client.get(f"/dashboard/district/{world.district.id}?start={start}")
    assert re.search(r"<strong[^>]*>1</strong><span>立案", text_of(recent))
    assert "用时中位 9.0 小时" in " ".join(dashboard_rows(recent, "按处置部门"))
    everything = client.get(f"/dashboard/district/{world.district.id}")
    assert re.search(r"<strong[^>]*>2</strong><span>立案", text_of(everything))
    assert f"start={start}" in text_of(recent).replace("&amp;", "&")  # the CSV export keeps the range


def test_a_date_that_is_not_one_is_told_not_failed(world, district_viewer, people):
    build(people, S.CLOSED, "办完")
    client = signed_in(district_viewer)
    response = client.get(f"/dashboard/district/{world.district.id}?start=2026-13-40")
    assert response.status_code == 200
    assert field_error(response, "start") == "日期格式应为 年-月-日"
    assert re.search(r"<strong[^>]*>1</strong><span>立案", text_of(response))  # shown without the range
    backwards = client.get(f"/dashboard/district/{world.district.id}?start=2026-05-02&end=2026-05-01")
    assert field_error(backwards, "end") == "结束日期不能早于开始日期"


def test_a_case_solved_within_minutes_is_not_shown_as_zero_hours(world, district_viewer, people):
    build(people, S.CLOSED, "当场解决", hours=0.03)
    page = signed_in(district_viewer).get(f"/dashboard/district/{world.district.id}")
    assert "用时中位 不到0.1小时" in " ".join(dashboard_rows(page, "按居民区"))
    assert "0.0 小时" not in text_of(page)


@pytest.mark.parametrize("field, day", [("start", "0001-01-01"), ("end", "9999-12-31")])
def test_a_date_a_date_picker_allows_but_no_clock_holds_is_told_not_failed(world, district_viewer, people, field, day):
    """The year 1 has no UTC midnight before it, 9999-12-31 no next day: both were a 500."""
    build(people, S.CLOSED, "办完")
    client = signed_in(district_viewer)
    response = client.get(f"/dashboard/district/{world.district.id}?{field}={day}")
    assert response.status_code == 200
    assert field_error(response, field) == "请选择2000年至2100年之间的日期"
    assert re.search(r"<strong[^>]*>1</strong><span>立案", text_of(response))  # shown without the range
    assert client.get(f"/dashboard/district/{world.district.id}/cases.csv?{field}={day}").status_code == 200


def test_a_dashboards_tables_are_rendered_once_for_each_state_of_their_figures(
    app, world, district_viewer, people, monkeypatch
):
    """A district's tables list each of its compounds (~565): rendered once and kept with the
    figures, for every viewer, until a case moves them (or the minute turns)."""
    minute = utcnow().replace(second=0, microsecond=0)
    monkeypatch.setattr(dashboard, "utcnow", lambda: minute)  # no minute turns during the test
    build(people, S.CLOSED, "办完")
    url = f"/dashboard/district/{world.district.id}"
    rendered = []

    def note(_app, template, **_extra):
        rendered.append(template.name)

    template_rendered.connect(note, app)
    try:
        signed_in(district_viewer).get(url)
        other_viewer = world.staff(StaffRole.GRID_DISTRICT, world.district, name="区网格二")
        second = signed_in(other_viewer).get(url)
        assert rendered.count("cases/_breakdowns.html") == 1 and rendered.count("responses/_dashboard.html") == 1
        assert "立案 1 " in dashboard_rows(second, "按居民区")[0]

        build(people, S.CLOSED, "又办完一件")  # the compound's board version moves
        third = signed_in(district_viewer).get(url)
        assert rendered.count("cases/_breakdowns.html") == 2
        assert "立案 2 " in dashboard_rows(third, "按居民区")[0]
    finally:
        template_rendered.disconnect(note, app)
