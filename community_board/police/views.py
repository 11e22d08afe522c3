"""警民直通车: officers publish bulletins; residents ask; the officer's queue of unanswered questions."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..board import queries as board_queries
from ..board.models import BulletinKind
from ..board.rules import SectionBoard
from ..board.views import draft_from
from ..compounds.services import get_compound_for
from ..permissions import Action, Decision, PermissionDenied, can, require
from ..web import save
from . import bp, services
from .forms import BulletinForm, QuestionForm

SECTION_KEY = "police"


@bp.route("/c/<int:compound_id>/s/police/new", methods=["GET", "POST"])
@login_required
def compose(compound_id: int):
    compound = get_compound_for(current_user, compound_id, Action.VIEW_BOARD)
    section = board_queries.section_by_key(SECTION_KEY)
    require(current_user, Action.POST, SectionBoard(compound, section))
    is_officer = can(current_user, Action.ANSWER_QUEUE, compound)
    form = BulletinForm() if is_officer else QuestionForm()
    if form.validate_on_submit():
        if is_officer:
            kind = BulletinKind(form.kind.data)
            ok, posts = save(
                form,
                lambda: services.publish_bulletin(current_user, section, kind, draft_from(form)),
                success="警情通报已发布到您负责的所有小区",
            )
            # Show the copy on the board the officer posted from.
            target = next((p for p in posts if p.compound_id == compound.id), posts[0]) if ok else None
        else:
            ok, target = save(
                form,
                lambda: services.ask_question(current_user, compound, section, draft_from(form), form.private.data),
                success="问题已提交，民警会尽快回复",
            )
        if ok:
            return redirect(url_for("board.post", post_id=target.id))
    return render_template("police/compose.html", compound=compound, section=section, form=form, is_officer=is_officer)


@bp.route("/police/questions")
@login_required
def queue():
    if not services.served_compounds(current_user):
        raise PermissionDenied(Decision.FORBIDDEN, "这个页面只对社区民警开放。")
    page = services.unanswered_questions(current_user, request.args.get("after"), current_app.config["PAGE_SIZE"])
    return render_template("police/queue.html", page=page)


@bp.app_context_processor
def _police_helpers():
    return {"median_first_answer_minutes": services.median_first_answer_minutes}
