"""The 消息 tab."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.forms import ActionForm
from ..board.models import Post
from ..extensions import db, writes_on_get
from ..permissions import Action, can
from ..web import commit_work
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
    message = commit_work(lambda: services.open_message(current_user.id, message_id))
    if message.post_id:
        return redirect(_where_to_read(message.post_id))
    return redirect(url_for("accounts.me"))


def _where_to_read(post_id: int) -> str:
    """The post, or for department staff (who do not read compound boards) the case about it."""
    from ..cases.queries import (
        case_of_post,  # cases builds on notifications: import when used
    )

    post = db.session.get(Post, post_id)
    if post is not None and can(current_user, Action.VIEW_POST, post):
        return url_for("board.post", post_id=post_id)
    case = case_of_post(post_id)
    if case is not None and can(current_user, Action.VIEW_CASE, case):
        return url_for("cases.case", case_id=case.id)
    return url_for("notifications.inbox")


@bp.route("/messages/read", methods=["POST"])
@login_required
def mark_all_read():
    if ActionForm().validate_on_submit():
        commit_work(lambda: services.mark_all_read(current_user.id))
        flash("已全部标为已读", "success")
    return redirect(url_for("notifications.inbox"))
