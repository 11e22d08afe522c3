"""An account's life: a forgotten password reset with the 居委会's code, moving house and other
changes through the verification queue, a new phone, 禁言, and 注销 that keeps what was written."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from board_helpers import make_post, make_reply, neighbour, signed_in, text_of
from civic_helpers import open_proposal, option_id
from conftest import PASSWORD, Auth

from community_board.accounts import lifecycle
from community_board.accounts import models as account_models
from community_board.accounts.lifecycle_models import DetailsChange, ResetCode
from community_board.accounts.models import DELETED_NAME, PartyBadge, User
from community_board.audit import AuditEntry
from community_board.board.models import MeToo, Post
from community_board.compounds.models import Compound, StaffRole
from community_board.compounds.services import active_join_code
from community_board.deliberation.models import Ballot, Electorate, Proposal
from community_board.extensions import db
from community_board.notifications.models import Notification
from community_board.permissions import Action, Decision, authorize
from community_board.timeutil import utcnow

NEW_PASSWORD = "NewPassw0rd2"


@pytest.fixture
def clock(monkeypatch):
    """clock.advance(hours=…) moves 'now' forward for expiry and suspension checks."""

    class Clock:
        offset = timedelta(0)

        def now(self):
            return utcnow() + self.offset

        def advance(self, **delta):
            self.offset += timedelta(**delta)

    frozen = Clock()
    for module in (lifecycle, account_models):
        monkeypatch.setattr(module, "utcnow", frozen.now)
    return frozen


def fresh(user: User) -> User:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(User, user.id)


def audit_rows(action: str) -> list[AuditEntry]:
    db.session.commit()
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def messages_of(user: User) -> list[str]:
    db.session.commit()
    return list(db.session.scalars(sa.select(Notification.text).where(Notification.user_id == user.id)))


def can_sign_in(phone: str, password: str) -> bool:
    return Auth(signed_out()).login(phone, password).status_code == 302


def signed_out():
    from flask import current_app

    return current_app.test_client()


# Forgotten password ---------------------------------------------------------------------------


def issue_code(staff_client, resident, compound=None):
    compound_id = (compound or resident.compound).id
    return staff_client.post(f"/c/{compound_id}/residents/{resident.id}/reset-code")


def code_on(response) -> str:
    return re.search(r"reset-slip__code[^>]*>([A-Z0-9-]+)<", text_of(response)).group(1)


def redeem(phone, code, password=NEW_PASSWORD, client=None):
    client = client or signed_out()
    return client.post("/reset-password", data={"phone": phone, "code": code, "new_password": password})


def test_staff_hand_out_a_code_once_and_the_resident_sets_a_new_password(world, resident, secretary):
    other_phone = signed_in(resident)  # a session elsewhere, e.g. a lost phone
    response = issue_code(signed_in(secretary), resident)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    code = code_on(response)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code)
    [row] = db.session.scalars(sa.select(ResetCode))
    assert code.replace("-", "") not in row.code_hash  # kept as a keyed hash only
    [entry] = audit_rows("account.reset_code_issued")
    assert (entry.actor_id, entry.target_id, entry.note) == (secretary.id, resident.id, "")

    # Typed as people do: lower case, a space instead of the dash.
    response = redeem(resident.phone, code.lower().replace("-", " "))

    assert response.status_code == 302 and response.location.endswith("/login")
    assert can_sign_in(resident.phone, NEW_PASSWORD)
    assert not can_sign_in(resident.phone, PASSWORD)
    assert other_phone.get("/me").status_code == 302  # every older session ended
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ResetCode)) == 0
    assert [e.actor_id for e in audit_rows("account.password_reset")] == [resident.id]


def test_a_code_works_only_once(world, resident, secretary):
    code = code_on(issue_code(signed_in(secretary), resident))
    assert redeem(resident.phone, code).status_code == 302

    response = redeem(resident.phone, code, password="Another1234")

    assert lifecycle.WRONG_RESET_CODE in text_of(response)
    assert can_sign_in(resident.phone, NEW_PASSWORD)


def test_a_new_code_voids_the_earlier_one(world, resident, secretary):
    staff = signed_in(secretary)
    first = code_on(issue_code(staff, resident))
    second = code_on(issue_code(staff, resident))

    assert lifecycle.WRONG_RESET_CODE in text_of(redeem(resident.phone, first))
    assert redeem(resident.phone, second).status_code == 302


def test_a_code_expires_after_24_hours(world, resident, secretary, clock):
    code = code_on(issue_code(signed_in(secretary), resident))
    clock.advance(hours=24, minutes=1)

    response = redeem(resident.phone, code)

    assert lifecycle.WRONG_RESET_CODE in text_of(response)
    assert can_sign_in(resident.phone, PASSWORD)


def test_a_code_still_works_just_before_24_hours(world, resident, secretary, clock):
    code = code_on(issue_code(signed_in(secretary), resident))
    clock.advance(hours=23, minutes=59)

    assert redeem(resident.phone, code).status_code == 302


def test_a_wrong_code_gets_one_answer_whatever_the_phone(world, resident, secretary):
    code_on(issue_code(signed_in(secretary), resident))
    answers = [redeem(phone, "ABCD-EFGH") for phone in (resident.phone, "13999999999")]

    assert {r.status_code for r in answers} == {200}
    assert all(lifecycle.WRONG_RESET_CODE in text_of(r) for r in answers)
    assert text_of(answers[0]).replace(resident.phone, "") == text_of(answers[1]).replace("13999999999", "")


def test_guessing_codes_is_rate_limited(world, resident, secretary):
    code = code_on(issue_code(signed_in(secretary), resident))
    guesser = signed_out()
    statuses = [redeem(resident.phone, "ABCD-EFGH", client=guesser).status_code for _ in range(6)]

    assert statuses[:5] == [200] * 5 and statuses[5] == 429
    assert redeem(resident.phone, code, client=guesser).status_code == 429


def test_the_new_password_must_follow_the_password_rule(world, resident, secretary):
    code = code_on(issue_code(signed_in(secretary), resident))

    response = redeem(resident.phone, code, password="short")

    assert 'id="new_password-error"' in text_of(response)
    assert redeem(resident.phone, code).status_code == 302  # the code was not used up


def test_only_staff_of_the_residents_compound_issue_codes(world, resident, secretary, other_secretary, grid_worker):
    a, b = world.compound_a.id, world.compound_b.id
    assert issue_code(signed_in(other_secretary), resident).status_code == 404
    assert signed_in(other_secretary).post(f"/c/{b}/residents/{resident.id}/reset-code").status_code == 404
    assert signed_in(other_secretary).get(f"/c/{a}/residents/{resident.id}/account").status_code == 404
    assert issue_code(signed_in(neighbour(world)), resident).status_code == 403
    assert issue_code(signed_in(grid_worker), resident).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ResetCode)) == 0


def test_a_staff_members_password_is_not_reset_by_a_colleague(world, resident, secretary):
    world.assign(resident, StaffRole.COMMITTEE, world.compound_a)
    db.session.commit()

    response = issue_code(signed_in(secretary), resident)

    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ResetCode)) == 0


# Changes of name, address and phone ------------------------------------------------------------


def details(name="周丽", salutation="ms", building="5", unit="2", room="502"):
    return {"real_name": name, "salutation": salutation, "building": building, "unit": unit, "room": room}


def set_counts(world, a: int, b: int) -> None:
    world.compound_a.resident_count, world.compound_b.resident_count = a, b
    db.session.commit()


def counts(world) -> tuple[int, int]:
    db.session.commit()
    db.session.expire_all()
    return (
        db.session.get(Compound, world.compound_a.id).resident_count,
        db.session.get(Compound, world.compound_b.id).resident_count,
    )


def test_a_name_change_waits_in_the_queue_then_applies(world, resident, secretary):
    client = signed_in(resident)
    assert client.post("/me/details/change", data=details(name="周丽娟")).status_code == 302

    assert fresh(resident).real_name == "周丽" and fresh(resident).is_verified_resident
    assert "资料变更审核中" in text_of(client.get("/me"))
    staff = signed_in(secretary)
    queue = text_of(staff.get(f"/c/{world.compound_a.id}/verification"))
    assert "周丽娟" in queue and "原姓名" in queue
    change = db.session.scalar(sa.select(DetailsChange))

    staff.post(f"/c/{world.compound_a.id}/changes/{change.id}/approve")

    assert fresh(resident).real_name == "周丽娟"
    assert db.session.scalar(sa.select(DetailsChange)) is None
    assert any("新的资料已生效" in text for text in messages_of(resident))


def test_a_rejected_change_leaves_the_details_as_they_were(world, resident, secretary):
    signed_in(resident).post("/me/details/change", data=details(room="1801"))
    change = db.session.scalar(sa.select(DetailsChange))

    signed_in(secretary).post(f"/c/{world.compound_a.id}/changes/{change.id}/reject", data={"reason": "查无此室号"})

    resident = fresh(resident)
    assert (resident.room, resident.is_verified_resident) == ("502", True)
    assert any("查无此室号" in text for text in messages_of(resident))


def test_moving_house_goes_through_the_new_compounds_queue(world, resident, secretary, other_secretary):
    resident.party_badge = PartyBadge.CONFIRMED
    set_counts(world, 1, 0)
    old_household = resident.household_id
    token = active_join_code(world.compound_b).token
    client = signed_in(resident)

    # Scanning the new compound's QR while signed in leads to the move form.
    response = client.get(f"/join/{token}")
    assert response.status_code == 302 and response.location.endswith(f"/me/move/{token}")
    assert client.post(f"/me/move/{token}", data=details(building="21", unit="", room="301")).status_code == 302

    assert fresh(resident).compound_id == world.compound_a.id  # still where they live until approved
    change = db.session.scalar(sa.select(DetailsChange))
    assert change.compound_id == world.compound_b.id
    assert "周丽" not in text_of(signed_in(secretary).get(f"/c/{world.compound_a.id}/verification"))
    # Only the new compound's staff decide.
    assert signed_in(secretary).post(f"/c/{world.compound_b.id}/changes/{change.id}/approve").status_code == 404
    assert signed_in(secretary).post(f"/c/{world.compound_a.id}/changes/{change.id}/approve").status_code == 404

    signed_in(other_secretary).post(f"/c/{world.compound_b.id}/changes/{change.id}/approve")

    resident = fresh(resident)
    assert resident.compound_id == world.compound_b.id and resident.is_verified_resident
    assert resident.household_id != old_household and resident.household.compound_id == world.compound_b.id
    assert resident.address == "21号楼301室"
    assert resident.party_badge is PartyBadge.NONE
    assert counts(world) == (0, 1)
    client = signed_in(resident)
    assert client.get(f"/c/{world.compound_b.id}").status_code == 200
    assert client.get(f"/c/{world.compound_a.id}").status_code == 404
    assert [e.compound_id for e in audit_rows("resident.moved_out")] == [world.compound_a.id]


def test_a_pending_resident_cannot_request_changes(world, pending_resident):
    client = signed_in(pending_resident)
    token = active_join_code(world.compound_b).token

    assert client.post("/me/details/change", data=details(name="钱学文")).status_code == 302
    assert client.post(f"/me/move/{token}", data=details()).status_code == 302
    assert db.session.scalar(sa.select(DetailsChange)) is None


def test_changing_the_phone_needs_the_password(world, resident):
    old_phone = resident.phone
    other_device = signed_in(resident)
    client = signed_in(resident)

    response = client.post("/me/phone", data={"phone": "139 1234 5678", "current_password": "Wrong1234"})
    assert "当前密码不正确" in text_of(response)
    assert fresh(resident).phone == old_phone

    response = client.post("/me/phone", data={"phone": "139 1234 5678", "current_password": PASSWORD})

    assert response.status_code == 302
    assert fresh(resident).phone == "13912345678"
    assert can_sign_in("13912345678", PASSWORD) and not can_sign_in(old_phone, PASSWORD)
    assert client.get("/me").status_code == 200  # this device stays signed in
    assert other_device.get("/me").status_code == 302


def test_a_phone_in_use_is_refused(world, resident):
    taken = neighbour(world).phone

    response = signed_in(resident).post("/me/phone", data={"phone": taken, "current_password": PASSWORD})

    assert lifecycle.PHONE_TAKEN in text_of(response)
    assert fresh(resident).phone != taken


# 禁言 -----------------------------------------------------------------------------------------


def suspend(staff_client, resident, length="3d", reason="多次发布广告，经提醒未改", compound=None):
    compound_id = (compound or resident.compound).id
    return staff_client.post(
        f"/c/{compound_id}/residents/{resident.id}/suspend", data={"length": length, "reason": reason}
    )


def test_a_suspended_resident_reads_but_cannot_take_part(world, resident, secretary):
    post = make_post(neighbour(world), world.compound_a)
    proposal = open_proposal(neighbour(world, name="郑强", room="602"), world.compound_a)
    assert suspend(signed_in(secretary), resident).status_code == 302
    client = signed_in(resident)

    assert client.get(f"/c/{world.compound_a.id}").status_code == 200
    page = client.get(f"/p/{post.id}")
    assert page.status_code == 200 and "多次发布广告" in text_of(page)
    refused = client.post(f"/p/{post.id}/reply", data={"body": "我不服"})
    assert refused.status_code == 403
    assert "多次发布广告" in text_of(refused) and "自动解除" in text_of(refused)
    assert client.post(f"/p/{post.id}/like").status_code == 403
    assert client.get(f"/c/{world.compound_a.id}/s/matters/new").status_code == 403
    assert client.post(f"/p/{proposal.post_id}/vote", data={"option": option_id(proposal, "赞成")}).status_code == 403
    assert any("多次发布广告" in text for text in messages_of(resident))
    assert "多次发布广告" in text_of(client.get("/me"))
    [entry] = audit_rows("resident.suspended")
    assert entry.actor_id == secretary.id


@pytest.mark.parametrize(
    "action, decision",
    [
        (Action.VIEW_BOARD, Decision.ALLOW),
        (Action.POST, Decision.FORBIDDEN),
        (Action.REPORT, Decision.ALLOW),
        (Action.SET_POST_STATUS, Decision.FORBIDDEN),
    ],
)
def test_suspension_in_authorize(world, resident, secretary, action, decision):
    own_item = make_post(
        resident, world.compound_a, key="second_hand", title="旧自行车", price_yuan="50", condition="used"
    )
    lifecycle.suspend(secretary, resident, lifecycle.SuspensionLength.DAYS_3, "刷屏")
    db.session.commit()

    target = {
        Action.REPORT: lambda: make_post(neighbour(world), world.compound_a),
        Action.SET_POST_STATUS: lambda: own_item,
    }.get(action, lambda: world.compound_a)()
    assert authorize(resident, action, target) is decision


def test_a_suspension_lifts_itself_when_the_period_ends(world, resident, secretary, clock):
    post = make_post(neighbour(world), world.compound_a)
    suspend(signed_in(secretary), resident, length="3d")
    client = signed_in(resident)
    assert client.post(f"/p/{post.id}/reply", data={"body": "好的"}).status_code == 403

    clock.advance(days=3, minutes=1)

    assert client.post(f"/p/{post.id}/reply", data={"body": "好的"}).status_code == 302
    assert "多次发布广告" not in text_of(client.get("/me"))


def test_a_suspension_for_good_lasts_until_lifted(world, resident, secretary, clock):
    post = make_post(neighbour(world), world.compound_a)
    staff = signed_in(secretary)
    suspend(staff, resident, length="forever")
    clock.advance(days=1000)
    client = signed_in(resident)
    assert client.post(f"/p/{post.id}/reply", data={"body": "好的"}).status_code == 403
    assert "至居委会解除为止" in text_of(client.get("/me"))

    staff.post(f"/c/{world.compound_a.id}/residents/{resident.id}/lift")

    assert client.post(f"/p/{post.id}/reply", data={"body": "好的"}).status_code == 302
    assert audit_rows("resident.suspension_lifted")


def test_a_suspension_needs_a_reason_and_keeps_what_was_typed(world, resident, secretary):
    response = suspend(signed_in(secretary), resident, length="bogus", reason="刷屏")

    assert response.status_code == 200 and "刷屏" in text_of(response)
    response = suspend(signed_in(secretary), resident, reason="  ")
    assert "请填写禁言原因" in text_of(response)
    assert not fresh(resident).is_suspended


def test_only_staff_of_the_residents_compound_suspend(world, resident, other_secretary):
    assert suspend(signed_in(other_secretary), resident).status_code == 404
    assert suspend(signed_in(other_secretary), resident, compound=world.compound_b).status_code == 404
    assert suspend(signed_in(neighbour(world)), resident).status_code == 403
    assert not fresh(resident).is_suspended


# 注销 -----------------------------------------------------------------------------------------


def leave(client, password=PASSWORD):
    return client.post("/me/leave", data={"password": password, "confirm": "y"})


def assert_personal_data_gone(user: User, phone: str) -> None:
    user = fresh(user)
    assert user.is_deleted and not user.active
    assert user.real_name == DELETED_NAME and user.salutation is None
    assert user.phone != phone and not re.fullmatch(r"1\d{10}", user.phone)
    assert (user.building, user.unit, user.room, user.household_id) == (None, None, None, None)
    assert (user.id_number_hmac, user.id_number_last4, user.compound_id, user.resident_status) == (None,) * 4
    assert not can_sign_in(phone, PASSWORD) and not can_sign_in(user.phone, PASSWORD)


def test_a_resident_leaves_and_what_they_wrote_stays_as_deleted_user(world, secretary):
    resident = world.resident(world.compound_a, name="欧阳娜娜", id_number="310113199001010012")
    phone = resident.phone
    reader = neighbour(world)
    post = make_post(resident, world.compound_a, title="谁家的猫跑丢了")
    make_reply(resident, make_post(reader, world.compound_a, title="楼道堆物"), body="同意清理")
    set_counts(world, 2, 0)
    reading = signed_in(reader)
    assert "欧阳女士" in text_of(reading.get(f"/c/{world.compound_a.id}"))  # the board page is kept
    client = signed_in(resident)

    response = leave(client)

    assert response.status_code == 302 and response.location.endswith("/login")
    assert_personal_data_gone(resident, phone)
    assert client.get("/me").status_code == 302
    assert counts(world) == (1, 0)
    feed = text_of(reading.get(f"/c/{world.compound_a.id}"))
    assert "谁家的猫跑丢了" in feed and DELETED_NAME in feed and "欧阳" not in feed
    page = text_of(reading.get(f"/p/{post.id}"))
    assert DELETED_NAME in page and "欧阳" not in page
    staff_view = text_of(signed_in(secretary).get(f"/p/{post.id}"))
    assert DELETED_NAME in staff_view and "欧阳" not in staff_view
    [entry] = audit_rows("account.deleted")
    assert (entry.actor_id, entry.note) == (resident.id, "")


def test_leaving_needs_the_password(world, resident):
    response = leave(signed_in(resident), password="Wrong1234")

    assert "密码不正确" in text_of(response)
    assert not fresh(resident).is_deleted


def test_staff_delete_an_account_on_the_residents_request(world, resident, secretary, other_secretary):
    phone = resident.phone
    path = f"/c/{world.compound_a.id}/residents/{resident.id}/delete"
    data = {"reason": "本人到居委会申请注销", "confirm": "y"}
    assert signed_in(other_secretary).post(path, data=data).status_code == 404
    assert signed_in(neighbour(world)).post(path, data=data).status_code == 403
    assert "请填写代办说明" in text_of(signed_in(secretary).post(path, data={"confirm": "y"}))

    response = signed_in(secretary).post(path, data=data)

    assert response.status_code == 302
    assert_personal_data_gone(resident, phone)
    [entry] = audit_rows("account.deleted")
    assert (entry.actor_id, entry.note) == (secretary.id, "本人到居委会申请注销")


def test_leaving_drops_pending_codes_changes_and_messages(world, resident, secretary):
    signed_in(resident).post("/me/details/change", data=details(room="1801"))
    code = code_on(issue_code(signed_in(secretary), resident))
    suspend(signed_in(secretary), resident)

    leave(signed_in(resident))

    for model in (ResetCode, DetailsChange):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0
    assert messages_of(resident) == []
    assert lifecycle.WRONG_RESET_CODE in text_of(redeem(resident.phone, code))


def test_a_staff_member_cannot_delete_their_own_account(world, resident):
    world.assign(resident, StaffRole.COMMITTEE, world.compound_a)
    db.session.commit()

    response = leave(signed_in(resident))

    assert "请先请区管理员撤销角色" in text_of(response)
    assert not fresh(resident).is_deleted


def test_a_kept_board_page_shows_the_suspension_at_once(world, resident, secretary):
    make_post(neighbour(world), world.compound_a)
    client = signed_in(resident)
    board = f"/c/{world.compound_a.id}"
    assert "多次发布广告" not in text_of(client.get(board))

    suspend(signed_in(secretary), resident)

    page = text_of(client.get(board))
    assert "多次发布广告" in page and 'aria-label="发帖"' not in page


def test_the_old_boards_kept_pages_follow_a_move(world, resident, other_secretary):
    make_post(resident, world.compound_a, title="谁家的猫跑丢了", body="橘猫，戴红色项圈")
    reading = signed_in(neighbour(world))
    board = f"/c/{world.compound_a.id}"
    assert "5号楼" in text_of(reading.get(board))
    lifecycle.request_change(
        resident,
        world.compound_b,
        lifecycle.ResidentDetails(real_name="周丽", salutation=resident.salutation, building="21", unit="", room="301"),
    )
    db.session.commit()

    signed_in(other_secretary).post(
        f"/c/{world.compound_b.id}/changes/{db.session.scalar(sa.select(DetailsChange.id))}/approve"
    )

    assert "5号楼" not in text_of(reading.get(board))


# Review of issue 12 ------------------------------------------------------------------------------


def test_a_code_stops_working_once_its_account_is_given_a_staff_role(world, resident, committee, admin):
    code = code_on(issue_code(signed_in(committee), resident))

    response = signed_in(admin).post(
        f"/admin/d/{world.district.id}/staff",
        data={
            "phone": resident.phone,
            "real_name": "",
            "password": "",
            "role": "secretary",
            "scope": f"compound:{world.compound_a.id}",
        },
    )
    assert response.status_code == 302

    assert lifecycle.WRONG_RESET_CODE in text_of(redeem(resident.phone, code))
    assert can_sign_in(resident.phone, PASSWORD) and not can_sign_in(resident.phone, NEW_PASSWORD)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ResetCode)) == 0


def test_a_code_of_an_account_that_holds_a_staff_role_is_refused(world, resident, committee):
    """Even a code row that outlived the role's assignment (e.g. written by an older version)."""
    code = code_on(issue_code(signed_in(committee), resident))
    world.assign(resident, StaffRole.COMMITTEE, world.compound_b)
    db.session.commit()

    assert lifecycle.WRONG_RESET_CODE in text_of(redeem(resident.phone, code))
    assert can_sign_in(resident.phone, PASSWORD)


