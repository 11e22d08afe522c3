"""网格 and 一户一档: grids of buildings, the grid worker's reach, the household file and its access log,
民情日记 visits, 代发 with consent, the 90-day list, and the verification queue's household hint."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from board_helpers import field_error, make_post, signed_in, text_of
from cases_helpers import case_type, file_post, messages
from conftest import count_queries
from grids_helpers import add_household, add_visit, make_grid, make_grid_worker, record_of

from community_board.accounts.models import Household, ResidentStatus, Salutation
from community_board.board import services as board_services
from community_board.board.models import Post
from community_board.cases import services as case_services
from community_board.cases.models import Case
from community_board.compounds.models import Compound, DepartmentKind, District, StaffAssignment, StaffRole
from community_board.errors import ValidationError
from community_board.extensions import db
from community_board.grids import queries, services
from community_board.grids.models import (
    CareTag,
    Grid,
    GridBuilding,
    GridDuty,
    HouseholdAccess,
    HouseholdCareTag,
    HouseholdFile,
    Tenure,
    Visit,
    VisitKind,
)
from community_board.seeding import district as seeding
from community_board.timeutil import utcnow


@pytest.fixture
def grids(world, secretary):
    """吴淞新城 in two grids: buildings 1–6 and 7–12."""
    return make_grid(secretary, world.compound_a, "第1网格", "1-6"), make_grid(
        secretary, world.compound_a, "第2网格", "7-12"
    )


@pytest.fixture
def worker(world, grids):
    """The grid worker of 第1网格."""
    return make_grid_worker(world, grids[0], "王晓燕")


def care_tag(name: str, district) -> CareTag:
    return db.session.scalar(sa.select(CareTag).where(CareTag.district_id == district.id, CareTag.name == name))


# Grids ---------------------------------------------------------------------------------------


def test_a_building_belongs_to_one_grid_only(world, secretary, grids):
    first, second = grids
    client = signed_in(secretary)
    response = client.post(f"/grids/{second.id}/buildings", data={"buildings": "5, 13"})
    assert response.status_code == 400
    assert field_error(response, "buildings") == "5号楼已属于第1网格，请先从第1网格移出"
    assert db.session.scalar(sa.select(GridBuilding.grid_id).where(GridBuilding.building == "13")) is None

    client.post(f"/grids/{first.id}/buildings/5/remove")
    assert client.post(f"/grids/{second.id}/buildings", data={"buildings": "5, 13"}).status_code == 302
    owners = dict(db.session.execute(sa.select(GridBuilding.building, GridBuilding.grid_id)).all())
    assert owners["5"] == owners["13"] == second.id and owners["4"] == first.id


def test_only_the_compounds_staff_divide_it_into_grids(
    world, secretary, committee, other_secretary, resident, admin, grids, worker
):
    compound = world.compound_a
    assert signed_in(committee).post(f"/c/{compound.id}/grids", data={"name": "第3网格"}).status_code == 302
    assert signed_in(other_secretary).post(f"/c/{compound.id}/grids", data={"name": "第4网格"}).status_code == 404
    for outsider in (resident, worker, admin):
        assert signed_in(outsider).post(f"/c/{compound.id}/grids", data={"name": "第4网格"}).status_code == 403
        assert signed_in(outsider).post(f"/grids/{grids[1].id}/buildings", data={"buildings": "20"}).status_code in (
            403,
            404,
        )
    assert (
        signed_in(other_secretary).post(f"/grids/{grids[1].id}/buildings", data={"buildings": "20"}).status_code == 404
    )
    names = set(db.session.scalars(sa.select(GridBuilding.building)))
    assert "20" not in names
    with pytest.raises(ValidationError):
        services.create_grid(secretary, compound, "第3网格")  # the committee made it already


def test_the_five_levels_count_households_residents_and_care(world, secretary, admin, grids, resident):
    neighbour = world.resident(world.compound_a, name="郑芳", building="5", unit="2", room="502")
    elder = add_household(secretary, grids[1], "9", "101")
    services.set_care_tags(secretary, record_of(elder.id), [care_tag("独居老人", world.district).id])
    # Streets and the district read residents from the compounds' counters, kept by verification.
    db.session.execute(sa.update(Compound).where(Compound.id == world.compound_a.id).values(resident_count=2))
    db.session.commit()
    assert neighbour.household_id == resident.household_id

    district_page = text_of(signed_in(admin).get(f"/grids/district/{world.district.id}"))
    assert "吴淞街道" in district_page and "2 户 · 2 位认证居民" in district_page
    street_page = text_of(signed_in(admin).get(f"/grids/street/{world.street_a.id}"))
    assert "吴淞新城" in street_page and "关爱 1 户" in street_page
    compound_page = text_of(signed_in(secretary).get(f"/c/{world.compound_a.id}/grids"))
    first, second = compound_page.split("第2网格")
    assert "1 户 · 2 位认证居民 · " in first and "1 户 · 0 位认证居民" in second and "关爱 1 户" in second
    grid_page = text_of(signed_in(secretary).get(f"/grids/{grids[1].id}"))
    assert "9号楼" in grid_page and "关爱 1 户" in grid_page
    building_page = text_of(signed_in(secretary).get(f"/grids/{grids[1].id}/b/9"))
    assert "9号楼1单元101室" in building_page and "独居老人" in building_page
    # Oversight sees the figures, never the households.
    street_grid = world.staff(StaffRole.GRID_STREET, world.street_a, name="赵磊")
    oversight = text_of(signed_in(street_grid).get(f"/grids/{grids[1].id}/b/9"))
    assert "关爱 1 户" in oversight and "101室" not in oversight and "独居老人" not in oversight


def test_the_district_level_counts_its_households_once_a_minute(world, secretary, admin, grids, monkeypatch):
    """A district's ~80,000 households take an index walk: its level keeps the sums for a minute."""
    minute = utcnow().replace(second=0, microsecond=0)
    monkeypatch.setattr(queries, "utcnow", lambda: minute)
    add_household(secretary, grids[0], "3", "101")
    client, url = signed_in(admin), f"/grids/district/{world.district.id}"
    assert "1 户 · 0 位认证居民" in text_of(client.get(url))
    add_household(secretary, grids[0], "3", "102")
    assert "1 户 · 0 位认证居民" in text_of(client.get(url))
    monkeypatch.setattr(queries, "utcnow", lambda: minute + timedelta(minutes=1))
    assert "2 户 · 0 位认证居民" in text_of(client.get(url))


