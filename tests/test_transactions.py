"""Database transactions: a page view reads outside a transaction (no BEGIN and ROLLBACK to pay on
every view), a request that writes takes its transaction up front, and a write nobody announced
still commits or rolls back as a whole. On PostgreSQL a pooled connection that sat idle is
checked before use, so a dropped connection costs no failed page."""
import pytest
import sqlalchemy as sa
from board_helpers import make_post, neighbour, signed_in
from flask import current_app

from community_board import extensions
from community_board.board.models import Post
from community_board.extensions import db
from community_board.notifications.models import Notification, NotificationKind
from community_board.notifications.services import notify


def in_database_transaction() -> bool:
    """Whether the session's connection has a transaction open in the database itself."""
    dbapi_connection = db.session.connection().connection.dbapi_connection
    if db.engine.dialect.name == "sqlite":
        return dbapi_connection.in_transaction
    import psycopg

    return dbapi_connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE


@pytest.fixture
def fresh_session():
    """Each request in production starts with a session that has no transaction yet."""
    db.session.commit()
    yield
    db.session.rollback()


def message(user, text: str) -> None:
    notify(user.id, NotificationKind.REPLY, text)


def messages(text: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.text == text))


def test_a_page_view_reads_outside_a_transaction(world, resident, fresh_session):
    with current_app.test_request_context("/", method="GET"):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 0
        assert not in_database_transaction()


def test_a_post_request_holds_its_transaction_from_the_first_read(world, resident, fresh_session):
    with current_app.test_request_context("/", method="POST"):
        db.session.scalar(sa.select(sa.func.count()).select_from(Post))
        assert in_database_transaction()


def test_an_unannounced_write_in_a_page_view_rolls_back_whole(world, resident, fresh_session):
    with current_app.test_request_context("/", method="GET"):
        db.session.scalar(sa.select(sa.func.count()).select_from(Post))  # reading, no transaction yet
        message(resident, "先写的一半")
        db.session.flush()
        assert in_database_transaction()
        message(resident, "后写的一半")
        db.session.flush()
        db.session.rollback()
    assert messages("先写的一半") == 0 and messages("后写的一半") == 0


def test_an_unannounced_write_in_a_page_view_commits_whole(world, resident, fresh_session):
    with current_app.test_request_context("/", method="GET"):
        message(resident, "写下的消息")
        db.session.commit()
    assert messages("写下的消息") == 1


def test_a_locking_read_in_a_page_view_holds_its_lock_in_a_transaction(world, resident, fresh_session):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no FOR UPDATE (the suite runs again on PostgreSQL in CI)")
    with current_app.test_request_context("/", method="GET"):
        db.session.execute(sa.text("select id from users\n where id = :id for\n update"), {"id": resident.id})
        assert in_database_transaction()


def test_a_query_with_a_common_table_expression_is_still_a_read(world, resident, fresh_session):
    newest = sa.select(Post.id).order_by(Post.id.desc()).limit(5).cte("newest")
    with current_app.test_request_context("/", method="GET"):
        db.session.execute(sa.select(sa.func.count()).select_from(newest)).scalar()
        assert not in_database_transaction()


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
