"""The Alembic migrations build exactly the schema the models describe.

Always on a fresh SQLite file; also on a fresh PostgreSQL schema when TEST_DATABASE_URL is set.
"""

import os
import secrets
from datetime import datetime, timedelta

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import config as config_module
from community_board import create_app
from community_board.cases.models import DEFAULT_CASE_TYPES
from community_board.extensions import db
from community_board.search.models import outside_the_models

DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=DATABASES)
def fresh_app(request, tmp_path):
    """An app on an empty database that only migrations will fill."""
    settings = config_module.TestingConfig()
    settings.SECRET_KEY = "test-secret"
    schema = None
    if request.param == "sqlite":
        settings.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        schema = f"cb_migrations_{secrets.token_hex(4)}"
        admin_engine = sa.create_engine(settings.SQLALCHEMY_DATABASE_URI)
        with admin_engine.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        settings.SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"options": f"-csearch_path={schema}"}}
    app = create_app(settings)
    yield app
    with app.app_context():
        db.engine.dispose()
    if schema:
        with admin_engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin_engine.dispose()


def table_names() -> set[str]:
    with db.engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def test_upgrade_on_a_fresh_database_matches_the_models(fresh_app):
    with fresh_app.app_context():
        assert table_names() == set()
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": outside_the_models}
            )
            differences = compare_metadata(context, db.metadata)
        tables = table_names()

    assert {t for t in tables if not t.startswith("search_index")} == set(db.metadata.tables) | {"alembic_version"}
    assert differences == []


def test_downgrade_to_base_removes_every_table(fresh_app):
    with fresh_app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        assert table_names() <= {"alembic_version"}


def _insert(bind, table: sa.Table, **values) -> int:
    """A row with ``values``; other required columns get a placeholder of their type."""
    for column in table.columns:
        if column.name in values or column.nullable or column.server_default is not None or column.primary_key:
            continue
        python_type = column.type.python_type
        values[column.name] = {int: 0, bool: False, str: "x", datetime: datetime(2026, 11, 1)}[python_type]
    return bind.execute(table.insert().values(**values)).inserted_primary_key[0]


def _case_types(bind) -> list[tuple]:
    rows = bind.execute(sa.text("SELECT district_id, name, active FROM case_types ORDER BY district_id, sort_order"))
    return [tuple(row) for row in rows]


def test_0011_gives_each_district_its_own_case_types_and_moves_its_cases(fresh_app):
    with fresh_app.app_context():
        flask_migrate.upgrade(revision="0010")
        with db.engine.begin() as bind:
            tables = sa.MetaData()
            tables.reflect(bind)
            t = tables.tables
            bind.execute(t["case_types"].update().where(t["case_types"].c.name == "违章搭建").values(active=False))
            noise = _insert(bind, t["case_types"], name="噪音扰民", sort_order=9, active=True)
            police = bind.execute(sa.text("SELECT id FROM case_types WHERE name = '治安'")).scalar()
            filed = []
            for name, code, case_type in (("宝山区", "BS", police), ("嘉定区", "JD", noise)):
                district = _insert(bind, t["districts"], name=name, code=code)
                street = _insert(bind, t["streets"], district_id=district, name="街道")
                compound = _insert(bind, t["compounds"], district_id=district, street_id=street, name="小区")
                user = _insert(bind, t["users"], phone=f"1390000000{district}", real_name="周丽")
                section = bind.execute(sa.text("SELECT min(id) FROM sections")).scalar()
                post = _insert(
                    bind,
                    t["posts"],
                    district_id=district,
                    street_id=street,
                    compound_id=compound,
                    section_id=section,
                    author_id=user,
                )
                filed.append(
                    (
                        district,
                        _insert(
                            bind,
                            t["cases"],
                            number=f"{code}-1",
                            district_id=district,
                            street_id=street,
                            compound_id=compound,
                            post_id=post,
                            reporter_id=user,
                            case_type_id=case_type,
                        ),
                    )
                )

        flask_migrate.upgrade(revision="0011")
        with db.engine.connect() as bind:
            if bind.dialect.name == "sqlite":  # the migration turned them off for the rebuild
                assert bind.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            rows = _case_types(bind)
            moved = bind.execute(
                sa.text(
                    "SELECT cases.district_id, case_types.district_id, case_types.name FROM cases "
                    "JOIN case_types ON case_types.id = cases.case_type_id ORDER BY cases.id"
                )
            ).all()
        defaults = [(name, name != "违章搭建") for name in DEFAULT_CASE_TYPES] + [("噪音扰民", True)]
        assert rows == [(district, name, active) for district, _ in filed for name, active in defaults]
        assert [tuple(row) for row in moved] == [
            (filed[0][0], filed[0][0], "治安"),
            (filed[1][0], filed[1][0], "噪音扰民"),
        ]

        flask_migrate.downgrade(revision="0010")
        with db.engine.connect() as bind:
            shared = bind.execute(sa.text("SELECT name, active FROM case_types ORDER BY sort_order")).all()
            assert [tuple(row) for row in shared] == defaults
            assert bind.execute(
                sa.text(
                    "SELECT case_types.name FROM cases JOIN case_types "
                    "ON case_types.id = cases.case_type_id ORDER BY cases.id"
                )
            ).scalars().all() == ["治安", "噪音扰民"]