def test_the_district_admin_makes_a_grid_worker_through_the_staff_page(world, admin, grids):
    response = signed_in(admin).post(
        f"/admin/d/{world.district.id}/staff",
        data={
            "phone": "13612345678",
            "real_name": "王晓燕",
            "password": "Gridwork2026",
            "role": "grid_worker",
            "scope": f"grid:{grids[1].id}",
        },
    )
    assert response.status_code == 302
    assignment = db.session.scalar(sa.select(StaffAssignment).where(StaffAssignment.role == StaffRole.GRID_WORKER))
    assert assignment.grid_id == grids[1].id and assignment.compound_id == world.compound_a.id
    assert "吴淞新城 · 第2网格" in text_of(signed_in(admin).get(f"/admin/d/{world.district.id}/staff"))
    wrong = signed_in(admin).post(
        f"/admin/d/{world.district.id}/staff",
        data={
            "phone": "13612345679",
            "real_name": "孙芳",
            "password": "Gridwork2026",
            "role": "grid_worker",
            "scope": f"compound:{world.compound_a.id}",
        },
    )
    assert wrong.status_code == 400 and "应选择网格" in text_of(wrong)


# The grid worker's reach ------------------------------------------------------------------------


def test_a_grid_worker_sees_its_own_grid_and_404_elsewhere(world, secretary, grids, worker, resident):
    own = resident.household  # 5号楼: the first grid
    elder = add_household(secretary, grids[1], "9", "101")
    other_compound = world.resident(world.compound_b, name="孙建华", salutation=Salutation.MR, building="21")
    client = signed_in(worker)
    assert client.get(f"/grids/{grids[0].id}").status_code == 200
    assert client.get(f"/households/{own.id}").status_code == 200
    assert client.get(f"/grids/{grids[0].id}/b/5").status_code == 200
    for elsewhere in (
        f"/grids/{grids[1].id}",
        f"/grids/{grids[1].id}/b/9",
        f"/grids/{grids[1].id}/month",
        f"/households/{elder.id}",
        f"/households/{other_compound.household_id}",
    ):
        assert client.get(elsewhere).status_code == 404, elsewhere
    assert client.post(f"/households/{elder.id}/reveal").status_code == 404
    assert client.get(f"/c/{world.compound_a.id}/grids").status_code == 403  # the compound's overview
    assert client.get("/grids").headers["Location"].endswith(f"/grids/{grids[0].id}")
    assert client.get(f"/c/{world.compound_a.id}").status_code == 200  # reads its compound's board


