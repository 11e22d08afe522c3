"""Password rules: ASVS 5.0 by default, the 等保 2.0 profile on request; the change-password limit."""

from datetime import timedelta

import pytest
from conftest import PASSWORD, Auth

from community_board.accounts import rules
from community_board.extensions import db
from community_board.timeutil import utcnow

COMMON = "这个密码太常见，容易被猜到，请换一个"
CLASSES = "密码需包含大写字母、小写字母、数字、符号中的至少三类"


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",  # a passphrase without digits
        "我家楼下的桂花开了",  # in Chinese
        "anjia2026",
        "x" * 20 + " 一句很长很长的话 " * 8,  # well over 64 characters
    ],
)
def test_asvs_accepts_long_or_uncommon_passwords_without_composition_rules(password):
    assert rules.password_problem(password) is None


@pytest.mark.parametrize(
    "password, problem",
    [
        ("1234567", "密码至少8位"),
        ("password1", COMMON),
        ("Password1", COMMON),  # case does not make it rare
        ("1qaz2wsx", COMMON),
        ("woaini1314", COMMON),  # common in China, not in the English-based list
        ("88888888", COMMON),  # repeats and runs, which the list leaves to rules
        ("12121212", COMMON),
        ("abcdefgh", COMMON),
        ("87654321", COMMON),
        ("x" * 129, "密码最多128位"),
    ],
)
def test_asvs_refuses_short_and_common_passwords(password, problem):
    assert rules.password_problem(password) == problem


@pytest.mark.parametrize(
    "password, problem",
    [
        ("Anjia-2026", None),
        ("anjia2026", CLASSES),
        ("correct horse battery staple", CLASSES),
        ("Passw0rd1", COMMON),
    ],
)
def test_dengbao_asks_for_three_character_classes(password, problem):
    assert rules.password_problem(password, "dengbao") == problem


def test_the_policy_is_applied_when_a_password_is_set_not_at_sign_in(client, auth, login_as, resident):
    assert rules.password_problem(PASSWORD) == COMMON  # every fixture account has a common one...
    page = login_as(resident).post("/me/password", data={"current_password": PASSWORD, "new_password": PASSWORD})
    assert COMMON in page.get_data(as_text=True)  # ...which cannot be set again

    response = client.post(
        "/me/password", data={"current_password": PASSWORD, "new_password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    auth.logout()
    assert auth.login(resident, "correct horse battery staple").status_code == 302


# The 等保 profile -------------------------------------------------------------------------------


def test_dengbao_registration_asks_for_three_classes(client, world, dengbao):
    from community_board.compounds.services import active_join_code

    token = active_join_code(world.compound_a).token
    db.session.commit()
    page = client.post(f"/join/{token}", data={"phone": "13912345678", "password": "anjia2026"}).get_data(as_text=True)
    assert CLASSES in page
    assert "大写字母、小写字母、数字、符号中的三类" in client.get(f"/join/{token}").get_data(as_text=True)


def age_password(user, days):
    user.password_changed_at = utcnow() - timedelta(days=days)
    db.session.commit()


def test_dengbao_sends_a_ninety_day_old_password_to_be_changed(client, auth, resident, dengbao):
    age_password(resident, 91)
    response = auth.login(resident)
    assert response.headers["Location"] == "/me/password"
    assert "已使用超过90天" in client.get("/me/password").get_data(as_text=True)

    client.post("/me/password", data={"current_password": PASSWORD, "new_password": "Anjia-2026"})
    auth.logout()
    assert auth.login(resident, "Anjia-2026").headers["Location"] == "/"


def test_dengbao_leaves_a_recent_password_alone(auth, resident, dengbao):
    age_password(resident, 89)
    assert auth.login(resident).headers["Location"] == "/"


def test_the_default_profile_never_forces_a_change(auth, resident):
    age_password(resident, 400)
    assert auth.login(resident).headers["Location"] == "/"


# The change-password limit -------------------------------------------------------------------


def wrong_current_password(client):
    return client.post("/me/password", data={"current_password": "Wrong1234", "new_password": "anjia2026"})


def signed_in_from(app, user, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    assert Auth(client).login(user).status_code == 302
    return client


def test_guessing_the_current_password_is_limited_per_user_across_addresses(app, resident):
    devices = [signed_in_from(app, resident, f"10.0.2.{n}") for n in range(3)]
    for n in range(5):
        assert wrong_current_password(devices[n % 2]).status_code == 200

    assert wrong_current_password(devices[2]).status_code == 429


def test_guessing_the_current_password_is_limited_per_address_across_users(app, world, resident):
    neighbour = world.resident(name="吴刚", building="6")
    first, second = signed_in_from(app, resident, "10.0.3.1"), signed_in_from(app, neighbour, "10.0.3.1")
    for _ in range(3):
        assert wrong_current_password(first).status_code == 200
    for _ in range(2):
        assert wrong_current_password(second).status_code == 200

    assert wrong_current_password(second).status_code == 429


def test_weak_new_passwords_do_not_count_as_guesses(app, resident):
    client = signed_in_from(app, resident, "10.0.4.1")
    for _ in range(6):
        weak = client.post("/me/password", data={"current_password": PASSWORD, "new_password": "password1"})
        assert weak.status_code == 200 and COMMON in weak.get_data(as_text=True)

    assert (
        client.post("/me/password", data={"current_password": PASSWORD, "new_password": "Anjia-2026"}).status_code
        == 302
    )


# The 等保 profile: an expired password is changed before anything else ------------------------


def test_dengbao_sends_every_page_to_the_change_form_until_the_password_is_changed(
    client, auth, world, resident, dengbao
):
    age_password(resident, 91)
    auth.login(resident)

    for path in ("/", f"/c/{world.compound_a.id}", "/me", "/me/phone"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/me/password", path
    assert client.get("/me/password").status_code == 200
    assert client.get("/static/css/app.css").status_code in (200, 304)

    client.post("/me/password", data={"current_password": PASSWORD, "new_password": "Anjia-2026"})
    assert client.get("/me").status_code == 200


def test_dengbao_lets_an_expired_user_sign_out(client, auth, resident, dengbao):
    age_password(resident, 91)
    auth.login(resident)

    assert auth.logout().headers["Location"] == "/login"
    assert client.get("/me").headers["Location"].startswith("/login")


def test_the_default_profile_never_redirects_an_old_password(client, auth, resident):
    age_password(resident, 400)
    auth.login(resident)
    assert client.get("/me").status_code == 200
