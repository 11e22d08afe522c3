"""Dashboard figures for a compound, a street or the district, computed in SQL."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from .. import caching
from ..compounds.models import Compound, Department
from ..extensions import db
from ..responses.queries import ResponseFigures
from ..responses.queries import figures as response_figures
from ..timeutil import to_local, utcnow
from .models import OPEN_STATUSES, Case, CaseDepartment, CaseStatus, CaseType, Level, Satisfaction

WEEKS = 8


@dataclass
class Rates:
    """结案率 and 满意率 of a set of cases (a whole scope, or one compound or department of it)."""

    filed: int = 0  # every case that was not withdrawn
    closed: int = 0
    satisfied: int = 0
    rated: int = 0

    @property
    def closure_rate(self) -> float | None:
        """结案率 = closed ÷ filed, withdrawn cases excluded."""
        return self.closed / self.filed if self.filed else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


@dataclass
class Figures(Rates):
    withdrawn: int = 0
    open: int = 0
    overdue: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    unrated: int = 0
    by_status: list[tuple[CaseStatus, int]] = field(default_factory=list)
    by_type: list[tuple[str, int, int]] = field(default_factory=list)  # (type, filed, closed)
    weeks: list[tuple[str, int, int]] = field(default_factory=list)  # (week label, filed, closed)


def _percentile_minutes(condition, fraction: float, count: int) -> int | None:
    """Nearest-rank percentile by ORDER BY … OFFSET: the same SQL on SQLite and PostgreSQL, walking
    an index in resolve-time order (ix_cases_*_resolve)."""
    if not count:
        return None
    offset = max(math.ceil(fraction * count) - 1, 0)
    return db.session.scalar(
        sa.select(Case.resolve_minutes)
        .where(condition, Case.resolve_minutes.is_not(None))
        .order_by(Case.resolve_minutes)
        .offset(offset)
        .limit(1)
    )


def _local_day(column):
    """The Shanghai calendar day of a UTC timestamp, as SQL."""
    if db.engine.dialect.name == "sqlite":
        return sa.func.date(column, "+8 hours")
    return sa.cast(column + sa.text("interval '8 hours'"), sa.Date)


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def figures(condition) -> Figures:
    """``condition`` selects the cases in view, e.g. Case.street_id == 3.

    One pass over the cases in view groups them by status, rating and type (a few hundred groups at
    most); each percentile walks the resolve times in order; two more passes give the weeks.
    """
    now = utcnow()
    resolved_statuses = [CaseStatus.RESOLVED, CaseStatus.CLOSED]
    overdue = sa.case((sa.and_(Case.status.in_(OPEN_STATUSES), Case.deadline_at < now), 1), else_=0)
    timed = sa.case((sa.and_(Case.status.in_(resolved_statuses), Case.resolve_minutes.is_not(None)), 1), else_=0)
    groups = db.session.execute(
        sa.select(
            Case.status, Case.satisfaction, Case.case_type_id, sa.func.count(), sa.func.sum(overdue), sa.func.sum(timed)
        )
        .where(condition)
        .group_by(Case.status, Case.satisfaction, Case.case_type_id)
    ).all()
    result, resolved_count = Figures(), 0
    by_status: dict[CaseStatus, int] = defaultdict(int)
    by_rating: dict[Satisfaction, int] = defaultdict(int)
    by_type: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for status, satisfaction, case_type_id, count, overdue_count, timed_count in groups:
        by_status[status] += count
        result.overdue += overdue_count or 0
        resolved_count += timed_count or 0
        if satisfaction is not None:
            by_rating[satisfaction] += count
        if status is not CaseStatus.WITHDRAWN:
            by_type[case_type_id][0] += count
            by_type[case_type_id][1] += count if status is CaseStatus.CLOSED else 0
    result.by_status = [(status, by_status[status]) for status in CaseStatus]
    result.withdrawn = by_status[CaseStatus.WITHDRAWN]
    result.closed = by_status[CaseStatus.CLOSED]
    result.filed = sum(by_status.values()) - result.withdrawn
    result.open = sum(by_status[s] for s in OPEN_STATUSES)

    resolved = sa.and_(condition, Case.status.in_(resolved_statuses))
    for attribute, fraction in (("median_hours", 0.5), ("p90_hours", 0.9)):
        minutes = _percentile_minutes(resolved, fraction, resolved_count)
        setattr(result, attribute, round(minutes / 60, 1) if minutes is not None else None)

    result.satisfied = by_rating[Satisfaction.SATISFIED] + by_rating[Satisfaction.BASIC]
    result.rated = result.satisfied + by_rating[Satisfaction.UNSATISFIED]
    result.unrated = by_rating[Satisfaction.UNRATED]

    names = _case_type_names()
    result.by_type = sorted(
        ((names[type_id], filed, closed) for type_id, (filed, closed) in by_type.items()), key=lambda row: -row[1]
    )
    result.weeks = _weekly_trend(condition)
    return result


# Where problems are solved ----------------------------------------------------------------------

MIN_RANKED = 10  # a compound or department with fewer cases is listed, not ranked: small numbers mislead


@dataclass
class Breakdown(Rates):
    """One compound's or one department's cases in view."""

    name: str = ""
    overdue: int = 0
    median_hours: float | None = None
    rank: int | None = None


def solved_at_level(condition) -> list[tuple[Level, int]]:
    """Cases resolved or closed, by the level that answered for them when they were (小问题不出网格,
    一般问题不出街道: most should end at the compound)."""
    rows = dict(
        db.session.execute(
            sa.select(Case.level, sa.func.count())
            .where(condition, Case.status.in_([CaseStatus.RESOLVED, CaseStatus.CLOSED]))
            .group_by(Case.level)
        ).all()
    )
    return [(level, rows.get(level, 0)) for level in Level]


def _medians(condition, key, joined=None) -> dict[int, int]:
    """The median resolve time (minutes, nearest rank as _percentile_minutes) per ``key``, in one
    query: window functions, the same SQL on SQLite and PostgreSQL."""
    ranked = sa.select(
        key.label("key"),
        Case.resolve_minutes.label("minutes"),
        sa.func.row_number().over(partition_by=key, order_by=Case.resolve_minutes).label("position"),
        sa.func.count().over(partition_by=key).label("size"),
    ).where(condition, Case.resolve_minutes.is_not(None), Case.status.in_([CaseStatus.RESOLVED, CaseStatus.CLOSED]))
    if joined is not None:
        ranked = ranked.join(*joined)
    ranked = ranked.subquery()
    rows = db.session.execute(
        sa.select(ranked.c.key, ranked.c.minutes).where(ranked.c.position == (ranked.c.size + 1) // 2)
    )
    return dict(rows.all())


def _breakdown(condition, key, names: dict[int, str], joined=None) -> list[Breakdown]:
    now = utcnow()
    counted = Case.status != CaseStatus.WITHDRAWN
    stmt = sa.select(
        key,
        sa.func.count(),
        sa.func.sum(sa.case((Case.status == CaseStatus.CLOSED, 1), else_=0)),
        sa.func.sum(sa.case((sa.and_(Case.status.in_(OPEN_STATUSES), Case.deadline_at < now), 1), else_=0)),
        sa.func.sum(sa.case((Case.satisfaction.in_([Satisfaction.SATISFIED, Satisfaction.BASIC]), 1), else_=0)),
        sa.func.sum(sa.case((Case.satisfaction.in_(RATED), 1), else_=0)),
    ).where(condition, counted)
    if joined is not None:
        stmt = stmt.join(*joined)
    medians = _medians(condition, key, joined)
    rows = [
        Breakdown(
            name=names.get(node_id, "—"),
            filed=filed,
            closed=closed or 0,
            overdue=overdue or 0,
            median_hours=round(medians[node_id] / 60, 1) if node_id in medians else None,
            satisfied=satisfied or 0,
            rated=rated or 0,
        )
        for node_id, filed, closed, overdue, satisfied, rated in db.session.execute(stmt.group_by(key)).all()
    ]
    # Ranked by closure rate, then satisfaction, among those with enough cases to say something.
    ranked = sorted(
        (row for row in rows if row.filed >= MIN_RANKED),
        key=lambda row: (-(row.closure_rate or 0), -(row.satisfaction_rate or 0), row.name),
    )
    for position, row in enumerate(ranked, start=1):
        row.rank = position
    unranked = sorted((row for row in rows if row.rank is None), key=lambda row: (-row.filed, row.name))
    return ranked + unranked


RATED = (Satisfaction.SATISFIED, Satisfaction.BASIC, Satisfaction.UNSATISFIED)


def by_compound(condition) -> list[Breakdown]:
    names = dict(
        db.session.execute(
            sa.select(Compound.id, Compound.name).where(Compound.id.in_(sa.select(Case.compound_id).where(condition)))
        ).all()
    )
    return _breakdown(condition, Case.compound_id, names)


def by_department(condition) -> list[Breakdown]:
    """Every department a case in view went to counts that case (a case sent to two counts twice)."""
    joined = (CaseDepartment, CaseDepartment.case_id == Case.id)
    names = dict(db.session.execute(sa.select(Department.id, Department.name)).all())
    return _breakdown(condition, CaseDepartment.department_id, names, joined)


_FIGURES = caching.Key("dashboard_figures")
_COMPOUND_COLUMN = {"compound": Compound.id, "street": Compound.street_id, "district": Compound.district_id}


@dataclass
class Dashboard:
    key: str  # the cache key of these figures: what the page's parts rendered from them are kept under
    figures: Figures
    solved_at: list[tuple[Level, int]]
    compounds: list[Breakdown]  # empty on a compound's own dashboard
    departments: list[Breakdown]

    @property
    def solved_total(self) -> int:
        return sum(count for _, count in self.solved_at)


def dashboard_of(level: str, node_id: int, condition, period: tuple = ()) -> Dashboard:
    """Everything a dashboard page shows for the cases ``condition`` selects (``period`` names its
    date range), kept until a case (or anything else on a board) of the scope changes, or the minute
    turns (overdue counts move with the clock). The sum of the scope's board versions moves with
    every case change (caching.py; cases.init_app declares it)."""
    versions = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Compound.board_version), 0)).where(_COMPOUND_COLUMN[level] == node_id)
    )
    minute = utcnow().replace(second=0, microsecond=0)

    def compute() -> dict:
        return {
            "figures": _plain(figures(condition)),
            "solved_at": [(level.value, count) for level, count in solved_at_level(condition)],
            "compounds": [asdict(row) for row in by_compound(condition)] if level != "compound" else [],
            "departments": [asdict(row) for row in by_department(condition)],
        }

    key = _FIGURES(level, node_id, versions, minute, period)
    kept = _FIGURES.get_or_make(key, compute)
    return Dashboard(
        key=key,
        figures=_figures_from(kept["figures"]),
        solved_at=[(Level(value), count) for value, count in kept["solved_at"]],
        compounds=[Breakdown(**row) for row in kept["compounds"]],
        departments=[Breakdown(**row) for row in kept["departments"]],
    )


def _plain(result: Figures) -> dict:
    """What a cache backend can keep (JSON)."""
    kept = asdict(result)
    kept["by_status"] = [(status.value, count) for status, count in result.by_status]
    return kept


def _figures_from(kept: dict) -> Figures:
    rows = {name: [tuple(row) for row in kept[name]] for name in ("by_type", "weeks")}
    return Figures(**{**kept, **rows, "by_status": [(CaseStatus(value), count) for value, count in kept["by_status"]]})


def _case_type_names() -> dict[int, str]:
    return dict(db.session.execute(sa.select(CaseType.id, CaseType.name)).all())


def _weekly_trend(condition) -> list[tuple[str, int, int]]:
    """Cases filed and closed per week for the last WEEKS weeks (Monday to Sunday, Shanghai time)."""
    today = to_local(utcnow()).date()
    first_monday = today - timedelta(days=today.weekday()) - timedelta(weeks=WEEKS - 1)
    since = utcnow() - timedelta(weeks=WEEKS + 1)
    buckets = {first_monday + timedelta(weeks=i): [0, 0] for i in range(WEEKS)}

    def add(column, slot, *extra):
        day = _local_day(column)
        rows = db.session.execute(
            sa.select(day, sa.func.count()).where(condition, column.is_not(None), column >= since, *extra).group_by(day)
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
        rows = list(
            db.session.scalars(
                sa.select(Case)
                .where(condition, Case.id > last_id)
                .options(selectinload(Case.compound))
                .order_by(Case.id)
                .limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


# 发帖必响应 ---------------------------------------------------------------------------------------

RESPONSE_DAYS = 30  # the period when the dashboard names none
_RESPONSES = caching.Key("dashboard_first_responses")


@dataclass
class FirstResponses:
    """How fast staff first responded to residents' posts and messages written in [since, until):
    the scope's compounds together, then each compound (name, figures), in street and id order."""

    key: str  # as Dashboard.key
    since: datetime
    until: datetime
    overall: ResponseFigures
    compounds: list[tuple[str, ResponseFigures]]