def test_a_grid_worker_lists_its_grids_posts_and_cases(world, secretary, grids, worker, resident):
    far = world.resident(world.compound_a, name="吴刚", salutation=Salutation.MR, building="9", room="301")
    near_post = make_post(resident, world.compound_a, title="5号楼楼道灯坏了")
    far_post = make_post(far, world.compound_a, title="9号楼门禁坏了")
    near_case, far_case = file_post(secretary, near_post), file_post(secretary, far_post)
    client = signed_in(worker)
    posts = text_of(client.get(f"/grids/{grids[0].id}/posts"))
    assert "5号楼楼道灯坏了" in posts and "9号楼门禁坏了" not in posts
    cases = text_of(client.get(f"/grids/{grids[0].id}/cases"))
    assert near_case.number in cases and far_case.number not in cases
    assert client.get(f"/cases/{near_case.id}").status_code == 200


def test_a_grids_case_list_leaves_out_cases_of_hidden_posts_as_its_post_list_does(
    world, secretary, grids, worker, resident
):
    post = make_post(resident, world.compound_a, title="5号楼楼道灯坏了")
    case = file_post(secretary, post)
    board_services.hide(secretary, post, "含有住户电话")
    db.session.commit()
    client = signed_in(worker)
    assert "5号楼楼道灯坏了" not in text_of(client.get(f"/grids/{grids[0].id}/posts"))
    assert case.number not in text_of(client.get(f"/grids/{grids[0].id}/cases"))


# The household file -------------------------------------------------------------------------------


def test_residents_get_404_on_household_files_even_their_own(world, resident, secretary, officer, grids):
    household = resident.household
    for outsider in (resident, officer):
        client = signed_in(outsider)
        assert client.get(f"/households/{household.id}").status_code == 404
        assert client.post(f"/households/{household.id}/reveal").status_code == 404
        assert (
            client.post(f"/households/{household.id}/members", data={"name": "周大山", "relation": "配偶"}).status_code
            == 404
        )
    assert signed_in(secretary).get(f"/households/{household.id}").status_code == 200


def test_the_file_is_masked_and_only_show_full_writes_an_access_log_row(world, resident, secretary, worker, grids):
    household = resident.household
    record = record_of(household.id)
    services.update_household(secretary, record, Tenure.OWNER, "13912345678")
    services.add_member(secretary, record, "周大山", "配偶")
    db.session.commit()
    client = signed_in(worker)
    masked = text_of(client.get(f"/households/{household.id}"))
    assert "139****5678" in masked and "周*" in masked and "周女士" in masked and "业主" in masked
    assert "13912345678" not in masked and "周大山" not in masked and "周丽" not in masked
    client.get(f"/grids/{grids[0].id}/b/5")
    client.get(f"/grids/{grids[0].id}/month")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HouseholdAccess)) == 0

    full = client.post(f"/households/{household.id}/reveal")
    assert full.status_code == 200
    page = text_of(full)
    assert "13912345678" in page and "周大山" in page and "周丽" in page and "本次查看已记录" in page
    db.session.expire_all()
    rows = db.session.scalars(sa.select(HouseholdAccess)).all()
    assert [(r.actor_id, r.household_id, r.shown) for r in rows] == [(worker.id, household.id, "成员姓名、联系电话")]
    assert rows[0].created_at is not None
    assert text_of(client.get(f"/households/{household.id}")).count("139****5678") == 1  # masked again


