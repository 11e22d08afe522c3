"""Sign in and out, cookies, passwords, sessions on other devices, the login rate limit."""

from datetime import timedelta

import pytest
from conftest import PASSWORD, Auth

import config as config_module
from community_board.extensions import db

WRONG = "手机号或密码不正确"


def second_device(app, user, remember=False):
    """Another phone signed in as ``user``."""
    client = app.test_client()
    assert Auth(client).login(user, remember=remember).status_code == 302
    return client


def signed_in(client) -> bool:
    return client.get("/me").status_code == 200


def cookie_header(response, name):
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    return header


def test_login_succeeds(client, auth, resident):
    response = auth.login(resident)
    assert response.status_code == 302
    assert signed_in(client)
    assert "周丽" in client.get("/me").get_data(as_text=True)


def test_login_accepts_a_phone_typed_with_spaces(client, auth, resident):
    phone = resident.phone
    assert auth.login(f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}").status_code == 302
    assert signed_in(client)


@pytest.mark.parametrize("phone, password", [("resident", "Wrong1234"), ("13999999999", PASSWORD)])
def test_login_fails_with_one_message(client, auth, resident, phone, password):
    response = auth.login(resident if phone == "resident" else phone, password)
    assert response.status_code == 200
    assert WRONG in response.get_data(as_text=True)
    assert not signed_in(client)


def test_deactivated_user_cannot_sign_in(client, auth, resident):
    resident.active = False
    db.session.commit()

    response = auth.login(resident)

    assert WRONG in response.get_data(as_text=True)
    assert not signed_in(client)


def test_deactivating_ends_existing_sessions(app, client, auth, resident):
    other_phone = second_device(app, resident, remember=True)
    auth.login(resident)

    resident.active = False
    db.session.commit()

    assert not signed_in(client)
    assert not signed_in(other_phone)


def test_session_cookie_flags(auth, resident):
    response = auth.login(resident)
    header = cookie_header(response, "session")
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # the testing config runs with DEBUG over plain http


def test_remember_me_sets_an_httponly_cookie(auth, resident):
    response = auth.login(resident, remember=True)
    header = cookie_header(response, "remember_token")
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_no_remember_cookie_without_remember_me(auth, resident):
    response = auth.login(resident)
    assert not [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]


def test_remember_cookie_signs_in_without_a_session(app, resident):
    client = second_device(app, resident, remember=True)
    client.delete_cookie("session")
    assert signed_in(client)


def test_cookie_security_by_config():
    assert config_module.ProductionConfig().SESSION_COOKIE_SECURE is True
    assert config_module.ProductionConfig().REMEMBER_COOKIE_SECURE is True
    assert config_module.DevelopmentConfig().SESSION_COOKIE_SECURE is False
    assert config_module.TestingConfig().SESSION_COOKIE_SECURE is False


def test_the_app_under_test_does_not_mark_cookies_secure(app):
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_change_password_with_wrong_current_password(client, login_as, resident):
    response = login_as(resident).post(
        "/me/password", data={"current_password": "Wrong1234", "new_password": "Newpass99"}
    )
    assert response.status_code == 200
    assert "当前密码不正确" in response.get_data(as_text=True)
    client.post("/logout")
    assert Auth(client).login(resident).status_code == 302  # the old password still works


def test_change_password_rejects_a_weak_new_password(login_as, resident):
    response = login_as(resident).post("/me/password", data={"current_password": PASSWORD, "new_password": "abcdefgh"})
    assert "这个密码太常见" in response.get_data(as_text=True)


def test_change_password_ends_other_sessions(app, client, auth, resident):
    other_phone = second_device(app, resident, remember=True)
    auth.login(resident)

    response = client.post(
        "/me/password", data={"current_password": PASSWORD, "new_password": "Newpass99"}, follow_redirects=True
    )

    assert "密码已修改" in response.get_data(as_text=True)
    assert signed_in(client)  # this device stays signed in
    assert not signed_in(other_phone)
    auth.logout()
    assert WRONG in auth.login(resident, PASSWORD).get_data(as_text=True)
    assert auth.login(resident, "Newpass99").status_code == 302