def move_to_b(world, resident, other_secretary, **changes):
    lifecycle.request_change(
        resident,
        world.compound_b,
        lifecycle.ResidentDetails(
            **{
                "real_name": resident.real_name,
                "salutation": resident.salutation,
                "building": "21",
                "unit": "",
                "room": "301",
                **changes,
            }
        ),
    )
    db.session.commit()
    change_id = db.session.scalar(sa.select(DetailsChange.id))
    assert signed_in(other_secretary).post(f"/c/{world.compound_b.id}/changes/{change_id}/approve").status_code == 302


def test_leaving_after_a_move_takes_the_name_off_the_old_board(world, other_secretary):
    resident = world.resident(world.compound_a, name="欧阳娜娜")
    make_post(resident, world.compound_a, title="谁家的猫跑丢了")
    reading = signed_in(neighbour(world))
    board = f"/c/{world.compound_a.id}"
    move_to_b(world, resident, other_secretary)
    assert "欧阳女士" in text_of(reading.get(board))  # kept, and still right: the name has not changed

    leave(signed_in(resident))

    feed = text_of(reading.get(board))
    assert "谁家的猫跑丢了" in feed and DELETED_NAME in feed and "欧阳" not in feed


def test_a_name_change_after_a_move_shows_on_the_old_board(world, other_secretary):
    resident = world.resident(world.compound_a, name="欧阳娜娜")
    make_reply(resident, make_post(neighbour(world), world.compound_a, title="楼道堆物"), body="同意清理")
    move_to_b(world, resident, other_secretary)
    reading = signed_in(neighbour(world, name="钱伟", room="602"))
    post_page = f"/p/{db.session.scalar(sa.select(sa.func.max(Post.id)))}"
    assert "欧阳女士" in text_of(reading.get(post_page))

    signed_in(fresh(resident)).post(
        "/me/details/change", data=details(name="司马娜娜", building="21", unit="", room="301")
    )
    change_id = db.session.scalar(sa.select(DetailsChange.id))
    assert signed_in(other_secretary).post(f"/c/{world.compound_b.id}/changes/{change_id}/approve").status_code == 302

    page = text_of(reading.get(post_page))
    assert "司马女士" in page and "欧阳" not in page


