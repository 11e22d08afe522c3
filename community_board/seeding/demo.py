"""`flask seed-demo`: the demo district (宝山区: two streets, four compounds), its people and a month
of life in it — posts, replies, likes, cases, votes — from ``data/demo.json`` and ``data/demo_posts.json``.

Everything is made through the app's own services, each step at the time it happened
(``timeutil.replaying_at``), with the cron jobs ticking every hour in between. So the demo reads as
if people had made it: a case is numbered on the day it was filed and goes to the departments its
type and compound call for (``data/case_routing.json``), search shows the times the feed shows, and
people have read their older messages. Running it again adds nothing.
"""

from __future__ import annotations

import heapq
import itertools
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from PIL import Image, ImageDraw
from stdnum.cn import ric

from ..accounts.models import PartyBadge, ResidentStatus, Salutation, User
from ..accounts.services import hash_password, household_at
from ..board import services as board
from ..board.models import AidStatus, BulletinKind, Post, Section, TradeStatus
from ..board.photos import store_images
from ..cases import services as cases
from ..cases.models import CaseType, Priority, ReturnReason, Satisfaction
from ..compounds.models import (
    Compound,
    CompoundKind,
    Department,
    DepartmentKind,
    District,
    StaffAssignment,
    StaffRole,
    Street,
    StreetKind,
)
from ..compounds.services import active_join_code, assign_staff
from ..deliberation import services as deliberation
from ..deliberation.models import Electorate, Outcome, Proposal, ProposalOption
from ..errors import ValidationError
from ..extensions import db, write_transactions
from ..grids import queries as grid_queries
from ..grids import services as grids
from ..grids.models import CareTag, Grid, GridDuty, Tenure, VisitKind
from ..line import queries as line_queries
from ..line import services as line
from ..notifications.models import Notification
from ..privacy import id_number_hmac
from ..timeutil import replaying_at, utcnow
from . import load

PASSWORD = "Demo1234"
STORY_DAYS = 60  # the people and places are older than the month of posts
READ_AFTER = timedelta(hours=24)  # messages older than this have been read by the time you sign in


def logins() -> list[tuple[str, str, str]]:
    """(role, compound, phone) of the accounts `make run` prints, in order."""
    return [(row["role"], row["compound"], row["phone"]) for row in load("demo")["logins"]]


def demo_id_number(seed: str) -> str:
    """A well-formed (checksum-valid) but fictitious ID number for demo residents."""
    # 310113 (宝山区) exists since 1988; calc_check_digit expects the number with a check character.
    body = "310113" + "1990" + "0101" + seed[-3:].rjust(3, "0")
    return body + ric.calc_check_digit(body + "0")


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="also under CB_CONFIG=production")
@with_appcontext
def seed_demo_command(force):
    """Load the demo district (idempotent) and print the demo logins."""
    if current_app.config["CONFIG_NAME"] == "production" and not force:
        raise click.ClickException(
            "seed-demo creates accounts with a known password; use CB_CONFIG=development, or --force if you mean it"
        )
    with write_transactions():
        seed_demo()
    click.echo(f"Demo data loaded. Demo logins (password {PASSWORD} for all):")
    for role, compound, phone in logins():
        click.echo(f"  {role} | {compound} | {phone} | {PASSWORD}")


def seed_demo(now: datetime | None = None) -> None:
    now = now or utcnow()
    with replaying_at(now - timedelta(days=STORY_DAYS)):
        world = _build_places_and_people(now)
    story = _Story(world, now)
    story.plan()
    _plan_grids(story)
    story.play()
    _read_old_messages(world, now)
    db.session.commit()


# Places and people ---------------------------------------------------------------------------


@dataclass
class World:
    district: District
    streets: dict[str, Street]
    compounds: dict[str, Compound]
    departments: dict[str, Department]
    people: dict[str, User]  # by name, as the posts name them
    property_of: dict[str, Department]  # compound name -> its property company


