"""Dashboards for a compound, a street and the district: figures checked against hand-computed
sets, SVG charts without script, scope, and the CSV export."""

import csv
import io
import random
import re
from datetime import timedelta

import pytest
from cases_helpers import new_case, place, reload, signed_in, text_of, walk

from community_board.cases import dashboard, services, views
from community_board.cases.models import Case, CaseStatus, Satisfaction
from community_board.compounds.models import StaffRole
from community_board.extensions import db
from community_board.timeutil import to_local, utcnow

S = CaseStatus


def build(people, status, title, **kwargs) -> Case:
    case = new_case(people["filer"], people["reporter"], title=title, **kwargs)
    return walk(case, status, **people)


def kpi(response, label) -> str:
    """The figure a dashboard shows above ``label``."""
    found = re.search(rf"<strong[^>]*>([^<]*)</strong><span>{label}", text_of(response))
    assert found, f"no KPI {label}"
    return found.group(1).strip()


# Closure rate ---------------------------------------------------------------------------------


def test_forty_cases_with_thirty_nine_closed_is_a_closure_rate_of_97_5_percent(
    world, grid_worker, people, street_b_people
):
    for i in range(39):
        build(people, S.CLOSED, f"已办结的问题{i:02d}")
    build(people, S.DISPATCHED, "还在办的问题")
    build(people, S.WITHDRAWN, "不予立案一")
    build(people, S.WITHDRAWN, "不予立案二")
    build(street_b_people, S.FILED, "罗店镇的问题")  # another street: not on street A's dashboard

    figures = dashboard.figures(Case.street_id == world.street_a.id)
    assert (figures.filed, figures.closed, figures.withdrawn, figures.open) == (40, 39, 2, 1)
    assert figures.closure_rate == pytest.approx(0.975)
    assert dict(figures.by_status)[S.WITHDRAWN] == 2

    page = signed_in(grid_worker).get(f"/dashboard/street/{world.street_a.id}")
    assert page.status_code == 200
    assert kpi(page, "结案率") == "97.5%"
    assert kpi(page, "立案") == "40" and kpi(page, "已结案") == "39"
    assert "不含不予立案 2 件" in text_of(page)


def test_a_dashboard_without_cases_shows_a_dash_not_an_error(world, grid_worker):
    page = signed_in(grid_worker).get(f"/dashboard/street/{world.street_a.id}")
    assert page.status_code == 200
    assert kpi(page, "结案率") == "—" and kpi(page, "立案") == "0"
    assert "暂无工单" in text_of(page)


# Time to resolve, satisfaction, overdue ------------------------------------------------------

MINUTES = [30, 60, 90, 120, 150, 180, 240, 300, 600, 1200]


def test_median_and_90th_percentile_of_resolve_time_by_nearest_rank(world, grid_worker, people):
    shuffled = random.Random(4).sample(MINUTES, len(MINUTES))
    for i, minutes in enumerate(shuffled):
        case = build(people, S.CLOSED if i % 2 else S.RESOLVED, f"问题{i}")
        place(case, resolve_minutes=minutes)
    # Not resolved now, so not counted: an open case and a reopened one that had been resolved in 1 minute.
    build(people, S.IN_PROGRESS, "还在办")
    reopened = build(people, S.RESOLVED, "被退回的")
    services.rate(people["reporter"], reopened, Satisfaction.UNSATISFIED, "没修好")
    db.session.commit()
    place(reopened, resolve_minutes=1)

    figures = dashboard.figures(Case.street_id == world.street_a.id)
    # Ten values sorted: the median is the 5th (ceil(0.5 × 10)), the 90th percentile the 9th (ceil(0.9 × 10)).
    assert figures.median_hours == 2.5  # 150 minutes
    assert figures.p90_hours == 10.0  # 600 minutes

    page = signed_in(grid_worker).get(f"/dashboard/street/{world.street_a.id}")
    assert kpi(page, "处置用时中位数") == "2.5 小时"
    assert kpi(page, "90%在此时间内办结") == "10.0 小时"


def test_an_odd_number_of_resolve_times(world, people):
    for i, minutes in enumerate([600, 60, 180, 120, 30]):
        place(build(people, S.CLOSED, f"问题{i}"), resolve_minutes=minutes)
    figures = dashboard.figures(Case.compound_id == world.compound_a.id)
    assert figures.median_hours == 2.0  # the 3rd of 30, 60, 120, 180, 600
    assert figures.p90_hours == 10.0  # the 5th


