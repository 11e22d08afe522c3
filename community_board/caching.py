"""Every cache of the app, behind one seam: the backend, the named keys, and what invalidates them.

Backend: a bounded in-process LRU by default; Redis when CACHE_URL (or else REDIS_URL) names one, so
workers and hosts share what one of them rendered. Values are JSON (never pickle: whoever can write
to Redis must not be able to run code here).

Invalidation: a cached part's key holds the *board version* of the compound whose content it shows.
Each feature declares in its own ``init_app`` which models its cached parts show and through which
key they reach a compound (``depends_on``); one set of session hooks, fed by those declarations,
notes every change (ORM flushes, and Core ``UPDATE``/``DELETE`` statements run through the session)
and moves the versions of the compounds concerned as the last statement before COMMIT, compounds in
id order: every board write takes its row locks in one order (its posts, options … first, the
compound last), so concurrent writes queue on PostgreSQL instead of deadlocking. Because the
version lives in the database, committed together with the change, every worker and every host
sees it at once, whichever backend keeps the parts: a purge after commit could only reach the
memory of the process that wrote. Entries under an older version are never asked for again and
age out of the LRU (or Redis's TTL).

Long rationale and the marker table: docs/caching.md.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

# Backends ------------------------------------------------------------------------------------


class MemoryBackend:
    """At most ``size`` entries per process, least recently used out first."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()  # gthread workers and the development server are threaded

    def get(self, key: str):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def set(self, key: str, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            if len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self, prefix: str) -> None:
        with self._lock:
            self._items.clear()


class RedisBackend:
    """Shared by every worker and host; entries expire after ``ttl`` seconds unless used."""

    def __init__(self, url: str, ttl: int):
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self.ttl = ttl

    def get(self, key: str):
        raw = self.client.get(key)
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value) -> None:
        self.client.set(key, json.dumps(value, ensure_ascii=False), ex=self.ttl)

    def clear(self, prefix: str) -> None:
        batch = []
        for key in self.client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                self.client.delete(*batch)
                batch.clear()
        if batch:
            self.client.delete(*batch)


def init_app(app: Flask) -> None:
    url = app.config["CACHE_URL"]
    if url.startswith("redis"):
        backend = RedisBackend(url, app.config["CACHE_TTL_SECONDS"])
    else:
        backend = MemoryBackend(app.config["CACHE_SIZE"])
    app.extensions["cache"] = backend
    listen()


def _backend():
    return current_app.extensions["cache"]


def clear() -> None:
    """Forget every entry of this app (tests; `make bench` before the district mix)."""
    _backend().clear(current_app.config["CACHE_KEY_PREFIX"])


# Named keys ----------------------------------------------------------------------------------

_NAMES: set[str] = set()


@dataclass(frozen=True)
class Key:
    """A named family of entries. Bump ``revision`` when what an entry holds changes shape."""

    name: str
    revision: int = 1

    def __post_init__(self):
        if self.name in _NAMES:
            raise ValueError(f"cache key {self.name!r} is named twice")
        _NAMES.add(self.name)

    def __call__(self, *parts) -> str:
        digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
        return f"{current_app.config['CACHE_KEY_PREFIX']}{self.name}:{self.revision}:{digest}"

    def get(self, key: str):
        return _backend().get(key)

    def set(self, key: str, value) -> None:
        _backend().set(key, value)

    def get_or_make(self, key: str, make: Callable[[], object]):
        value = self.get(key)
        if value is None:
            value = make()
            self.set(key, value)
        return value


def values_of(*things) -> tuple:
    """A key part made of what ``things`` hold: for a model object, every column it has loaded and
    the columns of the objects it refers to that are loaded with it (a post's author and section);
    anything else as it is. A template that shows one more column of those objects needs no key
    change."""
    parts = []
    for thing in things:
        state = sa.inspect(thing, raiseerr=False) if hasattr(thing, "__mapper__") else None
        if state is None:
            parts.append(thing)
            continue
        parts.append(_columns(state))
        loaded = state.dict
        for name in _shape(state.mapper)[1]:
            if loaded.get(name) is not None:
                parts.append((name, _columns(sa.inspect(loaded[name]))))
    return tuple(parts)


def _columns(state) -> tuple:
    loaded = state.dict
    return (state.mapper.class_.__name__,) + tuple(loaded[name] for name in _shape(state.mapper)[0] if name in loaded)


