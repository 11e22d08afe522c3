"""Board pages: feed, sections, compose, post and replies, likes, reports, moderation, photos."""

from __future__ import annotations

from flask import (
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup

from ..accounts.forms import ActionForm
from ..compounds.services import get_compound_for
from ..errors import ValidationError, attach_to_form
from ..extensions import db, writes_after_slow_work
from ..permissions import Action, Decision, PermissionDenied, can, require
from ..security import PRIVATE_REVALIDATED
from ..web import commit_work, int_or_none, perform, safe_redirect_target, save
from . import bp, cached_parts, photos, queries, services
from .forms import (
    HideForm,
    PostForm,
    ReplyForm,
    ReportForm,
    ThanksForm,
    TradeStatusForm,
)
from .models import Photo, ReportReason, SectionFields, TradeStatus
from .rules import SectionBoard

REPLIES_PER_PAGE = 50

for helper in (
    cached_parts.post_cards,
    cached_parts.viewer_if,
    cached_parts.viewer_else,
    cached_parts.viewer_end,
    cached_parts.personal,
    cached_parts.valid_until,
    cached_parts.unread_slot,
    services.frozen_reason,
):
    bp.add_app_template_global(helper)
bp.add_app_template_global(queries.sections, "board_sections")
bp.add_app_template_global(cached_parts.answer, "can")
bp.add_app_template_global(cached_parts.static_url)
bp.add_app_template_filter(cached_parts.time_filter, "humanize")

# The questions a post page asks whose answers depend on the post too (its author, age, section).
POST_QUESTIONS = (
    Action.LIKE,
    Action.REPLY,
    Action.REPORT,
    Action.MARK_HELPFUL,
    Action.EDIT_POST,
    Action.DELETE_POST,
    Action.SET_POST_STATUS,
    Action.FILE_CASE,
    Action.VOTE,
    Action.RECORD_OUTCOME,
)


def _page_size() -> int:
    return current_app.config["PAGE_SIZE"]


def _wants_fragment() -> bool:
    """ "加载更多" fetches only the next cards (static/js/app.js); without JS it is a plain link."""
    return request.headers.get("X-Requested-With") == "fetch"


# Feed and sections -------------------------------------------------------------------------


def _list_page(compound, page: str, body: str, section=None, only_available: bool = False, targets=(), **context):
    """A feed or section page, or for 加载更多 just its next cards, shared by its audience until the
    board changes. A resident who asked a private question sees it in their feed: theirs alone."""
    fragment = _wants_fragment()

    def render() -> str:
        result = queries.feed(
            current_user,
            compound,
            request.args.get("after"),
            _page_size(),
            section=section,
            only_available=only_available,
        )
        cached_parts.shows_posts(post.id for post in result.page.items)
        posts = Markup(
            render_template("board/_cards.html", feed=result, compound=compound, show_section=section is None)
        )
        if fragment:
            return posts
        inner = Markup(
            render_template(
                body,
                compound=compound,
                section=section,
                only_available=only_available,
                posts=posts,
                has_posts=bool(result.page.items),
                **context,
            )
        )
        return render_template(page, compound=compound, section=section, body=inner)

    asker = not can(current_user, Action.READ_PRIVATE_QUESTIONS, compound) and queries.asked_privately(
        current_user, compound
    )
    audience = (*cached_parts.audience(compound, targets), asker and current_user.id)
    return cached_parts.board_page(compound, audience, render)


@bp.route("/c/<int:compound_id>")
@login_required
def feed(compound_id: int):
    compound = get_compound_for(current_user, compound_id, Action.VIEW_BOARD)
    return _list_page(compound, "board/feed.html", "board/_feed_body.html")


@bp.route("/c/<int:compound_id>/s/<key>")
@login_required
def section(compound_id: int, key: str):
    compound = get_compound_for(current_user, compound_id, Action.VIEW_BOARD)
    current = queries.section_by_key(key)
    board = SectionBoard(compound, current)
    may_post = can(current_user, Action.POST, board)
    if current.fields is SectionFields.GUIDE:
        return render_template(
            "board/guide.html",
            compound=compound,
            section=current,
            articles=queries.guide_articles(compound, current),
            may_post=may_post,
        )
    return _list_page(
        compound,
        "board/section.html",
        "board/_section_body.html",
        section=current,
        only_available=request.args.get("available") == "1",
        targets=[(Action.POST, board)],
        may_post=may_post,
    )


@bp.route("/c/<int:compound_id>/new")
@login_required
def choose_section(compound_id: int):
    compound = get_compound_for(current_user, compound_id, Action.POST)
    allowed = [s for s in queries.sections() if can(current_user, Action.POST, SectionBoard(compound, s))]
    return render_template("board/choose_section.html", compound=compound, sections=allowed)


def draft_from(form: PostForm) -> services.PostDraft:
    return services.PostDraft(
        title=form.title.data or "",
        body=form.body.data or "",
        price_yuan=form.price_yuan.data,
        is_free=form.is_free.data,
        condition=form.condition.data,
        aid_kind=form.aid_kind.data,
        topic=form.topic.data,
        shared_with_street=form.shared_with_street.data,
    )


@bp.route("/c/<int:compound_id>/s/<key>/new", methods=["GET", "POST"])
@login_required
@writes_after_slow_work  # the photos
def compose(compound_id: int, key: str):
    compound = get_compound_for(current_user, compound_id, Action.VIEW_BOARD)
    current = queries.section_by_key(key)
    require(current_user, Action.POST, SectionBoard(compound, current))
    form = PostForm()
    uploads = request.files.getlist(form.photos.name)
    if form.validate_on_submit():
        try:
            stored = photos.store_uploads(uploads)
        except ValidationError as error:
            attach_to_form(form, error)
        else:
            ok = False
            try:
                ok, post = save(
                    form,
                    lambda: services.create_post(current_user, compound, current, draft_from(form), stored),
                    success="发布成功",
                )
            finally:
                if not ok:  # whatever stopped the post, its photos go too
                    photos.discard(stored)
            if ok:
                return redirect(url_for("board.post", post_id=post.id))
    # A browser cannot refill a file field: say so when the page comes back without the photos chosen.
    return render_template(
        "board/compose.html",
        compound=compound,
        section=current,
        form=form,
        photos_dropped=any(f.filename for f in uploads),
    )


# A post ------------------------------------------------------------------------------------


@bp.route("/p/<int:post_id>")
@login_required
def post(post_id: int):
    current = queries.get_post_for(current_user, post_id)
    if not current.section.on_board:  # a message to the 居委会 has its own page (its readers only)
        return redirect(url_for("line.message", post_id=current.id))

    def render() -> str:
        page = queries.replies(current, request.args.get("after"), REPLIES_PER_PAGE)
        reply_to_id = int_or_none(request.args.get("reply_to"))
        reply_to = next((r for r in page.items if r.id == reply_to_id), None)
        reply_form = ReplyForm(reply_to=reply_to.id if reply_to else "")
        return _post_page(current, _post_body(current, page, reply_form, reply_to))

    compound = current.compound
    audience = cached_parts.audience(compound, [(action, current) for action in POST_QUESTIONS])
    return cached_parts.board_page(compound, audience, render)


def _render_post(current, page, reply_form, reply_to=None, status=200):
    """The post page with a form that needs another look (not kept: it carries the errors)."""
    return cached_parts.unshared_page(
        lambda: _post_page(current, _post_body(current, page, reply_form, reply_to))
    ), status


def _post_page(current, body: Markup) -> str:
    cached_parts.shows_posts([current.id])
    return render_template(
        "board/post.html",
        post=current,
        compound=current.compound,
        body=body,
        moderator=can(current_user, Action.MODERATE, current.compound),
    )


def _post_body(current, page, reply_form, reply_to) -> Markup:
    compound = current.compound
    helpers = []
    if current.aid_status is not None and can(current_user, Action.SET_POST_STATUS, current):
        helpers = list(queries.users_by_id(services.helper_candidates(current)).values())
    return Markup(
        render_template(
            "board/_post_body.html",
            post=current,
            compound=compound,
            replies=page,
            photos=queries.photos(current),
            reply_form=reply_form,
            reply_to=reply_to,
            action_form=ActionForm(),
            hide_form=HideForm(),
            trade_form=TradeStatusForm(),
            thanks_form=ThanksForm(),
            helpers=helpers,
            full_names=can(current_user, Action.SEE_FULL_NAMES, compound),
            moderator=can(current_user, Action.MODERATE, compound),
        )
    )


@bp.route("/p/<int:post_id>/reply", methods=["POST"])
@login_required
def reply(post_id: int):
    current = queries.get_post_for(current_user, post_id)
    form = ReplyForm()
    reply_to = queries.get_reply_for(current_user, current, int_or_none(form.reply_to.data))
    if form.validate_on_submit():
        ok, _ = save(form, lambda: services.add_reply(current_user, current, form.body.data, reply_to))
        if ok:
            return redirect(url_for("board.post", post_id=current.id, _anchor="replies-end"))
    page = queries.replies(current, None, REPLIES_PER_PAGE)
    return _render_post(current, page, form, reply_to, status=400)


@bp.route("/p/<int:post_id>/like", methods=["POST"])
@login_required
def like(post_id: int):
    current = queries.get_post_for(current_user, post_id, Action.LIKE)
    if not ActionForm().validate_on_submit():
        return jsonify(error="页面已过期，请刷新"), 400
    liked = commit_work(lambda: services.toggle_like(current_user, current))
    if request.accept_mimetypes.best == "application/json":
        return jsonify(liked=liked, like_count=current.like_count)
    return redirect(url_for("board.post", post_id=current.id))


@bp.route("/p/<int:post_id>/me-too", methods=["POST"])
@login_required
def me_too(post_id: int):
    current = queries.get_post_for(current_user, post_id, Action.LIKE)
    if not ActionForm().validate_on_submit():
        return jsonify(error="页面已过期，请刷新"), 400
    try:
        count = commit_work(lambda: services.me_too(current_user, current))
    except ValidationError as error:
        if request.accept_mimetypes.best == "application/json":
            return jsonify(error=error.message), 409
        flash(error.message, "warn")
        return redirect(url_for("board.post", post_id=current.id))
    if request.accept_mimetypes.best == "application/json":
        return jsonify(affected=count)
    flash("已添加：您家也遇到了这个问题", "success")
    return redirect(url_for("board.post", post_id=current.id))


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit(post_id: int):
    current = queries.get_post_for(current_user, post_id, Action.EDIT_POST)
    if request.method == "GET" and (frozen := services.frozen_reason(current)):
        flash(frozen, "warn")
        return redirect(url_for("board.post", post_id=current.id))
    form = PostForm(obj=current if request.method == "GET" else None)
    if request.method == "GET":
        form.price_yuan.data = current.price_yuan_text
        form.condition.data = current.condition.value if current.condition else None
        form.aid_kind.data = current.aid_kind.value if current.aid_kind else None
    if form.validate_on_submit():
        ok, _ = save(form, lambda: services.edit_post(current_user, current, draft_from(form)), success="已保存修改")
        if ok:
            return redirect(url_for("board.post", post_id=current.id))
    return render_template(
        "board/compose.html", compound=current.compound, section=current.section, form=form, editing=current
    )


@bp.route("/p/<int:post_id>/delete", methods=["POST"])
@login_required
def delete(post_id: int):
    current = queries.get_post_for(current_user, post_id, Action.DELETE_POST, for_update=True)
    if ActionForm().validate_on_submit() and perform(services.delete_post, current_user, current, success="帖子已删除"):
        return redirect(url_for("board.feed", compound_id=current.compound_id))
    return redirect(url_for("board.post", post_id=current.id))


@bp.route("/p/<int:post_id>/trade-status", methods=["POST"])
@login_required
def trade_status(post_id: int):
    current = queries.get_post_for(current_user, post_id, Action.SET_POST_STATUS, for_update=True)
    form = TradeStatusForm()
    if form.validate_on_submit():
        status = TradeStatus(form.status.data)
        perform(services.set_trade_status, current_user, current, status, success=f"已改为“{status.label}”")
    return redirect(url_for("board.post", post_id=current.id))


@bp.route("/p/<int:post_id>/fulfilled", methods=["POST"])
@login_required
def aid_fulfilled(post_id: int):
    current = queries.get_post_for(current_user, post_id, Action.SET_POST_STATUS, for_update=True)
    form = ThanksForm()
    if form.validate_on_submit():
        helper_id = int_or_none(form.helper.data)
        helper = queries.users_by_id({helper_id}).get(helper_id) if helper_id else None
        perform(
            services.mark_aid_fulfilled,
            current_user,
            current,
            helper,
            form.note.data or "",
            success="已标记为已解决" + ("，并感谢了帮忙的邻居" if helper else ""),
        )
    return redirect(url_for("board.post", post_id=current.id))


@bp.route("/p/<int:post_id>/report", methods=["GET", "POST"])
@login_required
def report(post_id: int):
    current = queries.get_post_for(current_user, post_id, Action.REPORT)
    target_reply = queries.get_reply_for(current_user, current, int_or_none(request.args.get("reply")))
    form = ReportForm()
    if form.validate_on_submit():
        ok, _ = save(
            form,
            lambda: services.report(
                current_user, current, ReportReason(form.reason.data), form.detail.data or "", target_reply
            ),
            success="举报已提交，居委会会尽快处理",
        )
        if ok:
            return redirect(url_for("board.post", post_id=current.id))
    return render_template("board/report.html", post=current, reply=target_reply, form=form)


@bp.route("/p/<int:post_id>/replies/<int:reply_id>/helpful", methods=["POST"])
@login_required
def helpful(post_id: int, reply_id: int):
    current = queries.get_post_for(current_user, post_id, Action.MARK_HELPFUL)
    target = queries.get_reply_for(current_user, current, reply_id)
    if ActionForm().validate_on_submit():
        perform(services.toggle_helpful, current_user, current, target, success="已更新")
    return redirect(url_for("board.post", post_id=current.id, _anchor=f"reply-{target.id}"))


@bp.route("/c/<int:compound_id>/u/<int:user_id>")
@login_required
def profile(compound_id: int, user_id: int):
    """A neighbour's page: masked name, badges, and what they did for others."""
    compound = get_compound_for(current_user, compound_id, Action.VIEW_BOARD)
    member = queries.users_by_id({user_id}).get(user_id)
    if member is None or member.compound_id != compound.id or not member.is_verified_resident:
        raise PermissionDenied(Decision.NOT_FOUND)
    return render_template(
        "board/profile.html",
        compound=compound,
        member=member,
        done=queries.contributions(member),
        full_names=can(current_user, Action.SEE_FULL_NAMES, compound),
    )


# Moderation -------------------------------------------------------------------------------


@bp.route("/c/<int:compound_id>/moderation")
@login_required
def moderation(compound_id: int):
    compound = get_compound_for(current_user, compound_id, Action.MODERATE)
    reports = queries.open_reports(current_user, compound, request.args.get("after"), _page_size())
    log, titles = None, {}
    if can(current_user, Action.VIEW_AUDIT_LOG, compound):
        log = queries.moderation_log(current_user, compound, request.args.get("log_after"), _page_size())
        titles = queries.post_titles({e.target_id for e in log.items if e.target_type == "posts"})
    return render_template(
        "board/moderation.html",
        compound=compound,
        reports=reports,
        log=log,
        titles=titles,
        hide_form=HideForm(),
        action_form=ActionForm(),
    )


def _moderated(post_id: int):
    current = queries.get_post_for(current_user, post_id, Action.MODERATE, for_update=True)
    return current, queries.get_reply_for(current_user, current, int_or_none(request.args.get("reply")))


def _back(current):
    return redirect(safe_redirect_target(request.form.get("next")) or url_for("board.post", post_id=current.id))


@bp.route("/p/<int:post_id>/hide", methods=["POST"])
@login_required
def hide(post_id: int):
    current, target_reply = _moderated(post_id)
    form = HideForm()
    if form.validate_on_submit():
        perform(services.hide, current_user, current, form.reason.data, target_reply, success="已隐藏")
    else:
        flash("请填写隐藏原因", "warn")
    return _back(current)


@bp.route("/p/<int:post_id>/<any(restore, dismiss, pin, unpin, lock, unlock):verb>", methods=["POST"])
@login_required
def moderate(post_id: int, verb: str):
    current, target_reply = _moderated(post_id)
    if ActionForm().validate_on_submit():
        actions = {
            "restore": (services.restore, (current, target_reply), "已恢复显示"),
            "dismiss": (services.dismiss_reports, (current, target_reply), "已驳回举报，内容保留"),
            "pin": (services.set_pinned, (current, True), "已置顶"),
            "unpin": (services.set_pinned, (current, False), "已取消置顶"),
            "lock": (services.set_locked, (current, True), "已关闭回复"),
            "unlock": (services.set_locked, (current, False), "已开放回复"),
        }
        verb_function, args, message = actions[verb]
        perform(verb_function, current_user, *args, success=message)
    return _back(current)


# Photos -------------------------------------------------------------------------------------


@bp.route("/photos/<int:photo_id>")
@bp.route("/photos/<int:photo_id>/thumb", endpoint="photo_thumb", defaults={"thumb": True})
@login_required
def photo(photo_id: int, thumb: bool = False):
    image = db.session.get(Photo, photo_id)
    if image is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    current = queries.get_post_for(current_user, image.post_id)
    if current.is_hidden and not can(current_user, Action.MODERATE, current):
        raise PermissionDenied(Decision.NOT_FOUND)
    response = send_from_directory(
        photos.upload_dir(), image.thumb_name if thumb else image.file_name, mimetype="image/jpeg"
    )
    response.headers["Cache-Control"] = PRIVATE_REVALIDATED
    return response
