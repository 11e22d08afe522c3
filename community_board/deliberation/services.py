"""议事厅 verbs: open a proposal, vote (and change the vote), add a 补充说明, close at the deadline,
record the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import audit, caching
from ..accounts.models import ResidentStatus, User
from ..board import services as board_services
from ..board.models import Post, Section
from ..board.rules import SectionBoard
from ..compounds.models import Compound
from ..errors import ValidationError
from ..extensions import db
from ..permissions import Action, Decision, PermissionDenied, can, forbidden_reason, require
from ..security import render_plain_text
from ..timeutil import utcnow
from .models import Ballot, Electorate, Outcome, Proposal, ProposalNote, ProposalOption

DEFAULT_OPTIONS = ("赞成", "反对", "弃权")
LONGEST_VOTE = timedelta(days=90)
FROZEN = "已有居民投票，议题和选项不能再修改；如需更正，请添加补充说明"
NOTE_LIMIT = 500
MOST_NOTES = 20  # corrections, not a second discussion: that is what replies are for


@dataclass
class ProposalDraft:
    options: list[str]
    electorate: Electorate
    deadline_at: datetime  # UTC
    show_tally_early: bool = False
    turnout_threshold: int | None = None


def _checked_options(raw: list[str]) -> list[str]:
    options = [o.strip() for o in raw if o.strip()] or list(DEFAULT_OPTIONS)
    if len(options) < 2:
        raise ValidationError("至少需要两个选项", "options")
    if len(options) > 10:
        raise ValidationError("最多10个选项", "options")
    if len(set(options)) != len(options):
        raise ValidationError("选项不能重复", "options")
    if any(len(o) > 30 for o in options):
        raise ValidationError("每个选项最多30个字", "options")
    return options


def open_proposal(actor, compound: Compound, section: Section, post_draft, draft: ProposalDraft):
    """A 议题: the post residents discuss, plus its vote."""
    now = utcnow()
    if draft.deadline_at <= now + timedelta(minutes=30):
        raise ValidationError("截止时间至少在半小时以后", "deadline")
    if draft.deadline_at > now + LONGEST_VOTE:
        raise ValidationError("投票期最长90天", "deadline")
    if draft.turnout_threshold is not None and not 0 < draft.turnout_threshold <= 100:
        raise ValidationError("参与率门槛应在1%到100%之间", "turnout_threshold")
    options = _checked_options(draft.options)
    post = board_services.create_post(actor, compound, section, post_draft)
    proposal = Proposal(
        post_id=post.id,
        compound_id=compound.id,
        electorate=draft.electorate,
        deadline_at=draft.deadline_at,
        show_tally_early=draft.show_tally_early,
        turnout_threshold=draft.turnout_threshold,
        options=[ProposalOption(position=i, label=label) for i, label in enumerate(options)],
    )
    db.session.add(proposal)
    db.session.flush()
    return post, proposal


def frozen_reason(post: Post, for_update: bool = False) -> str | None:
    """Why the post's text may no longer change: it is a 议题 and someone voted on it. Ballots are
    counted against the text they were cast on. ``for_update`` locks the proposal row, so a first
    ballot and an edit never both pass (vote() moves ballot_count on that row)."""
    stmt = sa.select(Proposal.ballot_count).where(Proposal.post_id == post.id)
    ballots = db.session.scalar(stmt.with_for_update() if for_update else stmt)
    return FROZEN if ballots else None


def note_refusal(user, proposal: Proposal) -> str | None:
    """Why ``user`` may not add a 补充说明 (None: they may). Notes come from the author, while they
    may still post in 议事厅, and from compound staff (书记, 居委 staff), who run the 议事厅 and may
    need to correct a fact; each note names its writer."""
    post = proposal.post
    if post.is_deleted or post.is_hidden:
        return "该议题已删除或被隐藏，不能再添加补充说明"
    if can(user, Action.RECORD_OUTCOME, post):
        return None
    if post.author_id != user.id:
        return "只有议题的发起人和居委会可以添加补充说明"
    board = SectionBoard(post.compound, post.section)
    return None if can(user, Action.POST, board) else forbidden_reason(user, Action.POST, board)


def may_add_note(user, proposal: Proposal) -> bool:
    return note_refusal(user, proposal) is None


def add_note(actor, proposal: Proposal, text: str) -> ProposalNote:
    """Append a 补充说明; notes are never edited or removed (moderators hide the post if need be)."""
    require(actor, Action.VIEW_POST, proposal.post)
    if refusal := note_refusal(actor, proposal):
        raise PermissionDenied(Decision.FORBIDDEN, refusal)
    text = text.strip()
    if not text:
        raise ValidationError("请填写补充说明", "body")
    if len(text) > NOTE_LIMIT:
        raise ValidationError(f"补充说明最多{NOTE_LIMIT}字", "body")
    if len(notes_of(proposal)) >= MOST_NOTES:
        raise ValidationError(f"每个议题最多{MOST_NOTES}条补充说明，其他内容请在回复中说明")
    note = ProposalNote(
        proposal_id=proposal.id,
        compound_id=proposal.compound_id,
        author_id=actor.id,
        author_role=board_services.author_role_in(actor, proposal.post.compound),
        body=text,
        body_html=render_plain_text(text),
    )
    db.session.add(note)
    db.session.flush()  # the flush moves the board version (declared in deliberation.init_app)
    return note


def notes_of(proposal: Proposal) -> list[ProposalNote]:
    """The 补充说明 in the order they were written (newest last), with their authors."""
    return list(
        db.session.scalars(
            sa.select(ProposalNote)
            .where(ProposalNote.proposal_id == proposal.id)
            .order_by(ProposalNote.created_at, ProposalNote.id)
            .limit(MOST_NOTES)
            .options(joinedload(ProposalNote.author))
        )
    )


def voter_key(user: User, proposal: Proposal) -> str:
    if proposal.electorate is Electorate.HOUSEHOLDS:
        if user.household_id is None:
            raise ValidationError("每户一票的议题，请以认证住户身份投票")
        return f"h{user.household_id}"
    return f"u{user.id}"


def ballot_of(user: User, proposal: Proposal) -> Ballot | None:
    try:
        key = voter_key(user, proposal)
    except ValidationError:
        return None
    return db.session.scalar(sa.select(Ballot).where(Ballot.proposal_id == proposal.id, Ballot.voter_key == key))


def _count_votes(proposal: Proposal, deltas: dict[int, int]) -> None:
    """Change options' vote counts in id order: two voters moving between the same two options
    lock them in the same order, so they queue instead of deadlocking."""
    for option_id in sorted(deltas):
        db.session.execute(
            sa.update(ProposalOption)
            .where(ProposalOption.id == option_id)
            .values(vote_count=ProposalOption.vote_count + deltas[option_id])
        )
    caching.touch(db.session, [proposal.compound_id])  # the tally is on the post page


def vote(actor, proposal: Proposal, option_id: int, now: datetime | None = None) -> Ballot:
    """Vote, or change the vote until the deadline. The database refuses a second ballot."""
    require(actor, Action.VOTE, proposal.post)
    if not proposal.is_open(now):
        raise ValidationError("投票已截止")
    if option_id not in {o.id for o in proposal.options}:
        raise ValidationError("请选择一个选项", "option")
    key = voter_key(actor, proposal)
    ballot = db.session.scalar(
        sa.select(Ballot).where(Ballot.proposal_id == proposal.id, Ballot.voter_key == key).with_for_update()
    )
    if ballot is not None:
        if ballot.voter_id != actor.id:
            raise ValidationError("您家已由其他家庭成员投票")
        if ballot.option_id != option_id:
            _count_votes(proposal, {ballot.option_id: -1, option_id: +1})
            ballot.option_id, ballot.updated_at = option_id, utcnow()
        return ballot
    ballot = Ballot(proposal_id=proposal.id, option_id=option_id, voter_id=actor.id, voter_key=key)
    try:
        with db.session.begin_nested():
            db.session.add(ballot)
    except IntegrityError:  # the same voter (or household) voted at the same moment
        raise ValidationError("已经投过票了，刷新后可以修改选择") from None
    _count_votes(proposal, {option_id: +1})
    db.session.execute(
        sa.update(Proposal).where(Proposal.id == proposal.id).values(ballot_count=Proposal.ballot_count + 1)
    )
    return ballot


def eligible_voters(proposal: Proposal) -> int:
    """Who may vote now: verified residents, or households with a verified resident."""
    if proposal.closed_at is not None and proposal.eligible_at_close is not None:
        return proposal.eligible_at_close
    # Frozen at the deadline without a write: residents verified after it do not count.
    verified = sa.and_(
        User.compound_id == proposal.compound_id,
        User.resident_status == ResidentStatus.VERIFIED,
        User.verified_at <= proposal.deadline_at,
    )
    if proposal.electorate is Electorate.HOUSEHOLDS:
        return db.session.scalar(sa.select(sa.func.count(sa.distinct(User.household_id))).where(verified))
    return db.session.scalar(sa.select(sa.func.count()).select_from(User).where(verified))


@dataclass
class Result:
    rows: list[tuple[ProposalOption, float]]  # option, share of ballots (0..1)
    ballots: int
    eligible: int
    turnout: float | None
    threshold_met: bool | None


def result(proposal: Proposal) -> Result:
    ballots = sum(o.vote_count for o in proposal.options)
    eligible = eligible_voters(proposal)
    turnout = ballots / eligible if eligible else None
    threshold_met = None
    if proposal.turnout_threshold is not None:  # integers: 29 of 50 meets 58% exactly
        threshold_met = eligible > 0 and ballots * 100 >= proposal.turnout_threshold * eligible
    rows = [(o, o.vote_count / ballots if ballots else 0.0) for o in proposal.options]
    return Result(rows, ballots, eligible, turnout, threshold_met)


def close_due(now: datetime | None = None, batch: int = 500) -> int:
    """For cron: past their deadline, proposals close and keep the electorate of that moment."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            sa.select(Proposal).where(Proposal.closed_at.is_(None), Proposal.deadline_at <= now).limit(batch)
        )
    )
    for proposal in due:
        _close(proposal, now)
    return len(due)


def _close(proposal: Proposal, now: datetime) -> None:
    proposal.eligible_at_close = eligible_voters(proposal)
    proposal.closed_at = proposal.deadline_at if proposal.deadline_at <= now else now


def record_outcome(actor, proposal: Proposal, outcome: Outcome, note: str, now: datetime | None = None) -> None:
    """决议: staff write down what was decided, once voting is over."""
    require(actor, Action.RECORD_OUTCOME, proposal.post)
    if proposal.is_open(now):
        raise ValidationError("投票截止后才能记录决议")
    if not note.strip():
        raise ValidationError("请写明决议内容", "note")
    if outcome is Outcome.PASSED and result(proposal).threshold_met is False:
        raise ValidationError("参与率未达到门槛，不能记为“已通过”", "outcome")
    if proposal.closed_at is None:
        _close(proposal, now or utcnow())
    proposal.outcome, proposal.outcome_note = outcome, note.strip()
    proposal.outcome_by_id, proposal.outcome_at = actor.id, utcnow()
    audit.record(actor, "proposal.outcome", proposal.post, compound=proposal.post.compound, note=outcome.label)
