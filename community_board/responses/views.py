"""发帖必响应: the compound staff's queue of posts and messages nobody on staff has answered yet."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user, login_required

from ..compounds.services import get_compound_for
from ..permissions import Action
from ..timeutil import utcnow
from . import bp, queries


@bp.route("/c/<int:compound_id>/awaiting")
@login_required
def queue(compound_id: int):
    compound = get_compound_for(current_user, compound_id, Action.VIEW_RESPONSE_QUEUE)
    page = queries.queue(current_user, compound, request.args.get("after"), current_app.config["PAGE_SIZE"])
    return render_template("responses/queue.html", compound=compound, page=page, now=utcnow())
