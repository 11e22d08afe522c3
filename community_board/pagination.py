"""Keyset pagination on (created_at, id): every page costs the same, however deep."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import sqlalchemy as sa

from .extensions import MAX_ID, db

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: int) -> str:
    return f"{created_at.isoformat()}_{row_id}"


# Exactly what encode_cursor writes (naive UTC, whole or micro seconds), within years rows can have:
# fromisoformat alone takes week dates, offsets and full-width digits, int() any length.
_CURSOR = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{6})?)_(\d{1,10})", re.ASCII)
_YEARS = range(1970, 3000)


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """None for a missing or malformed cursor (a tampered URL starts from the first page)."""
    found = _CURSOR.fullmatch(cursor or "")
    if found is None or int(found[2]) > MAX_ID:
        return None
    try:
        moment = datetime.fromisoformat(found[1])
    except ValueError:  # month 13, February 30
        return None
    return (moment, int(found[2])) if moment.year in _YEARS else None


def keyset_page(
    stmt, model, cursor: str | None, limit: int, *, newest_first: bool = True, sort_column: str = "created_at"
) -> Page:
    """Run ``stmt`` (a select of ``model``) one page at a time, ordered by (sort_column, id);
    the sort column is a non-null timestamp."""
    moment, row_id = getattr(model, sort_column), model.id
    position = decode_cursor(cursor)
    if position is not None:
        key = sa.tuple_(moment, row_id)
        stmt = stmt.where(key < sa.tuple_(*position) if newest_first else key > sa.tuple_(*position))
    order = (moment.desc(), row_id.desc()) if newest_first else (moment.asc(), row_id.asc())
    rows = list(db.session.scalars(stmt.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return Page(rows, encode_cursor(getattr(last, sort_column), last.id) if more else None)


def id_page(stmt, model, cursor: str | None, limit: int) -> Page:
    """Run ``stmt`` one page at a time in id order, for lists without a time order (compounds, staff).
    A cursor that is not an id starts from the first page."""
    if cursor and cursor.isascii() and cursor.isdigit() and int(cursor) <= MAX_ID:
        stmt = stmt.where(model.id > int(cursor))
    rows = list(db.session.scalars(stmt.order_by(model.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, str(rows[-1].id) if more and rows else None)
