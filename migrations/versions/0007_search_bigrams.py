"""search bigrams: every search document's words rewritten as Chinese character pairs

Pairs (and run-final characters, and whole runs of letters or digits) instead of jieba's words, so
a search finds every post that contains the query, however a dictionary would have cut it. The
scope words (c<compound id> s<street id>) stay in front. The full-text index is built once at the
end, in the same transaction: SQLite's FTS5 table rebuilt (its update trigger set aside meanwhile),
PostgreSQL's GIN index dropped and created again (search_documents is locked until the commit).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 09:12:40.118204

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BATCH = 5000


# Exactly as 0005 creates them.
GIN_INDEX = "CREATE INDEX ix_search_documents_words ON search_documents USING gin (to_tsvector('simple', words))"
UPDATE_TRIGGER = (
    "CREATE TRIGGER search_documents_au AFTER UPDATE OF words ON search_documents BEGIN "
    "INSERT INTO search_index(search_index, rowid, words) VALUES ('delete', old.id, old.words); "
    "INSERT INTO search_index(rowid, words) VALUES (new.id, new.words); END"
)


def upgrade():
    from community_board.search.segment import index_words

    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    # Building the index once at the end is far quicker than updating it row by row.
    if sqlite:
        op.execute("DROP TRIGGER search_documents_au")
    else:
        op.execute("DROP INDEX ix_search_documents_words")
    documents = sa.table("search_documents", sa.column("id", sa.Integer), sa.column("compound_id", sa.Integer),
                         sa.column("street_id", sa.Integer), sa.column("text", sa.Text), sa.column("words", sa.Text))
    rewrite = documents.update().where(documents.c.id == sa.bindparam("_id")).values(words=sa.bindparam("_words"))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(documents.c.id, documents.c.compound_id, documents.c.street_id, documents.c.text)
            .where(documents.c.id > last_id).order_by(documents.c.id).limit(BATCH)).all()
        if not rows:
            break
        connection.execute(rewrite, [
            {"_id": row.id, "_words": " ".join([f"c{row.compound_id}", f"s{row.street_id}", *index_words(row.text)])}
            for row in rows])
        last_id = rows[-1].id
    if sqlite:
        op.execute(UPDATE_TRIGGER)
        op.execute("INSERT INTO search_index(search_index) VALUES ('rebuild')")
    else:
        op.execute(GIN_INDEX)


def downgrade():
    # Nothing to undo in the schema; the words stay pairs (this code cannot make jieba's words).
    # After going back to the code of 0006, run its `flask search reindex` to index jieba's words.
    pass
