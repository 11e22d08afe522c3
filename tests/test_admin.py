"""District admin: streets, compounds, departments (add, rename), staff roles and accounts."""

import re

import pytest
import sqlalchemy as sa
from board_helpers import signed_in
from conftest import Auth

from community_board.accounts.models import User
from community_board.audit import AuditEntry
from community_board.compounds.models import (
    Compound,
    Department,
    DepartmentKind,
    District,
    JoinCode,
    StaffAssignment,
    StaffRole,
    Street,
)
from community_board.extensions import db
from community_board.privacy import masked_phone


@pytest.fixture
def admin_client(login_as, admin):
    return login_as(admin)


def url(world, tail=""):
    return f"/admin/d/{world.district.id}{tail}"


def count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_admin_sees_the_district(world, admin_client):
    world.department("吴淞街道城管中队", street=world.street_a)
    page = admin_client.get(url(world)).get_data(as_text=True)
    for name in ("宝山区", "吴淞街道", "罗店镇", "吴淞新城", "美罗家园", "吴淞街道城管中队"):
        assert name in page


def test_create_street(world, admin_client):
    response = admin_client.post(
        url(world, "/street"), data={"street-name": " 友谊路街道 ", "street-kind": "street"}, follow_redirects=True
    )

    assert "已添加：友谊路街道" in response.get_data(as_text=True)
    assert count(Street, Street.name == "友谊路街道", Street.district_id == world.district.id) == 1
    assert count(AuditEntry, AuditEntry.action == "street.created") == 1


def test_create_compound_gets_a_join_code(world, admin_client):
    response = admin_client.post(
        url(world, "/compound"),
        data={
            "compound-street_id": world.street_b.id,
            "compound-name": "天平村",
            "compound-kind": "village",
        },
    )

    assert response.status_code == 302
    compound = db.session.scalar(sa.select(Compound).where(Compound.name == "天平村"))
    assert (compound.street_id, compound.district_id, compound.kind.label) == (
        world.street_b.id,
        world.district.id,
        "村",
    )
    assert count(JoinCode, JoinCode.compound_id == compound.id, JoinCode.revoked_at.is_(None)) == 1


@pytest.mark.parametrize("parent", ["street", "district"])
def test_create_department(world, admin_client, parent):
    parent_value = str(world.street_a.id) if parent == "street" else "district"
    response = admin_client.post(
        url(world, "/department"),
        data={
            "department-parent": parent_value,
            "department-name": "房管办",
            "department-kind": "housing",
        },
    )

    assert response.status_code == 302
    department = db.session.scalar(sa.select(Department).where(Department.name == "房管办"))
    assert department.street_id == (world.street_a.id if parent == "street" else None)
    assert department.kind is DepartmentKind.HOUSING


@pytest.mark.parametrize(
    "kind, data, message",
    [
        ("street", {"street-name": "吴淞街道", "street-kind": "street"}, "该街镇已存在"),
        ("compound", {"compound-name": "吴淞新城", "compound-kind": "neighbourhood"}, "该街镇下已有同名居民区"),
        (
            "department",
            {"department-name": "吴淞街道城管中队", "department-kind": "urban_management"},
            "同一层级下已有同名部门",
        ),
        (
            "department",
            {"department-parent": "district", "department-name": "区城管执法局", "department-kind": "urban_management"},
            "同一层级下已有同名部门",
        ),
        ("street", {"street-name": "", "street-kind": "street"}, "请填写名称"),
    ],
)
def test_duplicates_and_blanks_are_form_errors(world, admin_client, kind, data, message):
    world.department("吴淞街道城管中队", street=world.street_a)
    world.department("区城管执法局")
    data = {"compound-street_id": world.street_a.id, "department-parent": str(world.street_a.id), **data}
    before = (count(Street), count(Compound), count(Department))

    response = admin_client.post(url(world, f"/{kind}"), data=data)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert (count(Street), count(Compound), count(Department)) == before


def test_same_name_in_another_street_is_fine(world, admin_client):
    response = admin_client.post(
        url(world, "/compound"),
        data={
            "compound-street_id": world.street_b.id,
            "compound-name": "吴淞新城",
            "compound-kind": "neighbourhood",
        },
    )
    assert response.status_code == 302
    assert count(Compound, Compound.name == "吴淞新城") == 2