def test_0018_records_the_first_response_of_posts_answered_before(fresh_app):
    with fresh_app.app_context():
        flask_migrate.upgrade(revision="0017")
        with db.engine.begin() as bind:
            tables = sa.MetaData()
            tables.reflect(bind)
            t = tables.tables
            district = _insert(bind, t["districts"], name="宝山区", code="BS")
            street = _insert(bind, t["streets"], district_id=district, name="吴淞街道")
            compound = _insert(bind, t["compounds"], district_id=district, street_id=street, name="吴淞新城")
            resident = _insert(bind, t["users"], phone="13900000001", real_name="周丽")
            secretary = _insert(bind, t["users"], phone="13800000002", real_name="李秀英")
            section = bind.execute(sa.text("SELECT id FROM sections WHERE key = 'matters'")).scalar()
            case_type = _insert(bind, t["case_types"], district_id=district, name="环境卫生", sort_order=1)
            written = datetime(2026, 11, 1, 8, 0)
            place = dict(district_id=district, street_id=street, compound_id=compound, section_id=section)

            def post(author, role):
                return _insert(bind, t["posts"], author_id=author, author_role=role, created_at=written, **place)

            def reply(post_id, author, role, minutes):
                at = written + timedelta(minutes=minutes)
                _insert(
                    bind,
                    t["replies"],
                    post_id=post_id,
                    compound_id=compound,
                    author_id=author,
                    author_role=role,
                    created_at=at,
                )

            replied, filed, unanswered = (post(resident, "resident") for _ in range(3))
            notice = post(secretary, "secretary")
            reply(replied, resident, "resident", 5)
            reply(replied, secretary, "secretary", 95)
            reply(replied, secretary, "secretary", 30 * 60)
            reply(filed, secretary, "secretary", 600)
            _insert(
                bind,
                t["cases"],
                number="BS-1",
                created_at=written + timedelta(minutes=45),
                post_id=filed,
                reporter_id=resident,
                case_type_id=case_type,
                district_id=district,
                street_id=street,
                compound_id=compound,
            )
            reply(unanswered, resident, "resident", 10)
            reply(notice, secretary, "secretary", 10)

        flask_migrate.upgrade(revision="0018")
        with db.engine.connect() as bind:
            rows = dict(
                (row[0], (row[1], row[2]))
                for row in bind.execute(sa.text("SELECT id, first_response_at, first_response_minutes FROM posts"))
            )
            line = bind.execute(sa.text("SELECT name, fields FROM sections WHERE key = 'line'")).one()
        at = {
            post_id: (moment if moment is None or isinstance(moment, datetime) else datetime.fromisoformat(moment), m)
            for post_id, (moment, m) in rows.items()
        }
        assert at[replied] == (written + timedelta(minutes=95), 95)  # the first staff reply
        assert at[filed] == (written + timedelta(minutes=45), 45)  # the case, filed before the reply
        assert at[unanswered] == (None, None) and at[notice] == (None, None)
        assert tuple(line) == ("私信居委会", "private_line")

        flask_migrate.downgrade(revision="0017")
        with db.engine.connect() as bind:
            assert bind.execute(sa.text("SELECT count(*) FROM sections WHERE key = 'line'")).scalar() == 0
