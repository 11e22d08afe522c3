"""私信居委会 pages: a resident's messages and the form to write one; the 居委会's shared inbox; a
message with its replies and, for staff, take / give to a colleague / close / reopen."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.forms import ActionForm
from ..board import photos as photo_storage
from ..board import queries as board_queries
from ..board.forms import ReplyForm
from ..board.services import PostDraft, add_reply
from ..compounds.services import get_compound_for
from ..errors import ValidationError, attach_to_form
from ..extensions import writes_after_slow_work
from ..permissions import Action, Decision, PermissionDenied, can, require
from ..web import flash_form_errors, perform, save
from . import bp, queries, services
from .forms import AssignForm, MessageForm
from .models import LineStatus

REPLIES_PER_PAGE = 50


def _page_size() -> int:
    return current_app.config["PAGE_SIZE"]


# The resident's side ------------------------------------------------------------------------


@bp.route("/line")
@login_required
def mine():
    compound = current_user.compound
    if compound is None:
        raise PermissionDenied(
            Decision.FORBIDDEN, "私信居委会是居民写给本小区居委会的；工作人员请在小区首页的“私信”里查看。"
        )
    page = queries.written_by(current_user, request.args.get("after"), _page_size())
    return render_template(
        "line/mine.html",
        compound=compound,
        page=page,
        may_write=can(current_user, Action.WRITE_TO_LINE, compound),
        LineStatus=LineStatus,
    )


@bp.route("/c/<int:compound_id>/line/new", methods=["GET", "POST"])
@login_required
@writes_after_slow_work  # the photos
def compose(compound_id: int):
    compound = get_compound_for(current_user, compound_id, Action.VIEW_BOARD)
    require(current_user, Action.WRITE_TO_LINE, compound)
    form = MessageForm()
    uploads = request.files.getlist(form.photos.name)
    if form.validate_on_submit():
        try:
            stored = photo_storage.store_uploads(uploads)
        except ValidationError as error:
            attach_to_form(form, error)
        else:
            ok = False
            try:
                draft = PostDraft(title=form.title.data or "", body=form.body.data or "")
                ok, message = save(
                    form,
                    lambda: services.write(current_user, compound, draft, stored),
                    success="私信已送达居委会，只有您和居委会能看到",
                )
            finally:
                if not ok:  # whatever stopped the message, its photos go too
                    photo_storage.discard(stored)
            if ok:
                return redirect(url_for("line.message", post_id=message.id))
    return render_template(
        "line/compose.html", compound=compound, form=form, photos_dropped=any(f.filename for f in uploads)
    )


# The 居委会's inbox -------------------------------------------------------------------------


@bp.route("/c/<int:compound_id>/line")
@login_required
def inbox(compound_id: int):
    compound = get_compound_for(current_user, compound_id, Action.READ_PRIVATE_LINE)
    try:
        status = LineStatus(request.args.get("tab", LineStatus.WAITING.value))
    except ValueError:
        status = LineStatus.WAITING
    page = queries.inbox(compound, status, request.args.get("after"), _page_size())
    return render_template("line/inbox.html", compound=compound, page=page, status=status, LineStatus=LineStatus)


# A message ----------------------------------------------------------------------------------


@bp.route("/line/<int:post_id>")
@login_required
def message(post_id: int):
    current = queries.get_message_for(current_user, post_id)
    return _render_message(current, ReplyForm())


def _render_message(current, reply_form: ReplyForm, status: int = 200):
    compound = current.compound
    may_assign = can(current_user, Action.ASSIGN_LINE, current)
    assign_form = AssignForm()
    assign_form.handler.choices = [(u.id, u.real_name) for u in queries.handlers(compound)] if may_assign else []
    return render_template(
        "line/message.html",
        post=current,
        compound=compound,
        status=LineStatus.of(current),
        replies=board_queries.replies(current, request.args.get("after"), REPLIES_PER_PAGE),
        photos=board_queries.photos(current),
        reply_form=reply_form,
        action_form=ActionForm(),
        assign_form=assign_form,
        staff=can(current_user, Action.HANDLE_LINE, current),
        may_assign=may_assign,
        full_names=can(current_user, Action.SEE_FULL_NAMES, compound),
    ), status


@bp.route("/line/<int:post_id>/reply", methods=["POST"])
@login_required
def reply(post_id: int):
    # Locked: a reply may make its writer the handler (services.reply_added), one writer at a time.
    current = queries.get_message_for(current_user, post_id, Action.REPLY, for_update=True)
    form = ReplyForm()
    if form.validate_on_submit():
        ok, _ = save(form, lambda: add_reply(current_user, current, form.body.data))
        if ok:
            return redirect(url_for("line.message", post_id=current.id, _anchor="replies-end"))
    return _render_message(current, form, status=400)


VERBS = {
    "take": (services.take, "已受理，这条私信由您处理"),
    "close": (services.close, "已办结，居民会收到通知"),
    "reopen": (services.reopen, "已重新打开"),
}


@bp.route("/line/<int:post_id>/<any(take, close, reopen):verb>", methods=["POST"])
@login_required
def act(post_id: int, verb: str):
    current = queries.get_message_for(current_user, post_id, Action.HANDLE_LINE, for_update=True)
    if ActionForm().validate_on_submit():
        verb_function, message_text = VERBS[verb]
        perform(verb_function, current_user, current, success=message_text)
    return redirect(url_for("line.message", post_id=current.id))


@bp.route("/line/<int:post_id>/assign", methods=["POST"])
@login_required
def assign(post_id: int):
    current = queries.get_message_for(current_user, post_id, Action.ASSIGN_LINE, for_update=True)
    form = AssignForm()
    handlers = {u.id: u for u in queries.handlers(current.compound)}
    form.handler.choices = [(user_id, user.real_name) for user_id, user in handlers.items()]
    if form.validate_on_submit():
        handler = handlers[form.handler.data]
        perform(services.assign, current_user, current, handler, success=f"已交给{handler.real_name}处理")
    else:
        flash_form_errors(form)
    return redirect(url_for("line.message", post_id=current.id))
