"""The search index: one document per post and per reply, with its words (``segment.index_words``:
pairs of Chinese characters, other words whole). Ids follow the order documents were first written
in (an edit keeps the id), which is the order search lists them in.

SQLite matches words with an FTS5 table (unicode61 over space-separated words), PostgreSQL with a
GIN index on to_tsvector('simple', words); both are created by the migration. The scope is part of
the document (c<compound id>, s<street id>) so one index lookup filters both.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class SearchDocument(db.Model):
    __tablename__ = "search_documents"
    # A scope's newest documents in order (services.search reads them first on PostgreSQL).
    __table_args__ = tuple(
        sa.Index(f"ix_search_documents_{scope}_newest", f"{scope}_id", "id")
        for scope in ("compound", "street", "district")
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(24), unique=True)  # p<post id> / r<reply id>
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id"), index=True)
    reply_id: Mapped[int | None] = mapped_column(sa.ForeignKey("replies.id"))
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"))
    street_id: Mapped[int] = mapped_column(sa.ForeignKey("streets.id"))
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    section_id: Mapped[int] = mapped_column(sa.ForeignKey("sections.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    private_to: Mapped[int | None]  # the author of a private post: only they and its section's readers see it
    visible: Mapped[bool] = mapped_column(default=True)  # false once hidden or deleted
    created_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(sa.Text)  # normalised title + body, for the exact substring check
    words: Mapped[str] = mapped_column(sa.Text)


def outside_the_models(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic include_object: the FTS5 table (and its shadow tables) and the GIN expression index
    are made by the migration in SQL; autogenerate must not try to drop them."""
    if type_ == "table" and name and name.startswith("search_index"):
        return False
    return not (type_ == "index" and name == "ix_search_documents_words")
