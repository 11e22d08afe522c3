"""Times are stored as naive UTC and shown in Asia/Shanghai."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_replayed: ContextVar[datetime | None] = ContextVar("replayed", default=None)


def utcnow() -> datetime:
    return _replayed.get() or datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def replaying_at(moment: datetime):
    """Inside, "now" is ``moment``: `flask seed-demo` tells its story through the services, each step
    at the time it happened, so every row they write (numbers, events, messages) carries that time."""
    token = _replayed.set(moment)
    try:
        yield
    finally:
        _replayed.reset(token)


def to_local(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(SHANGHAI)


def local_midnight_utc(day: date) -> datetime:
    """The naive UTC moment a Shanghai calendar day begins."""
    return datetime.combine(day, time(), SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def from_local(moment: datetime) -> datetime:
    """A Shanghai wall-clock time (a form's datetime-local) as the naive UTC stored."""
    return moment.replace(tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def format_local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(moment).strftime(pattern) if moment else ""


def humanize(moment: datetime | None, now: datetime | None = None) -> str:
    """WeChat-style relative time: 刚刚, 3分钟前, 2小时前, 昨天 14:05, 11月2日, 2025年3月1日."""
    if moment is None:
        return ""
    now = now or utcnow()
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{int(seconds // 60)}分钟前"
    local, local_now = to_local(moment), to_local(now)
    days = (local_now.date() - local.date()).days
    if days == 0:
        return f"{int(seconds // 3600)}小时前"
    if days == 1:
        return local.strftime("昨天 %H:%M")
    if local.year == local_now.year:
        return f"{local.month}月{local.day}日"
    return f"{local.year}年{local.month}月{local.day}日"