def test_leaving_leaves_no_row_linking_the_account_to_a_household(world, resident, secretary):
    household_ballot = open_proposal(secretary, world.compound_a, electorate=Electorate.HOUSEHOLDS)
    per_person = open_proposal(secretary, world.compound_a, title="是否更换小区大门")
    post = make_post(neighbour(world), world.compound_a)
    client = signed_in(resident)
    assert client.post(f"/p/{post.id}/me-too").status_code in (200, 302)
    for proposal in (household_ballot, per_person):
        client.post(f"/p/{proposal.post_id}/vote", data={"option": option_id(proposal, "赞成")})
    db.session.commit()
    household_id = resident.household_id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeToo)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 2

    leave(signed_in(resident))

    db.session.commit()
    db.session.expire_all()
    links = [
        *db.session.execute(sa.select(MeToo.household_id).where(MeToo.user_id == resident.id)),
        *db.session.execute(sa.select(Ballot.voter_key).where(Ballot.voter_id == resident.id)),
        *db.session.execute(sa.select(User.id).where(User.id == resident.id, User.household_id.is_not(None))),
    ]
    assert links == []
    # What the household did still counts, and still counts once.
    assert db.session.get(Post, post.id).affected_count == 1
    assert db.session.scalar(sa.select(MeToo.household_id)) == household_id
    assert {p.post_id: p.ballot_count for p in db.session.scalars(sa.select(Proposal))} == {
        household_ballot.post_id: 1,
        per_person.post_id: 1,
    }
    housemate = world.resident(world.compound_a, name="周强", salutation=account_models.Salutation.MR)
    assert housemate.household_id == household_id
    response = signed_in(housemate).post(
        f"/p/{household_ballot.post_id}/vote",
        data={"option": option_id(household_ballot, "反对")},
        follow_redirects=True,
    )
    assert "您家已由其他家庭成员投票" in text_of(response)