@functools.cache
def _shape(mapper) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A mapper's column names and its many-to-one relationships' names, read once per class (a
    first view derives a key for every card)."""
    # Iterating column_attrs itself yields the properties, not their names.
    columns = tuple(mapper.column_attrs.keys())
    to_one = tuple(name for name, rel in mapper.relationships.items() if rel.direction.name == "MANYTOONE")
    return columns, to_one


# Declarations and invalidation --------------------------------------------------------------


@dataclass(frozen=True)
class _Dependency:
    kind: str  # "compound" or "post": what the column holds
    column: sa.Column
    attribute: str
    fields: frozenset[str] | None  # only these columns show; None: any change counts


_DEPENDENCIES: dict[sa.Table, _Dependency] = {}


def depends_on(model: type, *, compound=None, post=None, fields: Iterable[str] | None = None) -> None:
    """Cached board parts show ``model``: a change to one of its rows moves the board version of
    the compound it names through ``compound`` (a column holding a compound id) or ``post`` (a
    column holding a post id). ``fields`` limits it to the columns shown. Call from ``init_app``."""
    if (compound is None) == (post is None):
        raise ValueError("name exactly one of compound= or post=")
    attribute = compound if compound is not None else post
    table = model.__table__
    dependency = _Dependency(
        "compound" if compound is not None else "post",
        table.c[attribute.key],
        attribute.key,
        frozenset(fields) if fields else None,
    )
    if _DEPENDENCIES.get(table, dependency) != dependency:
        raise ValueError(f"{model.__name__} is declared twice, differently")
    _DEPENDENCIES[table] = dependency


_COMPOUNDS, _POSTS, _ALL = "cache_compounds_touched", "cache_posts_touched", "cache_all_touched"  # in session.info


def touch(session: Session, compound_ids) -> None:
    """These compounds' boards changed in ways no declaration covers (a street renamed): their
    versions move when the transaction commits."""
    session.info.setdefault(_COMPOUNDS, set()).update(i for i in compound_ids if i is not None)


def _touch_posts(session: Session, post_ids) -> None:
    session.info.setdefault(_POSTS, set()).update(i for i in post_ids if i is not None)


def _note(session: Session, dependency: _Dependency, ids) -> None:
    (touch if dependency.kind == "compound" else _touch_posts)(session, ids)


def _changed(obj, fields: frozenset[str]) -> bool:
    attrs = sa.inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in fields)


def _note_flush(session: Session, _context) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        dependency = _DEPENDENCIES.get(getattr(type(obj), "__table__", None))
        if dependency is None:
            continue
        if dependency.fields and obj in session.dirty and not _changed(obj, dependency.fields):
            continue
        history = sa.inspect(obj).attrs[dependency.attribute].history
        _note(session, dependency, (*history.added, *history.unchanged, *history.deleted))


def _note_statement(state: ORMExecuteState) -> None:
    """A Core UPDATE or DELETE run through the session: note the rows it is about to change, read
    with the statement's own WHERE clause (in the same transaction, just before it)."""
    if not (state.is_update or state.is_delete):
        return
    statement = state.statement
    dependency = _DEPENDENCIES.get(statement.table)
    if dependency is None:
        return
    if dependency.fields and state.is_update:
        shown = {getattr(column, "key", column) for column in (statement._values or {})}
        if shown and not shown & dependency.fields:
            return
    if statement.whereclause is None:
        state.session.info[_ALL] = True
        return
    ids = state.session.execute(sa.select(dependency.column).where(statement.whereclause)).scalars()
    _note(state.session, dependency, set(ids))


def _move_versions_last(session: Session) -> None:
    # Also called when a savepoint is released: the versions wait for the transaction's own commit.
    # (Every savepoint here is a ``with begin_nested()`` block, closed before the commit.)
    if session.in_nested_transaction():
        return
    session.flush()  # what is still pending: its changes are noted, its row locks taken first
    compounds, posts = session.info.pop(_COMPOUNDS, set()), session.info.pop(_POSTS, set())
    everything = session.info.pop(_ALL, False)
    if not (compounds or posts or everything):
        return
    from .board.models import Post
    from .compounds.models import Compound

    connection = session.connection()
    table = Compound.__table__
    if everything:
        compounds |= set(connection.scalars(sa.select(table.c.id)))
    if posts:
        compounds |= set(connection.scalars(sa.select(Post.compound_id).where(Post.id.in_(sorted(posts)))))
    for compound_id in sorted(compounds):
        connection.execute(
            table.update().where(table.c.id == compound_id).values(board_version=table.c.board_version + 1)
        )


def _forget_changes(session: Session, transaction) -> None:
    if transaction.parent is None:  # rolled back (a commit has already taken them)
        for name in (_COMPOUNDS, _POSTS, _ALL):
            session.info.pop(name, None)


def listen(session_class=Session) -> None:
    """Install the hooks once (create_app): every session of the app reports to them."""
    for name, hook in (
        ("after_flush", _note_flush),
        ("do_orm_execute", _note_statement),
        ("before_commit", _move_versions_last),
        ("after_transaction_end", _forget_changes),
    ):
        if not event.contains(session_class, name, hook):
            event.listen(session_class, name, hook)
