"""One case of a seeded district, played through the case workflow as the services and the cron
jobs would have played it, stopping at the dataset's "now". Every status change goes through the
workflow's own table (``cases.services.TRANSITIONS``), which names the event it writes."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from ..cases.models import OPEN_STATUSES, CaseStatus, EventKind, Level, Priority, Satisfaction
from ..cases.services import TRANSITIONS
from ..compounds.models import StaffRole
from ..timeutil import to_local

S = CaseStatus
# How cases end, in turn. Old cases (filed before the last two weeks) mostly closed; recent ones at
# every stage. "stuck" never moves on (overdue, escalated); "slow" closes after escalations.
OLD_OUTCOMES = [
    "closed",
    "closed",
    "basic",
    "withdrawn",
    "closed",
    "reopened",
    "unrated",
    "closed",
    "slow",
    "closed",
    "basic",
    "stuck",
    "closed",
    "closed",
    "withdrawn",
    "closed",
    "reopened",
    "unrated",
    "closed",
    "closed",
]
RECENT_OUTCOMES = [
    "filed",
    "dispatched",
    "in_progress",
    "resolved",
    "overdue",
    "reopened_open",
    "closed",
    "withdrawn",
    "in_progress",
    "resolved",
    "dispatched",
    "closed",
]


class CaseStory:
    """A case row, its departments and its events; ``gen`` is the DistrictGenerator (ids, rng, clock)."""

    def __init__(self, gen, post: dict, place, type_name: str, priority: str, start: datetime, outcome: str):
        self.gen, self.post, self.place, self.outcome = gen, post, place, outcome
        self.rng = gen.rng
        self.notes = gen.text["case_notes"]
        self.hours = timedelta(hours=gen.base.deadline_hours[priority])
        self.type_name = type_name
        prefix = f"{gen.plan.district_code}-{to_local(start):%Y%m%d}"  # numbered on the day it was filed
        gen.case_numbers[prefix] += 1
        self.case = {
            "id": gen._id("cases"),
            "number": f"{prefix}-{gen.case_numbers[prefix]:04d}",
            "district_id": gen.district_id,
            "street_id": place.street_id,
            "compound_id": place.id,
            "post_id": post["id"],
            "reply_id": None,
            "reporter_id": post["author_id"],
            "case_type_id": gen.case_types[type_name],
            "priority": priority,
            "status": S.FILED.value,
            "level": Level.COMPOUND.value,
            "created_at": start,
            "deadline_at": start + self.hours,
            "next_escalation_at": start + self.hours,
            "resolved_at": None,
            "resolve_minutes": None,
            "closed_at": None,
            "updated_at": None,
            "satisfaction": None,
            "satisfaction_comment": None,
            "reopen_count": 0,
            "version": 1,
        }
        self.events: list[dict] = []
        self.departments: list[dict] = []
        if self.rng.random() < 0.5:
            self.filer = (place.secretary, StaffRole.SECRETARY.label)
        else:
            self.filer = (self.rng.choice(place.committee), StaffRole.COMMITTEE.label)
        self.handler = None
        self._event(
            EventKind.FILED,
            start,
            *self.filer,
            None,
            S.FILED.value,
            f"已立案（{type_name}，{Priority(priority).label}）。",
        )

    @property
    def status(self) -> CaseStatus:
        return CaseStatus(self.case["status"])

    def _event(self, kind: EventKind, at: datetime, actor, label: str, from_status, to_status, public: str) -> None:
        self.events.append(
            {
                "id": self.gen._id("case_events"),
                "case_id": self.case["id"],
                "kind": kind.value,
                "actor_id": actor,
                "actor_label": label,
                "from_status": from_status,
                "to_status": to_status,
                "public_note": public[:500],
                "internal_note": "",
                "created_at": at,
            }
        )
        if kind is not EventKind.FILED:
            self.case["updated_at"] = at
            self.case["version"] += 1
        if to_status:
            self.case["status"] = to_status

    def _move(self, to_status: CaseStatus, at: datetime, actor, label: str, public: str) -> None:
        """A status change, with the event the workflow's table names for it (KeyError if it allows none)."""
        kind, _action = TRANSITIONS[(self.status, to_status)]
        self._event(kind, at, actor, label, self.status.value, to_status.value, public)

    def _plan(self) -> list[tuple[float, str]]:
        """(hours after filing, step) for the outcome."""
        rng, outcome = self.rng, self.outcome
        if outcome in RECENT_OUTCOMES and self.outcome_is_recent:
            window = (self.gen.now - self.case["created_at"]).total_seconds() / 3600
            fractions = {
                "filed": [],
                "dispatched": [(rng.uniform(0.05, 0.5), "dispatch")],
                "in_progress": [(rng.uniform(0.02, 0.1), "dispatch"), (rng.uniform(0.2, 0.6), "accept")],
                "resolved": [(0.05, "dispatch"), (0.15, "accept"), (rng.uniform(0.5, 0.95), "resolve")],
                "overdue": [(0.02, "dispatch"), (0.05, "accept"), (0.3, "progress")],
                "reopened_open": [(0.05, "dispatch"), (0.1, "accept"), (0.3, "resolve"), (0.5, "unsatisfied")],
                "closed": [(0.05, "dispatch"), (0.1, "accept"), (0.4, "resolve"), (0.6, "satisfied")],
                "withdrawn": [(0.2, "withdraw")],
            }[outcome]
            return [(f * window, step) for f, step in fractions]
        if outcome == "withdrawn":
            return [(rng.uniform(1, 24), "withdraw")]
        t = rng.uniform(0.2, 6)
        steps = [(t, "dispatch")]
        t += rng.uniform(0.5, 20)
        steps.append((t, "accept"))
        if outcome == "stuck":
            return steps if rng.random() < 0.7 else steps[:1]
        if rng.random() < 0.5:
            steps.append((t + rng.uniform(1, 10), "progress"))
        t += rng.uniform(120, 360) if outcome == "slow" else min(rng.lognormvariate(math.log(30), 0.8), 400)
        steps.append((t, "resolve"))
        if outcome == "unrated":
            return steps + [(t + 7 * 24 + 0.1, "close_unrated")]
        t += rng.uniform(1, 120)
        if outcome == "reopened":
            steps.append((t, "unsatisfied"))
            t += rng.uniform(1, 6)
            steps.append((t, "progress"))
            t += min(rng.lognormvariate(math.log(20), 0.6), 200)
            steps.append((t, "resolve"))
            t += rng.uniform(1, 72)
        steps.append((t, "basic" if outcome == "basic" else "satisfied"))
        return steps

    def play(self, recent: bool) -> None:
        self.outcome_is_recent = recent
        start = self.case["created_at"]
        # In time order: a progress note drawn after a quick resolution comes too late (and is dropped).
        for hours, step in sorted(self._plan()):
            at = start + timedelta(hours=hours)
            if at >= self.gen.now:
                break
            self._escalate_until(at)
            getattr(self, "_" + step)(at)
        self._escalate_until(self.gen.now)

    def _escalate_until(self, moment: datetime) -> None:
        """What `flask cases escalate` (run every few minutes) did before ``moment``."""
        case = self.case
        while self.status in OPEN_STATUSES and case["level"] != Level.DISTRICT.value:
            at = case["next_escalation_at"] + timedelta(minutes=3)
            if at >= moment:
                return
            target = Level(case["level"]).next
            self._event(
                EventKind.ESCALATED, at, None, "系统", None, None, f"升级至{target.label}。超过处置期限，自动升级"
            )
            case["level"] = target.value
            case["next_escalation_at"] = at + self.hours

    def _handler(self) -> tuple[int, str]:
        if self.handler is None:
            department_id, name = self.chosen[0]
            self.handler = (self.place.department_staff[department_id], name)
        return self.handler

    def _dispatch(self, at: datetime) -> None:
        self.chosen = [self.place.departments[kind] for kind in self.gen.routing[self.type_name]]
        for department_id, _name in self.chosen:
            self.departments.append({"case_id": self.case["id"], "department_id": department_id, "dispatched_at": at})
        names = "、".join(name for _id, name in self.chosen)
        self._move(S.DISPATCHED, at, *self.filer, f"派单至：{names}。")

    def _accept(self, at: datetime) -> None:
        self._move(S.IN_PROGRESS, at, *self._handler(), self.rng.choice(self.notes["accept"]))

    def _progress(self, at: datetime) -> None:
        if self.status in OPEN_STATUSES:
            self._event(EventKind.PROGRESS, at, *self._handler(), None, None, self.rng.choice(self.notes["progress"]))

    def _resolve(self, at: datetime) -> None:
        self._move(S.RESOLVED, at, *self._handler(), self.rng.choice(self.notes["resolve"]))
        self.case["resolved_at"] = at
        self.case["resolve_minutes"] = int((at - self.case["created_at"]).total_seconds() // 60)

    def _rate(self, at: datetime, satisfaction: Satisfaction, comment: str = "") -> None:
        case = self.case
        case["satisfaction"], case["satisfaction_comment"] = satisfaction.value, comment or None
        public = f"居民评价：{satisfaction.label}" + (f"。{comment}" if comment else "")
        reporter = (case["reporter_id"], "居民")
        if satisfaction is Satisfaction.UNSATISFIED:
            self._move(S.IN_PROGRESS, at, *reporter, public)
            case["reopen_count"] += 1
            case["resolved_at"] = None
            case["deadline_at"] = case["next_escalation_at"] = at + self.hours
        else:
            self._move(S.CLOSED, at, *reporter, public)
            case["closed_at"] = at

    def _satisfied(self, at: datetime) -> None:
        self._rate(at, Satisfaction.SATISFIED)

    def _basic(self, at: datetime) -> None:
        self._rate(at, Satisfaction.BASIC)

    def _unsatisfied(self, at: datetime) -> None:
        self._rate(at, Satisfaction.UNSATISFIED, self.rng.choice(self.notes["unsatisfied"]))

    def _close_unrated(self, at: datetime) -> None:
        self.case["satisfaction"] = Satisfaction.UNRATED.value
        self._move(S.CLOSED, at, None, "系统", "居民7天内未评价，自动结案")
        self.case["closed_at"] = at

    def _withdraw(self, at: datetime) -> None:
        self._move(S.WITHDRAWN, at, *self.filer, self.rng.choice(self.notes["withdraw"]))
        self.case["closed_at"] = at
