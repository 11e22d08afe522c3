"""Flask's signed-cookie sessions, with the check of each cookie kept per process.

Checking a session cookie (HMAC signature, zlib, tagged JSON) costs about 0.1 ms, a tenth of a
page served from the page cache, and every page of a signed-in user does it with the same cookie
until the session changes. The same cookie string signed by the same keys always decodes to the
same data, so the result is kept, keyed by both; only its age is checked again (a cookie older than
PERMANENT_SESSION_LIFETIME is refused as before), and each request gets a copy of its own to change.
"""
from __future__ import annotations

import copy
from datetime import datetime, timezone

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

from .fragments import FragmentCache

_checked = FragmentCache(4096)


class KeptSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie or not app.secret_key:
            return super().open_session(app, request)
        max_age = app.permanent_session_lifetime
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()), cookie)
        kept = _checked.peek(key)
        if kept is None:
            try:
                data, signed_at = self.get_signing_serializer(app).loads(
                    cookie, max_age=int(max_age.total_seconds()), return_timestamp=True)
            except BadSignature:
                return self.session_class()
            kept = (data, signed_at)
            _checked.put(key, kept)
        data, signed_at = kept
        if datetime.now(timezone.utc) - signed_at > max_age:
            return self.session_class()
        return self.session_class(copy.deepcopy(data))