def test_compound_in_another_districts_street_is_refused(world, admin_client):
    other = District(name="嘉定区", code="JD")
    street = Street(district=other, name="安亭镇")
    db.session.add_all([other, street])
    db.session.commit()

    response = admin_client.post(
        url(world, "/compound"),
        data={
            "compound-street_id": street.id,
            "compound-name": "安亭新镇",
            "compound-kind": "neighbourhood",
        },
    )

    assert response.status_code == 400
    assert count(Compound, Compound.name == "安亭新镇") == 0


def staff_form(world, **changes):
    form = {
        "phone": "13600000001",
        "real_name": "黄蕾",
        "password": "Start2024",
        "role": "secretary",
        "scope": f"compound:{world.compound_a.id}",
    }
    form.update(changes)
    return form


def test_assign_a_role_to_a_new_staff_user(world, client, admin_client):
    response = admin_client.post(url(world, "/staff"), data=staff_form(world), follow_redirects=True)

    assert "已为 136****0001 设置角色：居民区书记" in response.get_data(as_text=True)
    user = db.session.scalar(sa.select(User).where(User.phone == "13600000001"))
    [assignment] = user.assignments
    assert (assignment.role, assignment.compound_id) == (StaffRole.SECRETARY, world.compound_a.id)

    client.post("/logout")
    assert client.post("/login", data={"phone": "13600000001", "password": "Start2024"}).status_code == 302
    assert client.get(f"/c/{world.compound_a.id}/verification").status_code == 200


def test_police_officer_in_two_compounds(world, admin_client):
    admin_client.post(url(world, "/staff"), data=staff_form(world, role="police", real_name="刘强"))
    response = admin_client.post(
        url(world, "/staff"),
        data=staff_form(world, role="police", real_name="", password="", scope=f"compound:{world.compound_b.id}"),
    )

    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.phone == "13600000001"))
    assert {(a.role, a.compound_id) for a in user.assignments} == {
        (StaffRole.POLICE, world.compound_a.id),
        (StaffRole.POLICE, world.compound_b.id),
    }


def test_an_existing_resident_can_be_given_a_role(world, admin_client, resident):
    response = admin_client.post(
        url(world, "/staff"), data=staff_form(world, phone=resident.phone, real_name="", password="", role="committee")
    )

    assert response.status_code == 302
    assert [a.role for a in resident.assignments] == [StaffRole.COMMITTEE]
    assert resident.real_name == "周丽"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"role": "secretary", "scope": "street:{street}"}, "“居民区书记”的范围应选择居民区"),
        ({"role": "grid_street", "scope": "compound:{compound}"}, "“街镇网格化中心”的范围应选择街镇"),
        ({"role": "district_admin", "scope": "street:{street}"}, "“区管理员”的范围应选择全区"),
        ({"real_name": ""}, "新账号请填写姓名"),
        ({"password": ""}, "新账号请设置初始密码"),
        ({"password": "abcdefgh"}, "这个密码太常见，容易被猜到，请换一个"),
        ({"phone": "12345"}, "请输入11位中国大陆手机号码"),
    ],
)
def test_wrong_staff_form_is_refused_with_a_message(world, admin_client, changes, message):
    changes = {
        key: value.format(street=world.street_a.id, compound=world.compound_a.id) for key, value in changes.items()
    }

    response = admin_client.post(url(world, "/staff"), data=staff_form(world, **changes))

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(User, User.phone == "13600000001") == 0
    assert count(StaffAssignment, StaffAssignment.role != StaffRole.DISTRICT_ADMIN) == 0


def test_the_same_role_twice_is_refused(world, admin_client, secretary):
    response = admin_client.post(
        url(world, "/staff"), data=staff_form(world, phone=secretary.phone, real_name="", password="")
    )

    assert response.status_code == 400
    assert "该人员已有这个角色和范围" in response.get_data(as_text=True)
    assert len(secretary.assignments) == 1


