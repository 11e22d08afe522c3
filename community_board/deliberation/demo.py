"""Demo proposals for `flask seed-demo`: each 议事厅 post gets a vote; the oldest ones are closed,
voted on and decided, the newest stay open (the first of them with a 补充说明)."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from ..accounts.models import ResidentStatus, User
from ..board.models import Post, Section
from ..errors import ValidationError
from ..extensions import db
from ..timeutil import utcnow
from . import services
from .models import Electorate, Outcome, Proposal, ProposalOption


def seed_proposals(users_by_phone: dict) -> int:
    if db.session.scalar(sa.select(Proposal.id).limit(1)):
        return 0
    now = utcnow()
    posts = list(db.session.scalars(
        sa.select(Post).join(Post.section).where(Section.key == "deliberation").order_by(Post.created_at)
    ))
    made = 0
    for index, post in enumerate(posts):
        closed = index % 2 == 0  # alternate: a decided vote, then an open one
        proposal = Proposal(
            post_id=post.id, compound_id=post.compound_id,
            electorate=Electorate.HOUSEHOLDS if index % 3 == 1 else Electorate.RESIDENTS,
            deadline_at=post.created_at + timedelta(days=3) if closed else now + timedelta(days=3 + index),
            show_tally_early=index % 4 == 1, turnout_threshold=50 if closed else None,
            options=[ProposalOption(position=i, label=label) for i, label in enumerate(services.DEFAULT_OPTIONS)],
        )
        if proposal.deadline_at <= now and not closed:
            proposal.deadline_at = now + timedelta(days=2)
        db.session.add(proposal)
        db.session.flush()
        voters = db.session.scalars(sa.select(User).where(
            User.compound_id == post.compound_id, User.resident_status == ResidentStatus.VERIFIED).order_by(User.id))
        for turn, voter in enumerate(voters):
            try:
                # Most agree; one abstains. Voting happens before the deadline, so vote "then".
                services.vote(voter, proposal, proposal.options[2 if turn == 2 else 0].id,
                              now=min(now, proposal.deadline_at) - timedelta(hours=1))
            except ValidationError:  # a household already voted through another member
                continue
        if index == 1 and services.may_add_note(post.author, proposal):  # voted on: corrected by a note
            services.add_note(post.author, proposal, "补充：具体位置和费用以物业公示的方案为准，公示后会在下面回复里贴出链接。")
        if closed and proposal.deadline_at <= now:
            services.close_due(now)
            secretary = next(u for u in users_by_phone.values() if any(
                a.compound_id == post.compound_id and a.role.value == "secretary" for a in u.assignments))
            services.record_outcome(secretary, proposal, Outcome.PASSED,
                                    "投票通过。居委会将会同物业在两周内拿出实施方案并公示。", now=now)
        made += 1
    return made
