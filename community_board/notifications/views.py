"""The 消息 tab."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.forms import ActionForm
from ..extensions import db
from . import bp, services


@bp.route("/messages")
@login_required
def inbox():
    page = services.messages_for(current_user.id, request.args.get("after"), current_app.config["PAGE_SIZE"])
    return render_template("notifications/inbox.html", page=page, action_form=ActionForm())


@bp.route("/messages/read", methods=["POST"])
@login_required
def mark_all_read():
    if ActionForm().validate_on_submit():
        services.mark_all_read(current_user.id)
        db.session.commit()
        flash("已全部标为已读", "success")
    return redirect(url_for("notifications.inbox"))
