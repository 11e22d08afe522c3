"""Keyset pagination on (created_at, id): every page costs the same, however deep."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import sqlalchemy as sa

from .extensions import db

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: int) -> str:
    return f"{created_at.isoformat()}_{row_id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """None for a missing or malformed cursor (a tampered URL starts from the first page)."""
    if not cursor:
        return None
    moment, _, row_id = cursor.rpartition("_")
    try:
        return datetime.fromisoformat(moment), int(row_id)
    except ValueError:
        return None


def keyset_page(stmt, model, cursor: str | None, limit: int, *, newest_first: bool = True,
                sort_column: str = "created_at") -> Page:
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