def first_responses_of(
    level: str, node_id: int, since: datetime | None = None, until: datetime | None = None
) -> FirstResponses:
    """The 发帖必响应 figures of a dashboard's scope (``responses.queries.figures``), kept like
    ``figures_of``: until a post of the scope changes (a response moves its board version) or the
    minute turns (posts pass their four hours with the clock)."""
    minute = utcnow().replace(second=0, microsecond=0)
    until = until or minute
    since = since or until - timedelta(days=RESPONSE_DAYS)
    in_scope = _COMPOUND_COLUMN[level] == node_id
    versions = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Compound.board_version), 0)).where(in_scope))

    def make() -> dict:
        overall, by_compound = response_figures(sa.select(Compound.id).where(in_scope), since, until, minute)
        names = db.session.execute(
            sa.select(Compound.id, Compound.name).where(in_scope).order_by(Compound.street_id, Compound.id)
        ).all()
        return {
            "overall": asdict(overall),
            "compounds": [
                (name, asdict(by_compound.get(compound_id, ResponseFigures()))) for compound_id, name in names
            ],
        }

    key = _RESPONSES(level, node_id, versions, minute, since, until)
    kept = _RESPONSES.get_or_make(key, make)
    return FirstResponses(
        key,
        since,
        until,
        ResponseFigures(**kept["overall"]),
        [(name, ResponseFigures(**figures)) for name, figures in kept["compounds"]],
    )