def _build_places_and_people(now: datetime) -> World:
    from ..cli import get_or_create, new_district  # cli imports this package to register its commands

    spec = load("demo")
    district = db.session.scalar(sa.select(District).where(District.name == spec["district"]["name"])) or new_district(
        spec["district"]["name"], spec["district"]["code"]
    )
    streets, compounds, property_names = {}, {}, {}
    for street_name, street_spec in spec["streets"].items():
        street = get_or_create(
            Street, district_id=district.id, name=street_name, defaults={"kind": StreetKind(street_spec["kind"])}
        )
        streets[street_name] = street
        for compound_name, compound_spec in street_spec["compounds"].items():
            compound = get_or_create(
                Compound,
                street_id=street.id,
                name=compound_name,
                defaults={"district_id": district.id, "kind": CompoundKind(compound_spec["kind"])},
            )
            active_join_code(compound)
            compounds[compound_name] = compound
            if "property" in compound_spec:
                property_names[compound_name] = compound_spec["property"]
    departments = {}
    for row in spec["departments"]:
        street_id = streets[row["street"]].id if row["street"] else None
        departments[row["name"]] = get_or_create(
            Department,
            district_id=district.id,
            street_id=street_id,
            name=row["name"],
            defaults={"kind": DepartmentKind(row["kind"])},
        )

    password_hash = hash_password(PASSWORD)
    people = {}
    for row in spec["staff"]:
        user = get_or_create(
            User, phone=row["phone"], defaults={"real_name": row["name"], "password_hash": password_hash}
        )
        scope = row["scope"]
        node = compounds.get(scope) or streets.get(scope) or departments.get(scope) or district
        district_id, street_id, compound_id = node.scope
        get_or_create(
            StaffAssignment,
            user_id=user.id,
            role=StaffRole(row["role"]),
            district_id=district_id,
            street_id=street_id,
            compound_id=compound_id,
            department_id=node.id if isinstance(node, Department) else None,
        )
        people[row["name"]] = user

    key = current_app.config["ID_HASH_KEY"]
    for row in spec["residents"]:
        compound = compounds[row["compound"]]
        status = ResidentStatus(row["status"])
        id_number = demo_id_number(row["phone"]) if row["id_number"] else None
        joined = utcnow() if status is ResidentStatus.VERIFIED else now - timedelta(hours=20)  # still waiting
        with replaying_at(joined):
            user = get_or_create(
                User,
                phone=row["phone"],
                defaults={
                    "real_name": row["name"],
                    "salutation": Salutation(row["salutation"]),
                    "password_hash": password_hash,
                    "compound_id": compound.id,
                    "building": row["building"],
                    "unit": row["unit"],
                    "room": row["room"],
                    "resident_status": status,
                    "consented_at": joined,
                    "id_number_hmac": id_number_hmac(key, id_number) if id_number else None,
                    "id_number_last4": id_number[-4:] if id_number else None,
                    "party_badge": PartyBadge.CONFIRMED if row["party_member"] else PartyBadge.NONE,
                },
            )
        if status is ResidentStatus.VERIFIED and user.household_id is None:
            user.verified_at = joined + timedelta(hours=3)
            user.household = household_at(compound, row["building"], row["unit"], row["room"])
        people[row["name"]] = user
    db.session.flush()
    verified = (
        sa.select(sa.func.count())
        .where(User.compound_id == Compound.id, User.resident_status == ResidentStatus.VERIFIED)
        .scalar_subquery()
    )
    db.session.execute(sa.update(Compound).values(resident_count=verified))
    return World(
        district,
        streets,
        compounds,
        departments,
        people,
        {name: departments[department] for name, department in property_names.items()},
    )


# The story -----------------------------------------------------------------------------------