def from_address(address):
    client = signed_out()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_wrong_codes_from_other_addresses_do_not_stop_the_owners_reset(world, resident, secretary):
    code = code_on(issue_code(signed_in(secretary), resident))
    for n in range(5):
        assert lifecycle.WRONG_RESET_CODE in text_of(
            redeem(resident.phone, "ABCD-EFGH", client=from_address(f"203.0.113.{n + 1}"))
        )

    response = redeem(resident.phone, code, client=from_address("198.51.100.30"))

    assert response.status_code == 302
    assert can_sign_in(resident.phone, NEW_PASSWORD)


def test_a_reset_starts_the_password_age_and_clears_failed_sign_ins(world, resident, secretary, dengbao):
    resident.password_changed_at = utcnow() - timedelta(days=91)
    db.session.commit()
    for n in range(5):  # the 等保 profile locks the account
        Auth(from_address(f"203.0.113.{n + 1}")).login(resident.phone, "Wrong1234")
    assert not can_sign_in(resident.phone, PASSWORD)
    code = code_on(issue_code(signed_in(secretary), resident))

    assert redeem(resident.phone, code).status_code == 302

    assert fresh(resident).password_changed_at > utcnow() - timedelta(minutes=1)
    signed_in_again = Auth(from_address("198.51.100.31")).login(resident.phone, NEW_PASSWORD)
    assert signed_in_again.status_code == 302 and signed_in_again.headers["Location"] == "/"


