"""Keep the search index in step with posts and replies, in the same transaction as the write.

An after_flush hook reindexes every post or reply the flush inserted or changed, so no service has
to remember to; a post's visibility (hidden, deleted, private) is copied onto its replies' documents.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..board import visibility
from ..board.models import Post, Reply
from .models import SearchDocument
from .segment import index_words, normalize

_POST_FIELDS = ("title", "body", "hidden_at", "deleted_at", "is_private", "section_id", "shared_with_street")
_REPLY_FIELDS = ("body", "hidden_at", "deleted_at")


def document_words(compound_id: int, street_id: int, words) -> str:
    """What the full-text index holds for a document: its scope (c<compound>, s<street>, so one
    index lookup filters by scope too), then the words of its text (``segment.index_words``)."""
    return " ".join((f"c{compound_id}", f"s{street_id}", *words))


def _document(key, post: Post, text: str, *, reply: Reply | None = None) -> dict:
    visible = visibility.in_circulation(post) and (reply is None or visibility.in_circulation(reply))
    return {
        "key": key,
        "post_id": post.id,
        "reply_id": reply.id if reply else None,
        "district_id": post.district_id,
        "street_id": post.street_id,
        "compound_id": post.compound_id,
        "section_id": post.section_id,
        "author_id": (reply or post).author_id,
        "private_to": visibility.private_to(post),
        "visible": visible,
        "created_at": (reply or post).created_at,
        "text": normalize(text),
        "words": document_words(post.compound_id, post.street_id, index_words(text)),
    }


def _changed(obj, fields) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in fields)


def document_of_post(post: Post) -> dict:
    return _document(f"p{post.id}", post, f"{post.title}\n{post.body}")


def document_of_reply(reply: Reply) -> dict:
    return _document(f"r{reply.id}", reply.post, reply.body, reply=reply)


def write(connection, rows: list[dict]) -> None:
    """Insert new documents; rewrite existing ones in place, so a document keeps its id (search lists
    by id, newest first: an edited post keeps its place). SQLite's FTS5 triggers follow the words."""
    if not rows:
        return
    table = SearchDocument.__table__
    keys = [r["key"] for r in rows]
    ids = dict(connection.execute(sa.select(table.c.key, table.c.id).where(table.c.key.in_(keys))).all())
    changed = [{**r, "_id": ids[r["key"]]} for r in rows if r["key"] in ids]
    if changed:
        connection.execute(table.update().where(table.c.id == sa.bindparam("_id")), changed)
    new = sorted((r for r in rows if r["key"] not in ids), key=lambda r: r["created_at"])  # write order
    if new:
        connection.execute(table.insert(), new)


@event.listens_for(Session, "after_flush")
def _reindex(session: Session, _context) -> None:
    rows, posts_changed = [], []
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Post) and (obj in session.new or _changed(obj, _POST_FIELDS)):
            rows.append(document_of_post(obj))
            if obj not in session.new:
                posts_changed.append(obj)
        elif isinstance(obj, Reply) and (obj in session.new or _changed(obj, _REPLY_FIELDS)):
            rows.append(_document(f"r{obj.id}", session.get(Post, obj.post_id), obj.body, reply=obj))
    if not rows:
        return
    connection = session.connection()
    write(connection, rows)
    table = SearchDocument.__table__
    for post in posts_changed:  # replies follow their post's visibility and privacy
        reply_visible = sa.exists().where(Reply.id == table.c.reply_id, visibility.in_circulation_sql(Reply))
        connection.execute(
            table.update()
            .where(table.c.post_id == post.id, table.c.reply_id.is_not(None))
            .values(
                private_to=visibility.private_to(post),
                visible=reply_visible if visibility.in_circulation(post) else sa.false(),
            )
        )