def test_the_edit_page_never_shows_the_phone_in_full(world, resident, secretary, grids):
    household = resident.household
    services.update_household(secretary, record_of(household.id), None, "13912345678")
    db.session.commit()
    client = signed_in(secretary)
    edit = text_of(client.get(f"/households/{household.id}/edit"))
    assert "13912345678" not in edit and "139****5678" in edit
    tag_id = care_tag("低保", world.district).id
    assert (
        client.post(f"/households/{household.id}/edit", data={"tenure": "tenant", "tags-tags": [tag_id]}).status_code
        == 302
    )
    db.session.expire_all()
    file = record_of(household.id).file
    assert file.contact_phone == "13912345678" and file.tenure is Tenure.TENANT and file.care_tagged
    client.post(f"/households/{household.id}/edit", data={"tenure": "tenant", "clear_phone": "y"})
    db.session.expire_all()
    assert record_of(household.id).file.contact_phone is None and not record_of(household.id).file.care_tagged


def test_care_tags_come_from_the_districts_list_which_its_admin_extends(world, admin, secretary, resident, grids):
    client = signed_in(admin)
    assert client.post(f"/admin/d/{world.district.id}/care-tags", data={"name": "重病"}).status_code == 302
    assert "重病" in text_of(client.get(f"/admin/d/{world.district.id}/care-tags"))
    assert (
        signed_in(secretary).post(f"/admin/d/{world.district.id}/care-tags", data={"name": "失独"}).status_code == 403
    )
    other = world.new_district("嘉定区", "JD")
    db.session.commit()
    foreign = care_tag("独居老人", other)
    with pytest.raises(ValidationError):
        services.set_care_tags(secretary, record_of(resident.household_id), [foreign.id])
    services.set_care_tags(secretary, record_of(resident.household_id), [care_tag("重病", world.district).id])


# 民情日记 and 代发 --------------------------------------------------------------------------------


def _raise(client, household, visit, **data):
    values = {
        "resident": 0,
        "title": "楼道灯坏了",
        "body": "9号楼一楼楼道灯坏了，老人晚上看不见",
        "priority": "normal",
        "case_type": case_type("物业维修").id,
    }
    values.update(data)
    return client.post(f"/households/{household.id}/visits/{visit.id}/case", data=values)


def test_a_case_raised_from_a_visit_needs_consent_and_is_marked_on_post_and_case(world, secretary, grids):
    second_worker = make_grid_worker(world, grids[1], "孙芳")
    elder = add_household(secretary, grids[1], "9", "101")
    client = signed_in(second_worker)
    response = client.post(
        f"/households/{elder.id}/visits",
        data={
            "visited_on": services.today_local().isoformat(),
            "kind": "phone",
            "met": "本人",
            "raised": "楼道灯坏了，晚上看不见",
        },
    )
    assert response.status_code == 302
    visit = db.session.scalar(sa.select(Visit))
    assert visit.kind.value == "phone" and visit.grid_id == grids[1].id

    form = text_of(client.get(f"/households/{elder.id}/visits/{visit.id}/case"))
    assert "楼道灯坏了，晚上看不见" in form  # shown for reference, staff only …
    assert re.search(r"<textarea[^>]*>\s*</textarea>", form)  # … and not put into the public post
    refused = _raise(client, elder, visit)
    assert refused.status_code == 400 and "请先征得居民同意" in text_of(refused)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 0

    done = _raise(client, elder, visit, consent="y")
    assert done.status_code == 302
    db.session.expire_all()
    post, case, visit = (
        db.session.scalar(sa.select(Post)),
        db.session.scalar(sa.select(Case)),
        db.session.get(Visit, visit.id),
    )
    assert post.on_behalf_label == case.on_behalf_label == "网格员代发" and post.on_behalf_by_id == second_worker.id
    assert post.author_id == second_worker.id  # no account in the household: written under the worker's name
    assert (visit.post_id, visit.consent_by_id) == (post.id, second_worker.id) and visit.consent_at is not None
    assert "网格员代发" in text_of(client.get(f"/p/{post.id}"))
    assert "网格员代发" in text_of(signed_in(secretary).get(f"/cases/{case.id}"))
    file_page = text_of(client.get(f"/households/{elder.id}"))
    assert case.number in file_page  # no account: the household file shows it
    again = _raise(client, elder, visit, consent="y")
    assert again.status_code == 302 and db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1


