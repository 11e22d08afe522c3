"""Flask extensions, created unbound and initialised in create_app(); the database connections' settings
and the declared transactions of requests."""

from __future__ import annotations

import contextvars
import enum
import time
from contextlib import contextmanager

from flask import current_app, has_request_context, request
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
from sqlalchemy.sql.expression import SelectBase

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
MAX_ID = 2**31 - 1  # ids are INTEGER columns: PostgreSQL refuses a larger number, SQLite one past 2**63
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)


@limiter.request_filter
def _only_reading() -> bool:
    """Limits guard what is posted (logins, registrations); a page view skips their bookkeeping."""
    return request.method in ("GET", "HEAD")


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


# Transactions ----------------------------------------------------------------------------------
#
# Whether a request writes is declared, never guessed from the SQL it runs: a POST (PUT, PATCH,
# DELETE) writes; a GET reads, unless its view is declared with @writes_on_get. The declaration is
# read from the registered view when the request's first statement begins its transaction, so the
# order of a view's decorators does not matter. configure_transactions says what each means.

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Plan(enum.Enum):
    """What a view declares about its transaction, kept as an attribute of the view function."""

    WRITES_ON_GET = "writes on get"
    WRITES_AFTER_SLOW_WORK = "writes after slow work"


class Mode(enum.Enum):
    """How a connection's transaction began (kept in its ``info``)."""

    READ = "read"  # no transaction: each statement sees the last commit; writes are refused
    WRITE = "write"  # a transaction from the first statement; on SQLite BEGIN IMMEDIATE
    PLAIN = "plain"  # outside requests (a test's set-up, a reading job): an ordinary transaction


class UndeclaredWrite(RuntimeError):
    """A request declared read-only tried to write: declare the view, never let it autocommit."""


_PLAN = "transaction_plan"  # the view function's attribute
_MODE = "transaction_mode"  # in the pooled connection's info
_WRITE_BEGUN = "community_board.write_begun"  # in the request's environ: g outlives a request in tests
_writing_outside_request = contextvars.ContextVar("writing_outside_request", default=False)


def writes_on_get(view):
    """This view writes on GET too (e.g. marking a message read): its transaction begins at its
    first statement, as a POST's does. Above or below @login_required alike."""
    setattr(view, _PLAN, Plan.WRITES_ON_GET)  # functools.wraps copies it onto decorators above
    return view


def writes_after_slow_work(view):
    """This view does slow work (password hashing, image processing) between what it reads and what
    it writes. Its reads run outside a transaction, as a page view's; its write transaction begins
    in web.commit_work, so SQLite's write lock is never held during the slow work. Whatever it
    loaded is loaded again inside the write transaction."""
    setattr(view, _PLAN, Plan.WRITES_AFTER_SLOW_WORK)
    return view


@contextmanager
def write_transactions():
    """Outside a request (CLI jobs): declare that the transactions write, so on SQLite they take
    the write lock up front."""
    token = _writing_outside_request.set(True)
    try:
        yield
    finally:
        _writing_outside_request.reset(token)


def _declared_plan() -> Plan | None:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    while view is not None:
        plan = getattr(view, _PLAN, None)
        if plan is not None:
            return plan
        view = getattr(view, "__wrapped__", None)  # a decorator that did not copy the attribute
    return None


def request_writes() -> bool:
    """Whether the current request is declared to write (by its method or its view)."""
    return request.method not in SAFE_METHODS or _declared_plan() is Plan.WRITES_ON_GET


def _mode_now() -> Mode:
    if not has_request_context():
        return Mode.WRITE if _writing_outside_request.get() else Mode.PLAIN
    if request.environ.get(_WRITE_BEGUN):
        return Mode.WRITE
    plan = _declared_plan()
    if plan is Plan.WRITES_ON_GET:
        return Mode.WRITE
    if request.method in SAFE_METHODS or plan is Plan.WRITES_AFTER_SLOW_WORK:
        return Mode.READ
    return Mode.WRITE


def reading_outside_transaction() -> bool:
    """Whether the session's transaction is a read-only request's (no database transaction)."""
    session = db.session()
    return session.in_transaction() and session.connection().info.get(_MODE) is Mode.READ


def begin_writing() -> None:
    """Called by web.commit_work before a request's writes. Refuses a request not declared to write;
    in a view declared writes_after_slow_work, ends the read phase (which could write nothing), so
    the next statement begins the write transaction and what the view loaded reloads inside it."""
    if not has_request_context() or request.environ.get(_WRITE_BEGUN):
        return
    if not request_writes():
        raise UndeclaredWrite(
            f"{request.method} {request.endpoint} commits but is read-only: declare the view @writes_on_get"
        )
    if reading_outside_transaction():
        if db.session.new or db.session.dirty or db.session.deleted:
            raise UndeclaredWrite(
                f"{request.endpoint} changed objects before its write transaction "
                "began: change them in the work web.commit_work runs"
            )
        db.session.rollback()  # no database transaction under it: nothing is lost
    request.environ[_WRITE_BEGUN] = True


def _plain_select(statement) -> bool:
    """A statement a read-only request may run: a SELECT that takes no lock (a write, a locking read
    or a SET LOCAL needs a transaction). Decided from the statement's construct, not its text."""
    return isinstance(statement, SelectBase) and getattr(statement, "_for_update_arg", None) is None


def configure_transactions(engine: Engine) -> None:
    """A request declared read-only runs outside a transaction; one that writes takes it up front.

    Reads: every statement of a page view sees the last commit, as each statement already does on
    PostgreSQL (READ COMMITTED); a SQLite page does not read all its queries from one snapshot,
    which no page needs. In return a view saves BEGIN and ROLLBACK (two round trips on PostgreSQL),
    and most views are a single query. A write, a locking read or a SET in such a request raises
    UndeclaredWrite instead of committing statement by statement.

    Writes (any POST, a GET declared @writes_on_get, CLI jobs in ``write_transactions``, and a view
    declared @writes_after_slow_work from web.commit_work on) begin at once, on SQLite with BEGIN
    IMMEDIATE: a deferred transaction that reads and then writes fails at once with
    SQLITE_BUSY_SNAPSHOT when another writer got in first, while taking the write lock up front
    makes it wait instead.
    """
    sqlite = engine.dialect.name == "sqlite"

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            connection.info[_MODE] = Mode.PLAIN  # asked for (VACUUM): the driver already commits each
            return
        mode = connection.info[_MODE] = _mode_now()
        if sqlite:
            if mode is not Mode.READ:
                connection.exec_driver_sql("BEGIN IMMEDIATE" if mode is Mode.WRITE else "BEGIN")
        else:
            # Between transactions the driver is idle, so autocommit can be switched here.
            connection.connection.dbapi_connection.autocommit = mode is Mode.READ

    @event.listens_for(engine, "before_execute")
    def _refuse_writes_while_reading(connection, statement, _multiparams, _params, _options):
        if connection.info.get(_MODE) is Mode.READ and not _plain_select(statement):
            where = f"{request.method} {request.endpoint}" if has_request_context() else "a read-only session"
            raise UndeclaredWrite(
                f"{where} is read-only but ran {type(statement).__name__} "
                f"{getattr(getattr(statement, 'table', None), 'name', '')}: declare "
                "a GET that writes @writes_on_get; write in the work web.commit_work runs"
            )
