"""Who may do what where: permissions.authorize, and the 404/403 rules over HTTP."""

import pytest
from flask_login import AnonymousUserMixin

from community_board.compounds.models import StaffRole
from community_board.permissions import (
    Action,
    Decision,
    authorize,
    can,
    covers,
    related,
)

A, F, N = Decision.ALLOW, Decision.FORBIDDEN, Decision.NOT_FOUND

# The foundation's actions; features that add their own (the board…) test those themselves.
ACTIONS = [
    Action.VIEW_BOARD,
    Action.POST,
    Action.SEE_FULL_NAMES,
    Action.VERIFY_RESIDENTS,
    Action.MANAGE_JOIN_CODE,
    Action.CONFIRM_PARTY_BADGE,
    Action.VIEW_AUDIT_LOG,
    Action.MANAGE_HIERARCHY,
]

# Expected decisions on compound A (吴淞新城, in 吴淞街道), one column per action above:
#                           board post names verify join party audit hierarchy
ON_COMPOUND_A = {
    "secretary": [A, A, A, A, A, A, A, F],
    "committee": [A, A, A, A, A, F, A, F],
    "officer": [A, A, A, F, F, F, F, F],
    "grid_worker": [A, F, A, F, F, F, F, F],
    "admin": [A, F, A, F, F, F, A, A],
    "dept_staff": [F, F, F, F, F, F, F, F],
    "resident": [A, A, F, F, F, F, F, F],
    "pending_resident": [F, F, F, F, F, F, F, F],
    "other_compound_resident": [N, N, N, N, N, N, N, N],
}

# Compound B lies in another street (罗店镇): only the district-wide admin can see it at all.
OUTSIDE_COMPOUND_B = ["secretary", "committee", "officer", "grid_worker", "dept_staff", "resident", "pending_resident"]


@pytest.mark.parametrize("role, expected", ON_COMPOUND_A.items())
def test_authorize_on_own_compound(request, world, role, expected):
    user = request.getfixturevalue(role)
    decisions = [authorize(user, action, world.compound_a) for action in ACTIONS]
    assert dict(zip(ACTIONS, decisions, strict=False)) == dict(zip(ACTIONS, expected, strict=False))


@pytest.mark.parametrize("role", OUTSIDE_COMPOUND_B)
@pytest.mark.parametrize("action", ACTIONS)
def test_authorize_outside_scope_is_not_found(request, world, role, action):
    assert authorize(request.getfixturevalue(role), action, world.compound_b) is N


def test_other_compound_resident_is_at_home_in_their_own_compound(world, other_compound_resident):
    assert can(other_compound_resident, Action.POST, world.compound_b)
    assert authorize(other_compound_resident, Action.VERIFY_RESIDENTS, world.compound_b) is F


def test_district_admin_reaches_every_compound(world, admin):
    assert authorize(admin, Action.MANAGE_HIERARCHY, world.district) is A
    assert authorize(admin, Action.VIEW_BOARD, world.compound_b) is A
    assert authorize(admin, Action.VERIFY_RESIDENTS, world.compound_b) is F


def test_staff_may_not_manage_the_district(world, secretary, grid_worker):
    assert authorize(secretary, Action.MANAGE_HIERARCHY, world.district) is F
    assert authorize(grid_worker, Action.MANAGE_HIERARCHY, world.district) is F


def test_police_in_two_compounds(world, officer):
    world.assign(officer, StaffRole.POLICE, world.compound_b)
    assert can(officer, Action.POST, world.compound_a)
    assert can(officer, Action.POST, world.compound_b)


def test_a_staff_member_who_also_lives_in_a_compound(world):
    # A committee member of A who lives in B: staff rights in A, resident rights in B only.
    user = world.resident(world.compound_b, name="何美玲")
    world.assign(user, StaffRole.COMMITTEE, world.compound_a)
    assert can(user, Action.VERIFY_RESIDENTS, world.compound_a)
    assert can(user, Action.POST, world.compound_b)
    assert authorize(user, Action.VERIFY_RESIDENTS, world.compound_b) is F


def test_anonymous_sees_nothing(world):
    assert authorize(AnonymousUserMixin(), Action.VIEW_BOARD, world.compound_a) is N
    assert authorize(None, Action.VIEW_BOARD, world.compound_a) is N


@pytest.mark.parametrize(
    "outer, inner, expected",
    [
        ((1, None, None), (1, None, None), True),  # a node covers itself
        ((1, None, None), (1, 2, 3), True),  # district covers its compounds
        ((1, 2, None), (1, 2, 3), True),  # street covers its compounds
        ((1, 2, 3), (1, 2, 3), True),
        ((1, 2, None), (1, 4, 5), False),  # another street's compound
        ((1, 2, 3), (1, 2, 4), False),  # a sibling compound
        ((1, 2, 3), (1, 2, None), False),  # a compound does not cover its street
        ((1, 2, 3), (1, None, None), False),
        ((1, None, None), (9, 2, 3), False),  # another district
    ],
)
def test_covers(outer, inner, expected):
    assert covers(outer, inner) is expected