def test_revoke_a_role(world, login_as, admin_client, secretary):
    [assignment] = secretary.assignments

    response = admin_client.post(url(world, f"/staff/{assignment.id}/revoke"), follow_redirects=True)

    assert "已撤销该角色" in response.get_data(as_text=True)
    assert db.session.get(StaffAssignment, assignment.id) is None
    assert count(AuditEntry, AuditEntry.action == "staff.revoked", AuditEntry.target_id == secretary.id) == 1
    admin_client.post("/logout")
    assert login_as(secretary).get(f"/c/{world.compound_a.id}/verification").status_code == 404


@pytest.mark.parametrize("role", ["resident", "secretary", "grid_worker"])
def test_non_admins_get_403(request, world, login_as, role):
    client = login_as(request.getfixturevalue(role))
    assert client.get(url(world)).status_code == 403
    assert (
        client.post(url(world, "/street"), data={"street-name": "新街道", "street-kind": "street"}).status_code == 403
    )
    assert client.post(url(world, "/staff"), data=staff_form(world)).status_code == 403
    assert count(Street, Street.name == "新街道") == 0
    assert count(User, User.phone == "13600000001") == 0


def test_admin_of_another_district_gets_404(world, login_as, secretary):
    jiading = District(name="嘉定区", code="JD")
    db.session.add(jiading)
    db.session.commit()
    other_admin = world.staff(StaffRole.DISTRICT_ADMIN, jiading, name="吴军")
    client = login_as(other_admin)

    assert client.get("/admin").headers["Location"] == f"/admin/d/{jiading.id}"
    assert client.get(url(world)).status_code == 404
    assert client.get(url(world, "/staff")).status_code == 404
    assert (
        client.post(url(world, "/street"), data={"street-name": "新街道", "street-kind": "street"}).status_code == 404
    )
    assert client.post(url(world, f"/staff/{secretary.assignments[0].id}/revoke")).status_code == 404
    assert client.post(f"/admin/d/{jiading.id}/staff/{secretary.assignments[0].id}/revoke").status_code == 404
    assert len(secretary.assignments) == 1
    assert client.get(f"/c/{world.compound_a.id}").status_code == 404


def test_unknown_district_is_404(admin_client):
    assert admin_client.get("/admin/d/999999").status_code == 404


# Accounts of another district (issue 12, finding 12) ---------------------------------------


@pytest.fixture
def jiading(world):
    district = world.new_district("嘉定区", "JD")
    db.session.commit()
    return district


def flashes(response) -> list[str]:
    return re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', response.get_data(as_text=True))


def test_another_districts_staff_is_answered_like_an_unknown_phone(world, admin_client, jiading):
    elsewhere = world.staff(StaffRole.GRID_DISTRICT, jiading, name="吴军")
    unknown = admin_client.post(
        url(world, "/staff"), data=staff_form(world, phone="13600000077", real_name="", password="")
    )

    response = admin_client.post(
        url(world, "/staff"), data=staff_form(world, phone=elsewhere.phone, real_name="", password="")
    )

    assert (response.status_code, unknown.status_code) == (400, 400)
    assert "新账号请填写姓名" in response.get_data(as_text=True) and "新账号请填写姓名" in unknown.get_data(
        as_text=True
    )
    response = admin_client.post(url(world, "/staff"), data=staff_form(world, phone=elsewhere.phone))
    assert response.status_code == 400
    assert "该手机号不能设置为本区工作人员，请核对号码" in response.get_data(as_text=True)
    assert "吴军" not in response.get_data(as_text=True) and "嘉定" not in response.get_data(as_text=True)
    assert [a.district_id for a in elsewhere.assignments] == [jiading.id]


def test_another_districts_resident_is_refused_without_saying_where(world, admin_client, jiading):
    street = world.street("安亭镇")
    street.district_id = jiading.id
    anting = world.compound("安亭新镇", street)
    resident = world.resident(anting, name="吴丽")

    response = admin_client.post(url(world, "/staff"), data=staff_form(world, phone=resident.phone))

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "该手机号不能设置为本区工作人员" in page and "吴丽" not in page and "其他区" not in page
    assert resident.assignments == []


