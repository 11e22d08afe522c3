"""Registration by a compound's QR code: /join/<token>."""

import html
import re

import pytest
import sqlalchemy as sa
from conftest import Auth, valid_id_number
from stdnum.cn import ric

from community_board.accounts import services
from community_board.accounts.models import ResidentStatus, Salutation, User
from community_board.audit import AuditEntry
from community_board.compounds.services import active_join_code, rotate_join_code
from community_board.extensions import db
from community_board.notifications.models import Notification, NotificationKind
from community_board.privacy import id_number_hmac


def join_form(**changes):
    form = {
        "phone": "13912345678",
        "password": "anjia2026",
        "real_name": "林晓",
        "salutation": "ms",
        "building": "7",
        "unit": "1",
        "room": "301",
        "id_number": "",
        "consent": "y",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def field_error(page: str, field: str) -> str | None:
    """The message shown next to a field (the element with id '<field>-error')."""
    match = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', page)
    return html.unescape(match.group(1)) if match else None


def input_value(page: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page).group(0)
    value = re.search(r'\bvalue="([^"]*)"', tag)
    return html.unescape(value.group(1)) if value else None


@pytest.fixture
def join_url(world):
    token = active_join_code(world.compound_a).token
    db.session.commit()
    return f"/join/{token}"


def users_by_phone(phone):
    return db.session.scalars(sa.select(User).where(User.phone == phone)).all()


def test_join_page_names_the_compound(client, join_url):
    page = client.get(join_url).get_data(as_text=True)
    assert "吴淞街道 · 吴淞新城" in page
    assert "个人信息保护说明" in page
    assert "不要用常见密码" in page  # the password hint of the default profile


def test_registration_creates_pending_resident_who_then_signs_in(client, auth, world, join_url):
    response = client.post(join_url, data=join_form())
    assert response.status_code == 302
    assert response.headers["Location"] == f"{join_url}/received"
    assert "注册信息已提交" in client.get(response.headers["Location"]).get_data(as_text=True)

    [user] = users_by_phone("13912345678")
    assert user.compound_id == world.compound_a.id
    assert user.resident_status is ResidentStatus.PENDING
    assert (user.real_name, user.salutation, user.address) == ("林晓", Salutation.MS, "7号楼1单元301室")
    assert user.consented_at is not None
    assert user.household_id is None  # a household comes with verification
    assert (
        db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.target_id == user.id)) == "resident.registered"
    )

    assert client.get("/me").status_code == 302  # not signed in by registering: see the taken-number test
    assert auth.login("13912345678", "anjia2026").status_code == 302
    me = client.get("/me").get_data(as_text=True)
    assert "等待审核" in me
    assert "林晓" in me


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"phone": "12345"}, "phone", "请输入11位中国大陆手机号码"),
        ({"phone": ""}, "phone", "请填写手机号"),
        ({"password": "abcdefgh"}, "password", "这个密码太常见，容易被猜到，请换一个"),
        ({"password": "lx13912345678"}, "password", "密码不能包含手机号"),
        ({"password": "1234567"}, "password", "密码至少8位"),
        ({"real_name": ""}, "real_name", "请填写真实姓名"),
        ({"room": ""}, "room", "请填写室号"),
        ({"building": "五号"}, "building", "楼号请填写数字或字母，最多8位"),
        ({"salutation": None}, "salutation", "请选择称呼"),
        ({"consent": None}, "consent", "请阅读并勾选同意个人信息保护说明"),
        ({"id_number": "31011319800101001"}, "id_number", "身份证号应为18位"),
    ],
)
def test_invalid_field_shows_message_next_to_it_and_keeps_typed_values(client, join_url, changes, field, message):
    response = client.post(join_url, data=join_form(**changes))
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert field_error(page, field) == message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    for name in ("phone", "real_name", "building", "unit", "room"):
        if name != field:
            assert input_value(page, name) == join_form()[name]


def test_id_number_with_wrong_check_digit_is_refused(client, join_url):
    good = valid_id_number(123)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")

    page = client.post(join_url, data=join_form(id_number=bad)).get_data(as_text=True)

    assert field_error(page, "id_number") == "身份证号校验未通过，请检查是否填写正确"
    assert input_value(page, "real_name") == "林晓"
    assert users_by_phone("13912345678") == []


@pytest.mark.parametrize(
    "typed",
    [
        "+86 139 1234 5678",
        "１３９１２３４５６７８",  # full-width, as a Chinese keyboard may type them
        "＋８６ １３９－１２３４－５６７８",
        "١٣٩١٢٣٤٥٦٧٨",  # Arabic-Indic
    ],
)
def test_phone_is_normalised_to_ascii_digits(client, auth, join_url, typed):
    response = client.post(join_url, data=join_form(phone=typed))
    assert response.status_code == 302
    assert len(users_by_phone("13912345678")) == 1
    assert auth.login(typed, "anjia2026").status_code == 302  # and signs in typed the same way