def test_satisfaction_rate_counts_answers_not_silence(world, grid_worker, people):
    for i, answer in enumerate(
        [Satisfaction.SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASIC, Satisfaction.UNSATISFIED]
    ):
        build(people, S.RESOLVED, f"问题{i}")
        case = db.session.query(Case).order_by(Case.id.desc()).first()
        services.rate(people["reporter"], case, answer)
        db.session.commit()
    silent = build(people, S.RESOLVED, "没人评价")
    place(silent, resolved_at=utcnow() - timedelta(days=8))
    assert services.close_unrated() == 1
    db.session.commit()

    figures = dashboard.figures(Case.street_id == world.street_a.id)
    assert (figures.satisfied, figures.rated, figures.unrated) == (3, 4, 1)
    assert figures.satisfaction_rate == pytest.approx(0.75)

    page = signed_in(grid_worker).get(f"/dashboard/street/{world.street_a.id}")
    assert kpi(page, "满意率（4件评价）") == "75.0%"
    assert kpi(page, "未评价自动结案") == "1"


def test_overdue_now_counts_open_cases_past_their_deadline(world, grid_worker, people, street_b_people):
    past = utcnow() - timedelta(hours=1)
    place(build(people, S.FILED, "超期未派单"), deadline_at=past)
    place(build(people, S.IN_PROGRESS, "超期处置中"), deadline_at=past)
    build(people, S.DISPATCHED, "还没到期")
    place(build(people, S.CLOSED, "超期但已结案"), deadline_at=past)
    place(build(people, S.RESOLVED, "超期但已办结"), deadline_at=past)
    place(build(people, S.WITHDRAWN, "不予立案"), deadline_at=past)
    place(build(street_b_people, S.FILED, "罗店镇超期"), deadline_at=past)

    assert dashboard.figures(Case.street_id == world.street_a.id).overdue == 2
    assert dashboard.figures(Case.district_id == world.district.id).overdue == 3
    assert kpi(signed_in(grid_worker).get(f"/dashboard/street/{world.street_a.id}"), "当前超期") == "2"


# Trend and types ----------------------------------------------------------------------------


def week_label(moment) -> str:
    day = to_local(moment).date()
    monday = day - timedelta(days=day.weekday())
    return f"{monday.month}/{monday.day}"


def test_weekly_trend_counts_filed_and_closed_per_week(world, people):
    now = utcnow()
    build(people, S.FILED, "本周新立案")
    place(build(people, S.CLOSED, "本周立案本周结案"), closed_at=now)
    place(
        build(people, S.CLOSED, "两周前立案上周结案"),
        created_at=now - timedelta(days=14),
        closed_at=now - timedelta(days=7),
    )
    place(
        build(people, S.CLOSED, "十周前立案两周前结案"),
        created_at=now - timedelta(days=70),
        closed_at=now - timedelta(days=14),
    )

    weeks = dashboard.figures(Case.street_id == world.street_a.id).weeks
    assert len(weeks) == dashboard.WEEKS
    assert [label for label, _, _ in weeks[-3:]] == [
        week_label(now - timedelta(days=14)),
        week_label(now - timedelta(days=7)),
        week_label(now),
    ]
    assert [(filed, closed) for _, filed, closed in weeks] == [(0, 0)] * 5 + [(1, 1), (0, 1), (2, 1)]


def test_the_weekly_filed_bars_leave_out_withdrawn_cases_like_the_filed_figure(world, people):
    now = utcnow()
    build(people, S.CLOSED, "本周结案")
    place(
        build(people, S.WITHDRAWN, "上周不予立案"),
        created_at=now - timedelta(days=7),
        closed_at=now - timedelta(days=7),
    )
    build(people, S.WITHDRAWN, "本周不予立案")

    figures = dashboard.figures(Case.street_id == world.street_a.id)
    assert figures.filed == 1  # 立案（不含不予立案）
    assert sum(filed for _, filed, _ in figures.weeks) == figures.filed
    assert [(filed, closed) for _, filed, closed in figures.weeks[-2:]] == [(0, 0), (1, 1)]


def test_cases_by_type_leave_out_withdrawn_ones(world, people):
    build(people, S.CLOSED, "垃圾满了", type_name="环境卫生")
    build(people, S.CLOSED, "垃圾桶坏了", type_name="环境卫生")
    build(people, S.DISPATCHED, "垃圾没人收", type_name="环境卫生")
    build(people, S.WITHDRAWN, "家里垃圾多", type_name="环境卫生")
    build(people, S.FILED, "阳台违建", type_name="违章搭建")

    figures = dashboard.figures(Case.compound_id == world.compound_a.id)
    assert figures.by_type == [("环境卫生", 3, 2), ("违章搭建", 1, 0)]


def test_the_dashboard_draws_svg_charts_without_script(world, grid_worker, people):
    build(people, S.CLOSED, "垃圾满了", type_name="环境卫生")
    build(people, S.FILED, "阳台违建", type_name="违章搭建")
    page = text_of(signed_in(grid_worker).get(f"/dashboard/street/{world.street_a.id}"))

    assert page.count("<svg") == 3  # by status, by type, by week
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers either
    assert "违章搭建" in page and "已关闭" in page


# Scope --------------------------------------------------------------------------------------


