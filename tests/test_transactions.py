"""Database transactions, declared per request and never guessed from SQL: a page view reads
outside a transaction (no BEGIN and ROLLBACK to pay on every view) and refuses to write; a POST, a
GET declared @writes_on_get and a CLI job in write_transactions take their transaction up front
(SQLite: BEGIN IMMEDIATE) and commit or roll back whole in web.commit_work; a view declared
@writes_after_slow_work hashes passwords and processes images holding no transaction at all. On
PostgreSQL a pooled connection that sat idle is checked before use, so a dropped connection costs
no failed page."""

import sqlite3

import pytest
import sqlalchemy as sa
from board_helpers import image_bytes, make_post, neighbour, signed_in, upload
from conftest import PASSWORD
from flask import current_app
from flask_login import current_user, login_required

from community_board import extensions
from community_board.accounts import services as account_services
from community_board.board import photos
from community_board.board.models import Post
from community_board.errors import ValidationError
from community_board.extensions import UndeclaredWrite, db, write_transactions, writes_on_get
from community_board.notifications.models import Notification, NotificationKind
from community_board.notifications.services import notify
from community_board.search import services as search_services
from community_board.web import commit_work


def in_database_transaction() -> bool:
    """Whether the session's connection has a transaction open in the database itself."""
    dbapi_connection = db.session.connection().connection.dbapi_connection
    if db.engine.dialect.name == "sqlite":
        return dbapi_connection.in_transaction
    import psycopg

    return dbapi_connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE


def another_writer_can_begin() -> bool:
    """SQLite: whether a second connection could take the write lock right now (nobody holds it)."""
    other = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:  # database is locked
        return False
    finally:
        other.close()


def sqlite_only():
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock (the suite runs again on PostgreSQL in CI)")


@pytest.fixture
def fresh_session():
    """Each request in production starts with a session that has no transaction yet."""
    db.session.commit()
    yield
    db.session.rollback()


def message(user_id: int, text: str) -> None:
    notify(user_id, NotificationKind.REPLY, text)


def messages(text: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.text == text))


def count_posts() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Post))


# Page views read outside a transaction, and cannot write -----------------------------------------


def test_a_page_view_reads_outside_a_transaction(world, resident, fresh_session):
    with current_app.test_request_context("/", method="GET"):
        assert count_posts() == 0
        assert not in_database_transaction()


def test_a_query_with_a_common_table_expression_is_still_a_read(world, resident, fresh_session):
    newest = sa.select(Post.id).order_by(Post.id.desc()).limit(5).cte("newest")
    with current_app.test_request_context("/", method="GET"):
        db.session.execute(sa.select(sa.func.count()).select_from(newest)).scalar()
        assert not in_database_transaction()


@pytest.mark.parametrize(
    "write",
    [
        lambda user: (message(user.id, "悄悄写下"), db.session.flush()),
        lambda user: db.session.execute(sa.update(Notification).values(text="悄悄写下")),
        lambda user: db.session.get(type(user), user.id, with_for_update=True),
        lambda user: db.session.execute(sa.text("SET LOCAL statement_timeout = 1000")),
    ],
    ids=["an ORM flush", "a Core UPDATE", "a locking read", "a SET LOCAL"],
)
def test_a_page_view_that_writes_fails_loudly_and_writes_nothing(world, resident, fresh_session, write):
    """Not a silent statement-by-statement commit: the view must be declared."""
    with current_app.test_request_context("/", method="GET"):
        count_posts()
        with pytest.raises(UndeclaredWrite):
            write(resident)
        db.session.rollback()
    assert messages("悄悄写下") == 0


def test_a_page_view_cannot_commit_work(world, resident, fresh_session):
    with current_app.test_request_context("/", method="GET"), pytest.raises(UndeclaredWrite):
        commit_work(lambda: message(resident.id, "悄悄写下"))
    assert messages("悄悄写下") == 0


# A GET that writes says so, on whichever side of @login_required --------------------------------