def test_a_number_in_other_digits_is_the_same_number(client, join_url, resident):
    full_width = "".join(chr(ord(digit) + 0xFEE0) for digit in resident.phone)
    client.post(join_url, data=join_form(phone=full_width))
    assert len(users_by_phone(resident.phone)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def born_in(region: str, birth: str, serial: str = "042") -> str:
    body = region + birth + serial
    return body + ric.calc_check_digit(body + "0")


@pytest.mark.parametrize(
    "id_number",
    [
        born_in("310113", "19550312"),  # 宝山区 code, born before the district existed (1988)
        born_in("310228", "19600101"),  # the old 宝山县 code
        born_in("310228", "19371231", "017"),
        born_in("310113", "19900101"),
    ],
)
def test_id_numbers_with_a_right_check_digit_are_accepted_whatever_the_region_code_dates(client, join_url, id_number):
    assert client.post(join_url, data=join_form(id_number=id_number)).status_code == 302
    assert users_by_phone("13912345678")[0].id_number_last4 == id_number[-4:]


@pytest.mark.parametrize(
    "id_number, message",
    [
        (born_in("310113", "19550231"), "身份证号中的出生日期不正确，请检查是否填写正确"),
        (born_in("310113", "29550312"), "身份证号中的出生日期不正确，请检查是否填写正确"),
        ("31011319550312A42X", "身份证号应为17位数字加1位数字或X"),
    ],
)
def test_id_numbers_with_an_impossible_birth_date_or_letters_are_refused(client, join_url, id_number, message):
    page = client.post(join_url, data=join_form(id_number=id_number)).get_data(as_text=True)
    assert field_error(page, "id_number") == message
    assert users_by_phone("13912345678") == []


def account_messages(user):
    return db.session.scalars(
        sa.select(Notification.text).where(
            Notification.user_id == user.id, Notification.kind == NotificationKind.ACCOUNT
        )
    ).all()


def test_a_taken_number_gets_the_same_answer_as_a_free_one_and_changes_nothing(app, world, join_url, resident):
    taken = app.test_client().post(join_url, data=join_form(phone=resident.phone, password="another2026"))
    free = app.test_client().post(join_url, data=join_form(phone="13912345678"))

    assert (taken.status_code, taken.headers["Location"]) == (free.status_code, free.headers["Location"])
    assert taken.headers.getlist("Set-Cookie") == free.headers.getlist("Set-Cookie") == []
    [owner] = users_by_phone(resident.phone)
    assert (owner.real_name, owner.address) == ("周丽", "5号楼2单元502室")
    assert Auth(app.test_client()).login(resident, "another2026").status_code == 200  # nothing was taken over
    [message] = account_messages(owner)
    assert "用您的手机号提交了注册" in message


def test_the_owner_of_a_taken_number_hears_of_attempts_once_a_day(client, join_url, resident):
    for _ in range(3):
        client.post(join_url, data=join_form(phone=resident.phone))
    assert len(account_messages(resident)) == 1


def test_two_sign_ups_with_one_number_at_once_create_one_account(client, join_url, resident, monkeypatch):
    """The second sign-up looked before the first one committed: the unique constraint decides,
    and the answer stays the same."""
    monkeypatch.setattr(services, "find_user_by_phone", lambda phone: None)
    response = client.post(join_url, data=join_form(phone=resident.phone))
    monkeypatch.undo()

    assert response.headers["Location"] == f"{join_url}/received"
    assert [user.real_name for user in users_by_phone(resident.phone)] == ["周丽"]


def test_id_number_is_kept_only_as_hmac_and_last_four(app, client, join_url):
    id_number = valid_id_number(457)
    assert client.post(join_url, data=join_form(id_number=id_number)).status_code == 302

    [user] = users_by_phone("13912345678")
    assert user.id_number_hmac == id_number_hmac(app.config["ID_HASH_KEY"], id_number)
    assert user.id_number_last4 == id_number[-4:]

    texts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            texts.extend(value for value in row if isinstance(value, str))
    assert "13912345678" in texts  # the scan does read what registration stored
    assert not [text for text in texts if id_number in text or id_number[:17] in text]


def test_unknown_token_is_404(client, world):
    response = client.get("/join/no-such-token")
    assert response.status_code == 404
    assert client.post("/join/no-such-token", data=join_form()).status_code == 404
    assert users_by_phone("13912345678") == []


def test_rotated_token_says_the_qr_has_expired(client, world, secretary, join_url):
    rotate_join_code(secretary, world.compound_a)
    db.session.commit()

    response = client.get(join_url)
    assert response.status_code == 410
    assert "二维码已失效" in response.get_data(as_text=True)
    assert "吴淞新城" in response.get_data(as_text=True)

    assert client.post(join_url, data=join_form()).status_code == 410
    assert users_by_phone("13912345678") == []