def test_logout_ends_sessions_on_other_devices(app, client, auth, resident):
    other_phone = second_device(app, resident, remember=True)
    auth.login(resident)
    assert signed_in(other_phone)

    response = auth.logout()

    assert response.headers["Location"] == "/login"
    assert not signed_in(client)
    assert not signed_in(other_phone)


def test_copied_remember_cookie_stops_working_after_logout(app, auth, resident):
    copy = second_device(app, resident, remember=True)
    copy.delete_cookie("session")
    auth.login(resident)
    auth.logout()
    assert not signed_in(copy)


def test_sixth_failed_login_within_a_minute_is_refused(client, auth, resident):
    for _ in range(5):
        assert auth.login(resident, "Wrong1234").status_code == 200

    response = auth.login(resident, "Wrong1234")

    assert response.status_code == 429
    assert "操作太频繁" in response.get_data(as_text=True)
    assert auth.login(resident).status_code == 429  # even the right password, for now


def test_failed_logins_for_one_phone_count_across_addresses(app, resident):
    for n in range(2):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
        assert "验证问题" not in Auth(client).login(resident, "Wrong1234").get_data(as_text=True)

    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    response = Auth(client).login(resident, "Wrong1234")  # the third failure: the form now asks
    assert response.status_code == 200
    assert "验证问题" in response.get_data(as_text=True)


def test_failed_logins_for_one_phone_count_however_it_is_typed(app, resident):
    p = resident.phone
    typings = [p, f"{p[:3]} {p[3:7]} {p[7:]}", f"+86 {p}"]  # LOGIN_CHALLENGE_AFTER of them
    for n, typed in enumerate(typings):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.1.{n + 1}"
        Auth(client).login(typed, "Wrong1234")

    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.1.99"
    assert "验证问题" in Auth(client).login(f"{p[:3]}-{p[3:7]}-{p[7:]}", PASSWORD).get_data(as_text=True)


def test_successful_logins_do_not_count(client, auth, resident):
    for _ in range(6):
        assert auth.login(resident).status_code == 302
        auth.logout()

    response = auth.login(resident, "Wrong1234")

    assert response.status_code == 200
    assert WRONG in response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example", "///evil.example"])
def test_next_cannot_leave_the_site(client, resident, target):
    response = client.post(
        "/login", query_string={"next": target}, data={"phone": resident.phone, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_within_the_site_is_followed(client, resident):
    response = client.post(
        "/login", query_string={"next": "/messages"}, data={"phone": resident.phone, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/messages"


def test_signed_in_user_opening_login_goes_home(login_as, resident):
    response = login_as(resident).get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# The session cookie (Flask's signed cookie, checked on every request) ---------------------------


def test_a_session_cookie_past_its_lifetime_is_refused_though_it_was_accepted_before(
    app, client, auth, resident, monkeypatch
):
    auth.login(resident)
    assert signed_in(client)
    # Its age is checked on each request: a lifetime it has outlived (itsdangerous counts whole seconds).
    monkeypatch.setitem(app.config, "PERMANENT_SESSION_LIFETIME", timedelta(seconds=-1))
    assert not signed_in(client)


def test_a_tampered_session_cookie_is_refused(client, auth, resident):
    auth.login(resident)
    assert signed_in(client)
    cookie = client.get_cookie("session").value
    client.set_cookie("session", cookie[:-4] + ("AAAA" if not cookie.endswith("AAAA") else "BBBB"))
    assert not signed_in(client)


def test_what_a_request_adds_to_its_session_stays_out_of_the_next_one_with_the_same_cookie(client, auth, resident):
    """A phone that goes back to an older cookie (a retried request, a second tab) gets that
    cookie's session as it was, not what a request made of it since."""
    auth.login(resident)
    client.post("/messages/read")  # flashes 已全部标为已读 for the next page, in the cookie
    with_one_message = client.get_cookie("session").value
    client.post("/messages/read")  # a second message on top of that session
    client.set_cookie("session", with_one_message)
    assert client.get("/messages").get_data(as_text=True).count("已全部标为已读") == 1
