"""The hot pages read posts through their indexes, never a full scan of the posts table; search walks
its index newest first without sorting the matches; the ceiling route used by `make bench` touches
no database."""

import pytest
import sqlalchemy as sa
from board_helpers import signed_in
from grids_helpers import add_household, make_grid

import config as config_module
from community_board import create_app
from community_board.board import services as board
from community_board.board.queries import section_by_key
from community_board.extensions import db

FULL_SCAN = {"sqlite": "SCAN posts", "postgresql": "Seq Scan on posts"}


@pytest.fixture
def busy_board(world, resident):
    matters = section_by_key("matters")
    posts = [
        board.create_post(resident, world.compound_a, matters, board.PostDraft(title=f"电梯{i}", body="电梯停了"))
        for i in range(30)
    ]
    for i in range(5):
        board.add_reply(resident, posts[0], f"回复{i}")
    db.session.commit()
    return posts


def statements_of(client, path, table="posts"):
    seen = []

    def listener(_conn, _cursor, statement, parameters, _context, _many):
        if table in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    return seen


def plan_of(statement, parameters) -> str:
    dialect = db.engine.dialect.name
    with db.engine.connect() as connection:
        if dialect == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            return "\n".join(str(row[-1]) for row in rows)
        # Tiny test tables make a sequential scan cheapest; forbid it to see whether an index serves.
        connection.exec_driver_sql("SET enable_seqscan = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
        return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize("path", ["feed", "section", "post", "search"])
def test_hot_pages_read_posts_through_an_index(world, resident, busy_board, path):
    url = {
        "feed": f"/c/{world.compound_a.id}",
        "section": f"/c/{world.compound_a.id}/s/matters",
        "post": f"/p/{busy_board[0].id}",
        "search": "/search?q=电梯",
    }[path]
    statements = statements_of(signed_in(resident), url)
    assert statements
    for statement, parameters in statements:
        plan = plan_of(statement, parameters)
        assert FULL_SCAN[db.engine.dialect.name] not in plan.replace("SCAN posts USING", "INDEX posts USING"), (
            f"{path}: full scan of posts in\n{statement}\n{plan}"
        )


@pytest.mark.parametrize("path", ["word", "one character", "next page", "open cases", "similar"])
def test_search_walks_its_index_newest_first_without_sorting(world, resident, busy_board, path):
    """On SQLite the FTS5 table drives the query and hands over its rows newest first, so a common
    word costs one page of the index, not a sort of every match; on PostgreSQL the documents are
    read through an index."""
    url = {
        "word": "/search?q=电梯",
        "one character": "/search?q=梯",
        "next page": f"/search?q=电梯&after={2**31 - 1}",
        "open cases": "/search?q=电梯&open=1",
        "similar": f"/c/{world.compound_a.id}/similar?title=电梯坏了",
    }[path]
    statements = statements_of(signed_in(resident), url, table="search_documents")
    assert statements
    for statement, parameters in statements:
        plan = plan_of(statement, parameters)
        if db.engine.dialect.name == "sqlite":
            assert "SCAN search_index VIRTUAL TABLE" in plan, f"{path}:\n{statement}\n{plan}"
            assert "TEMP B-TREE FOR ORDER BY" not in plan, f"{path}:\n{statement}\n{plan}"
        else:
            assert "Seq Scan on search_documents" not in plan, f"{path}:\n{statement}\n{plan}"


@pytest.mark.parametrize("level", ["district", "street"])
def test_the_grid_levels_count_households_off_indexes_alone(world, secretary, admin, level):
    """A district's ~80,000 households are counted by compound on an index of households and one of
    files (by compound and care flag), never visiting a row: no file is looked up household by
    household (on SQLite, its plan names a covering index; PostgreSQL's plan of tiny tables is moot)."""
    grid = make_grid(secretary, world.compound_a)
    add_household(secretary, grid, "3", "101")
    url = f"/grids/district/{world.district.id}" if level == "district" else f"/grids/street/{world.street_a.id}"
    statements = statements_of(signed_in(admin), url, table="household")
    assert statements
    for statement, parameters in statements:
        plan = plan_of(statement, parameters)
        if db.engine.dialect.name == "sqlite":
            touched = [line for line in plan.splitlines() if "household" in line]
            assert all("COVERING INDEX" in line for line in touched), f"{level}:\n{statement}\n{plan}"
        else:
            assert "Seq Scan on household" not in plan, f"{level}:\n{statement}\n{plan}"


def test_the_bench_ceiling_renders_twenty_cards_without_the_database(app):
    settings = config_module.TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
    settings.SQLALCHEMY_ENGINE_OPTIONS = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    bench_app = create_app(settings, BENCH_CEILING=True)
    queries = []
    with bench_app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *args: queries.append(args[2]))
        response = bench_app.test_client().get("/_bench/ceiling")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="post-card"') == 20
    assert queries == []


def test_the_ceiling_route_does_not_exist_outside_the_bench(client):
    assert client.get("/_bench/ceiling").status_code == 404
