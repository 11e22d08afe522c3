"""Demo cases for `flask seed-demo`: every stage of the workflow, spread over the past weeks,
so each dashboard has something to show. Cases are made through the services, then dated back."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from ..board.models import AuthorRole, Post
from ..compounds.models import Department
from ..extensions import db
from ..timeutil import utcnow
from . import services
from .models import Case, CaseEvent, CaseType, Priority, Satisfaction

STORY_TITLE = "广场变菜园"
CASE_SECTIONS = ("matters", "police", "deliberation", "neighbours", "mutual_aid")
# How each demo case ends up, in turn: most close satisfied, a few stop at every other stage.
OUTCOMES = ["closed", "closed", "basic", "closed", "resolved", "closed", "overdue", "closed", "reopened",
            "closed", "unrated", "closed", "withdrawn", "closed", "closed", "in_progress"]
RESOLVE_HOURS = [3, 26, 50, 8, 70, 30, 12, 96, 40, 20, 60, 5, 36, 80, 16, 44]
TYPES_BY_SECTION = {"matters": "市容绿化", "police": "治安", "deliberation": "物业维修", "neighbours": "邻里纠纷",
                    "mutual_aid": "其他"}


def _date_back(case: Case, start) -> None:
    """Move a freshly made case and its events to ``start``, keeping their order and gaps."""
    events = list(db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
    shift = case.created_at - start
    for event in events:
        event.created_at -= shift
    for column in ("created_at", "deadline_at", "next_escalation_at", "resolved_at", "closed_at"):
        value = getattr(case, column)
        if value is not None:
            setattr(case, column, value - shift)
    for department in case.departments:
        department.dispatched_at -= shift


def _step(case: Case, hours: float, verb, *args) -> None:
    """Run a service verb, then place its event ``hours`` after filing."""
    verb(*args)
    db.session.flush()
    last = db.session.scalar(sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc()))
    last.created_at = case.created_at + timedelta(hours=hours)


def seed_cases(compounds: dict, users_by_phone: dict) -> int:
    if db.session.scalar(sa.select(Case.id).limit(1)):
        return 0  # already seeded
    district_id = next(iter(compounds.values())).district_id
    types = {t.name: t for t in db.session.scalars(sa.select(CaseType).where(CaseType.district_id == district_id))}
    departments = {d.name: d for d in db.session.scalars(sa.select(Department))}
    secretary_of = {"吴淞新城": "13800000002", "美罗家园": "13800000004", "淞南一村": "13800000009", "天平村": "13800000010"}
    wusong = {"吴淞新城", "淞南一村"}
    posts = list(db.session.scalars(
        sa.select(Post).join(Post.section)
        .where(Post.author_role == AuthorRole.RESIDENT, Post.deleted_at.is_(None))
        .order_by(Post.created_at)
    ))
    made = 0
    now = utcnow()
    for post in posts:
        compound = next(name for name, c in compounds.items() if c.id == post.compound_id)
        if post.section.key not in CASE_SECTIONS:
            continue
        secretary = users_by_phone[secretary_of[compound]]
        if compound in wusong:
            dispatched = [departments["吴淞街道城管中队"], departments["吴淞新城物业服务中心"]]
            worker = users_by_phone["13800000008"]
        else:
            dispatched = [departments["罗店镇城管中队"]]
            worker = users_by_phone["13800000012"]
        if post.title == STORY_TITLE:
            # The story: filed within the hour and dispatched to 城管, the street grid centre and 物业;
            # 城管 is on it. Resolve it and rate it live in the demo.
            case = services.file_case(secretary, post, types["市容绿化"], Priority.NORMAL,
                                      note="已电话联系发帖居民", departments=dispatched + [departments["吴淞街道网格化综合管理中心"]])
            _date_back(case, post.created_at + timedelta(minutes=40))
            _step(case, 1.5, services.accept, worker, case, "城管中队已派员到现场核实，正在联系种菜居民")
            made += 1
            continue
        outcome = OUTCOMES[made % len(OUTCOMES)]
        hours = RESOLVE_HOURS[made % len(RESOLVE_HOURS)]
        start = post.created_at + timedelta(hours=1)
        priority = Priority.URGENT if outcome == "overdue" else Priority.NORMAL
        case = services.file_case(secretary, post, types[TYPES_BY_SECTION[post.section.key]], priority,
                                  departments=[] if outcome == "withdrawn" else dispatched)
        _date_back(case, start)
        made += 1
        if outcome == "withdrawn":
            _step(case, 2, services.withdraw, secretary, case, "经核实属于业主私事，已由居委会调解，不予立案")
            case.closed_at = case.created_at + timedelta(hours=2)
            continue
        _step(case, 1, services.accept, worker, case, "已接单，安排人员处置")
        if outcome in ("overdue", "in_progress"):
            continue
        if start + timedelta(hours=hours) > now:
            hours = max((now - start).total_seconds() / 3600 - 0.5, 1)
        _step(case, hours, services.resolve, worker, case, "已到现场处置完毕，请居民查看")
        case.resolved_at = case.created_at + timedelta(hours=hours)
        case.resolve_minutes = int(hours * 60)
        if outcome == "resolved":
            continue
        if outcome == "unrated":
            case.resolved_at = now - timedelta(days=8)  # `cases escalate` closes it as 未评价
            continue
        reporter = users_by_phone.get(post.author.phone)
        if outcome == "reopened":
            _step(case, hours + 6, services.rate, reporter, case, Satisfaction.UNSATISFIED, "问题还在，没有彻底解决")
            continue
        satisfaction = Satisfaction.BASIC if outcome == "basic" else Satisfaction.SATISFIED
        _step(case, hours + 5, services.rate, reporter, case, satisfaction, "")
        case.closed_at = case.created_at + timedelta(hours=hours + 5)
    db.session.flush()
    # What cron does every few minutes: overdue cases climb a level, unrated ones close.
    services.escalate_overdue()
    services.close_unrated()
    return made
