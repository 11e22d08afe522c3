"""Sign-in sessions: a fresh session at each sign-in and sign-out, and an end after idle time.

Staff sessions end after STAFF_IDLE_TIMEOUT without a request, residents' after
RESIDENT_IDLE_TIMEOUT. The time of the last request is kept in the (signed) session cookie and
written back at most once a minute, so a page view rarely rewrites the cookie (session_cookies.py
keeps the check of an unchanged cookie). A resident's remember-me cookie is renewed at the same
moments; staff get none, or closing the browser would not end their session.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_login.config import COOKIE_NAME

from ..permissions import is_staff
from ..timeutil import utcnow
from .services import password_expired

SEEN = "seen"  # epoch seconds of the last request that wrote it
SEEN_RESOLUTION = timedelta(minutes=1)


def _now() -> int:
    return int(utcnow().timestamp())


def idle_timeout(user) -> timedelta:
    return current_app.config["STAFF_IDLE_TIMEOUT" if is_staff(user) else "RESIDENT_IDLE_TIMEOUT"]


def _fresh_session() -> None:
    """Drop everything the old session held, the CSRF token included: a token seen before sign-in
    (or before sign-out) must not work after it."""
    session.clear()
    g.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)


def start(user, remember: bool) -> None:
    _fresh_session()
    login_user(user, remember=remember and not is_staff(user))
    session[SEEN] = _now()


def end() -> None:
    _fresh_session()
    logout_user()  # after the clear: it also asks for the remember-me cookie to be deleted


def still_active(user) -> bool:
    """Called for every request's signed-in user; False ends the session (and remember-me)."""
    now, seen = _now(), session.get(SEEN)
    if seen is None:
        # No sign-in on this session: the user comes back through a remember-me cookie (or a
        # session from before idle times existed). Staff sign in again.
        if is_staff(user):
            return _expire()
    elif now - seen > idle_timeout(user).total_seconds():
        return _expire()
    elif now - seen < SEEN_RESOLUTION.total_seconds():
        return True
    session[SEEN] = now
    if current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) in request.cookies and not is_staff(user):
        session["_remember"] = "set"  # Flask-Login renews the cookie for another full duration
    return True


def _expire() -> bool:
    session.clear()
    session["_remember"] = "clear"  # and Flask-Login does not sign them in again from that cookie
    return False


# Pages a user whose password expired may still open: the change itself, leaving, and the assets.
_WHILE_EXPIRED = frozenset({"accounts.change_password", "accounts.logout", "static"})


def require_password_change():
    """Under the 等保 profile a password older than PASSWORD_MAX_AGE_DAYS is changed before anything
    else: every other page sends the signed-in user to the change form."""
    max_age = current_app.config["PASSWORD_MAX_AGE_DAYS"]
    if not max_age or request.endpoint in _WHILE_EXPIRED or not current_user.is_authenticated:
        return None
    if not password_expired(current_user.password_changed_at, max_age):
        return None
    return to_password_change()


def to_password_change():
    max_age = current_app.config["PASSWORD_MAX_AGE_DAYS"]
    flash(f"您的密码已使用超过{max_age}天，按本区安全要求请先修改密码", "warn")
    return redirect(url_for("accounts.change_password"))