def test_a_case_raised_for_a_resident_with_an_account_is_theirs(world, secretary, worker, resident, grids):
    visit = add_visit(worker, resident.household, kind=VisitKind.PHONE)
    response = _raise(signed_in(worker), resident.household, visit, resident=resident.id, consent="y")
    assert response.status_code == 302
    post = db.session.scalar(sa.select(Post))
    case = db.session.scalar(sa.select(Case))
    assert post.author_id == case.reporter_id == resident.id and post.on_behalf_by_id == worker.id
    assert any(case.number in m for m in messages(resident))  # 您反映的…已立案
    page = text_of(signed_in(resident).get(f"/p/{post.id}"))
    assert "网格员代发" in page and case.number in page


def _raised_for_elder(world, secretary, grids):
    """A case 孙芳 (第2网格) raised for 9号楼1单元101室, a household without an account, dispatched
    to 物业: the worker wrote the post, so the case has her as its reporter."""
    second_worker = make_grid_worker(world, grids[1], "孙芳")
    elder = add_household(secretary, grids[1], "9", "101")
    visit = add_visit(second_worker, elder, kind=VisitKind.PHONE)
    assert _raise(signed_in(second_worker), elder, visit, consent="y").status_code == 302
    estate = world.department("吴淞新城物业服务中心", DepartmentKind.PROPERTY, street=world.street_a)
    keeper = world.staff(StaffRole.DEPARTMENT, estate, name="钱红")
    case = db.session.scalar(sa.select(Case))
    case_services.dispatch(secretary, case, [estate])
    db.session.commit()
    return case, second_worker, keeper


def _reporter_shown(client, case) -> str:
    """What the case page says under 反映人, without its markup."""
    found = re.search(r"<dt>反映人</dt><dd>(.*?)</dd>", text_of(client.get(f"/cases/{case.id}")))
    return re.sub(r"<[^>]+>", "", found.group(1))


def test_a_case_raised_for_a_household_without_an_account_names_the_household(world, secretary, grids):
    case, second_worker, keeper = _raised_for_elder(world, secretary, grids)
    assert case.reporter_id == second_worker.id
    # Staff who see full names get the address; the department, the building, as for any reporter.
    assert _reporter_shown(signed_in(secretary), case) == "9号楼1单元101室住户（网格员代发：孙芳）"
    assert _reporter_shown(signed_in(keeper), case) == "9号楼住户（网格员代发）"


def test_the_grid_worker_is_told_to_pass_on_the_result_of_a_case_raised_for_a_household(world, secretary, grids):
    """The worker stands as the reporter but, being staff, cannot rate it: she is asked to tell the
    resident, not to rate (the case closes 未评价 when its week is up)."""
    case, second_worker, keeper = _raised_for_elder(world, secretary, grids)
    case_services.accept(keeper, case, "已安排电工")
    case_services.resolve(keeper, case, "已更换楼道灯")
    db.session.commit()
    client = signed_in(second_worker)
    post_page = text_of(client.get(f"/p/{case.post_id}"))
    assert "已更换楼道灯" in post_page and "提交评价" not in post_page
    assert client.post(f"/cases/{case.id}/rate", data={"satisfaction": "satisfied"}).status_code == 403
    assert messages(second_worker)[-1] == f"工单 {case.number}：已办结，请把处理结果告知居民"
    assert db.session.get(Case, case.id).satisfaction is None


