"""Small helpers views share: run a service verb in one transaction (the one place a request's
writes commit or roll back) and tell the user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.routing import BaseConverter, IntegerConverter

from .errors import ValidationError, attach_to_form
from .extensions import MAX_ID, begin_writing, db

# Rows with a version column (cases) refuse an update based on what another user already changed.
STALE_MESSAGE = "该工单已被他人更新，请刷新"


# PostgreSQL aborts a transaction to break a deadlock (40P01) or a serialization conflict (40001);
# run again, it goes through. SQLite's "database is locked" already waited its busy timeout.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def _aborted_by_database(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in _RETRY_SQLSTATES


def commit_work(work: Callable[[], Any]) -> Any:
    """The one place a request's writes commit: run ``work`` in the request's write transaction
    (begun here for a view declared @writes_after_slow_work) and commit it, or roll it all back
    if anything fails. Once more if the database aborted it for a conflict with another writer:
    ``work`` must be safe to run again (objects it uses reload after the rollback)."""
    begin_writing()
    try:
        return _commit(work)
    except DBAPIError as error:
        if not _aborted_by_database(error):
            raise
        current_app.logger.warning("transaction retried after %s", type(error.orig).__name__)
        return _commit(work)


def _commit(work: Callable[[], Any]) -> Any:
    try:
        result = work()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def _attempt(work: Callable[[], Any], on_error: Callable[[ValidationError], None]) -> tuple[bool, Any]:
    """One transaction: commit what ``work`` did, or (rolled back) say why not."""
    try:
        result = commit_work(work)
    except ValidationError as error:
        on_error(error)
        return False, None
    except StaleDataError:
        on_error(ValidationError(STALE_MESSAGE))
        return False, None
    return True, result


def perform(verb: Callable, *args, success: str) -> bool:
    """A button's verb: commit and flash ``success``, or roll back and flash the verb's error."""
    ok, _ = _attempt(lambda: verb(*args), lambda error: flash(error.message, "warn"))
    if ok:
        flash(success, "success")
    return ok


def save(form, work: Callable[[], Any], success: str | None = None) -> tuple[bool, Any]:
    """A form's work: commit and flash ``success``, or roll back and show the error on the form."""
    ok, result = _attempt(work, lambda error: attach_to_form(form, error))
    if ok and success:
        flash(success, "success")
    return ok, result


def safe_redirect_target(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects: //evil, /\\evil, /%09/evil)."""
    if not target or any(ord(ch) <= 0x20 or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def flash_form_errors(form) -> None:
    """For forms posted from another page (a button row): say what was wrong there."""
    for messages in form.errors.values():
        for message in messages:
            flash(message, "warn")


def int_or_none(raw) -> int | None:
    """An id from a form or query string, or None when missing, not a number (only ASCII digits:
    "²" is a digit to Python, not to int()) or beyond any id."""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 10 and int(raw) <= MAX_ID:
        return int(raw)
    return None


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route (create_app registers it in Flask's place): ASCII digits up to
    MAX_ID, so a long number is a 404 before any view or query sees it."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int = MAX_ID, signed: bool = False):
        super().__init__(map, fixed_digits, min, max, signed)


class TokenConverter(BaseConverter):
    """A plain ``<name>`` (a section key, a join token): what our keys and tokens are made of, so a NUL
    byte or a page of text is a 404 and never reaches the database."""

    regex = r"[A-Za-z0-9_-]{1,64}"


URL_CONVERTERS = {"int": IdConverter, "default": TokenConverter, "string": TokenConverter}
