"""搜索: candidates from the index, then the text itself; only what the viewer may see, newest first.

Results are exactly the documents whose text contains the query (both normalized: full-width to
half-width, lower case), except that a number or Latin word at either end of the query matches a
whole one: 5号楼 finds 5号楼 but not 15号楼, wifi not wifi6. Every such document holds the query's
terms (``segment``), so the index never misses one: SQLite's FTS5 matches them as a phrase,
PostgreSQL's GIN index all of them; SQL then keeps the documents whose text contains the query,
and Python applies the whole-word rule. Documents are listed by id, newest first: ids follow the
order they were written in.
"""

from __future__ import annotations

import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload

from ..board import visibility
from ..board.models import Post, Reply, Section
from ..cases.models import OPEN_STATUSES, Case
from ..compounds.models import Compound, District, Street
from ..extensions import db
from ..pagination import Page
from ..web import int_or_none
from .models import SearchDocument
from .segment import HAN, Term, normalize, query_words, title_words

MAX_BATCHES = 8  # candidates the whole-word rule drops (5号楼 within 15号楼): stop after this many pages
_LETTER_OR_DIGIT = f"[^\\W_{HAN}]"  # what the index keeps whole: not Han, not "_"
_IS_LETTER_OR_DIGIT = re.compile(_LETTER_OR_DIGIT)


@dataclass
class Hit:
    document: SearchDocument
    post: Post
    reply: Reply | None


def occurrences(needle: str) -> re.Pattern:
    """Where the normalized ``needle`` occurs in normalized text, a number or Latin word at either
    end of it matching a whole one."""
    head = f"(?<!{_LETTER_OR_DIGIT})" if _IS_LETTER_OR_DIGIT.fullmatch(needle[0]) else ""
    tail = f"(?!{_LETTER_OR_DIGIT})" if _IS_LETTER_OR_DIGIT.fullmatch(needle[-1]) else ""
    return re.compile(head + re.escape(needle) + tail)


def _fts5(phrase: list[Term]) -> str:
    return "(" + " + ".join('"' + t.text.replace('"', '""') + '"' + (" *" if t.prefix else "") for t in phrase) + ")"


def _tsquery(phrase: list[Term]) -> str:
    # All of the terms, not a phrase (<->): GIN keeps no positions, so PostgreSQL would rebuild the
    # tsvector of every candidate to check one; the substring test in SQL is cheaper.
    return (
        "("
        + " & ".join(
            "'" + t.text.replace("\\", "\\\\").replace("'", "''") + "'" + (":*" if t.prefix else "") for t in phrase
        )
        + ")"
    )


def _matching(stmt, phrases: list[list[Term]], any_of: list[list[Term]] = ()):
    """``stmt`` (a select of search_documents' columns) narrowed to the documents that hold every
    phrase of ``phrases`` and, if given, one of ``any_of``; returned with the document id to order
    and page by.

    On SQLite the FTS5 table drives the query, so ``ORDER BY its rowid DESC LIMIT n`` walks the
    index newest first and stops early, however many documents match; PostgreSQL chooses between
    the GIN index (a rare word) and the primary key backwards (a common one)."""
    sqlite = db.engine.dialect.name == "sqlite"
    quote, both, either = (_fts5, " AND ", " OR ") if sqlite else (_tsquery, " & ", " | ")
    parts = [quote(p) for p in phrases if p]
    if any_of:
        parts.append("(" + either.join(quote(p) for p in any_of) + ")")
    expression = both.join(parts)
    if sqlite:
        index = sa.table("search_index", sa.column("rowid"))
        stmt = (
            stmt.select_from(index)
            .join(SearchDocument, SearchDocument.id == index.c.rowid)
            .where(sa.literal_column("search_index").op("MATCH")(expression))
        )
        return stmt, index.c.rowid
    query = sa.func.to_tsquery(sa.literal_column("'simple'"), expression)
    stmt = stmt.where(sa.func.to_tsvector(sa.literal_column("'simple'"), SearchDocument.words).op("@@")(query))
    return stmt, SearchDocument.id


def _contains(needle: str):
    """The text contains ``needle``, tested in SQL so the rows fetched are (nearly) the results. A
    position function, not LIKE '%…%': PostgreSQL takes such a LIKE for rare, and would then sort
    every match rather than walk the ids newest first."""
    if db.engine.dialect.name == "sqlite":
        return sa.func.instr(SearchDocument.text, needle) > 0
    return sa.func.strpos(SearchDocument.text, needle) > 0


