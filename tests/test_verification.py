"""Real-name verification: the queue, approve, reject with a reason, resubmit."""

import html
import re

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, count_queries, valid_id_number

from community_board.accounts import services
from community_board.accounts.models import ResidentStatus, Salutation
from community_board.audit import AuditEntry
from community_board.errors import ValidationError
from community_board.extensions import db
from community_board.permissions import Decision, PermissionDenied


def signed_in(app, user):
    """A client of its own, so two people can act in one test."""
    client = app.test_client()
    assert client.post("/login", data={"phone": user.phone, "password": PASSWORD}).status_code == 302
    return client


def queue_url(compound):
    return f"/c/{compound.id}/verification"


def approve_url(resident):
    return f"/c/{resident.compound_id}/verification/{resident.id}/approve"


def reject_url(resident):
    return f"/c/{resident.compound_id}/verification/{resident.id}/reject"


def pending(world, name="林晓", building="7", unit="1", room="301", compound=None, **fields):
    return world.resident(
        compound or world.compound_a,
        name=name,
        building=building,
        unit=unit,
        room=room,
        status=ResidentStatus.PENDING,
        **fields,
    )


@pytest.mark.parametrize("staff", ["secretary", "committee"])
def test_compound_staff_see_the_queue_with_full_details(request, world, login_as, staff):
    applicant = pending(
        world,
        name="钱学明",
        salutation=Salutation.MR,
        building="8",
        unit="3",
        room="1102",
        id_number=valid_id_number(234),
    )
    client = login_as(request.getfixturevalue(staff))

    response = client.get(queue_url(world.compound_a))
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "钱学明先生" in page
    assert "8号楼3单元1102室" in page
    assert f"****{applicant.id_number_last4}" in page
    assert f"{applicant.phone[:3]}****{applicant.phone[-4:]}" in page
    assert applicant.phone not in page
    assert "相同的身份证号" not in page


def test_verified_residents_are_not_in_the_queue(world, login_as, secretary, resident):
    page = login_as(secretary).get(queue_url(world.compound_a)).get_data(as_text=True)
    assert "周丽" not in page
    assert "没有待审核的居民" in page


def test_approve_verifies_and_assigns_a_household(world, login_as, secretary, pending_resident):
    client = login_as(secretary)

    response = client.post(approve_url(pending_resident), follow_redirects=True)

    assert "已通过该居民的认证" in response.get_data(as_text=True)
    assert pending_resident.resident_status is ResidentStatus.VERIFIED
    assert pending_resident.verified_at is not None
    household = pending_resident.household
    assert (household.compound_id, household.building, household.unit, household.room) == (
        world.compound_a.id,
        "8",
        "3",
        "1102",
    )
    assert "钱学明" not in client.get(queue_url(world.compound_a)).get_data(as_text=True)


def test_residents_at_one_address_share_a_household(world, login_as, secretary):
    wife = pending(world, name="林晓", building="7", unit="1", room="301")
    husband = pending(world, name="陈刚", salutation=Salutation.MR, building="7", unit="1", room="301")
    neighbour = pending(world, name="王芳", building="7", unit="1", room="302")
    client = login_as(secretary)

    for applicant in (wife, husband, neighbour):
        assert client.post(approve_url(applicant)).status_code == 302

    assert wife.household_id is not None
    assert husband.household_id == wife.household_id
    assert neighbour.household_id not in (None, wife.household_id)


def test_rejected_resident_sees_the_reason_and_can_resubmit(app, world, secretary, pending_resident):
    staff = signed_in(app, secretary)
    reason = "查无此室号，请核对楼号"
    response = staff.post(reject_url(pending_resident), data={"reason": reason}, follow_redirects=True)
    assert "已退回该居民的申请" in response.get_data(as_text=True)
    assert pending_resident.resident_status is ResidentStatus.REJECTED

    applicant = signed_in(app, pending_resident)
    me = applicant.get("/me").get_data(as_text=True)
    assert "审核未通过" in me
    assert reason in me
    assert "钱学明" not in staff.get(queue_url(world.compound_a)).get_data(as_text=True)

    response = applicant.post(
        "/me/details",
        data={
            "real_name": "钱学明",
            "salutation": "mr",
            "building": "8",
            "unit": "3",
            "room": "1202",
            "id_number": "",
        },
    )
    assert response.status_code == 302
    assert pending_resident.resident_status is ResidentStatus.PENDING
    assert pending_resident.address == "8号楼3单元1202室"
    assert "等待审核" in applicant.get("/me").get_data(as_text=True)
    queue = staff.get(queue_url(world.compound_a)).get_data(as_text=True)
    assert "钱学明" in queue
    assert "8号楼3单元1202室" in queue


def test_resubmission_is_validated(app, world, secretary, pending_resident):
    services.reject_resident(secretary, pending_resident, "请填写真实姓名")
    db.session.commit()
    client = signed_in(app, pending_resident)

    page = client.post(
        "/me/details",
        data={
            "real_name": "",
            "salutation": "mr",
            "building": "8",
            "unit": "3",
            "room": "1102",
        },
    ).get_data(as_text=True)

    assert "请填写真实姓名" in page
    assert pending_resident.resident_status is ResidentStatus.REJECTED


@pytest.mark.parametrize("reason", ["", "   "])
def test_rejecting_without_a_reason_is_refused(world, login_as, secretary, pending_resident, reason):
    client = login_as(secretary)

    response = client.post(reject_url(pending_resident), data={"reason": reason}, follow_redirects=True)

    assert "请填写未通过原因" in response.get_data(as_text=True)
    assert pending_resident.resident_status is ResidentStatus.PENDING


