"""What each person sees of a case: residents get the public steps with role labels; staff get
internal notes and names; other streets get nothing (404); departments see their own cases."""

import pytest
from cases_helpers import department_of, event_count, events, messages, new_case, reload, signed_in, text_of, walk

from community_board.cases import queries, services, views
from community_board.cases.models import CaseStatus, EventKind
from community_board.compounds.models import DepartmentKind, StaffRole
from community_board.extensions import db

S = CaseStatus
INTERNAL = "该居民多次投诉，沟通时注意方式"
INTERNAL_ONLY = "城管中队长手机13812345678"
PUBLIC = "已约城管中队明早到现场"


@pytest.fixture
def handled_case(world, resident, secretary, dept_staff):
    """A case filed and dispatched by the secretary (李秀英), accepted by the department's 周勇,
    with a note that is part public, part internal, and one that is internal only."""
    department = department_of(dept_staff)
    case = new_case(secretary, resident, departments=[department])
    walk(case, S.IN_PROGRESS, filer=secretary, worker=dept_staff, department=department, reporter=resident)
    services.add_note(secretary, case, PUBLIC, INTERNAL)
    services.add_note(dept_staff, case, "", INTERNAL_ONLY)
    db.session.commit()
    return case


def test_residents_never_see_internal_notes(world, resident, handled_case):
    neighbour = world.resident(world.compound_a, name="吴刚", building="6", room="601")
    for viewer in (resident, neighbour):
        page = text_of(signed_in(viewer).get(f"/p/{handled_case.post_id}"))
        assert PUBLIC in page
        assert INTERNAL not in page and INTERNAL_ONLY not in page and "内部" not in page

    public = queries.timeline(handled_case, internal=False)
    assert all(event.public_note for event in public)
    assert EventKind.NOTE not in [event.kind for event in public]
    assert len(public) == len(events(handled_case)) - 1  # only the internal-only note is left out
    assert not any(INTERNAL in text or INTERNAL_ONLY in text for text in messages(resident))


def test_residents_see_roles_and_departments_never_staff_names(world, resident, secretary, dept_staff, handled_case):
    page = text_of(signed_in(resident).get(f"/p/{handled_case.post_id}"))
    assert "居民区书记" in page
    assert department_of(dept_staff).name in page
    assert secretary.real_name not in page and dept_staff.real_name not in page
    assert not any(secretary.real_name in t or dept_staff.real_name in t for t in messages(resident))

    labels = {event.kind: event.actor_label for event in events(handled_case)}
    assert labels[EventKind.FILED] == "居民区书记"
    assert labels[EventKind.ACCEPTED] == department_of(dept_staff).name


@pytest.mark.parametrize(
    ("role", "label"), [(StaffRole.COMMITTEE, "居委会工作人员"), (StaffRole.GRID_STREET, "街镇网格化中心")]
)
def test_other_staff_are_labelled_by_their_role(world, resident, role, label):
    node = world.compound_a if role is StaffRole.COMMITTEE else world.street_a
    staff = world.staff(role, node, name="陈敏")
    case = new_case(staff, resident)
    page = text_of(signed_in(resident).get(f"/p/{case.post_id}"))
    assert label in page and "陈敏" not in page


def test_staff_on_the_case_page_see_internal_notes_and_names(world, secretary, dept_staff, grid_worker, handled_case):
    for viewer in (secretary, dept_staff, grid_worker):
        page = text_of(signed_in(viewer).get(f"/cases/{handled_case.id}"))
        assert INTERNAL in page and INTERNAL_ONLY in page and PUBLIC in page
        assert secretary.real_name in page and dept_staff.real_name in page


# Other streets --------------------------------------------------------------------------------


def outsiders(world):
    """Staff whose scope does not reach street A: street B's grid centre, compound B's secretary,
    a department of street B."""
    department = world.department("罗店镇城管中队", DepartmentKind.URBAN_MANAGEMENT, world.street_b)
    return {
        "street B grid": world.staff(StaffRole.GRID_STREET, world.street_b, name="钱进"),
        "compound B secretary": world.staff(StaffRole.SECRETARY, world.compound_b, name="张伟"),
        "street B department": world.staff(StaffRole.DEPARTMENT, department, name="孙涛"),
    }


@pytest.mark.parametrize("who", ["street B grid", "compound B secretary", "street B department"])
def test_staff_of_another_street_can_neither_see_nor_touch_a_case(world, dept_staff, handled_case, who):
    outsider = outsiders(world)[who]
    before = (handled_case.status, handled_case.level, handled_case.version, event_count(handled_case))
    client = signed_in(outsider)
    data = {
        "version": str(handled_case.version),
        "public_note": "越权操作",
        "internal_note": "越权",
        "departments": [department_of(dept_staff).id],
    }

    assert client.get(f"/cases/{handled_case.id}").status_code == 404
    for verb in views.STEPS:
        assert client.post(f"/cases/{handled_case.id}/{verb}", data=data).status_code == 404, verb
    assert client.post(f"/cases/{handled_case.id}/rate", data={"satisfaction": "satisfied"}).status_code == 404
    assert client.get(f"/p/{handled_case.post_id}").status_code == 404
    assert handled_case.number not in text_of(client.get("/cases?view=all"))

    case = reload(handled_case)
    assert (case.status, case.level, case.version, event_count(case)) == before
    assert "越权" not in " ".join(e.public_note + e.internal_note for e in events(case))


def test_departments_see_only_the_cases_dispatched_to_them(world, resident, secretary, dept_staff, grid_worker):
    own = department_of(dept_staff)
    other = world.department("吴淞街道物业公司", DepartmentKind.PROPERTY, world.street_a)
    ours = new_case(secretary, resident, title="广场变菜园", departments=[own])
    theirs = new_case(secretary, resident, title="电梯坏了", departments=[other])
    undispatched = new_case(secretary, resident, title="楼道堆物")
    client = signed_in(dept_staff)

    for view in ("open", "all", "overdue"):
        page = text_of(client.get(f"/cases?view={view}"))
        assert "电梯坏了" not in page and "楼道堆物" not in page, view
    assert "广场变菜园" in text_of(client.get("/cases")) and "广场变菜园" in text_of(client.get("/cases?view=all"))
    assert client.get(f"/cases/{ours.id}").status_code == 200
    assert client.get(f"/cases/{theirs.id}").status_code == 404
    assert client.get(f"/cases/{undispatched.id}").status_code == 404

    for overseer in (secretary, grid_worker):
        page = text_of(signed_in(overseer).get("/cases"))
        assert "广场变菜园" in page and "电梯坏了" in page and "楼道堆物" in page


def test_residents_have_no_inbox(world, resident, secretary):
    new_case(secretary, resident)
    assert signed_in(resident).get("/cases").status_code == 403