@contextmanager
def _planned_for_these_words():
    """PostgreSQL: plan each search for its own words. psycopg prepares a statement it has run five
    times, and PostgreSQL may then settle on a generic plan, blind to how common the words are (a
    common word's page measured 20 ms with its own plan, 500 ms with the generic one). So psycopg
    prepares none of the statements run meanwhile: no SET LOCAL, which would need a transaction
    (and a search page reads outside one)."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    driver = db.session.connection().connection.driver_connection
    threshold, driver.prepare_threshold = driver.prepare_threshold, None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def _scope_filter(viewer, scope):
    """(index terms, SQL) for a compound, street or district, and what private questions show."""
    if isinstance(scope, Compound):
        privacy = visibility.reads_private_sql(
            viewer,
            visibility.private_kinds_read(viewer, scope),
            is_private=SearchDocument.private_to.is_not(None),
            author_id=SearchDocument.private_to,
            section_id=SearchDocument.section_id,
        )
        return [Term(f"c{scope.id}")], sa.and_(SearchDocument.compound_id == scope.id, privacy)
    if isinstance(scope, Street):
        return [Term(f"s{scope.id}")], sa.and_(
            SearchDocument.street_id == scope.id, SearchDocument.private_to.is_(None)
        )
    return [], sa.and_(SearchDocument.district_id == scope.id, SearchDocument.private_to.is_(None))


NEWEST_WINDOW = 5000  # PostgreSQL: documents of the scope read newest first before asking the index (0: none)


def search(
    viewer,
    text: str,
    scope: Compound | Street | District,
    *,
    section_id: int | None = None,
    open_cases: bool = False,
    cursor: str | None = None,
    limit: int = 20,
) -> tuple[list[str], Page[Hit]]:
    """The documents that contain ``text``, newest first; returns (what to highlight, the page)."""
    needle = normalize(text).strip()
    terms = query_words(needle)
    if not terms:
        return [], Page([], None)
    scope_terms, scope_sql = _scope_filter(viewer, scope)
    wanted = sa.select(SearchDocument).where(_contains(needle), scope_sql, SearchDocument.visible.is_(True))
    if section_id:
        wanted = wanted.where(SearchDocument.section_id == section_id)
    if open_cases:
        wanted = wanted.where(SearchDocument.post_id.in_(sa.select(Case.post_id).where(Case.status.in_(OPEN_STATUSES))))
    indexed, key = _matching(wanted, [terms] + [[t] for t in scope_terms])
    page = _Collector(occurrences(needle), limit, int_or_none(cursor))  # the id the last page stopped before
    with _planned_for_these_words():
        _collect_newest_first(page, wanted, indexed, key, scope_sql)
    return [needle], page.result()


def _collect_newest_first(page: _Collector, wanted, indexed, key, scope_sql) -> None:
    if db.engine.dialect.name == "postgresql" and NEWEST_WINDOW:
        # GIN reads a common word's whole list; its newest matches are nearer through the scope's
        # id index, so read the newest documents first and ask the full-text index only below them.
        floor = _window_floor(scope_sql, page.position)
        page.collect(wanted if floor is None else wanted.where(SearchDocument.id >= floor), SearchDocument.id)
        if page.full or not page.exhausted or floor is None:
            return
        page.position = floor  # every document from the floor up has been read
    page.collect(indexed, key)


def _window_floor(scope_sql, position: int | None) -> int | None:
    """The lowest id among the scope's NEWEST_WINDOW newest documents below ``position``; None when
    there are fewer (the window is then the whole rest of the scope)."""
    stmt = sa.select(SearchDocument.id).where(scope_sql)
    if position is not None:
        stmt = stmt.where(SearchDocument.id < position)
    return db.session.scalar(stmt.order_by(SearchDocument.id.desc()).offset(NEWEST_WINDOW - 1).limit(1))


class _Collector:
    """A page of results gathered newest first, batch by batch, across one or two queries."""

    def __init__(self, contains: re.Pattern, limit: int, position: int | None):
        self.contains, self.limit, self.position = contains, limit, position
        self.found: list[SearchDocument] = []
        self.exhausted = False

    @property
    def full(self) -> bool:
        return len(self.found) == self.limit

    def collect(self, stmt, key) -> None:
        self.exhausted = False
        for _batch in range(MAX_BATCHES):
            page_stmt = stmt if self.position is None else stmt.where(key < self.position)
            rows = list(db.session.scalars(page_stmt.order_by(key.desc()).limit(self.limit * 2)))
            for row in rows:
                self.position = row.id
                if self.contains.search(row.text):  # SQL checked the substring; this, the whole-word rule
                    self.found.append(row)
                    if self.full:
                        return
            if len(rows) < self.limit * 2:
                self.exhausted = True
                return

    def result(self) -> Page[Hit]:
        more = self.position is not None and not self.exhausted
        return Page(_hits(self.found), str(self.position) if more else None)


def _hits(documents: list[SearchDocument]) -> list[Hit]:
    if not documents:
        return []
    posts = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Post).where(Post.id.in_({d.post_id for d in documents})).options(selectinload(Post.author))
        )
    }
    reply_ids = {d.reply_id for d in documents if d.reply_id}
    replies = (
        {
            r.id: r
            for r in db.session.scalars(
                sa.select(Reply).where(Reply.id.in_(reply_ids)).options(selectinload(Reply.author))
            )
        }
        if reply_ids
        else {}
    )
    return [Hit(d, posts[d.post_id], replies.get(d.reply_id)) for d in documents if d.post_id in posts]


@lru_cache(maxsize=64)
def _any_of(needles: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(occurrences(n).pattern for n in needles))


def highlight(text: str, needles: list[str]) -> Markup:
    """Escape ``text`` and mark each place a needle matches it, as the search compares: normalized
    (ＷｉＦｉ is marked for wifi), numbers and Latin words at the needle's ends matched whole."""
    needles = [n for n in needles if n]
    if not needles or not text:
        return escape(text)
    folded = normalize(text)
    if len(folded) == len(text):  # the usual case: character for character
        starts, stops = range(len(text)), range(1, len(text) + 1)
    else:  # a character (with its combining marks) at a time, remembering where each came from
        pieces, starts, stops, begin = [], [], [], 0
        for end in range(1, len(text) + 1):
            if end == len(text) or not unicodedata.combining(text[end]):
                piece = normalize(text[begin:end])
                pieces.append(piece)
                starts += [begin] * len(piece)
                stops += [end] * len(piece)
                begin = end
        folded = "".join(pieces)
    pattern = _any_of(tuple(sorted(needles, key=len, reverse=True)))
    out, last = [], 0
    for match in pattern.finditer(folded):
        start, stop = starts[match.start()], stops[match.end() - 1]
        if start < last:
            continue
        out.append(escape(text[last:start]))
        out.append(Markup("<mark>") + escape(text[start:stop]) + Markup("</mark>"))
        last = stop
    out.append(escape(text[last:]))
    return Markup("").join(out)


