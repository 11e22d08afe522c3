"""What neighbours see of each other, party badges, and the keyed hash of ID numbers."""

import re

import pytest
from conftest import Auth, valid_id_number

from community_board.accounts.models import PartyBadge, Salutation
from community_board.extensions import db
from community_board.privacy import (
    id_number_hmac,
    masked_id_number,
    masked_name,
    masked_phone,
)


def text_of(response) -> str:
    """The page as a reader sees it: tags removed, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.get_data(as_text=True)))


def signed_in(app, user):
    client = app.test_client()
    assert Auth(client).login(user).status_code == 302
    return client


@pytest.mark.parametrize(
    "real_name, salutation, expected",
    [
        ("周丽", "女士", "周女士"),
        ("吴刚", "先生", "吴先生"),
        ("欧阳娜娜", "女士", "欧阳女士"),
        ("司马光明", "先生", "司马先生"),
        ("欧阳", "女士", "欧女士"),  # a two-character name is surname 欧 + given name 阳
        ("周丽", None, "周*"),
        (" 周丽", "女士", "周女士"),
    ],
)
def test_masked_name(real_name, salutation, expected):
    assert masked_name(real_name, salutation) == expected


@pytest.mark.parametrize("phone, expected", [("13812341234", "138****1234"), ("12345", "****"), ("", "****")])
def test_masked_phone(phone, expected):
    assert masked_phone(phone) == expected


@pytest.mark.parametrize(
    "last4, expected", [("1234", "****1234"), ("123X", "****123X"), (None, "未填写"), ("", "未填写")]
)
def test_masked_id_number(last4, expected):
    assert masked_id_number(last4) == expected


def test_id_hmac_depends_on_the_key():
    id_number = valid_id_number(12)
    assert id_number_hmac("key-one", id_number) == id_number_hmac("key-one", id_number)
    assert id_number_hmac("key-one", id_number) != id_number_hmac("key-two", id_number)
    assert id_number_hmac("key-one", id_number) != id_number_hmac("key-one", valid_id_number(13))
    assert id_number not in id_number_hmac("key-one", id_number)
    assert len(id_number_hmac("key-one", id_number)) == 64


def test_id_hmac_ignores_the_case_of_x():
    assert id_number_hmac("k", "11010519491231002x") == id_number_hmac("k", "11010519491231002X")


@pytest.fixture
def neighbour(world):
    return world.resident(world.compound_a, name="吴刚", salutation=Salutation.MR, building="12", room="301")


def test_neighbours_see_masked_names(world, login_as, resident, neighbour):
    page = text_of(login_as(neighbour).get(f"/c/{world.compound_a.id}/residents"))

    assert "周女士 · 5号楼" in page
    assert "吴先生 · 12号楼" in page
    assert "周丽" not in page
    assert resident.phone not in page
    assert "502" not in page  # the room stays private


def test_staff_see_full_names(world, login_as, secretary, resident, neighbour):
    page = text_of(login_as(secretary).get(f"/c/{world.compound_a.id}/residents"))

    assert "周丽 · 5号楼" in page
    assert "吴刚 · 12号楼" in page
    assert "周女士" not in page


def test_pending_residents_are_not_listed(world, login_as, resident, pending_resident):
    page = text_of(login_as(resident).get(f"/c/{world.compound_a.id}/residents"))
    assert "钱先生" not in page


def test_party_badge_request_and_confirmation(app, world, secretary, resident, neighbour):
    member = signed_in(app, resident)
    staff = signed_in(app, secretary)

    response = member.post("/me/party-badge", follow_redirects=True)
    assert "申请已提交" in text_of(response)
    assert resident.party_badge is PartyBadge.REQUESTED
    assert "党员" not in text_of(signed_in(app, neighbour).get(f"/c/{world.compound_a.id}/residents"))

    queue = text_of(staff.get(f"/c/{world.compound_a.id}/party-members"))
    assert "周丽" in queue
    assert "5号楼2单元502室" in queue

    response = staff.post(f"/c/{world.compound_a.id}/party-members/{resident.id}/confirm", follow_redirects=True)
    assert "已确认党员身份" in text_of(response)
    assert resident.party_badge is PartyBadge.CONFIRMED

    page = text_of(signed_in(app, neighbour).get(f"/c/{world.compound_a.id}/residents"))
    assert "周女士 · 5号楼党员" in page
    assert "吴先生 · 12号楼党员" not in page
    assert "党员" in text_of(member.get("/me"))


def test_secretary_can_decline_a_badge(world, login_as, secretary, resident):
    resident.party_badge = PartyBadge.REQUESTED
    db.session.commit()
    login_as(secretary).post(f"/c/{world.compound_a.id}/party-members/{resident.id}/decline")
    assert resident.party_badge is PartyBadge.NONE


def test_committee_staff_cannot_confirm_a_badge(world, login_as, committee, resident):
    resident.party_badge = PartyBadge.REQUESTED
    db.session.commit()
    client = login_as(committee)

    assert client.get(f"/c/{world.compound_a.id}/party-members").status_code == 403
    assert client.post(f"/c/{world.compound_a.id}/party-members/{resident.id}/confirm").status_code == 403
    assert resident.party_badge is PartyBadge.REQUESTED


def test_pending_resident_cannot_request_a_badge(login_as, pending_resident):
    response = login_as(pending_resident).post("/me/party-badge", follow_redirects=True)
    assert "通过实名认证后才能申请党员亮身份" in text_of(response)
    assert pending_resident.party_badge is PartyBadge.NONE