def leaving_a_message():
    """A fresh view function that writes a message to whoever opens it."""

    def view():
        commit_work(lambda: message(current_user.id, "打开时写下"))
        return "ok"

    return view


@pytest.mark.parametrize(
    "view, status, written",
    [
        (login_required(leaving_a_message()), 500, 0),
        (writes_on_get(login_required(leaving_a_message())), 200, 1),
        (login_required(writes_on_get(leaving_a_message())), 200, 1),
    ],
    ids=["undeclared", "declared above @login_required", "declared below @login_required"],
)
def test_a_get_that_writes_is_declared_above_or_below_login_required(
    world, resident, monkeypatch, view, status, written
):
    monkeypatch.setitem(current_app.view_functions, "accounts.privacy", view)
    assert signed_in(resident).get("/privacy").status_code == status
    assert messages("打开时写下") == written


def test_a_search_reads_outside_a_transaction_each_planned_for_its_words(world, resident, fresh_session):
    """PostgreSQL may settle on a generic plan for a statement psycopg prepared (after five runs),
    blind to how common the searched words are; a search page must neither be prepared nor need a
    transaction to avoid it (SET LOCAL would)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL plans (the suite runs again on PostgreSQL in CI)")
    make_post(resident, world.compound_a, title="电梯又坏了")
    db.session.commit()
    prepared = sa.select(sa.column("statement")).select_from(sa.table("pg_prepared_statements"))
    with current_app.test_request_context("/search", method="GET"):
        for _ in range(7):
            assert search_services.search(resident, "电梯", world.compound_a)[1].items
            count_posts()  # other statements are still prepared as usual
        assert not in_database_transaction()
        statements = db.session.scalars(prepared).all()
    assert any("FROM posts" in text for text in statements)
    assert not any("search_documents" in text for text in statements)


# Writing requests hold one transaction from the first statement -----------------------------------


def test_a_post_request_holds_its_transaction_from_the_first_read(world, resident, fresh_session):
    with current_app.test_request_context("/", method="POST"):
        count_posts()
        assert in_database_transaction()


@pytest.mark.parametrize("writer", ["POST request", "GET declared @writes_on_get", "CLI job"])
def test_a_writing_transaction_takes_sqlites_write_lock_at_its_first_read(
    world, resident, fresh_session, monkeypatch, writer
):
    """A deferred transaction that reads, then writes after another writer got in, fails at once
    (SQLITE_BUSY_SNAPSHOT); taking the lock up front makes it wait its turn instead."""
    sqlite_only()
    if writer == "CLI job":
        with write_transactions():
            count_posts()
            assert not another_writer_can_begin()
        return
    monkeypatch.setitem(current_app.view_functions, "accounts.privacy", writes_on_get(lambda: None))
    with current_app.test_request_context("/privacy", method="POST" if writer == "POST request" else "GET"):
        count_posts()
        assert not another_writer_can_begin()
    db.session.rollback()
    assert another_writer_can_begin()


def test_a_writing_request_rolls_back_whole_when_its_work_fails(world, resident, fresh_session):
    def half_then_fail():
        message(resident.id, "先写的一半")
        db.session.flush()
        message(resident.id, "后写的一半")
        db.session.flush()
        raise ValidationError("写不下去了")

    with current_app.test_request_context("/", method="POST"), pytest.raises(ValidationError):
        commit_work(half_then_fail)
    assert messages("先写的一半") == 0 and messages("后写的一半") == 0


def test_a_writing_request_commits_whole(world, resident, fresh_session):
    with current_app.test_request_context("/", method="POST"):
        commit_work(lambda: (message(resident.id, "第一半"), message(resident.id, "第二半")))
    assert messages("第一半") == 1 and messages("第二半") == 1


# Slow work holds no transaction --------------------------------------------------------------------


def watching(monkeypatch, module, name: str) -> list[tuple[bool, bool]]:
    """Replace module.name by itself noting, at each call, (transaction open, another writer could begin)."""
    seen, original = [], getattr(module, name)
    sqlite = db.engine.dialect.name == "sqlite"

    def noted(*args, **kwargs):
        seen.append((in_database_transaction(), another_writer_can_begin() if sqlite else True))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, noted)
    return seen


def test_hashing_a_new_password_holds_no_transaction(world, resident, monkeypatch):
    client = signed_in(resident)
    checks = watching(monkeypatch, account_services, "password_matches")
    hashes = watching(monkeypatch, account_services, "hash_password")
    response = client.post("/me/password", data={"current_password": PASSWORD, "new_password": "Newpass99"})
    assert response.status_code == 302
    assert checks == [(False, True)] and hashes == [(False, True)]
    db.session.refresh(resident)
    assert account_services.password_matches(resident.password_hash, "Newpass99")


def test_processing_photos_holds_no_transaction(world, resident, monkeypatch):
    client = signed_in(resident)
    stores = watching(monkeypatch, photos, "store_uploads")
    response = client.post(
        f"/c/{world.compound_a.id}/s/neighbours/new",
        data={"title": "小区的花开了", "body": "拍了几张", "photos": upload(("a.jpg", image_bytes()))},
    )
    assert response.status_code == 302
    assert stores == [(False, True)]
    assert count_posts() == 1


def test_a_change_made_before_a_late_write_transaction_begins_is_refused_not_lost(world, resident, fresh_session):
    """A view declared @writes_after_slow_work reads outside a transaction; what it changes belongs
    in the work web.commit_work runs, where the write transaction begins."""
    with current_app.test_request_context("/me/password", method="POST"):
        count_posts()
        assert not in_database_transaction()
        resident.real_name = "周莉"
        with pytest.raises(UndeclaredWrite):
            commit_work(lambda: None)
        db.session.rollback()


# Connections ---------------------------------------------------------------------------------------


def test_vacuum_runs_in_autocommit_on_a_connection_a_page_view_used_before(world, resident):
    """A maintenance job asks for AUTOCOMMIT (VACUUM cannot run in a transaction); a connection that
    last served a page view must not turn that into a transaction."""
    assert signed_in(resident).get(f"/c/{world.compound_a.id}").status_code == 200
    db.session.remove()
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM")


def test_pages_and_writes_work_one_after_another_on_the_same_connections(world, resident):
    """A connection that served a page view (outside a transaction) goes back to the pool and
    serves a write request, whose transaction commits, and the next page shows what it wrote."""
    post = make_post(neighbour(world, name="吴刚"), world.compound_a, title="楼道灯坏了")
    viewer = signed_in(resident)
    for body in ("第一条", "第二条"):
        assert viewer.get(f"/p/{post.id}").status_code == 200
        assert viewer.post(f"/p/{post.id}/reply", data={"body": body}).status_code == 302
    shown = viewer.get(f"/p/{post.id}").get_data(as_text=True)
    assert "第一条" in shown and "第二条" in shown


def test_a_dropped_postgresql_connection_is_replaced_before_the_page_uses_it(world, resident, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL connections only (the suite runs again on PostgreSQL in CI)")
    viewer = signed_in(resident)
    feed = f"/c/{world.compound_a.id}"
    assert viewer.get(feed).status_code == 200
    # The server drops every pooled connection, as a restart would.
    db.session.remove()
    pooled = [db.engine.raw_connection() for _ in range(db.engine.pool.checkedin())]
    pids = [connection.driver_connection.info.backend_pid for connection in pooled]
    for connection in pooled:
        connection.close()
    admin = sa.create_engine(db.engine.url)
    with admin.begin() as connection:
        for pid in pids:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    monkeypatch.setattr(extensions, "IDLE_PING_SECONDS", 0.0)  # each looks idle long enough to check
    try:
        assert viewer.get(feed).status_code == 200
    finally:
        db.session.remove()
        db.engine.dispose()  # the other dropped connections are not this test's to find