def test_an_account_with_a_role_here_can_be_given_another(world, admin_client, jiading, secretary):
    secretary.compound_id = None  # a staff account without a home anywhere but its roles here
    world.assign(secretary, StaffRole.GRID_DISTRICT, jiading)
    db.session.commit()

    response = admin_client.post(
        url(world, "/staff"), data=staff_form(world, phone=secretary.phone, real_name="", password="", role="police")
    )

    assert response.status_code == 302
    assert {a.role for a in secretary.assignments} == {StaffRole.SECRETARY, StaffRole.GRID_DISTRICT, StaffRole.POLICE}


def test_the_success_message_shows_the_masked_phone_not_the_name(world, admin_client, resident):
    response = admin_client.post(
        url(world, "/staff"),
        data=staff_form(world, phone=resident.phone, real_name="", password="", role="committee"),
        follow_redirects=True,
    )

    assert flashes(response) == [f"已为 {masked_phone(resident.phone)} 设置角色：居委会工作人员"]
    assert "周丽" not in flashes(response)[0]


# Deactivating staff accounts ---------------------------------------------------------------


def deactivate(client, world, user, verb="deactivate", **kwargs):
    return client.post(url(world, f"/staff/u{user.id}/{verb}"), **kwargs)


def test_deactivate_and_reactivate_a_staff_account(app, world, admin_client, secretary):
    phone_of_secretary = app.test_client()
    assert Auth(phone_of_secretary).login(secretary, remember=True).status_code == 302
    assert phone_of_secretary.get(f"/c/{world.compound_a.id}/verification").status_code == 200

    response = deactivate(admin_client, world, secretary, follow_redirects=True)

    assert flashes(response) == ["已停用该账号，其登录已全部失效"]
    assert "已停用" in response.get_data(as_text=True) and "恢复账号" in response.get_data(as_text=True)
    assert phone_of_secretary.get(f"/c/{world.compound_a.id}/verification").status_code == 302  # to the login page
    assert Auth(app.test_client()).login(secretary).status_code != 302
    assert count(AuditEntry, AuditEntry.action == "staff.deactivated", AuditEntry.target_id == secretary.id) == 1

    response = deactivate(admin_client, world, secretary, "reactivate", follow_redirects=True)

    assert flashes(response) == ["已恢复该账号"]
    assert count(AuditEntry, AuditEntry.action == "staff.reactivated", AuditEntry.target_id == secretary.id) == 1
    again = app.test_client()
    assert Auth(again).login(secretary).status_code == 302
    assert again.get(f"/c/{world.compound_a.id}/verification").status_code == 200  # the roles stayed


def test_the_staff_list_asks_before_deactivating(world, admin_client, secretary):
    page = admin_client.get(url(world, "/staff")).get_data(as_text=True)

    form = re.search(rf'<form[^>]*action="/admin/d/{world.district.id}/staff/u{secretary.id}/deactivate"[^>]*>', page)
    assert form and 'method="post"' in form.group(0) and 'data-confirm="确定停用李秀英的账号吗？' in form.group(0)


def test_deactivation_limits(world, login_as, admin, resident, jiading):
    client = login_as(admin)
    assert "不能停用自己的账号" in "".join(flashes(deactivate(client, world, admin, follow_redirects=True)))
    assert deactivate(client, world, resident).status_code == 404  # a resident, not staff
    other_admin = world.staff(StaffRole.DISTRICT_ADMIN, jiading, name="吴军")
    assert deactivate(client, world, other_admin).status_code == 404
    assert client.post(f"/admin/d/{jiading.id}/staff/u{other_admin.id}/deactivate").status_code == 404
    db.session.expire_all()
    assert admin.active and other_admin.active and resident.active


@pytest.mark.parametrize("verb", ["deactivate", "reactivate"])
def test_an_account_that_also_serves_another_district_is_not_one_admins_to_stop(world, login_as, admin, jiading, verb):
    shared = world.staff(StaffRole.DISTRICT_ADMIN, world.district, name="吴军")
    world.assign(shared, StaffRole.DISTRICT_ADMIN, jiading)
    shared.active = verb == "deactivate"
    db.session.commit()

    response = deactivate(login_as(admin), world, shared, verb, follow_redirects=True)

    assert "该账号也在其他区担任角色或居住，不能在本区停用或恢复" in "".join(flashes(response))
    db.session.expire_all()
    assert shared.active is (verb == "deactivate")
    assert count(AuditEntry, AuditEntry.action.in_(["staff.deactivated", "staff.reactivated"])) == 0


