"""Dashboard figures for a compound, a street or the district, computed in SQL."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..timeutil import to_local, utcnow
from .models import OPEN_STATUSES, Case, CaseStatus, CaseType, Satisfaction

WEEKS = 8


@dataclass
class Figures:
    filed: int = 0  # every case that was not withdrawn
    closed: int = 0
    withdrawn: int = 0
    open: int = 0
    overdue: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    satisfied: int = 0
    rated: int = 0
    unrated: int = 0
    by_status: list[tuple[CaseStatus, int]] = field(default_factory=list)
    by_type: list[tuple[str, int, int]] = field(default_factory=list)  # (type, filed, closed)
    weeks: list[tuple[str, int, int]] = field(default_factory=list)  # (week label, filed, closed)

    @property
    def closure_rate(self) -> float | None:
        """结案率 = closed ÷ filed, withdrawn cases excluded."""
        return self.closed / self.filed if self.filed else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


def _percentile_minutes(condition, fraction: float, count: int) -> int | None:
    """Nearest-rank percentile by ORDER BY … OFFSET: the same SQL on SQLite and PostgreSQL."""
    if not count:
        return None
    offset = max(math.ceil(fraction * count) - 1, 0)
    return db.session.scalar(
        sa.select(Case.resolve_minutes).where(condition, Case.resolve_minutes.is_not(None))
        .order_by(Case.resolve_minutes).offset(offset).limit(1)
    )


def _local_day(column):
    """The Shanghai calendar day of a UTC timestamp, as SQL."""
    if db.engine.dialect.name == "sqlite":
        return sa.func.date(column, "+8 hours")
    return sa.cast(column + sa.text("interval '8 hours'"), sa.Date)


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def figures(condition) -> Figures:
    """``condition`` selects the cases in view, e.g. Case.street_id == 3."""
    result = Figures()
    counts = dict(db.session.execute(
        sa.select(Case.status, sa.func.count()).where(condition).group_by(Case.status)
    ).all())
    result.by_status = [(status, counts.get(status, 0)) for status in CaseStatus]
    result.withdrawn = counts.get(CaseStatus.WITHDRAWN, 0)
    result.closed = counts.get(CaseStatus.CLOSED, 0)
    result.filed = sum(counts.values()) - result.withdrawn
    result.open = sum(counts.get(s, 0) for s in OPEN_STATUSES)
    result.overdue = db.session.scalar(
        sa.select(sa.func.count()).where(condition, Case.status.in_(OPEN_STATUSES), Case.deadline_at < utcnow())
    )

    resolved_count = db.session.scalar(
        sa.select(sa.func.count()).where(condition, Case.resolve_minutes.is_not(None),
                                         Case.status.in_([CaseStatus.RESOLVED, CaseStatus.CLOSED]))
    )
    resolved = sa.and_(condition, Case.status.in_([CaseStatus.RESOLVED, CaseStatus.CLOSED]))
    for attribute, fraction in (("median_hours", 0.5), ("p90_hours", 0.9)):
        minutes = _percentile_minutes(resolved, fraction, resolved_count)
        setattr(result, attribute, round(minutes / 60, 1) if minutes is not None else None)

    ratings = dict(db.session.execute(
        sa.select(Case.satisfaction, sa.func.count()).where(condition, Case.satisfaction.is_not(None))
        .group_by(Case.satisfaction)
    ).all())
    result.satisfied = ratings.get(Satisfaction.SATISFIED, 0) + ratings.get(Satisfaction.BASIC, 0)
    result.rated = result.satisfied + ratings.get(Satisfaction.UNSATISFIED, 0)
    result.unrated = ratings.get(Satisfaction.UNRATED, 0)

    result.by_type = [
        (name, filed, closed) for name, filed, closed in db.session.execute(
            sa.select(CaseType.name, sa.func.count(),
                      sa.func.sum(sa.case((Case.status == CaseStatus.CLOSED, 1), else_=0)))
            .join(CaseType, CaseType.id == Case.case_type_id)
            .where(condition, Case.status != CaseStatus.WITHDRAWN)
            .group_by(CaseType.name).order_by(sa.func.count().desc())
        ).all()
    ]
    result.weeks = _weekly_trend(condition)
    return result


def _weekly_trend(condition) -> list[tuple[str, int, int]]:
    """Cases filed and closed per week for the last WEEKS weeks (Monday to Sunday, Shanghai time)."""
    today = to_local(utcnow()).date()
    first_monday = today - timedelta(days=today.weekday()) - timedelta(weeks=WEEKS - 1)
    since = utcnow() - timedelta(weeks=WEEKS + 1)
    buckets = {first_monday + timedelta(weeks=i): [0, 0] for i in range(WEEKS)}

    def add(column, slot, *extra):
        day = _local_day(column)
        rows = db.session.execute(
            sa.select(day, sa.func.count()).where(condition, column.is_not(None), column >= since, *extra)
            .group_by(day)
        ).all()
        for value, count in rows:
            local_day = _as_date(value)
            monday = local_day - timedelta(days=local_day.weekday())
            if monday in buckets:
                buckets[monday][slot] += count

    add(Case.created_at, 0, Case.status != CaseStatus.WITHDRAWN)
    add(Case.closed_at, 1, Case.status == CaseStatus.CLOSED)
    return [(f"{monday.month}/{monday.day}", filed, closed) for monday, (filed, closed) in buckets.items()]


def cases_in_view(condition, batch: int = 500):
    """Every case in view for the CSV export, read in keyset batches (memory stays flat)."""
    last_id = 0
    while True:
        rows = list(db.session.scalars(
            sa.select(Case).where(condition, Case.id > last_id)
            .options(selectinload(Case.compound)).order_by(Case.id).limit(batch)
        ))
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