def test_the_90_day_list_puts_care_tagged_households_first(world, secretary, worker, grids):
    grid = grids[0]
    lonely = add_household(secretary, grid, "1", "101")  # 独居老人, never visited
    add_household(secretary, grid, "1", "102")  # never visited
    tagged_old = add_household(secretary, grid, "2", "201")  # 低保, visited 100 days ago
    tagged_recent = add_household(secretary, grid, "2", "202")  # 残疾, visited 10 days ago: not listed
    plain_old = add_household(secretary, grid, "3", "301")  # visited 200 days ago
    for household, name in ((lonely, "独居老人"), (tagged_old, "低保"), (tagged_recent, "残疾")):
        services.set_care_tags(secretary, record_of(household.id), [care_tag(name, world.district).id])
    db.session.commit()
    add_visit(worker, tagged_old, days_ago=100)
    add_visit(worker, tagged_recent, days_ago=10)
    add_visit(worker, plain_old, days_ago=200)

    page = text_of(signed_in(worker).get(f"/grids/{grid.id}/month"))
    listed = page.split('id="not-visited"')[1].split("月的民情日记")[0]
    order = re.findall(r"(\d号楼1单元\d+室)", listed)
    assert order == ["1号楼1单元101室", "2号楼1单元201室", "1号楼1单元102室", "3号楼1单元301室"]
    this_month = page.split("月的民情日记")[1]
    assert ("2号楼1单元202室" in this_month) == (
        (services.today_local() - timedelta(days=10)).month == services.today_local().month
    )


def test_the_90_day_list_pages_by_keyset_at_a_fixed_cost(app, world, secretary, worker, grids):
    grid = grids[0]
    for room in range(101, 104):
        add_household(secretary, grid, "4", str(room))
    client = signed_in(worker)
    db.session.expire_all()
    with count_queries() as few:
        client.get(f"/grids/{grid.id}/month")
    for room in range(104, 130):
        add_household(secretary, grid, "4", str(room))
    db.session.expire_all()
    with count_queries() as many:
        first = client.get(f"/grids/{grid.id}/month")
    assert few() == many()
    cursor = re.search(r"after=(\d+)", text_of(first)).group(1)
    second = text_of(client.get(f"/grids/{grid.id}/month?after={cursor}"))
    assert "4号楼1单元129室" in second and "4号楼1单元101室" not in second


# The resident's side --------------------------------------------------------------------------------


def test_a_resident_sees_their_grid_worker_and_the_published_work_phone(world, secretary, worker, resident, grids):
    services.set_public_phone(secretary, grids[0], "021-56781234")
    db.session.commit()
    client = signed_in(resident)
    assert "我的网格" in text_of(client.get("/me"))
    page = text_of(client.get("/me/grid"))
    assert "第1网格" in page and "王晓燕" in page and "021-56781234" in page
    assert worker.phone not in page
    far = world.resident(world.compound_a, name="吴刚", salutation=Salutation.MR, building="30", room="301")
    assert "还没有划入网格" in text_of(signed_in(far).get("/me/grid"))


def test_grid_members_show_to_residents_masked(world, secretary, officer, grids):
    member = world.resident(world.compound_a, name="郑芳", building="3", room="301", party=True)
    services.add_grid_member(secretary, grids[0], GridDuty.PARTY_MEMBER, member.phone)
    services.add_grid_member(secretary, grids[0], GridDuty.POLICE, officer.phone)
    db.session.commit()
    with pytest.raises(ValidationError):
        services.add_grid_member(secretary, grids[1], GridDuty.BUILDING_HEAD, member.phone)  # lives in grid 1
    page = text_of(signed_in(member).get("/me/grid"))
    assert "郑女士" in page and "郑芳" not in page and "刘警官" in page and "刘强" not in page


# The verification queue ---------------------------------------------------------------------------


