"""The 消息 tab."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.forms import ActionForm
from ..extensions import db, writes_on_get
from . import bp, services


@bp.route("/messages")
@login_required
def inbox():
    page = services.messages_for(current_user.id, request.args.get("after"), current_app.config["PAGE_SIZE"])
    return render_template("notifications/inbox.html", page=page, action_form=ActionForm())


@bp.route("/messages/<int:message_id>")
@writes_on_get
@login_required
def open_message(message_id: int):
    """Mark one message read and go to what it is about."""
    message = services.open_message(current_user.id, message_id)
    db.session.commit()
    if message.post_id:
        return redirect(url_for("board.post", post_id=message.post_id))
    return redirect(url_for("accounts.me"))


@bp.route("/messages/read", methods=["POST"])
@login_required
def mark_all_read():
    if ActionForm().validate_on_submit():
        services.mark_all_read(current_user.id)
        db.session.commit()
        flash("已全部标为已读", "success")
    return redirect(url_for("notifications.inbox"))
