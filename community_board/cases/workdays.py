"""Working time (工作日). Deadlines of 一般/较低 cases and the 签收 limits count working days: Monday
to Friday, except the district's calendar (``CalendarDay``) of public holidays (a weekday off) and
调休 makeup days (a weekend day worked). 紧急 limits count plain hours. Times are naive UTC; days
are Shanghai days."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from ..extensions import db
from ..timeutil import from_local, to_local

# A limit: ("hours", 4) or ("workdays", 3) (config CASE_DEADLINES, CASE_ACK_LIMITS).
Limit = tuple[str, int]
# Longest stretch of days off a calendar may hold before the sum gives up (the Spring Festival is 9).
MAX_DAYS_SCANNED = 370
HOLIDAYS_FILE = Path(__file__).parent / "data" / "holidays_cn.json"


def is_workday(day: date, exceptions: Mapping[date, bool]) -> bool:
    return exceptions.get(day, day.weekday() < 5)


def add_working_days(start: datetime, days: int, exceptions: Mapping[date, bool]) -> datetime:
    """``start`` plus ``days`` working days: the clock runs only on working days, so Friday 10:00 plus
    one working day is Monday 10:00, and a case filed on a Sunday has until the end of the Nth
    working day after it. ``exceptions``: date -> is_workday, the district's calendar."""
    moment = to_local(start).replace(tzinfo=None)
    remaining = timedelta(days=days)
    for _ in range(MAX_DAYS_SCANNED + days):
        midnight = datetime.combine(moment.date() + timedelta(days=1), time())
        if is_workday(moment.date(), exceptions):
            if remaining <= midnight - moment:
                return from_local(moment + remaining)
            remaining -= midnight - moment
        moment = midnight
    raise ValueError(f"no {days} working days within {MAX_DAYS_SCANNED} days of {start:%Y-%m-%d}")


def due(start: datetime, limit: Limit, exceptions: Mapping[date, bool]) -> datetime:
    unit, amount = limit
    if unit == "hours":
        return start + timedelta(hours=amount)
    return add_working_days(start, amount, exceptions)


def exceptions_from(district_id: int, start: datetime) -> dict[date, bool]:
    """The district's calendar from ``start``'s day on (a year ahead at most: bounded)."""
    from .models import CalendarDay

    first = to_local(start).date()
    rows = db.session.execute(
        sa.select(CalendarDay.day, CalendarDay.is_workday)
        .where(CalendarDay.district_id == district_id, CalendarDay.day >= first)
        .order_by(CalendarDay.day)
        .limit(MAX_DAYS_SCANNED)
    )
    return dict(rows.all())


@cache
def national_calendar() -> tuple[tuple[date, bool, str], ...]:
    """The public holidays and 调休 days the State Council announced (``data/holidays_cn.json``):
    what a district admin loads with one button, and what the seeders start from."""
    with open(HOLIDAYS_FILE, encoding="utf-8") as file:
        content = json.load(file)
    rows = []
    for festivals in content["years"].values():
        for festival in festivals:
            for day in festival.get("off", []):
                rows.append((date.fromisoformat(day), False, festival["name"]))
            for day in festival.get("work", []):
                rows.append((date.fromisoformat(day), True, f"{festival['name']}调休上班"))
    return tuple(sorted(rows))