def test_the_verification_queue_shows_who_already_lives_at_the_address(world, secretary, resident):
    world.resident(world.compound_a, name="郑芳", building="5", unit="2", room="502")
    pending = ResidentStatus.PENDING
    newcomer = world.resident(name="周小明", salutation=Salutation.MR, building="5", room="502", status=pending)
    stranger = world.resident(
        name="钱学明", salutation=Salutation.MR, building="8", unit="3", room="1102", status=pending
    )
    page = text_of(signed_in(secretary).get(f"/c/{world.compound_a.id}/verification"))
    newcomer_card = page.split(f'id="resident-{newcomer.id}"')[1].split("</article>")[0]
    stranger_card = page.split(f'id="resident-{stranger.id}"')[1].split("</article>")[0]
    assert "这个地址已有认证住户：周女士、郑女士" in newcomer_card and "周丽" not in newcomer_card
    assert "已有认证住户" not in stranger_card


# The demo ------------------------------------------------------------------------------------------


def test_the_demo_grid_worker_of_grid_2_finds_the_elder_living_alone_first(app, client):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    assert client.post("/login", data={"phone": "13800000012", "password": "Demo1234"}).status_code == 302
    grid_page = client.get("/grids", follow_redirects=True)
    assert "吴淞新城 · 第2网格" in text_of(grid_page) and "杨帆" in text_of(grid_page)
    grid_id = re.search(r"/grids/(\d+)/month", text_of(grid_page)).group(1)
    month = text_of(client.get(f"/grids/{grid_id}/month"))
    first = re.search(r"(\d+号楼\d单元\d+室)", month.split('id="not-visited"')[1]).group(1)
    assert first == "9号楼1单元101室" and "独居老人" in month
    raised = db.session.scalars(sa.select(Case).where(Case.on_behalf_label.is_not(None))).all()
    assert [c.on_behalf_label for c in raised] == ["网格员代发"]
    client.post("/logout")
    assert client.post("/login", data={"phone": "13800000002", "password": "Demo1234"}).status_code == 302
    compound = db.session.scalar(sa.select(Compound).where(Compound.name == "吴淞新城"))
    queue = text_of(client.get(f"/c/{compound.id}/verification"))
    assert "周小军先生" in queue and "这个地址已有认证住户：周女士、郑女士" in queue


# seed-district --------------------------------------------------------------------------------------


def test_seed_district_divides_every_compound_into_grids_with_files(app):
    result = app.test_cli_runner().invoke(args=["seed-district", "--small", "--as-of", "2026-11-20 08:00:00"])
    assert result.exit_code == 0, result.output
    db.session.commit()
    district = db.session.scalar(sa.select(District).where(District.name == seeding.DEFAULT_NAME))
    compounds = db.session.scalars(sa.select(Compound).where(Compound.district_id == district.id)).all()
    for compound in compounds:
        grids_here = db.session.scalars(sa.select(Grid.id).where(Grid.compound_id == compound.id)).all()
        assert 2 <= len(grids_here) <= 4
        workers = db.session.scalars(
            sa.select(StaffAssignment.grid_id).where(StaffAssignment.role == StaffRole.GRID_WORKER)
        ).all()
        assert set(grids_here) <= set(workers)
    households = db.session.scalar(sa.select(sa.func.count()).select_from(Household))
    in_no_grid = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Household)
        .outerjoin(
            GridBuilding,
            sa.and_(GridBuilding.compound_id == Household.compound_id, GridBuilding.building == Household.building),
        )
        .where(GridBuilding.grid_id.is_(None))
    )
    assert in_no_grid == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HouseholdFile)) == households
    cared = db.session.scalar(sa.select(sa.func.count()).where(HouseholdFile.care_tagged.is_(True)))
    assert 0.02 * households < cared < 0.1 * households
    tagged = db.session.scalar(sa.select(sa.func.count(sa.distinct(HouseholdCareTag.household_id))))
    assert tagged == cared
    last = sa.select(sa.func.max(Visit.visited_on)).where(Visit.household_id == HouseholdFile.household_id)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                HouseholdFile.last_visit_on.is_not(None), HouseholdFile.last_visit_on != last.scalar_subquery()
            )
        )
        == 0
    )
    assert "网格员（最活跃的小区）" in result.output