def test_a_resident_awaiting_verification_cannot_change_the_phone(world, pending_resident):
    client = signed_in(pending_resident)
    assert client.get("/me/phone").headers["Location"] == "/me"
    assert 'href="/me/phone"' not in text_of(client.get("/me"))

    response = client.post("/me/phone", data={"phone": neighbour(world).phone, "current_password": PASSWORD})

    assert response.headers["Location"] == "/me"
    assert lifecycle.PHONE_TAKEN not in text_of(client.get("/me"))
    with pytest.raises(lifecycle.ValidationError):
        lifecycle.change_phone(pending_resident, "13912345678")


def test_staff_may_change_their_phone(world, secretary):
    response = signed_in(secretary).post("/me/phone", data={"phone": "13912345678", "current_password": PASSWORD})
    assert response.status_code == 302 and fresh(secretary).phone == "13912345678"


def test_phone_changes_count_successes_too(world, resident):
    client = signed_in(resident)
    for n in range(5):
        assert (
            client.post("/me/phone", data={"phone": f"1391234567{n}", "current_password": PASSWORD}).status_code == 302
        )
        client = signed_in(fresh(resident))

    assert client.post("/me/phone", data={"phone": "13912345679", "current_password": PASSWORD}).status_code == 429


def test_phone_changes_are_limited_per_address_across_accounts(world):
    office = [world.resident(name=f"吴{n}", building=str(10 + n)) for n in range(3)]
    taken, clients = neighbour(world).phone, []
    for person in office:
        client = from_address("10.0.5.1")
        Auth(client).login(person)
        clients.append(client)
    statuses = [
        clients[n % 3].post("/me/phone", data={"phone": taken, "current_password": PASSWORD}).status_code
        for n in range(11)
    ]

    assert statuses == [200] * 10 + [429]


def test_guessing_the_password_on_the_leave_page_is_limited(world, resident):
    client = signed_in(resident)
    for _ in range(5):
        assert leave(client, password="wrong-guess-1").status_code == 200
    assert leave(client, password="wrong-guess-1").status_code == 429
    assert not fresh(resident).is_deleted
