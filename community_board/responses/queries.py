"""发帖必响应 reads: the compound's queue of posts nobody on staff has answered, and the figures the
dashboards show (median first-response time, share answered within four hours)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import defer, joinedload

from ..board import visibility
from ..board.models import Post
from ..compounds.models import Compound
from ..extensions import db
from ..pagination import Page, keyset_page
from .services import WITHIN_MINUTES, awaits_response_sql


def queue(viewer, compound: Compound, cursor: str | None, limit: int) -> Page[Post]:
    """Oldest first: residents' posts and messages of ``compound`` still waiting for a first response.
    One query a page (the author and the section come joined), by ix_posts_compound_awaiting."""
    stmt = (
        sa.select(Post)
        .where(
            Post.compound_id == compound.id,
            Post.first_response_at.is_(None),
            awaits_response_sql(),
            visibility.reads_private_sql(viewer, visibility.private_kinds_read(viewer, compound)),
        )
        .options(joinedload(Post.author), defer(Post.body, raiseload=True), defer(Post.body_html, raiseload=True))
    )
    return keyset_page(stmt, Post, cursor, limit, newest_first=False)


@dataclass
class ResponseFigures:
    """Posts and messages written in a period: how fast staff first responded."""

    median_minutes: int | None = None  # of those answered (nearest rank)
    within: int = 0  # answered within four hours
    due: int = 0  # answered, or waiting longer than four hours: what the share counts

    @property
    def median_hours(self) -> float | None:
        return None if self.median_minutes is None else round(self.median_minutes / 60, 1)

    @property
    def within_share(self) -> float | None:
        return self.within / self.due if self.due else None


def _median(values: list[int]) -> int | None:
    """Nearest rank: the ⌈n/2⌉-th smallest."""
    return sorted(values)[math.ceil(len(values) / 2) - 1] if values else None


def figures(compound_ids, since: datetime, until: datetime, now: datetime) -> tuple[ResponseFigures, dict]:
    """(the figures of all ``compound_ids`` together, {compound id: its figures}) for the posts and
    messages written in [since, until); ``compound_ids`` is a select of compound ids.

    Computed in Python over one query bounded by the period (its response minutes and times, read
    through ix_posts_compound_feed): the same on SQLite and PostgreSQL, which have no common median
    aggregate, and one pass over the rows instead of one per figure."""
    rows = db.session.execute(
        sa.select(Post.compound_id, Post.first_response_minutes, Post.created_at).where(
            Post.compound_id.in_(compound_ids), Post.created_at >= since, Post.created_at < until, awaits_response_sql()
        )
    )
    late = now - timedelta(minutes=WITHIN_MINUTES)
    answered: dict[int, list[int]] = defaultdict(list)
    by_compound: dict[int, ResponseFigures] = defaultdict(ResponseFigures)
    for compound_id, minutes, created_at in rows:
        figures = by_compound[compound_id]
        if minutes is not None:
            answered[compound_id].append(minutes)
            figures.within += minutes <= WITHIN_MINUTES
        if minutes is not None or created_at <= late:
            figures.due += 1
    for compound_id, times in answered.items():
        by_compound[compound_id].median_minutes = _median(times)
    overall = ResponseFigures(
        _median([m for times in answered.values() for m in times]),
        sum(f.within for f in by_compound.values()),
        sum(f.due for f in by_compound.values()),
    )
    return overall, dict(by_compound)
