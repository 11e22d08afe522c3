"""Flask extensions, created unbound and initialised in create_app()."""
from __future__ import annotations

import contextvars
import re
import time
from contextlib import contextmanager
from functools import wraps

from flask import g, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
MAX_ID = 2 ** 31 - 1  # ids are INTEGER columns: PostgreSQL refuses a larger number, SQLite one past 2**63
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)


@limiter.request_filter
def _only_reading() -> bool:
    """Limits guard what is posted (logins, registrations); a page view skips their bookkeeping."""
    return request.method in ("GET", "HEAD")

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_writing_outside_request = contextvars.ContextVar("writing_outside_request", default=False)


@contextmanager
def write_transactions():
    """Outside a request (CLI jobs), make SQLite transactions take the write lock up front."""
    token = _writing_outside_request.set(True)
    try:
        yield
    finally:
        _writing_outside_request.reset(token)


def writes_on_get(view):
    """For the rare GET view that writes (e.g. marking a message read): its transaction begins up
    front, as a POST's does (on SQLite taking the write lock), instead of reading outside one.
    Put it above @login_required, which runs the first query."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.request_writes = True
        return view(*args, **kwargs)

    return wrapper


def release_write_lock() -> None:
    """End the current transaction before slow work (password hashing, image processing), so
    SQLite's write lock is not held meanwhile; loaded objects reload on their next use."""
    db.session.commit()


def _wants_write_lock() -> bool:
    if has_request_context():
        return request.method in _WRITE_METHODS or g.get("request_writes", False)
    return _writing_outside_request.get()


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout and foreign keys on every connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


# A pooled PostgreSQL connection idle for longer than this is pinged before use; busy ones are not.
IDLE_PING_SECONDS = 10.0


def configure_postgresql(engine: Engine) -> None:
    """Ping a checked-out connection only after it sat idle (a restarted server dropped it), not
    before every request as pool_pre_ping would: most page views are a single query. The price: a
    server restart in the middle of steady traffic fails the one request per worker that meets the
    dropped connection (the pool then replaces them all); after any quiet spell nothing fails."""

    @event.listens_for(engine, "checkin")
    def _note_idle(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_after_idle(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as error:  # the server restarted or dropped us: the pool connects anew
            raise DisconnectionError() from error


_READING = "reading_outside_transaction"  # in the pooled connection's info
_LOCKING = re.compile(r"\bFOR\s+(NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b", re.IGNORECASE)
_DATA_CHANGE = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


def _plain_read(statement: str) -> bool:
    """A statement that needs no transaction: a query that neither locks nor changes data (a
    write, a savepoint or SET LOCAL needs one)."""
    head = statement.lstrip("( \t\r\n")[:6].upper()
    if head == "SELECT":
        return not _LOCKING.search(statement)
    if head.startswith("WITH"):
        return not (_LOCKING.search(statement) or _DATA_CHANGE.search(statement))
    return False


def configure_transactions(engine: Engine) -> None:
    """A request that only reads runs outside a transaction; one that writes takes it up front.

    Reads: every statement of a page view sees the last commit, as each statement already did on
    PostgreSQL (READ COMMITTED); a SQLite page no longer reads all its queries from one snapshot,
    which no page needs. In return a view saves BEGIN and ROLLBACK (two round trips on PostgreSQL),
    and most views are a single query.

    Writes (any POST, a GET marked ``writes_on_get``, CLI jobs in ``write_transactions``) begin at
    once, on SQLite with BEGIN IMMEDIATE: a deferred transaction that reads and then writes fails
    at once with SQLITE_BUSY_SNAPSHOT when another writer got in first, while taking the write lock
    up front makes it wait instead. A write nobody announced opens its transaction just before it
    executes, so writes are never committed statement by statement; but what the view read before
    it may be older than the write, so a GET that reads, decides and writes must be marked.
    """
    sqlite = engine.dialect.name == "sqlite"

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            connection.info[_READING] = False  # asked for (VACUUM): the driver already commits each
            return
        writing = _wants_write_lock()
        reading = connection.info[_READING] = has_request_context() and not writing
        if sqlite:
            if not reading:
                connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")
        else:
            # Between transactions the driver is idle, so autocommit can be switched here.
            connection.connection.dbapi_connection.autocommit = reading

    @event.listens_for(engine, "before_cursor_execute")
    def _transaction_for_writes(connection, cursor, statement, _parameters, _context, _executemany):
        if connection.info.get(_READING) and not _plain_read(statement):
            connection.info[_READING] = False
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            else:
                connection.connection.dbapi_connection.autocommit = False