SIMILAR_LIMIT = 5
SIMILAR_WORDS = 6


def similar_open_posts(viewer, compound: Compound, title: str) -> list[Post]:
    """这些帖子可能与你的问题相同: open 身边事 posts (no case, or a case still being handled) of the
    compound that contain one of the meaningful words (jieba's) of the title being typed."""
    words = title_words(title)[:SIMILAR_WORDS]
    groups = [query_words(w) for w in words]
    if not any(groups):
        return []
    closed_case = sa.exists().where(Case.post_id == SearchDocument.post_id, Case.status.not_in(OPEN_STATUSES))
    stmt, key = _matching(
        sa.select(SearchDocument.post_id, SearchDocument.text),
        [[Term(f"c{compound.id}")]],
        any_of=[g for g in groups if g],
    )
    stmt = (
        stmt.where(
            SearchDocument.reply_id.is_(None),
            SearchDocument.visible.is_(True),
            SearchDocument.private_to.is_(None),
            ~closed_case,
        )
        .join(Post, Post.id == SearchDocument.post_id)
        .join(Section, Section.id == Post.section_id)
        .where(Section.key == "matters")
        .order_by(key.desc())
        .limit(SIMILAR_LIMIT * 4)  # room for a word's phrase found across punctuation
    )
    patterns = [occurrences(w) for w in words]
    with _planned_for_these_words():
        ids = [post_id for post_id, text in db.session.execute(stmt) if any(p.search(text) for p in patterns)]
    ids = ids[:SIMILAR_LIMIT]
    posts = {p.id: p for p in db.session.scalars(sa.select(Post).where(Post.id.in_(ids)))} if ids else {}
    return [posts[i] for i in ids if i in posts]