def test_reject_service_requires_a_reason(secretary, pending_resident):
    with pytest.raises(ValidationError) as error:
        services.reject_resident(secretary, pending_resident, "  ")
    assert error.value.field == "reason"
    assert pending_resident.resident_status is ResidentStatus.PENDING


def test_approving_twice_says_it_was_already_handled(world, login_as, secretary, pending_resident):
    client = login_as(secretary)
    client.post(approve_url(pending_resident))

    response = client.post(approve_url(pending_resident), follow_redirects=True)

    assert response.status_code == 200
    assert "该居民已处理过，请刷新列表" in response.get_data(as_text=True)
    assert pending_resident.resident_status is ResidentStatus.VERIFIED
    approvals = db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "resident.approved"))
    assert approvals == 1


def test_staff_of_another_compound_get_404(world, login_as, other_secretary, pending_resident):
    client = login_as(other_secretary)

    assert client.get(queue_url(world.compound_a)).status_code == 404
    assert client.post(approve_url(pending_resident)).status_code == 404
    assert client.post(reject_url(pending_resident), data={"reason": "不认识"}).status_code == 404
    assert pending_resident.resident_status is ResidentStatus.PENDING


def test_approve_through_own_compound_url_cannot_reach_another_compounds_resident(
    world, login_as, other_secretary, pending_resident
):
    client = login_as(other_secretary)
    url = f"/c/{world.compound_b.id}/verification/{pending_resident.id}/approve"

    assert client.post(url).status_code == 404
    assert pending_resident.resident_status is ResidentStatus.PENDING


@pytest.mark.parametrize(
    "verb", [services.approve_resident, lambda actor, resident: services.reject_resident(actor, resident, "不认识")]
)
def test_services_refuse_staff_of_another_compound(other_secretary, pending_resident, verb):
    with pytest.raises(PermissionDenied) as error:
        verb(other_secretary, pending_resident)
    assert error.value.decision is Decision.NOT_FOUND
    assert pending_resident.resident_status is ResidentStatus.PENDING


def test_services_refuse_staff_without_the_right(officer, pending_resident):
    with pytest.raises(PermissionDenied) as error:
        services.approve_resident(officer, pending_resident)
    assert error.value.decision is Decision.FORBIDDEN


def test_resident_opening_their_compounds_queue_gets_403(world, login_as, resident, pending_resident):
    client = login_as(resident)
    assert client.get(queue_url(world.compound_a)).status_code == 403
    assert client.post(approve_url(pending_resident)).status_code == 403
    assert pending_resident.resident_status is ResidentStatus.PENDING


@pytest.mark.parametrize(
    "decision, data, action",
    [
        ("approve", {}, "resident.approved"),
        ("reject", {"reason": "查无此人"}, "resident.rejected"),
    ],
)
def test_every_decision_is_audited(world, login_as, committee, pending_resident, decision, data, action):
    client = login_as(committee)
    client.post(f"/c/{world.compound_a.id}/verification/{pending_resident.id}/{decision}", data=data)

    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == action))
    assert entry is not None
    assert (entry.actor_id, entry.target_type, entry.target_id) == (committee.id, "users", pending_resident.id)
    assert entry.compound_id == world.compound_a.id


def test_duplicate_id_number_in_the_district_is_flagged(world, login_as, secretary):
    id_number = valid_id_number(88)
    pending(world, name="林晓", id_number=id_number)
    world.resident(world.compound_b, name="林晓", building="3", id_number=id_number)
    pending(world, name="王芳", room="302", id_number=valid_id_number(89))

    page = login_as(secretary).get(queue_url(world.compound_a)).get_data(as_text=True)

    assert page.count("相同的身份证号") == 1
    林晓_card = page[page.index("林晓") : page.index("王芳")]
    assert "相同的身份证号" in 林晓_card


def test_the_queue_pages_oldest_first(app, world, login_as, secretary, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    for n, name in enumerate(["赵一", "钱二", "孙三"]):
        pending(world, name=name, room=f"30{n}")
    client = login_as(secretary)

    first = client.get(queue_url(world.compound_a)).get_data(as_text=True)
    assert "赵一" in first and "钱二" in first and "孙三" not in first
    next_url = re.search(r'href="([^"]*after=[^"]*)"', first).group(1)

    second = client.get(html.unescape(next_url)).get_data(as_text=True)
    assert "孙三" in second and "赵一" not in second
    assert "没有更多了" in second


def test_a_tampered_cursor_starts_from_the_first_page(world, login_as, secretary, pending_resident):
    response = login_as(secretary).get(queue_url(world.compound_a), query_string={"after": "garbage_x"})
    assert response.status_code == 200
    assert "钱学明" in response.get_data(as_text=True)


def test_the_queue_costs_the_same_queries_however_long(world, login_as, secretary):
    client = login_as(secretary)

    def queries_for_queue():
        db.session.expire_all()
        with count_queries() as queries:
            assert client.get(queue_url(world.compound_a)).status_code == 200
        return queries()

    pending(world, name="赵一", id_number=valid_id_number(1))
    short = queries_for_queue()
    for n in range(2, 8):
        pending(world, name="钱二", room=f"4{n:02d}", id_number=valid_id_number(n))
    assert queries_for_queue() == short