def test_related_works_both_ways():
    assert related((1, 2, 3), (1, 2, None)) and related((1, 2, None), (1, 2, 3))
    assert not related((1, 2, 3), (1, 2, 4))


# HTTP ----------------------------------------------------------------------------------------

COMPOUND_PAGES = [
    "",
    "/residents",
    "/verification",
    "/party-members",
    "/join",
    "/join/qr.svg",
    "/join/qr.png",
    "/join/poster",
]
STAFF_PAGES = ["/verification", "/party-members", "/join", "/join/qr.svg", "/join/qr.png", "/join/poster"]
STAFF_POSTS = [
    "/join/rotate",
    "/verification/{resident}/approve",
    "/verification/{resident}/reject",
    "/party-members/{resident}/confirm",
    "/party-members/{resident}/decline",
]


@pytest.mark.parametrize("role", ["other_compound_resident", "other_secretary"])
@pytest.mark.parametrize("page", COMPOUND_PAGES)
def test_another_compounds_pages_are_404(request, world, login_as, role, page):
    client = login_as(request.getfixturevalue(role))
    assert client.get(f"/c/{world.compound_a.id}{page}").status_code == 404


@pytest.mark.parametrize("role", ["other_compound_resident", "other_secretary"])
@pytest.mark.parametrize("action", STAFF_POSTS)
def test_another_compounds_actions_are_404(request, world, login_as, pending_resident, role, action):
    client = login_as(request.getfixturevalue(role))
    url = f"/c/{world.compound_a.id}" + action.format(resident=pending_resident.id)
    assert client.post(url, data={"reason": "测试"}).status_code == 404


def test_a_compound_that_does_not_exist_is_404(world, login_as, admin):
    assert login_as(admin).get("/c/999999").status_code == 404


@pytest.mark.parametrize("role", ["resident", "officer", "grid_worker", "dept_staff"])
@pytest.mark.parametrize("page", STAFF_PAGES)
def test_staff_pages_of_own_compound_are_403_without_the_right(request, world, login_as, role, page):
    client = login_as(request.getfixturevalue(role))
    response = client.get(f"/c/{world.compound_a.id}{page}")
    assert response.status_code == 403
    assert "没有权限" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["resident", "officer"])
@pytest.mark.parametrize("action", STAFF_POSTS)
def test_staff_actions_of_own_compound_are_403_without_the_right(
    request, world, login_as, pending_resident, role, action
):
    client = login_as(request.getfixturevalue(role))
    url = f"/c/{world.compound_a.id}" + action.format(resident=pending_resident.id)
    assert client.post(url, data={"reason": "测试"}).status_code == 403


@pytest.mark.parametrize(
    "role, page, status",
    [
        ("secretary", "/verification", 200),
        ("secretary", "/party-members", 200),
        ("committee", "/join", 200),
        ("committee", "/party-members", 403),
        ("resident", "", 200),
        ("resident", "/residents", 200),
        ("pending_resident", "", 403),
        ("officer", "/residents", 200),
        ("grid_worker", "", 200),
        ("admin", "/residents", 200),
        ("admin", "/verification", 403),
    ],
)
def test_pages_of_own_compound(request, world, login_as, role, page, status):
    client = login_as(request.getfixturevalue(role))
    assert client.get(f"/c/{world.compound_a.id}{page}").status_code == status


@pytest.mark.parametrize("role", ["resident", "pending_resident", "other_compound_resident"])
def test_workbench_is_403_for_residents(request, login_as, role):
    assert login_as(request.getfixturevalue(role)).get("/staff").status_code == 403


@pytest.mark.parametrize("role", ["secretary", "officer", "grid_worker", "dept_staff", "admin"])
def test_workbench_opens_for_staff(request, login_as, role):
    assert login_as(request.getfixturevalue(role)).get("/staff").status_code == 200


@pytest.mark.parametrize("role", ["resident", "secretary", "committee", "officer", "grid_worker", "dept_staff"])
def test_admin_is_403_for_non_admins(request, world, login_as, role):
    client = login_as(request.getfixturevalue(role))
    assert client.get("/admin").status_code == 403
    assert client.get(f"/admin/d/{world.district.id}").status_code == 403
    assert client.get(f"/admin/d/{world.district.id}/staff").status_code == 403


def test_admin_goes_to_their_district(world, login_as, admin):
    response = login_as(admin).get("/admin")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/d/{world.district.id}"


@pytest.mark.parametrize("page", ["/me", "/staff", "/admin", "/messages"])
def test_pages_need_a_login(client, world, page):
    response = client.get(page)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_home_sends_each_person_to_their_place(world, client, auth, resident, secretary, pending_resident):
    auth.login(resident)
    assert client.get("/").headers["Location"] == f"/c/{world.compound_a.id}"
    auth.logout()
    auth.login(secretary)
    assert client.get("/").headers["Location"] == "/staff"
    auth.logout()
    auth.login(pending_resident)
    assert client.get("/").headers["Location"] == "/me"
