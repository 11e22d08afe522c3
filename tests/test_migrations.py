"""The Alembic migrations build exactly the schema the models describe.

Always on a fresh SQLite file; also on a fresh PostgreSQL schema when TEST_DATABASE_URL is set.
"""
import os
import secrets

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata

from community_board.search.models import outside_the_models
from alembic.migration import MigrationContext

import config as config_module
from community_board import create_app
from community_board.extensions import db

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