def test_an_account_living_in_another_district_is_not_one_admins_to_stop(world, login_as, admin, jiading):
    street = world.street("安亭镇")
    street.district_id = jiading.id
    elsewhere_resident = world.resident(world.compound("安亭新镇", street), name="吴丽")
    world.assign(elsewhere_resident, StaffRole.GRID_DISTRICT, world.district)
    db.session.commit()

    response = deactivate(login_as(admin), world, elsewhere_resident, follow_redirects=True)

    assert "不能在本区停用或恢复" in "".join(flashes(response))
    db.session.expire_all()
    assert elsewhere_resident.active


# Renaming ----------------------------------------------------------------------------------


def rename(client, world, kind, node, name, **kwargs):
    return client.post(url(world, f"/{kind}/{node.id}/rename"), data={"name": name}, **kwargs)


def test_rename_a_compound(world, admin_client):
    response = rename(admin_client, world, "compound", world.compound_a, " 吴淞新城一期 ", follow_redirects=True)

    assert flashes(response) == ["已改名：吴淞新城 → 吴淞新城一期"]
    assert "吴淞新城一期" in response.get_data(as_text=True)
    assert count(AuditEntry, AuditEntry.action == "compound.renamed", AuditEntry.note == "吴淞新城 → 吴淞新城一期") == 1


def test_renames_show_on_the_board_at_once(world, login_as, admin, resident):
    """The resident's feed is kept whole per board version: a rename must move it."""
    feed = f"/c/{world.compound_a.id}"
    resident_client = login_as(resident)
    before = resident_client.get(feed).get_data(as_text=True)
    assert "吴淞新城" in before and "吴淞街道" in before
    admin_client = signed_in(admin)

    rename(admin_client, world, "compound", world.compound_a, "吴淞新城二期")
    rename(admin_client, world, "street", world.street_a, "吴淞街道（新）")

    after = resident_client.get(feed).get_data(as_text=True)
    assert "吴淞新城二期" in after and "吴淞街道（新）" in after
    assert count(AuditEntry, AuditEntry.action == "street.renamed", AuditEntry.note == "吴淞街道 → 吴淞街道（新）") == 1


def test_renaming_a_department_moves_the_boards_it_serves(world, admin_client):
    department = world.department("吴淞街道城管中队", street=world.street_a)
    versions = (world.compound_a.board_version, world.compound_b.board_version)

    response = rename(admin_client, world, "department", department, "吴淞街道城管执法中队")

    assert response.status_code == 302
    db.session.expire_all()
    assert department.name == "吴淞街道城管执法中队"
    assert (world.compound_a.board_version, world.compound_b.board_version) == (versions[0] + 1, versions[1])
    assert "吴淞街道城管执法中队" in admin_client.get(url(world)).get_data(as_text=True)


@pytest.mark.parametrize(
    "kind, taken, message",
    [
        ("street", "罗店镇", "该街镇已存在"),
        ("compound", "淞南一村", "该街镇下已有同名居民区"),
        ("department", "区城管执法局", "同一层级下已有同名部门"),
        ("compound", "", "请填写名称"),
    ],
)
def test_a_name_in_use_is_a_form_error(world, admin_client, kind, taken, message):
    world.compound("淞南一村", world.street_a)
    world.department("区城管执法局")
    nodes = {"street": world.street_a, "compound": world.compound_a, "department": world.department("区网格化中心")}
    old = nodes[kind].name

    response = rename(admin_client, world, kind, nodes[kind], taken)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert nodes[kind].name == old
    assert count(AuditEntry, AuditEntry.action.like("%.renamed")) == 0


def test_another_districts_admin_cannot_rename(world, login_as, jiading):
    client = login_as(world.staff(StaffRole.DISTRICT_ADMIN, jiading, name="吴军"))

    assert client.get(url(world, f"/compound/{world.compound_a.id}/rename")).status_code == 404
    assert (
        client.post(f"/admin/d/{jiading.id}/compound/{world.compound_a.id}/rename", data={"name": "改了"}).status_code
        == 404
    )
    db.session.expire_all()
    assert world.compound_a.name == "吴淞新城"
