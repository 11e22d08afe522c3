"""Sessions: a fresh one at sign-in and sign-out (CSRF token included), and an end after idle time."""

import re
from datetime import timedelta

import pytest
from conftest import Auth

import config as config_module
from community_board.accounts import sessions
from community_board.timeutil import utcnow


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def signed_in(client) -> bool:
    return client.get("/me").status_code == 200


@pytest.fixture
def csrf(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def clock(monkeypatch):
    """The sessions' clock, moved on by ``clock.advance(minutes=...)``."""

    class Clock:
        now = utcnow()

        def advance(self, **delta):
            self.now += timedelta(**delta)

    frozen = Clock()
    monkeypatch.setattr(sessions, "utcnow", lambda: frozen.now)
    return frozen


# A fresh session at sign-in and sign-out ------------------------------------------------------


def test_a_csrf_token_from_before_sign_in_is_refused_after_it(client, resident, csrf):
    before = csrf_token(client.get("/login").get_data(as_text=True))
    assert (
        client.post("/login", data={"phone": resident.phone, "password": "Passw0rd1", "csrf_token": before}).status_code
        == 302
    )

    refused = client.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 400
    assert signed_in(client)

    after = csrf_token(client.get("/me").get_data(as_text=True))
    assert after != before
    assert client.post("/logout", data={"csrf_token": after}).status_code == 302
    assert not signed_in(client)


def test_a_csrf_token_from_before_sign_out_is_refused_after_it(client, resident, csrf):
    client.post(
        "/login",
        data={
            "phone": resident.phone,
            "password": "Passw0rd1",
            "csrf_token": csrf_token(client.get("/login").get_data(as_text=True)),
        },
    )
    signed_in_token = csrf_token(client.get("/me").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": signed_in_token})

    assert (
        client.post(
            "/login", data={"phone": resident.phone, "password": "Passw0rd1", "csrf_token": signed_in_token}
        ).status_code
        == 400
    )


# Idle time ---------------------------------------------------------------------------------


def test_a_staff_session_ends_after_thirty_idle_minutes(client, auth, secretary, clock):
    auth.login(secretary)
    clock.advance(minutes=29)
    assert signed_in(client)  # and this request counts as activity
    clock.advance(minutes=29)
    assert signed_in(client)
    clock.advance(minutes=31)
    assert not signed_in(client)


def test_the_staff_idle_time_is_a_setting(app, client, auth, secretary, clock, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_IDLE_TIMEOUT", timedelta(minutes=15))
    auth.login(secretary)
    clock.advance(minutes=16)
    assert not signed_in(client)


def test_staff_get_no_remember_me_cookie(client, auth, secretary):
    response = auth.login(secretary, remember=True)
    assert not [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]


def test_a_resident_session_ends_after_fourteen_idle_days(client, auth, resident, clock):
    auth.login(resident)
    clock.advance(days=13)
    assert signed_in(client)
    clock.advance(days=13)
    assert signed_in(client)
    clock.advance(days=14, minutes=1)
    assert not signed_in(client)


def test_a_remember_me_cookie_does_not_outlive_the_idle_time(client, auth, resident, clock):
    auth.login(resident, remember=True)
    clock.advance(days=15)
    assert not signed_in(client)
    assert not signed_in(client)  # and the cookie was dropped, not used to sign in again
    assert client.get_cookie("remember_token") is None


def test_remember_me_is_renewed_on_use(client, auth, resident, clock):
    auth.login(resident, remember=True)
    clock.advance(days=10)
    response = client.get("/me")
    assert response.status_code == 200
    [renewed] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert "Expires=" in renewed


def test_requests_within_a_minute_do_not_rewrite_the_session_cookie(client, auth, resident, clock):
    auth.login(resident, remember=True)
    client.get("/me")
    clock.advance(seconds=50)
    response = client.get("/me")
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []
    clock.advance(seconds=20)
    assert [h for h in client.get("/me").headers.getlist("Set-Cookie") if h.startswith("session=")]


def test_a_resident_coming_back_by_remember_me_is_signed_in(app, resident, clock):
    client = app.test_client()
    Auth(client).login(resident, remember=True)
    client.delete_cookie("session")  # the browser was closed
    clock.advance(days=3)
    assert signed_in(client)


def test_idle_times_follow_the_profile_and_the_settings(monkeypatch):
    default = config_module.TestingConfig()
    assert (timedelta(minutes=30), timedelta(days=14)) == (default.STAFF_IDLE_TIMEOUT, default.RESIDENT_IDLE_TIMEOUT)
    assert default.REMEMBER_COOKIE_DURATION == default.PERMANENT_SESSION_LIFETIME == timedelta(days=14)
    monkeypatch.setenv("PASSWORD_POLICY", "dengbao")
    assert timedelta(minutes=15) == config_module.TestingConfig().STAFF_IDLE_TIMEOUT
    monkeypatch.setenv("STAFF_IDLE_MINUTES", "10")
    monkeypatch.setenv("RESIDENT_IDLE_DAYS", "7")
    settings = config_module.TestingConfig()
    assert (timedelta(minutes=10), timedelta(days=7)) == (settings.STAFF_IDLE_TIMEOUT, settings.RESIDENT_IDLE_TIMEOUT)
    monkeypatch.setenv("PASSWORD_POLICY", "strict")
    with pytest.raises(RuntimeError, match="PASSWORD_POLICY"):
        config_module.TestingConfig()


def test_leaving_starts_a_fresh_session_too(client, resident, csrf):
    client.post(
        "/login",
        data={
            "phone": resident.phone,
            "password": "Passw0rd1",
            "csrf_token": csrf_token(client.get("/login").get_data(as_text=True)),
        },
    )
    signed_in_token = csrf_token(client.get("/me/leave").get_data(as_text=True))

    left = client.post(
        "/me/leave",
        data={"password": "Passw0rd1", "confirm": "y", "csrf_token": signed_in_token},
        follow_redirects=True,
    )

    assert "您的账号已注销" in left.get_data(as_text=True)
    assert (
        client.post(
            "/login", data={"phone": "13999999999", "password": "Passw0rd1", "csrf_token": signed_in_token}
        ).status_code
        == 400
    )