def test_each_dashboard_counts_only_its_own_cases(world, admin, grid_worker, people, street_b_people):
    compound_c = world.compound("泗塘新村", world.street_a)
    db.session.commit()
    neighbour = world.resident(compound_c, name="冯敏", building="3")
    c_people = dict(people, reporter=neighbour, filer=world.staff(StaffRole.SECRETARY, compound_c, name="卫东"))
    build(people, S.CLOSED, "吴淞新城的问题")
    build(c_people, S.FILED, "泗塘新村的问题")
    build(street_b_people, S.FILED, "罗店镇的问题一")
    build(street_b_people, S.CLOSED, "罗店镇的问题二")

    filed = {
        ("compound", world.compound_a.id): 1,
        ("compound", compound_c.id): 1,
        ("street", world.street_a.id): 2,
        ("street", world.street_b.id): 2,
        ("district", world.district.id): 4,
    }
    client = signed_in(admin)
    for (level, node_id), count in filed.items():
        page = client.get(f"/dashboard/{level}/{node_id}")
        assert page.status_code == 200
        assert kpi(page, "立案") == str(count), (level, node_id)
    assert kpi(client.get(f"/dashboard/street/{world.street_a.id}"), "结案率") == "50.0%"

    street_a = signed_in(grid_worker)
    assert kpi(street_a.get(f"/dashboard/compound/{world.compound_a.id}"), "立案") == "1"
    assert street_a.get(f"/dashboard/street/{world.street_b.id}").status_code == 404
    assert street_a.get(f"/dashboard/compound/{world.compound_b.id}").status_code == 404


def test_residents_are_refused_and_other_streets_do_not_find_the_dashboard(world, resident, secretary, street_b_people):
    client = signed_in(resident)
    assert client.get(f"/dashboard/compound/{world.compound_a.id}").status_code == 403
    assert client.get(f"/dashboard/compound/{world.compound_a.id}/cases.csv").status_code == 403

    assert signed_in(secretary).get(f"/dashboard/compound/{world.compound_a.id}").status_code == 200
    other_street = world.staff(StaffRole.GRID_STREET, world.street_b, name="钱进")
    for client in (signed_in(other_street), signed_in(street_b_people["filer"])):
        assert client.get(f"/dashboard/street/{world.street_a.id}").status_code == 404
        assert client.get(f"/dashboard/compound/{world.compound_a.id}").status_code == 404
        assert client.get(f"/dashboard/street/{world.street_a.id}/cases.csv").status_code == 404


# CSV ----------------------------------------------------------------------------------------


def test_the_csv_export_opens_in_excel_with_the_columns_and_one_row_per_case_in_view(
    world, grid_worker, people, street_b_people
):
    closed = build(people, S.CLOSED, "广场变菜园")
    place(closed, resolve_minutes=90)
    late = build(people, S.DISPATCHED, "楼道堆物")
    place(late, deadline_at=utcnow() - timedelta(hours=1))
    withdrawn = build(people, S.WITHDRAWN, "邻居吵架")
    build(street_b_people, S.FILED, "罗店镇的问题")

    response = signed_in(grid_worker).get(f"/dashboard/street/{world.street_a.id}/cases.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")

    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert table[0] == views.CSV_COLUMNS
    by_number = {row[0]: dict(zip(views.CSV_COLUMNS, row, strict=False)) for row in table[1:]}
    assert len(table) - 1 == len(by_number) == 3
    assert set(by_number) == {reload(c).number for c in (closed, late, withdrawn)}

    row = by_number[closed.number]
    assert (row["居民区"], row["案件类型"], row["紧急程度"], row["状态"]) == ("吴淞新城", "市容绿化", "一般", "已关闭")
    assert row["处置用时（小时）"] == "1.5" and row["满意度"] == "满意" and row["是否超期"] == "否"
    assert row["派单部门"] == people["department"].name
    assert by_number[late.number]["是否超期"] == "是" and by_number[late.number]["办结时间"] == ""
    assert by_number[withdrawn.number]["状态"] == "不予立案"


def test_a_dashboard_seen_a_moment_ago_shows_a_new_case_and_a_closed_one_at_once(
    world, people, grid_worker, monkeypatch
):
    """Figures are kept for the minute, but any change to a case of the scope shows on the next load."""
    frozen = utcnow()
    monkeypatch.setattr(dashboard, "utcnow", lambda: frozen)  # the same minute throughout
    client = signed_in(grid_worker)
    url = f"/dashboard/street/{world.street_a.id}"
    assert kpi(client.get(url), "立案") == "0"

    build(people, CaseStatus.CLOSED, "楼道堆物")
    page = client.get(url)
    assert kpi(page, "立案") == "1" and kpi(page, "结案率") == "100.0%"
    build(people, CaseStatus.IN_PROGRESS, "路灯不亮")
    page = client.get(url)
    assert kpi(page, "立案") == "2" and kpi(page, "结案率") == "50.0%"
