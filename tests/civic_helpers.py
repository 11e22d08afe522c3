"""Builders the 议事厅, 警民直通车, 党员 and 办事指南 tests share: proposals and ballots through the
services, the deadline moved into the past, households, officers serving several compounds,
questions and bulletins, and a look at which HTML tags a cleaned body kept."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import sqlalchemy as sa
from board_helpers import (  # noqa: F401  (re-exported for the civic tests)
    card_titles,
    field_error,
    flashes,
    make_post,
    make_reply,
    section,
    signed_in,
    text_of,
)
from cases_helpers import case_type, messages  # noqa: F401

from community_board.accounts.models import Salutation
from community_board.board import services as board_services
from community_board.board.models import BulletinKind, Post, Section
from community_board.compounds.models import StaffRole
from community_board.deliberation import services as deliberation
from community_board.deliberation.models import Ballot, Electorate, Proposal
from community_board.extensions import db
from community_board.police import services as police
from community_board.timeutil import to_local, utcnow

# 议事厅 ------------------------------------------------------------------------------------------


def local_input(moment_utc: datetime) -> str:
    """What a datetime-local input sends for a UTC moment, in Shanghai time: 2025-06-01T14:30."""
    return to_local(moment_utc).strftime("%Y-%m-%dT%H:%M")


def proposal_form(
    title="是否在3号楼旁增设电动车充电桩",
    body="电动车在楼道充电太危险，想在3号楼旁装一排充电桩。",
    options="",
    electorate="residents",
    deadline=None,
    show_tally_early=False,
    threshold="",
):
    """The fields of /c/<id>/s/deliberation/new; ``deadline`` is a UTC moment (default: in 3 days)."""
    data = {
        "title": title,
        "body": body,
        "options": options,
        "electorate": electorate,
        "deadline": local_input(deadline or utcnow() + timedelta(days=3)),
        "turnout_threshold": "" if threshold is None else str(threshold),
    }
    if show_tally_early:
        data["show_tally_early"] = "y"
    return data


def open_proposal(
    author,
    compound,
    *,
    title="是否在3号楼旁增设电动车充电桩",
    body="请大家投票",
    options=(),
    electorate=Electorate.RESIDENTS,
    deadline_in=timedelta(days=3),
    show_tally_early=False,
    threshold=None,
) -> Proposal:
    """A committed 议题 opened through the service."""
    draft = deliberation.ProposalDraft(
        options=list(options),
        electorate=electorate,
        deadline_at=utcnow() + deadline_in,
        show_tally_early=show_tally_early,
        turnout_threshold=threshold,
    )
    _post, proposal = deliberation.open_proposal(
        author, compound, section("deliberation"), board_services.PostDraft(title=title, body=body), draft
    )
    db.session.commit()
    return proposal


def fresh(proposal: Proposal) -> Proposal:
    """The proposal (and its options) as the database has it now."""
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Proposal, proposal.id)


def option_id(proposal: Proposal, label: str) -> int:
    return next(o.id for o in proposal.options if o.label == label)


def cast(voter, proposal: Proposal, label: str, now: datetime | None = None):
    ballot = deliberation.vote(voter, proposal, option_id(proposal, label), now=now)
    db.session.commit()
    return ballot


def counts(proposal: Proposal) -> dict[str, int]:
    """Votes per option label, as stored."""
    proposal = fresh(proposal)
    return {o.label: o.vote_count for o in proposal.options}


def ballot_rows(proposal: Proposal) -> list[Ballot]:
    db.session.commit()
    return list(db.session.scalars(sa.select(Ballot).where(Ballot.proposal_id == proposal.id).order_by(Ballot.id)))


def pass_deadline(proposal: Proposal, ago: timedelta = timedelta(0)) -> Proposal:
    """Move the deadline to now (or ``ago`` before): every later request finds it passed, and
    everyone the test made so far was already verified at the deadline."""
    proposal = fresh(proposal)
    proposal.deadline_at = utcnow() - ago
    db.session.commit()
    return proposal


def vote_over_http(client, proposal: Proposal, label: str, follow=False):
    return client.post(
        f"/p/{proposal.post_id}/vote", data={"option": option_id(proposal, label)}, follow_redirects=follow
    )


def household(world, compound, names, building="3", unit="1", room="301"):
    """Verified residents at one address: the same household."""
    return [
        world.resident(compound, name=name, salutation=Salutation.MS, building=building, unit=unit, room=room)
        for name in names
    ]


def residents_apart(world, compound, names, building="9"):
    """Verified residents each at an address of their own."""
    return [
        world.resident(compound, name=name, salutation=Salutation.MR, building=building, unit="1", room=str(100 + i))
        for i, name in enumerate(names, start=1)
    ]


def tally_shown(response) -> bool:
    return "data-tally" in text_of(response)


# 警民直通车 -------------------------------------------------------------------------------------


def officer_serving(world, *compounds, name="刘强"):
    """A community police officer assigned to every compound given."""
    officer = world.staff(StaffRole.POLICE, compounds[0], name=name)
    for compound in compounds[1:]:
        world.assign(officer, StaffRole.POLICE, compound)
    db.session.commit()
    return officer


def ask(
    resident,
    compound=None,
    title="电动车被偷了怎么报案",
    body="昨晚停在楼下的电动车不见了",
    private=False,
    created_at: datetime | None = None,
) -> Post:
    """A resident's question to the police through the service, committed (optionally placed in the past)."""
    post = police.ask_question(
        resident,
        compound or resident.compound,
        section("police"),
        board_services.PostDraft(title=title, body=body),
        private,
    )
    if created_at is not None:
        post.created_at = created_at
    db.session.commit()
    return post


def bulletin(
    officer, kind=BulletinKind.FRAUD, title="警惕冒充客服退款诈骗", body="接到自称客服的退款电话，请先挂断核实。"
):
    posts = police.publish_bulletin(officer, section("police"), kind, board_services.PostDraft(title=title, body=body))
    db.session.commit()
    return posts


def queue_titles(response) -> list[str]:
    """Question titles on the officer's queue page, in order."""
    return [unescape(t) for t in re.findall(r'<div class="case-row__title">([^<]*)</div>', text_of(response))]


def police_posts(compound=None) -> list[Post]:
    db.session.commit()
    stmt = sa.select(Post).join(Post.section).where(Section.key == "police").order_by(Post.id)
    if compound is not None:
        stmt = stmt.where(Post.compound_id == compound.id)
    return list(db.session.scalars(stmt))


# Pages ------------------------------------------------------------------------------------------


def post_body(response) -> str:
    """The cleaned body of the post on a post page (its HTML)."""
    # Cleaned bodies keep no <div>, so the first </div> closes the body.
    found = re.search(r'<div class="post__body">(.*?)</div>', text_of(response), re.S)
    assert found, "no post body on the page"
    return found.group(1)


def tags(markup: str) -> list[tuple[str, str]]:
    """(tag name, attributes) of every opening tag in ``markup``."""
    return [(name.lower(), attrs) for name, attrs in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)([^>]*)>", markup)]


def median_chip(response) -> str:
    found = re.search(r"data-median-answer>([^<]*)<", text_of(response))
    assert found, "no median chip on the section page"
    return found.group(1).strip()
