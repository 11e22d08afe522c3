"""The full-text index beside ``search_documents``, as the migrations create it (0005, 0007):
on SQLite an FTS5 table kept in step by three triggers, on PostgreSQL a GIN index over the words.

A bulk load (``flask seed-district``) drops these for the load and puts them back from here;
tests/test_seed_invariants.py checks that they are what the migrated database holds.
"""

from __future__ import annotations

import sqlalchemy as sa

FTS_TABLE = "search_index"
FTS_TRIGGERS = {
    "search_documents_ai": (
        "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
        "INSERT INTO search_index(rowid, words) VALUES (new.id, new.words); END"
    ),
    "search_documents_ad": (
        "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
        "INSERT INTO search_index(search_index, rowid, words) VALUES ('delete', old.id, old.words); END"
    ),
    "search_documents_au": (
        "CREATE TRIGGER search_documents_au AFTER UPDATE OF words ON search_documents BEGIN "
        "INSERT INTO search_index(search_index, rowid, words) VALUES ('delete', old.id, old.words); "
        "INSERT INTO search_index(rowid, words) VALUES (new.id, new.words); END"
    ),
}
GIN_INDEX_NAME = "ix_search_documents_words"
GIN_INDEX = f"CREATE INDEX {GIN_INDEX_NAME} ON search_documents USING gin (to_tsvector('simple', words))"


def index_documents_after(connection: sa.Connection, last_id: int) -> None:
    """SQLite: put the documents with ids above ``last_id`` into the FTS5 table (what the insert
    trigger would have done row by row)."""
    connection.execute(
        sa.text(f"INSERT INTO {FTS_TABLE}(rowid, words) SELECT id, words FROM search_documents WHERE id > :last"),
        {"last": last_id},
    )


def optimize(connection: sa.Connection) -> None:
    """SQLite: merge the FTS5 segments a bulk insert leaves into one."""
    connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
