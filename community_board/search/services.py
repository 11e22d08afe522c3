"""搜索: words from the index, then an exact substring check; only what the viewer may see."""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload

from ..board.models import Post, Reply, Section
from ..cases.models import OPEN_STATUSES, Case
from ..compounds.models import Compound, District, Street
from ..extensions import db
from ..pagination import Page, decode_cursor, encode_cursor
from ..permissions import Action, can
from .models import SearchDocument
from .segment import normalize, query_words

MAX_BATCHES = 8  # a rare word in a busy scope: stop after this many index pages


@dataclass
class Hit:
    document: SearchDocument
    post: Post
    reply: Reply | None


def _match(words: list[str], any_of: list[str] = ()):
    """All ``words`` (and, if given, at least one of ``any_of``), through the database's full-text index."""
    if db.engine.dialect.name == "sqlite":
        expression = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
        if any_of:
            expression += " AND (" + " OR ".join('"' + w.replace('"', '""') + '"' for w in any_of) + ")"
        return SearchDocument.id.in_(
            sa.select(sa.literal_column("rowid")).select_from(sa.table("search_index"))
            .where(sa.literal_column("search_index").op("MATCH")(expression))
        )
    query = sa.func.plainto_tsquery(sa.literal_column("'simple'"), " ".join(words))
    if any_of:
        alternatives = [sa.func.plainto_tsquery(sa.literal_column("'simple'"), w) for w in any_of]
        either = alternatives[0]
        for alternative in alternatives[1:]:
            either = either.op("||")(alternative)
        query = query.op("&&")(either)
    return sa.func.to_tsvector(sa.literal_column("'simple'"), SearchDocument.words).op("@@")(query)


def _scope_filter(viewer, scope):
    """(index words, SQL) for a compound, street or district, and what private questions show."""
    if isinstance(scope, Compound):
        private_ok = can(viewer, Action.READ_PRIVATE_QUESTIONS, scope)
        privacy = sa.true() if private_ok else sa.or_(SearchDocument.private_to.is_(None),
                                                      SearchDocument.private_to == viewer.id)
        return [f"c{scope.id}"], sa.and_(SearchDocument.compound_id == scope.id, privacy)
    if isinstance(scope, Street):
        return [f"s{scope.id}"], sa.and_(SearchDocument.street_id == scope.id, SearchDocument.private_to.is_(None))
    return [], sa.and_(SearchDocument.district_id == scope.id, SearchDocument.private_to.is_(None))


def search(viewer, text: str, scope: Compound | Street | District, *, section_id: int | None = None,
           open_cases: bool = False, cursor: str | None = None, limit: int = 20) -> tuple[list[str], Page[Hit]]:
    words = query_words(text)
    needle = normalize(text).strip()
    if not words or not needle:
        return words, Page([], None)
    scope_words, scope_sql = _scope_filter(viewer, scope)
    stmt = sa.select(SearchDocument).where(_match(words + scope_words), scope_sql, SearchDocument.visible.is_(True))
    if section_id:
        stmt = stmt.where(SearchDocument.section_id == section_id)
    if open_cases:
        stmt = stmt.where(SearchDocument.post_id.in_(
            sa.select(Case.post_id).where(Case.status.in_(OPEN_STATUSES))
        ))
    found: list[SearchDocument] = []
    position = decode_cursor(cursor)
    exhausted = False
    for _batch in range(MAX_BATCHES):
        page_stmt = stmt
        if position is not None:
            page_stmt = page_stmt.where(sa.tuple_(SearchDocument.created_at, SearchDocument.id) < sa.tuple_(*position))
        rows = list(db.session.scalars(
            page_stmt.order_by(SearchDocument.created_at.desc(), SearchDocument.id.desc()).limit(limit * 2)
        ))
        for row in rows:
            position = (row.created_at, row.id)
            if needle in row.text:  # segmentation finds candidates; the substring makes it exact
                found.append(row)
                if len(found) == limit:
                    break
        else:
            if len(rows) < limit * 2:
                exhausted = True
                break
            continue
        break  # the page is full
    next_cursor = encode_cursor(*position) if position and not exhausted else None
    return words, Page(_hits(found), next_cursor)


def _hits(documents: list[SearchDocument]) -> list[Hit]:
    if not documents:
        return []
    posts = {p.id: p for p in db.session.scalars(
        sa.select(Post).where(Post.id.in_({d.post_id for d in documents})).options(selectinload(Post.author))
    )}
    reply_ids = {d.reply_id for d in documents if d.reply_id}
    replies = {r.id: r for r in db.session.scalars(
        sa.select(Reply).where(Reply.id.in_(reply_ids)).options(selectinload(Reply.author))
    )} if reply_ids else {}
    return [Hit(d, posts[d.post_id], replies.get(d.reply_id)) for d in documents if d.post_id in posts]


def highlight(text: str, words: list[str]) -> Markup:
    """Escape, then mark every occurrence of the query's words."""
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(Markup("<mark>") + escape(match.group(0)) + Markup("</mark>"))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


SIMILAR_LIMIT = 5


def similar_open_posts(viewer, compound: Compound, title: str) -> list[Post]:
    """这些帖子可能与你的问题相同: open 身边事 posts (no case, or a case still being handled) of the
    compound that share a meaningful word with the title being typed."""
    words = [w for w in query_words(title) if len(w) >= 2][:6]
    if not words:
        return []
    closed_cases = sa.select(Case.post_id).where(Case.status.not_in(OPEN_STATUSES))
    stmt = (
        sa.select(SearchDocument.post_id)
        .where(_match([f"c{compound.id}"], any_of=words), SearchDocument.reply_id.is_(None),
               SearchDocument.visible.is_(True), SearchDocument.private_to.is_(None),
               SearchDocument.post_id.not_in(closed_cases))
        .join(Post, Post.id == SearchDocument.post_id)
        .join(Section, Section.id == Post.section_id)
        .where(Section.key == "matters")
        .order_by(SearchDocument.created_at.desc())
        .limit(SIMILAR_LIMIT)
    )
    ids = list(db.session.scalars(stmt))
    posts = {p.id: p for p in db.session.scalars(sa.select(Post).where(Post.id.in_(ids)))} if ids else {}
    return [posts[i] for i in ids if i in posts]
