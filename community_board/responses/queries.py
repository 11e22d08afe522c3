"""发帖必响应 reads: the compound's queue of posts nobody on staff has answered, and the figures the
dashboards show (median first-response time, share answered within four hours), in portable SQL."""

from __future__ import annotations

import math
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


def figures(compound_ids, since: datetime, until: datetime, now: datetime) -> tuple[ResponseFigures, dict]:
    """(the figures of all ``compound_ids`` together, {compound id: its figures}) for posts written in
    [since, until). ``compound_ids`` is a select of compound ids. Medians are window functions
    (ROW_NUMBER over each compound's answer times), the same SQL on SQLite and PostgreSQL; three
    queries whatever the number of compounds, each reading the posts of the period through
    ix_posts_compound_feed."""
    minutes = Post.first_response_minutes
    written = sa.and_(
        Post.compound_id.in_(compound_ids), Post.created_at >= since, Post.created_at < until, awaits_response_sql()
    )
    late = now - timedelta(minutes=WITHIN_MINUTES)
    due = sa.or_(Post.first_response_at.is_not(None), Post.created_at <= late)
    by_compound: dict[int, ResponseFigures] = {}
    answered_total = 0
    for compound_id, within, due_count, answered in db.session.execute(
        sa.select(
            Post.compound_id,
            sa.func.sum(sa.case((minutes <= WITHIN_MINUTES, 1), else_=0)),
            sa.func.sum(sa.case((due, 1), else_=0)),
            sa.func.count(minutes),
        )
        .where(written)
        .group_by(Post.compound_id)
    ):
        by_compound[compound_id] = ResponseFigures(within=within or 0, due=due_count or 0)
        answered_total += answered
    ranked = (
        sa.select(
            Post.compound_id.label("compound_id"),
            minutes.label("minutes"),
            sa.func.row_number().over(partition_by=Post.compound_id, order_by=(minutes, Post.id)).label("rank"),
            sa.func.count().over(partition_by=Post.compound_id).label("answered"),
        )
        .where(written, minutes.is_not(None))
        .subquery()
    )
    # The nearest-rank median is the answer ranked ⌈n/2⌉: 2·rank is n or n + 1 (no division in SQL).
    middle = sa.and_(ranked.c.rank * 2 >= ranked.c.answered, ranked.c.rank * 2 <= ranked.c.answered + 1)
    for compound_id, median in db.session.execute(sa.select(ranked.c.compound_id, ranked.c.minutes).where(middle)):
        by_compound[compound_id].median_minutes = median
    overall = ResponseFigures(
        within=sum(f.within for f in by_compound.values()), due=sum(f.due for f in by_compound.values())
    )
    if answered_total:
        overall.median_minutes = db.session.scalar(
            sa.select(minutes)
            .where(written, minutes.is_not(None))
            .order_by(minutes)
            .offset(math.ceil(answered_total / 2) - 1)
            .limit(1)
        )
    return overall, by_compound
