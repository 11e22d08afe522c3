"""District admin: streets, compounds, departments and staff roles."""
import pytest
import sqlalchemy as sa

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
    response = admin_client.post(url(world, "/street"), data={"street-name": " 友谊路街道 ", "street-kind": "street"},
                                 follow_redirects=True)

    assert "已添加：友谊路街道" in response.get_data(as_text=True)
    assert count(Street, Street.name == "友谊路街道", Street.district_id == world.district.id) == 1
    assert count(AuditEntry, AuditEntry.action == "street.created") == 1


def test_create_compound_gets_a_join_code(world, admin_client):
    response = admin_client.post(url(world, "/compound"), data={
        "compound-street_id": world.street_b.id, "compound-name": "天平村", "compound-kind": "village",
    })

    assert response.status_code == 302
    compound = db.session.scalar(sa.select(Compound).where(Compound.name == "天平村"))
    assert (compound.street_id, compound.district_id, compound.kind.label) == (world.street_b.id, world.district.id, "村")
    assert count(JoinCode, JoinCode.compound_id == compound.id, JoinCode.revoked_at.is_(None)) == 1


@pytest.mark.parametrize("parent", ["street", "district"])
def test_create_department(world, admin_client, parent):
    parent_value = str(world.street_a.id) if parent == "street" else "district"
    response = admin_client.post(url(world, "/department"), data={
        "department-parent": parent_value, "department-name": "房管办", "department-kind": "housing",
    })

    assert response.status_code == 302
    department = db.session.scalar(sa.select(Department).where(Department.name == "房管办"))
    assert department.street_id == (world.street_a.id if parent == "street" else None)
    assert department.kind is DepartmentKind.HOUSING


@pytest.mark.parametrize("kind, data, message", [
    ("street", {"street-name": "吴淞街道", "street-kind": "street"}, "该街镇已存在"),
    ("compound", {"compound-name": "吴淞新城", "compound-kind": "neighbourhood"}, "该街镇下已有同名居民区"),
    ("department", {"department-name": "吴淞街道城管中队", "department-kind": "urban_management"}, "同一层级下已有同名部门"),
    ("department", {"department-parent": "district", "department-name": "区城管执法局", "department-kind": "urban_management"},
     "同一层级下已有同名部门"),
    ("street", {"street-name": "", "street-kind": "street"}, "请填写名称"),
])
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
    response = admin_client.post(url(world, "/compound"), data={
        "compound-street_id": world.street_b.id, "compound-name": "吴淞新城", "compound-kind": "neighbourhood",
    })
    assert response.status_code == 302
    assert count(Compound, Compound.name == "吴淞新城") == 2


def test_compound_in_another_districts_street_is_refused(world, admin_client):
    other = District(name="嘉定区", code="JD")
    street = Street(district=other, name="安亭镇")
    db.session.add_all([other, street])
    db.session.commit()

    response = admin_client.post(url(world, "/compound"), data={
        "compound-street_id": street.id, "compound-name": "安亭新镇", "compound-kind": "neighbourhood",
    })

    assert response.status_code == 400
    assert count(Compound, Compound.name == "安亭新镇") == 0


def staff_form(world, **changes):
    form = {"phone": "13600000001", "real_name": "黄蕾", "password": "Start2024", "role": "secretary",
            "scope": f"compound:{world.compound_a.id}"}
    form.update(changes)
    return form


def test_assign_a_role_to_a_new_staff_user(world, client, admin_client):
    response = admin_client.post(url(world, "/staff"), data=staff_form(world), follow_redirects=True)

    assert "已为 黄蕾 设置角色：居民区书记" in response.get_data(as_text=True)
    user = db.session.scalar(sa.select(User).where(User.phone == "13600000001"))
    [assignment] = user.assignments
    assert (assignment.role, assignment.compound_id) == (StaffRole.SECRETARY, world.compound_a.id)

    client.post("/logout")
    assert client.post("/login", data={"phone": "13600000001", "password": "Start2024"}).status_code == 302
    assert client.get(f"/c/{world.compound_a.id}/verification").status_code == 200


def test_police_officer_in_two_compounds(world, admin_client):
    admin_client.post(url(world, "/staff"), data=staff_form(world, role="police", real_name="刘强"))
    response = admin_client.post(url(world, "/staff"), data=staff_form(
        world, role="police", real_name="", password="", scope=f"compound:{world.compound_b.id}"))

    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.phone == "13600000001"))
    assert {(a.role, a.compound_id) for a in user.assignments} == {
        (StaffRole.POLICE, world.compound_a.id), (StaffRole.POLICE, world.compound_b.id)}


def test_an_existing_resident_can_be_given_a_role(world, admin_client, resident):
    response = admin_client.post(url(world, "/staff"), data=staff_form(
        world, phone=resident.phone, real_name="", password="", role="committee"))

    assert response.status_code == 302
    assert [a.role for a in resident.assignments] == [StaffRole.COMMITTEE]
    assert resident.real_name == "周丽"


@pytest.mark.parametrize("changes, message", [
    ({"role": "secretary", "scope": "street:{street}"}, "“居民区书记”的范围应选择居民区"),
    ({"role": "grid_street", "scope": "compound:{compound}"}, "“街镇网格化中心”的范围应选择街镇"),
    ({"role": "district_admin", "scope": "street:{street}"}, "“区管理员”的范围应选择全区"),
    ({"real_name": ""}, "新账号请填写姓名"),
    ({"password": ""}, "新账号请设置初始密码"),
    ({"password": "abcdefgh"}, "这个密码太常见，容易被猜到，请换一个"),
    ({"phone": "12345"}, "请输入11位中国大陆手机号码"),
])
def test_wrong_staff_form_is_refused_with_a_message(world, admin_client, changes, message):
    changes = {key: value.format(street=world.street_a.id, compound=world.compound_a.id)
               for key, value in changes.items()}

    response = admin_client.post(url(world, "/staff"), data=staff_form(world, **changes))

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(User, User.phone == "13600000001") == 0
    assert count(StaffAssignment, StaffAssignment.role != StaffRole.DISTRICT_ADMIN) == 0


def test_the_same_role_twice_is_refused(world, admin_client, secretary):
    response = admin_client.post(url(world, "/staff"), data=staff_form(
        world, phone=secretary.phone, real_name="", password=""))

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
    assert client.post(url(world, "/street"), data={"street-name": "新街道", "street-kind": "street"}).status_code == 403
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
    assert client.post(url(world, "/street"), data={"street-name": "新街道", "street-kind": "street"}).status_code == 404
    assert client.post(url(world, f"/staff/{secretary.assignments[0].id}/revoke")).status_code == 404
    assert client.post(f"/admin/d/{jiading.id}/staff/{secretary.assignments[0].id}/revoke").status_code == 404
    assert len(secretary.assignments) == 1
    assert client.get(f"/c/{world.compound_a.id}").status_code == 404


def test_unknown_district_is_404(admin_client):
    assert admin_client.get("/admin/d/999999").status_code == 404
