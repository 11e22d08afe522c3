"""What staff hit with a whole district: the workbench and the staff list page through everything
(a district has ~565 compounds), a department's workbench shows its cases, and 我的工单 filters by
case number, compound, type and level."""

from __future__ import annotations

import re

import pytest
from board_helpers import field_error, text_of
from cases_helpers import department_of, new_case

from community_board.cases.models import Level
from community_board.compounds.models import StaffRole
from community_board.extensions import db


def next_link(response) -> str | None:
    found = re.search(r'href="([^"]+)">(?:下一页|加载更多)</a>', text_of(response))
    return found.group(1).replace("&amp;", "&") if found else None


def compound_names(response) -> list[str]:
    return re.findall(r'<div class="weui-cell__bd">([^<]+?) <span class="muted">', text_of(response))


@pytest.fixture
def many_compounds(world):
    """120 compounds on one street, besides the world's two."""
    made = [world.compound(f"测试小区{n:03d}", world.street_a) for n in range(120)]
    db.session.commit()
    return made


def test_the_workbench_pages_through_every_compound_of_a_district(world, many_compounds, login_as):
    district_grid = world.staff(StaffRole.GRID_DISTRICT, world.district, name="区网格")
    client = login_as(district_grid)
    seen, url = [], "/staff"
    for _ in range(10):
        response = client.get(url)
        assert response.status_code == 200
        assert len(compound_names(response)) == (50 if not seen else len(compound_names(response)))
        seen += compound_names(response)
        url = next_link(response)
        if url is None:
            break
    assert len(seen) == 122 and len(set(seen)) == 122
    assert "吴淞新城" in seen and "美罗家园" in seen


def test_the_workbench_finds_a_compound_by_name(world, many_compounds, login_as):
    client = login_as(world.staff(StaffRole.GRID_DISTRICT, world.district, name="区网格"))
    response = client.get("/staff?q=小区042")
    assert compound_names(response) == ["测试小区042"]
    assert "没有名称含“不存在”的居民区" in text_of(client.get("/staff?q=不存在"))


def test_a_street_grid_centre_sees_only_its_street(world, many_compounds, login_as, grid_worker):
    client = login_as(grid_worker)
    seen, url = [], "/staff"
    for _ in range(10):
        response = client.get(url)
        seen += compound_names(response)
        url = next_link(response)
        if url is None:
            break
    assert "美罗家园" not in seen and "吴淞新城" in seen and len(seen) == 121


def test_a_department_workbench_lists_the_cases_sent_to_it(world, login_as, secretary, resident, dept_staff):
    sent = new_case(secretary, resident, title="楼道堆物", departments=[department_of(dept_staff)])
    new_case(secretary, resident, title="没派给它的")
    page = text_of(login_as(dept_staff).get("/staff"))
    assert "派到本部门的待办工单" in page
    assert "楼道堆物" in page and sent.number in page
    assert "没派给它的" not in page
    assert "您的岗位不直接负责居民区" not in page


def test_a_department_with_no_cases_says_so(world, login_as, dept_staff):
    assert "暂无待办工单" in text_of(login_as(dept_staff).get("/staff"))


def test_the_staff_list_pages_and_filters(world, login_as, admin):
    for n in range(60):
        world.staff(StaffRole.COMMITTEE, world.compound_a, name=f"干事{n:02d}")
    world.staff(StaffRole.POLICE, world.compound_b, name="民警老刘")
    client = login_as(admin)
    url = f"/admin/d/{world.district.id}/staff"
    first = client.get(url)
    assert first.status_code == 200
    names = re.findall(r"(干事\d\d|民警老刘|王建国)", text_of(first))
    assert len(set(names)) == 50
    second = client.get(next_link(first))
    rest = set(re.findall(r"(干事\d\d|民警老刘|王建国)", text_of(second)))
    assert len(rest) == 12 and not rest & set(names)
    only_police = text_of(client.get(f"{url}?role=police"))
    assert "民警老刘" in only_police and "干事00" not in only_police
    by_name = text_of(client.get(f"{url}?q=干事07"))
    assert "干事07" in by_name and "干事08" not in by_name
    assert "没有符合条件的工作人员" in text_of(client.get(f"{url}?q=无此人"))
    assert client.get(f"{url}?role=nonsense&after=abc").status_code == 200  # ignored, first page


def case_numbers(response) -> set[str]:
    return set(re.findall(r'<span class="muted">([A-Z]+-\d{8}-\d{4})</span>', text_of(response)))


def test_the_case_inbox_filters_by_number_compound_type_and_level(
    world, login_as, secretary, other_secretary, resident, other_compound_resident, grid_worker
):
    district_grid = world.staff(StaffRole.GRID_DISTRICT, world.district, name="区网格")
    mine = new_case(secretary, resident, title="路灯坏了", type_name="物业维修")
    theirs = new_case(other_secretary, other_compound_resident, title="违建", type_name="违章搭建")
    theirs.level = Level.DISTRICT
    db.session.commit()
    client = login_as(district_grid)
    assert case_numbers(client.get("/cases")) == {mine.number, theirs.number}
    assert case_numbers(client.get(f"/cases?number={mine.number[-4:]}&compound=吴淞")) == {mine.number}
    assert case_numbers(client.get("/cases?compound=美罗")) == {theirs.number}
    assert case_numbers(client.get(f"/cases?case_type={theirs.case_type_id}")) == {theirs.number}
    assert case_numbers(client.get("/cases?level=district")) == {theirs.number}
    assert case_numbers(client.get(f"/cases?view=all&number={mine.number.lower()}")) == {mine.number}
    empty = client.get("/cases?number=XX-0000")
    assert "没有符合筛选条件的工单" in text_of(empty)


def test_a_filter_that_makes_no_sense_is_told_and_left_out(world, login_as, secretary, resident):
    case = new_case(secretary, resident, title="路灯坏了")
    response = login_as(secretary).get("/cases?level=moon&case_type=abc")
    assert response.status_code == 200
    assert field_error(response, "level") == "请从列表中选择"
    assert field_error(response, "case_type") == "请从列表中选择"
    assert case.number in case_numbers(response)


def test_filters_never_reach_past_the_readers_scope(
    world, login_as, secretary, other_secretary, other_compound_resident
):
    theirs = new_case(other_secretary, other_compound_resident, title="别处的工单")
    client = login_as(secretary)
    assert case_numbers(client.get(f"/cases?view=all&number={theirs.number}")) == set()
    assert case_numbers(client.get("/cases?view=all&compound=美罗")) == set()