class _Story:
    """Every step of the month as (time, order, action); played in time order, each at its time."""

    def __init__(self, world: World, now: datetime):
        self.world, self.now = world, now
        self.steps: list[tuple[datetime, int, object]] = []
        self.order = itertools.count()
        self.sections = {s.key: s for s in db.session.scalars(sa.select(Section))}
        self.line = line_queries.line_section()
        self.case_types = {
            t.name: t for t in db.session.scalars(sa.select(CaseType).where(CaseType.district_id == world.district.id))
        }
        self.routing = load("case_routing")

    def at(self, moment: datetime, action) -> None:
        """Do ``action`` at ``moment``; a step that would fall after now has not happened yet."""
        if moment <= self.now:
            heapq.heappush(self.steps, (moment, next(self.order), action))

    def plan(self) -> None:
        posts = load("demo_posts")
        seeded = set(db.session.scalars(sa.select(Post.compound_id).distinct()))
        first = self.now
        proposals = 0
        for compound_name, specs in posts.items():
            compound = self.world.compounds[compound_name]
            if compound.id in seeded:
                continue  # already seeded: running twice adds nothing
            for spec in specs:
                created = self.now - timedelta(hours=spec["hours_ago"])
                first = min(first, created)
                made: dict[str, Post] = {}
                self.at(created, lambda c=compound, s=spec, m=made: m.setdefault("post", self._post(c, s)))
                self._plan_post_life(compound, spec, created, made)
                if "case" in spec:
                    self._plan_case(compound_name, spec["case"], created, made)
                if spec["section"] == "deliberation":
                    self._plan_proposal(compound, spec, created, made, proposals)
                    proposals += 1
        self._plan_private_line()
        self._plan_case_mechanics()
        if self.steps:
            for hour in range(int((self.now - first).total_seconds() // 3600) + 1):
                self.at(first + timedelta(hours=hour, minutes=3), _cron)

    def play(self) -> None:
        while self.steps:
            moment, _order, action = heapq.heappop(self.steps)
            with replaying_at(moment):
                action()
                db.session.flush()

    def person(self, name: str) -> User:
        return self.world.people[name]

    # Posts ---------------------------------------------------------------------------------
    def _post(self, compound: Compound, spec: dict) -> Post:
        photo = spec.get("photo")
        stored = store_images([draw_item(photo["shape"], photo["color"])]) if photo else []
        draft = board.PostDraft(
            title=spec["title"],
            body="\n".join(spec["body"]),
            price_yuan=str(spec["price_yuan"]) if spec.get("price_yuan") is not None else None,
            is_free=bool(spec.get("free")),
            condition=spec.get("condition"),
            aid_kind=spec.get("aid_kind"),
            topic=spec.get("topic"),
            # 吴淞新城's guides serve the whole street (淞南一村 reads them too).
            shared_with_street=spec["section"] == "guide" and compound.name == "吴淞新城",
        )
        post = board.create_post(self.person(spec["author"]), compound, self.sections[spec["section"]], draft, stored)
        if spec.get("bulletin_kind"):
            post.bulletin_kind = BulletinKind(spec["bulletin_kind"])
        return post

    def _plan_post_life(self, compound: Compound, spec: dict, created: datetime, made: dict) -> None:
        author = self.person(spec["author"])
        last = created
        for reply in spec.get("replies", []):
            moment = min(created + timedelta(hours=reply["hours_after"]), self.now)
            last = max(last, moment)
            self.at(moment, lambda r=reply: board.add_reply(self.person(r["by"]), made["post"], r["text"]))
        likers = [
            u
            for u in self.world.people.values()
            if u.compound_id == compound.id
            and u.is_verified_resident
            or any(a.compound_id == compound.id for a in u.assignments)
        ]
        for turn, liker in enumerate(likers[: spec.get("likes", 0)]):
            self.at(
                min(created + timedelta(minutes=20 * (turn + 1)), self.now),
                lambda u=liker: board.toggle_like(u, made["post"]),
            )
        if spec.get("pinned"):
            secretary = self._secretary_of(compound)
            self.at(created + timedelta(minutes=5), lambda: board.set_pinned(secretary, made["post"], True))
        if spec.get("trade_status", "available") != "available":
            status = TradeStatus(spec["trade_status"])
            self.at(
                min(last + timedelta(hours=2), self.now), lambda: board.set_trade_status(author, made["post"], status)
            )
        if spec.get("aid_status") == AidStatus.FULFILLED.value:
            self.at(min(last + timedelta(hours=1), self.now), lambda: board.mark_aid_fulfilled(author, made["post"]))

    def _secretary_of(self, compound: Compound) -> User:
        return next(
            u
            for u in self.world.people.values()
            if any(a.compound_id == compound.id and a.role is StaffRole.SECRETARY for a in u.assignments)
        )

    # Cases ---------------------------------------------------------------------------------
    def _departments_for(self, compound_name: str, type_name: str) -> list[Department]:
        """The departments the type calls for that serve the compound; the street's grid centre if none."""
        compound = self.world.compounds[compound_name]
        chosen = []
        for kind in self.routing[type_name]:
            if kind == DepartmentKind.PROPERTY.value:
                found = [self.world.property_of[compound_name]] if compound_name in self.world.property_of else []
            else:
                found = [
                    d
                    for d in self.world.departments.values()
                    if d.kind.value == kind and d.street_id == compound.street_id
                ]
            chosen += found
        return chosen or [
            d
            for d in self.world.departments.values()
            if d.kind is DepartmentKind.GRID_CENTRE and d.street_id == compound.street_id
        ]

    def _staff_of(self, department: Department) -> User | None:
        return next(
            (u for u in self.world.people.values() if any(a.department_id == department.id for a in u.assignments)),
            None,
        )

    def _worker_for(self, departments: list[Department]) -> User:
        for department in departments:
            if self._staff_of(department) is not None:
                return self._staff_of(department)
        raise LookupError(f"no demo staff in {[d.name for d in departments]}")

    def _plan_case(self, compound_name: str, spec: dict, posted: datetime, made: dict) -> None:
        compound = self.world.compounds[compound_name]
        secretary = self._secretary_of(compound)
        departments = self._departments_for(compound_name, spec["type"])
        worker = self._worker_for(departments)
        lead = next(d for d in departments if self._staff_of(d) is worker)  # 主办: the first with staff
        assisting = [d for d in departments if d is not lead]
        outcome = spec["outcome"]
        filed = posted + timedelta(hours=spec.get("filed_after_hours", 1))
        priority = Priority.URGENT if outcome == "overdue" else Priority.NORMAL
        dispatch_now = outcome not in ("filed", "withdrawn")

        def file():
            made["case"] = cases.file_case(
                secretary,
                made["post"],
                self.case_types[spec["type"]],
                priority,
                note=spec.get("note", ""),
                departments=departments if dispatch_now else [],
                lead=lead,
            )

        def step(hours: float, action) -> None:
            """``action(case)`` ``hours`` after filing."""
            self.at(filed + timedelta(hours=hours), lambda: action(made["case"]))

        def rate(satisfaction: Satisfaction, comment: str = ""):
            return lambda case: cases.rate(db.session.get(User, case.reporter_id), case, satisfaction, comment)

        self.at(filed, file)
        if outcome == "withdrawn":
            note = spec.get("withdraw_note", "经核实不属于本平台受理范围，已告知居民办理渠道")
            step(2, lambda case: cases.withdraw(secretary, case, note))
            return
        if outcome in ("filed", "dispatched"):
            return
        step(1, lambda case: cases.accept(worker, case, spec.get("accept_note", "已接单，安排人员处置")))
        for department in assisting:  # 协办 sign for their part, and report it before the lead resolves
            helper = self._staff_of(department)
            step(1.5, lambda case, h=helper: cases.acknowledge(h, case, "已签收（协办），配合主办部门处置"))
        if outcome in ("in_progress", "overdue"):
            return
        hours = spec.get("resolve_hours", 24)
        for department in assisting:
            helper = self._staff_of(department)
            step(hours - 1, lambda case, h=helper: cases.finish_part(h, case, "本部门配合的工作已完成"))
        step(hours, lambda case: cases.resolve(worker, case, "已到现场处置完毕，请居民查看"))
        if outcome in ("resolved", "unrated"):
            return  # unrated: the hourly `cases escalate` closes it after 7 days
        if outcome == "reopened":
            step(hours + 6, rate(Satisfaction.UNSATISFIED, "问题还在，没有彻底解决"))
            step(hours + 30, lambda case: cases.resolve(worker, case, "已重新处置，更换了破损的部件，请居民查看"))
            hours += 30
        step(hours + 5, rate(Satisfaction.BASIC if outcome == "basic" else Satisfaction.SATISFIED))

    # 私信居委会 ------------------------------------------------------------------------------
    def _plan_private_line(self) -> None:
        """Messages residents wrote privately to the 居委会 (data/demo_line.json) and what it did with
        each: one answered and closed, one given to a colleague, answered and filed as a case, one
        still waiting. Told once: a compound with messages already is left as it is."""
        for compound_name, specs in load("demo_line").items():
            compound = self.world.compounds[compound_name]
            told = sa.select(Post.id).where(Post.compound_id == compound.id, Post.section_id == self.line.id)
            if db.session.scalar(told.limit(1)) is not None:
                continue
            for spec in specs:
                written = self.now - timedelta(hours=spec["hours_ago"])
                draft = board.PostDraft(title=spec["title"], body="\n".join(spec["body"]))
                made: dict[str, Post] = {}
                self.at(
                    written,
                    lambda c=compound, s=spec, d=draft, m=made: m.setdefault(
                        "post", line.write(self.person(s["author"]), c, d)
                    ),
                )
                for step in spec["steps"]:
                    self.at(
                        written + timedelta(hours=step["hours_after"]),
                        lambda c=compound_name, s=step, m=made: self._line_step(c, s, m["post"]),
                    )

    def _line_step(self, compound_name: str, step: dict, message: Post) -> None:
        actor = self.person(step["by"])
        if step["do"] == "reply":
            board.add_reply(actor, message, step["text"])
        elif step["do"] == "take":
            line.take(actor, message)
        elif step["do"] == "assign":
            line.assign(actor, message, self.person(step["to"]))
        elif step["do"] == "close":
            line.close(actor, message)
        else:  # file_case: the case keeps the message private (cases/rules.py)
            type_name = step["type"]
            cases.file_case(
                actor,
                message,
                self.case_types[type_name],
                Priority.NORMAL,
                note=step.get("note", ""),
                departments=self._departments_for(compound_name, type_name),
            )

    # Case mechanics (issue 14) ------------------------------------------------------------
    def _plan_case_mechanics(self) -> None:
        """吴淞新城 (``data/demo_cases.json``): the district's working-day calendar, then cases as 12345
        runs them — 物业 signs for one and asks a 延期 the 书记 approves; 城管 returns one (退单) with
        its reason and the 书记 sends it to 物业, and another waits for her; 城管 leads one with 物业
        assisting (主办/协办), corrected after filing and handed to another 包案人."""
        spec = load("demo_cases")
        compound = self.world.compounds[spec["compound"]]
        if db.session.scalar(sa.select(Post.id).where(Post.compound_id == compound.id).limit(1)):
            return  # seeded already
        admin = next(
            u for u in self.world.people.values() if any(a.role is StaffRole.DISTRICT_ADMIN for a in u.assignments)
        )
        self.at(
            self.now - timedelta(days=STORY_DAYS - 1), lambda: cases.load_national_holidays(admin, self.world.district)
        )
        people = {key: self.person(spec[key]) for key in ("secretary", "committee")}
        departments = {key: self.world.departments[spec[key]] for key in ("urban_management", "property")}
        people.update({key: self._staff_of(department) for key, department in departments.items()})
        self._plan_extension(compound, spec["extension"], people, departments)
        self._plan_return(compound, spec["return"], people, departments)
        self._plan_waiting_return(compound, spec["waiting_return"], people, departments)
        self._plan_lead_and_assist(compound, spec["lead_and_assist"], people, departments)

    def _mechanics_case(self, compound: Compound, spec: dict, filer: User, departments: list[Department]):
        """The post, filed and dispatched; returns ``step(hours after the post, action(case))``."""
        posted = self.now - timedelta(hours=spec["post"]["hours_ago"])
        made: dict = {}
        self.at(posted, lambda: made.setdefault("post", self._post(compound, spec["post"])))
        self._plan_post_life(compound, spec["post"], posted, made)
        self.at(
            posted + timedelta(hours=spec["filed_after"]),
            lambda: made.setdefault(
                "case",
                cases.file_case(
                    filer,
                    made["post"],
                    self.case_types[spec["type"]],
                    Priority.NORMAL,
                    note=spec.get("note", ""),
                    departments=departments,
                ),
            ),
        )

        def step(hours: float, action) -> None:
            self.at(posted + timedelta(hours=hours), lambda: action(made["case"]))

        return step

    def _rate_satisfied(self, case) -> None:
        cases.rate(db.session.get(User, case.reporter_id), case, Satisfaction.SATISFIED, "处理得很及时，谢谢")

    def _plan_extension(self, compound, spec, people, departments) -> None:
        step = self._mechanics_case(compound, spec, people["secretary"], [departments["property"]])
        step(
            spec["acknowledged_after"],
            lambda case: cases.acknowledge(people["property"], case, spec["acknowledge_note"]),
        )
        step(
            spec["extension_after"],
            lambda case: cases.request_extension(
                people["property"],
                case,
                case.deadline_at + timedelta(days=spec["extension_days"]),
                spec["extension_reason"],
            ),
        )
        step(
            spec["approved_after"],
            lambda case: cases.decide_extension(people["secretary"], case, True, spec["approval_note"]),
        )
        step(spec["progress_after"], lambda case: cases.add_note(people["property"], case, spec["progress_note"]))

    def _plan_return(self, compound, spec, people, departments) -> None:
        step = self._mechanics_case(compound, spec, people["secretary"], [departments["urban_management"]])
        reason = ReturnReason(spec["return_reason"])
        step(
            spec["returned_after"],
            lambda case: cases.return_case(people["urban_management"], case, reason, spec["return_basis"]),
        )
        step(
            spec["redispatched_after"],
            lambda case: cases.dispatch(people["secretary"], case, [departments["property"]], spec["redispatch_note"]),
        )
        step(
            spec["acknowledged_after"],
            lambda case: cases.acknowledge(people["property"], case, spec["acknowledge_note"]),
        )
        step(spec["resolved_after"], lambda case: cases.resolve(people["property"], case, spec["resolution"]))
        step(spec["rated_after"], self._rate_satisfied)

    def _plan_waiting_return(self, compound, spec, people, departments) -> None:
        """Sent to the wrong department this morning: back with the 书记 (已退回), to be sent on."""
        step = self._mechanics_case(compound, spec, people["secretary"], [departments["urban_management"]])
        reason = ReturnReason(spec["return_reason"])
        step(
            spec["returned_after"],
            lambda case: cases.return_case(people["urban_management"], case, reason, spec["return_basis"]),
        )

    def _plan_lead_and_assist(self, compound, spec, people, departments) -> None:
        both = [departments["urban_management"], departments["property"]]  # 城管 leads, 物业 assists
        step = self._mechanics_case(compound, spec, people["secretary"], both)
        corrected = self.case_types[spec["corrected_type"]]
        step(
            spec["corrected_after"],
            lambda case: cases.correct(people["secretary"], case, case_type=corrected, note=spec["correction_note"]),
        )
        step(spec["owner_after"], lambda case: cases.set_owner(people["secretary"], case, self.person(spec["owner"])))
        step(spec["accepted_after"], lambda case: cases.accept(people["urban_management"], case, spec["accept_note"]))
        step(
            spec["assist_acknowledged_after"],
            lambda case: cases.acknowledge(people["property"], case, spec["assist_acknowledge_note"]),
        )
        step(
            spec["assist_done_after"],
            lambda case: cases.finish_part(people["property"], case, spec["assist_done_note"]),
        )
        step(spec["resolved_after"], lambda case: cases.resolve(people["urban_management"], case, spec["resolution"]))
        step(spec["rated_after"], self._rate_satisfied)

    # Proposals -----------------------------------------------------------------------------
    def _plan_proposal(self, compound: Compound, spec: dict, posted: datetime, made: dict, index: int) -> None:
        """A vote on the 议事厅 post: the older ones closed and decided, the newer ones open (the
        first of those corrected by a 补充说明 once people have voted)."""
        closed = index % 2 == 0
        deadline = posted + timedelta(days=3) if closed else max(self.now, posted) + timedelta(days=3 + index)
        if closed and deadline > self.now:
            closed, deadline = False, self.now + timedelta(days=2)

        def open_vote():
            made["proposal"] = proposal = Proposal(
                post_id=made["post"].id,
                compound_id=compound.id,
                electorate=Electorate.HOUSEHOLDS if index % 3 == 1 else Electorate.RESIDENTS,
                deadline_at=deadline,
                show_tally_early=index % 4 == 1,
                turnout_threshold=50 if closed else None,
                options=[
                    ProposalOption(position=i, label=label) for i, label in enumerate(deliberation.DEFAULT_OPTIONS)
                ],
            )
            db.session.add(proposal)

        self.at(posted + timedelta(minutes=1), open_vote)
        voters = [
            u
            for u in self.world.people.values()
            if u.compound_id == compound.id and u.resident_status is ResidentStatus.VERIFIED
        ]
        for turn, voter in enumerate(voters):
            # Most agree; one abstains.
            self.at(
                min(posted + timedelta(hours=turn + 1), deadline - timedelta(hours=1)),
                lambda v=voter, t=turn: _vote(v, made["proposal"], 2 if t == 2 else 0),
            )
        author = self.person(spec["author"])
        if index == 1:  # voted on, so frozen: corrected by a 补充说明
            self.at(
                posted + timedelta(hours=len(voters) + 2),
                lambda: deliberation.add_note(
                    author, made["proposal"], "补充：具体位置和费用以物业公示的方案为准，公示后会在下面回复里贴出链接。"
                ),
            )
        if closed:
            secretary = self._secretary_of(compound)
            self.at(
                deadline + timedelta(hours=6),
                lambda: deliberation.record_outcome(
                    secretary,
                    made["proposal"],
                    Outcome.PASSED,
                    "投票通过。居委会将会同物业在两周内拿出实施方案并公示。",
                ),
            )


# Grids and household files ----------------------------------------------------------------------


def _plan_grids(story: _Story) -> None:
    """吴淞新城 in three grids (``data/demo_grids.json``): grid workers, 一格三员, household files with
    care tags, 民情日记 visits, and a case a grid worker raised on an elder's behalf (代发), which the
    书记 dispatched and 物业 resolved. 王阿婆 (独居老人, 第2网格) has not been visited yet."""
    spec = load("demo_grids")
    world = story.world
    compound = world.compounds[spec["compound"]]
    if db.session.scalar(sa.select(Grid.id).where(Grid.compound_id == compound.id).limit(1)):
        return  # already seeded
    households: dict[str, int] = {}
    story.at(story.now - timedelta(days=spec["set_up_days_ago"]), lambda: _set_up_grids(story, spec, households))
    for visit in spec["visits"]:
        story.at(
            story.now - timedelta(days=visit["days_ago"]),
            lambda v=visit: _visit(story, spec, v, households[v["household"]]),
        )


def _set_up_grids(story: _Story, spec: dict, households: dict[str, int]) -> None:
    from ..cli import get_or_create  # cli imports this package to register its commands

    world = story.world
    compound = world.compounds[spec["compound"]]
    secretary, admin = story._secretary_of(compound), world.people["王建国"]
    password_hash = hash_password(PASSWORD)
    for row in spec["grids"]:
        grid = grids.create_grid(secretary, compound, row["name"])
        grids.assign_buildings(secretary, grid, row["buildings"])
        grids.set_public_phone(secretary, grid, row["public_phone"])
        worker = get_or_create(
            User,
            phone=row["worker"]["phone"],
            defaults={"real_name": row["worker"]["name"], "password_hash": password_hash},
        )
        assign_staff(admin, world.district, worker, StaffRole.GRID_WORKER, grid)
        db.session.flush()
        db.session.refresh(worker, ["assignments"])
        world.people[worker.real_name] = worker
        for duty, phone in row["members"]:
            grids.add_grid_member(secretary, grid, GridDuty(duty), phone)
    tags = {
        t.name: t.id for t in db.session.scalars(sa.select(CareTag).where(CareTag.district_id == world.district.id))
    }
    for row in spec["households"]:
        building, unit, room = row["address"]
        grid = grids.grid_of_building(compound.id, building)
        household = grids.add_household(secretary, grid, building, unit, room)
        record = grid_queries.household_record(household.id)
        grids.update_household(secretary, record, Tenure(row["tenure"]), row.get("contact_phone"))
        for name, relation in row.get("members", []):
            grids.add_member(secretary, record, name, relation)
        grids.set_care_tags(secretary, record, [tags[name] for name in row["tags"]])
        households[row["key"]] = household.id


def _visit(story: _Story, spec: dict, row: dict, household_id: int) -> None:
    """A visit or call at its time; one raises a case for the household, which then runs its course."""
    visitor = story.person(row["by"])
    record = grid_queries.household_record(household_id)
    visit = grids.record_visit(
        visitor, record, grids.today_local(), VisitKind(row["kind"]), row["met"], row["raised"], row["follow_up"]
    )
    on_behalf = row.get("on_behalf")
    if on_behalf is None:
        return
    db.session.flush()
    draft = board.PostDraft(title=on_behalf["title"], body=on_behalf["body"])
    case = grids.raise_case(
        visitor, record, visit, draft, story.case_types[on_behalf["type"]], Priority.NORMAL, consent=True
    )
    filed = utcnow()
    departments = story._departments_for(spec["compound"], on_behalf["type"])
    worker = story._worker_for(departments)
    secretary = story._secretary_of(record.compound)
    for hours, action in (
        (on_behalf["dispatched_after_hours"], lambda: cases.dispatch(secretary, case, departments)),
        (on_behalf["accepted_after_hours"], lambda: cases.accept(worker, case)),
        (on_behalf["resolved_after_hours"], lambda: cases.resolve(worker, case, on_behalf["resolution"])),
    ):
        story.at(filed + timedelta(hours=hours), action)


def _vote(voter: User, proposal: Proposal, position: int) -> None:
    with suppress(ValidationError):  # a household already voted through another member
        deliberation.vote(voter, proposal, proposal.options[position].id)


def _cron() -> None:
    """What the cron jobs do every few minutes: overdue cases climb a level, unrated ones close,
    votes past their deadline close."""
    cases.escalate_overdue()
    cases.close_unrated()
    deliberation.close_due()


def _read_old_messages(world: World, now: datetime) -> None:
    """The demo people have read what reached them before yesterday; a first login shows what is new."""
    db.session.execute(
        sa.update(Notification)
        .where(
            Notification.user_id.in_([user.id for user in world.people.values()]),
            Notification.read_at.is_(None),
            Notification.created_at < now - READ_AFTER,
        )
        .values(read_at=Notification.created_at + timedelta(hours=1))
    )


# Photos ----------------------------------------------------------------------------------------


def draw_item(shape: str, color: str) -> bytes:
    """A simple product photo: the item drawn on a soft background."""
    image = Image.new("RGB", (800, 800), "#f4efe6")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 620, 800, 800), fill="#e2d9c8")
    shapes = {
        "chair": lambda: (
            draw.rectangle((260, 180, 540, 440), fill=color),
            draw.rectangle((240, 440, 560, 500), fill=color),
            draw.rectangle((260, 500, 290, 700), fill=color),
            draw.rectangle((510, 500, 540, 700), fill=color),
        ),
        "box": lambda: (
            draw.rectangle((220, 300, 580, 660), fill=color),
            draw.line((220, 380, 580, 380), fill="#fff", width=8),
        ),
        "bike": lambda: (
            draw.ellipse((130, 430, 350, 650), outline=color, width=18),
            draw.ellipse((450, 430, 670, 650), outline=color, width=18),
            draw.line((240, 540, 400, 380, 560, 540, 240, 540), fill=color, width=16),
        ),
        "lamp": lambda: (
            draw.polygon([(300, 200), (500, 200), (560, 360), (240, 360)], fill=color),
            draw.rectangle((390, 360, 410, 620), fill="#555"),
            draw.rectangle((320, 620, 480, 650), fill="#555"),
        ),
        "book": lambda: (
            draw.rectangle((250, 220, 550, 640), fill=color),
            draw.rectangle((270, 240, 290, 620), fill="#fff"),
        ),
        "plant": lambda: (
            draw.ellipse((250, 150, 550, 450), fill=color),
            draw.polygon([(300, 450), (500, 450), (470, 660), (330, 660)], fill="#b5651d"),
        ),
        "toy": lambda: (draw.ellipse((280, 200, 520, 440), fill=color), draw.ellipse((230, 400, 570, 680), fill=color)),
        "table": lambda: (
            draw.rectangle((160, 330, 640, 380), fill=color),
            draw.rectangle((200, 380, 230, 660), fill=color),
            draw.rectangle((570, 380, 600, 660), fill=color),
        ),
    }
    shapes.get(shape, shapes["box"])()
    buffer = BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
