"""议事厅 pages: open a proposal, vote, add a 补充说明, record the outcome; `flask deliberation close-due`."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..board import cached_parts
from ..board import queries as board_queries
from ..board.rules import SectionBoard
from ..board.views import draft_from
from ..compounds.services import get_compound_for
from ..extensions import db, write_transactions
from ..permissions import Action, Decision, PermissionDenied, require
from ..timeutil import from_local
from ..web import flash_form_errors, perform, save
from . import bp, services
from .forms import NoteForm, OutcomeForm, ProposalForm, VoteForm
from .models import Electorate, Outcome, Proposal

SECTION_KEY = "deliberation"


@bp.route("/c/<int:compound_id>/s/deliberation/new", methods=["GET", "POST"])
@login_required
def open_proposal(compound_id: int):
    compound = get_compound_for(current_user, compound_id, Action.VIEW_BOARD)
    section = board_queries.section_by_key(SECTION_KEY)
    require(current_user, Action.POST, SectionBoard(compound, section))
    form = ProposalForm()
    if form.validate_on_submit():
        draft = services.ProposalDraft(
            options=(form.options.data or "").splitlines(),
            electorate=Electorate(form.electorate.data),
            deadline_at=from_local(form.deadline.data),
            show_tally_early=form.show_tally_early.data,
            turnout_threshold=form.turnout_threshold.data,
        )
        ok, made = save(
            form,
            lambda: services.open_proposal(current_user, compound, section, draft_from(form), draft),
            success="议题已发布",
        )
        if ok:
            return redirect(url_for("board.post", post_id=made[0].id))
    return render_template("deliberation/new.html", compound=compound, section=section, form=form)


def _proposal_for(post_id: int, action: Action = Action.VIEW_POST) -> Proposal:
    post = board_queries.get_post_for(current_user, post_id, action)
    proposal = db.session.scalar(sa.select(Proposal).where(Proposal.post_id == post.id))
    if proposal is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    return proposal


@bp.route("/p/<int:post_id>/vote", methods=["POST"])
@login_required
def vote(post_id: int):
    proposal = _proposal_for(post_id, Action.VOTE)
    form = VoteForm()
    if form.validate_on_submit():
        perform(services.vote, current_user, proposal, form.option.data, success="已投票，截止前可以修改")
    else:
        flash("请选择一个选项", "warn")
    return redirect(url_for("board.post", post_id=post_id, _anchor="proposal"))


@bp.route("/p/<int:post_id>/note", methods=["GET", "POST"])
@login_required
def add_note(post_id: int):
    """A page of its own, so a refused note comes back with what was typed."""
    proposal = _proposal_for(post_id)
    if refusal := services.note_refusal(current_user, proposal):
        raise PermissionDenied(Decision.FORBIDDEN, refusal)
    form = NoteForm()
    if form.validate_on_submit():
        ok, _ = save(form, lambda: services.add_note(current_user, proposal, form.body.data), success="已添加补充说明")
        if ok:
            return redirect(url_for("board.post", post_id=post_id, _anchor="proposal-notes"))
    return render_template(
        "deliberation/note.html", proposal=proposal, post=proposal.post, form=form, notes=services.notes_of(proposal)
    )


@bp.route("/p/<int:post_id>/outcome", methods=["POST"])
@login_required
def outcome(post_id: int):
    proposal = _proposal_for(post_id, Action.RECORD_OUTCOME)
    form = OutcomeForm()
    if form.validate_on_submit():
        perform(
            services.record_outcome,
            current_user,
            proposal,
            Outcome(form.outcome.data),
            form.note.data,
            success="已记录决议",
        )
    else:
        flash_form_errors(form)
    return redirect(url_for("board.post", post_id=post_id, _anchor="proposal"))


@bp.app_context_processor
def _proposal_helpers():
    """The post page shows the vote without the board package depending on this one."""

    def proposal_view(post):
        proposal = db.session.scalar(sa.select(Proposal).where(Proposal.post_id == post.id))
        if proposal is None:
            return None
        cached_parts.personal()  # the viewer's own ballot shows
        if proposal.is_open():
            cached_parts.valid_until(proposal.deadline_at)  # the page changes when the vote closes
        return {
            "proposal": proposal,
            "result": services.result(proposal),
            "ballot": services.ballot_of(current_user, proposal),
            "vote_form": VoteForm(),
            "me": current_user.id,
            "outcome_form": OutcomeForm(),
            "notes": services.notes_of(proposal),
            "may_add_note": services.may_add_note(current_user, proposal),
        }

    return {"proposal_view": proposal_view}


@bp.cli.command("close-due")
def close_due_command():
    """Close proposals whose deadline has passed (meant for cron)."""
    with write_transactions():
        closed = services.close_due()
        db.session.commit()
    click.echo(f"Closed {closed} proposal(s).")
