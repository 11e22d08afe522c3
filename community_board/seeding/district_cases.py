"""One case of a seeded district, played through the case workflow as the services and the cron
jobs would have played it, stopping at the dataset's "now". Every change of the case's status and of
a department's part (主办 first, 协办 after it) goes through the workflow's own table
(``cases.services.TRANSITIONS``), which names the event it writes; deadlines and 签收 limits count
working days of the district's calendar (``cases.workdays``)."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from ..cases import workdays
from ..cases.models import (
    OPEN_STATUSES,
    CaseStatus,
    EventKind,
    Level,
    PartRole,
    PartStatus,
    Priority,
    ReturnReason,
    Satisfaction,
)
from ..cases.services import TRANSITIONS
from ..compounds.models import StaffRole
from ..timeutil import to_local

S = CaseStatus
P = PartStatus
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
    "redispatched",
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
    "returned",
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
        # Its own stream (the plan's seed and the case's id): how a case's story goes leaves the
        # district's posts, replies and votes as they were.
        self.rng = random.Random(f"{gen.plan.seed}-case-{gen.next_ids['cases'] + 1}")
        self.notes = gen.text["case_notes"]
        self.deadline_limit = gen.base.deadlines[priority]
        self.ack_limit = gen.base.ack_limits[priority]
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
            "deadline_at": self._due(start, self.deadline_limit),
            "next_escalation_at": self._due(start, self.deadline_limit),
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
        self.case["owner_id"] = self.filer[0]  # 首问负责: who files it owns it
        self.handler = None
        self.parts: dict[int, dict] = {}  # department id -> its part (a case_departments row)
        self.part_labels: dict[int, tuple[int, str]] = {}  # department id -> (its staff member, its name)
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

    def _due(self, start: datetime, limit) -> datetime:
        return workdays.due(start, limit, self.gen.calendar)

    def _event(
        self, kind: EventKind, at: datetime, actor, label: str, from_status, to_status, public: str, internal=""
    ) -> dict:
        event = {
            "id": self.gen._id("case_events"),
            "case_id": self.case["id"],
            "kind": kind.value,
            "actor_id": actor,
            "actor_label": label,
            "from_status": from_status,
            "to_status": to_status,
            "department_id": None,
            "part_status": None,
            "public_note": public[:500],
            "internal_note": internal[:500],
            "created_at": at,
        }
        self.events.append(event)
        if kind is not EventKind.FILED:
            self.case["updated_at"] = at
            self.case["version"] += 1
        if to_status:
            self.case["status"] = to_status
        return event

    def _move(self, to_status: CaseStatus, at: datetime, actor, label: str, public: str) -> dict:
        """A status change, with the event the workflow's table names for it (KeyError if it allows none)."""
        kind, _action = TRANSITIONS[(self.status, to_status)]
        return self._event(kind, at, actor, label, self.status.value, to_status.value, public)

    def _move_part(self, department_id: int, to: PartStatus, at: datetime, public: str = "", event=None) -> None:
        """A department's part changes as the table allows (KeyError otherwise), on its own event or on
        the case's step that carries it (the lead's 签收 is its 接单处置)."""
        part = self.parts[department_id]
        kind, _action = TRANSITIONS[(P(part["status"]), to)]
        if event is None:
            event = self._event(kind, at, *self.part_labels[department_id], None, None, public)
        event["department_id"], event["part_status"] = department_id, to.value
        part["status"] = to.value
        if to is P.ACKNOWLEDGED:
            part["acknowledged_at"] = at
        else:
            part["finished_at"] = at

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
                "returned": [(0.05, "dispatch"), (0.4, "return")],
            }[outcome]
            return [(f * window, step) for f, step in fractions]
        if outcome == "withdrawn":
            return [(rng.uniform(1, 24), "withdraw")]
        t = rng.uniform(0.2, 6)
        steps = [(t, "dispatch")]
        if outcome == "redispatched":  # the lead returns it (退单), the filer sends it elsewhere (改派)
            t += rng.uniform(0.5, 6)
            steps.append((t, "return"))
            t += rng.uniform(0.5, 4)
            steps.append((t, "redispatch"))
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
        plan = self._plan()
        dispatched = next((hours for hours, step in plan if step == "dispatch"), None)
        if dispatched is not None and self.outcome != "dispatched" and self.rng.random() < 0.85:
            plan.append((dispatched + self.rng.uniform(0.1, 3), "assists_sign"))  # 协办 sign for their parts
        for hours, step in sorted(plan, key=lambda planned: planned[0]):
            at = start + timedelta(hours=hours)
            if at >= self.gen.now:
                break
            self._cron_until(at)
            getattr(self, "_" + step)(at)
        self._cron_until(self.gen.now)

    def _cron_until(self, moment: datetime) -> None:
        """What `flask cases escalate` (run every few minutes) did before ``moment``: overdue cases
        climbed a level, departments late to sign for their part were flagged (签收超时), in time order."""
        case = self.case
        while self.status in OPEN_STATUSES:
            due = []
            if case["level"] != Level.DISTRICT.value:
                due.append((case["next_escalation_at"] + timedelta(minutes=3), 0, None))
            for department_id, part in self.parts.items():
                if part["status"] == P.PENDING.value and part["ack_flagged_at"] is None:
                    due.append((part["ack_due_at"] + timedelta(minutes=3), 1, department_id))
            if not due or min(due)[0] >= moment:
                return
            at, _order, department_id = min(due)
            if department_id is None:
                target = Level(case["level"]).next
                self._event(
                    EventKind.ESCALATED, at, None, "系统", None, None, f"升级至{target.label}。超过处置期限，自动升级"
                )
                case["level"] = target.value
                case["next_escalation_at"] = self._due(at, self.deadline_limit)
            else:
                part = self.parts[department_id]
                part["ack_flagged_at"] = at
                name = self.part_labels[department_id][1]
                event = self._event(
                    EventKind.ACK_OVERDUE, at, None, "系统", None, None, "", f"{name}超过签收时限仍未签收"
                )
                event["department_id"] = department_id

    def _handler(self) -> tuple[int, str]:
        if self.handler is None:
            department_id, name = self.chosen[0]
            self.handler = (self.place.department_staff[department_id], name)
        return self.handler

    def _dispatch(self, at: datetime) -> None:
        """To the departments the type calls for: the first leads (主办), the others assist (协办)."""
        self.chosen = [self.place.departments[kind] for kind in self.gen.routing[self.type_name]]
        ack_due = self._due(at, self.ack_limit)
        for position, (department_id, name) in enumerate(self.chosen):
            part = {
                "case_id": self.case["id"],
                "department_id": department_id,
                "dispatched_at": at,
                "role": (PartRole.LEAD if position == 0 else PartRole.ASSIST).value,
                "status": P.PENDING.value,
                "ack_due_at": ack_due,
                "acknowledged_at": None,
                "ack_flagged_at": None,
                "finished_at": None,
            }
            self.departments.append(part)
            self.parts[department_id] = part
            self.part_labels[department_id] = (self.place.department_staff[department_id], name)
        names = "、".join(
            name + ("（主办）" if i == 0 and len(self.chosen) > 1 else "") for i, (_, name) in enumerate(self.chosen)
        )
        self._move(S.DISPATCHED, at, *self.filer, f"派单至：{names}。")

    def _return(self, at: datetime) -> None:
        """退单 by the lead: its part and the case go back to the filer (已退回)."""
        department_id, name = self.chosen[0]
        reason = self.rng.choice([ReturnReason.NOT_OUR_DUTY, ReturnReason.WRONG_DEPARTMENT])
        event = self._move(S.RETURNED, at, *self.part_labels[department_id], f"{name}退单：{reason.label}")
        event["internal_note"] = f"退单依据：{self.rng.choice(self.notes['return'])}"
        self._move_part(department_id, P.RETURNED, at, event=event)

    def _redispatch(self, at: datetime) -> None:
        """改派 to another department of the street, which leads from now on."""
        taken = {department_id for department_id, _name in self.chosen}
        department_id, name = next(
            self.place.departments[kind]
            for kind in ("grid_centre", "urban_management", "property")
            if self.place.departments[kind][0] not in taken
        )
        part = {
            "case_id": self.case["id"],
            "department_id": department_id,
            "dispatched_at": at,
            "role": PartRole.LEAD.value,
            "status": P.PENDING.value,
            "ack_due_at": self._due(at, self.ack_limit),
            "acknowledged_at": None,
            "ack_flagged_at": None,
            "finished_at": None,
        }
        self.departments.append(part)
        self.parts[department_id] = part
        self.part_labels[department_id] = (self.place.department_staff[department_id], name)
        self.chosen = [(department_id, name), *self.chosen[1:]]
        self.handler = None
        self._move(S.DISPATCHED, at, *self.filer, f"派单至：{name}（主办）。")

    def _accept(self, at: datetime) -> None:
        """The lead signs for the case: its 签收 is the case's 接单处置, one event."""
        event = self._move(S.IN_PROGRESS, at, *self._handler(), self.rng.choice(self.notes["accept"]))
        self._move_part(self.chosen[0][0], P.ACKNOWLEDGED, at, event=event)

    def _assists_sign(self, at: datetime) -> None:
        for department_id, _name in self.chosen[1:]:
            if self.parts[department_id]["status"] == P.PENDING.value:
                self._move_part(department_id, P.ACKNOWLEDGED, at, "已签收（协办）")

    def _assists_finish(self, at: datetime) -> None:
        """协办 parts done before the lead resolves (the rule of 主办/协办)."""
        for department_id, _name in self.chosen[1:]:
            if self.parts[department_id]["status"] == P.PENDING.value:
                self._move_part(department_id, P.ACKNOWLEDGED, at, "已签收（协办）")
            if self.parts[department_id]["status"] == P.ACKNOWLEDGED.value:
                self._move_part(department_id, P.DONE, at, self.rng.choice(self.notes["progress"]))

    def _progress(self, at: datetime) -> None:
        if self.status in OPEN_STATUSES:
            self._event(EventKind.PROGRESS, at, *self._handler(), None, None, self.rng.choice(self.notes["progress"]))

    def _resolve(self, at: datetime) -> None:
        self._assists_finish(max(at - timedelta(minutes=30), self.events[-1]["created_at"]))
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
            case["deadline_at"] = case["next_escalation_at"] = self._due(at, self.deadline_limit)
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
