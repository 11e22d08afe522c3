"""Case pages: file a case from a post, the staff case page, 我的工单, rating, dashboards, CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from .. import caching
from ..accounts.forms import ActionForm
from ..accounts.models import User
from ..board import photos as photo_storage
from ..board import queries as board_queries
from ..compounds.models import Compound, District, Street
from ..errors import ValidationError, attach_to_form
from ..extensions import db, writes_after_slow_work
from ..permissions import Action, Decision, PermissionDenied, can, require
from ..security import PRIVATE_REVALIDATED
from ..timeutil import format_local, from_local, local_midnight_utc, to_local, utcnow
from ..web import STALE_MESSAGE, int_or_none, perform, save
from . import bp, dashboard, queries, services
from .forms import CalendarDayForm, CaseStepForm, CaseTypeForm, FileCaseForm, InboxFilterForm, PeriodForm, RateForm
from .models import Case, CaseEvent, CasePhoto, CaseStatus, CaseType, Level, Priority, ReturnReason, Satisfaction

# Filing ------------------------------------------------------------------------------------


@bp.route("/p/<int:post_id>/case/new", methods=["GET", "POST"])
@login_required
def file_case(post_id: int):
    post = board_queries.get_post_for(current_user, post_id, Action.FILE_CASE)
    existing = queries.case_of_post(post.id)
    if existing is not None:
        return redirect(url_for("cases.case", case_id=existing.id))
    may_dispatch = can(current_user, Action.DISPATCH_CASE, post.compound)
    departments = queries.departments_serving(post.district_id, post.street_id) if may_dispatch else []
    form = FileCaseForm()
    form.case_type.choices = [(t.id, t.name) for t in queries.case_types(post.district_id)]
    form.departments.choices = [(d.id, d.name) for d in departments]
    form.lead.choices = [SelectChoice("", "第一个勾选的部门")] + [SelectChoice(d.id, d.name) for d in departments]
    if form.validate_on_submit():
        chosen = [d for d in departments if d.id in (form.departments.data or [])]
        case_type = db.session.get(CaseType, form.case_type.data)
        ok, case = save(
            form,
            lambda: services.file_case(
                current_user,
                post,
                case_type,
                Priority(form.priority.data),
                note=form.note.data or "",
                departments=chosen,
                lead=_pick(departments, form.lead.data),
            ),
            success="已立案" + ("并派单" if chosen else ""),
        )
        if ok:
            return redirect(url_for("cases.case", case_id=case.id))
    return render_template("cases/file.html", post=post, form=form, may_dispatch=may_dispatch)


# The staff case page -----------------------------------------------------------------------


@bp.route("/cases/<int:case_id>")
@login_required
def case(case_id: int):
    current = queries.get_case_for(current_user, case_id)
    return _render_case(current, CaseStepForm(version=current.version))


def _pick(items, item_id):
    """The item of a list (departments, staff) a form's select named, or None."""
    return next((item for item in items if item.id == item_id), None)


def _render_case(current: Case, form: CaseStepForm, status: int = 200, posted: str | None = None):
    """The case page; after a refused step (``posted``: its verb) its form comes back as it was
    sent, notes included, whatever the refusal (another user's change, a rule, a bad photo)."""
    departments = queries.departments_serving(current.district_id, current.street_id)
    _choices(form, current, departments)
    form.departments.choices = [(d.id, d.name) for d in departments if d.id not in current.department_ids]
    can_dispatch = can(current_user, Action.DISPATCH_CASE, current)
    may_assign = can(current_user, Action.ASSIGN_CASE_OWNER, current)
    if posted != "correct":  # the correction form starts from the case as it is
        form.case_type.data, form.priority.data = current.case_type_id, current.priority.value
    return render_template(
        "cases/case.html",
        case=current,
        form=form,
        events=queries.timeline(current, internal=True),
        posted=posted,
        stale=STALE_MESSAGE in form.form_errors,
        can_dispatch=can_dispatch,
        can_work=can(current_user, Action.WORK_CASE, current),
        can_escalate=can(current_user, Action.ESCALATE_CASE, current),
        can_note=can(current_user, Action.NOTE_CASE, current),
        can_assign=may_assign,
        my_part=services.own_part(current_user, current),
        extension=services.pending_extension(current),
        serving=departments if can_dispatch else [],
        case_types=queries.case_types(current.district_id) if can_dispatch else [],
        staff=queries.compound_staff(current.compound_id) if may_assign else [],
    ), status


def _choices(form: CaseStepForm, current: Case, departments) -> None:
    form.lead.choices = [SelectChoice("", "—")] + [SelectChoice(d.id, d.name) for d in departments]
    form.owner.choices = [SelectChoice("", "—")]
    form.department.choices = [SelectChoice(p.department_id, p.department.name) for p in current.parts]
    types = queries.case_types(current.district_id)
    if current.case_type_id not in {t.id for t in types}:  # a type disabled since filing stays shown
        types.append(current.case_type)
    form.case_type.choices = [SelectChoice(t.id, t.name) for t in types]


STEPS = {
    # verb: the message on success (each service checks the action itself, after the version)
    "dispatch": "已派单",
    "withdraw": "已不予立案",
    "accept": "已接单",
    "resolve": "已办结，等待居民评价",
    "note": "已记录",
    "escalate": "已升级",
    "acknowledge": "已签收",
    "return": "已退单，工单已退回派单人",
    "finish": "已提交协办完成",
    "release": "已解除协办",
    "extend": "已提交延期申请，等待审批",
    "approve": "已同意延期",
    "refuse": "已不同意延期",
    "correct": "已更正",
    "owner": "已更换包案人",
}
VERBS = "any(" + ", ".join(STEPS) + ")"


@bp.route(f"/cases/<int:case_id>/<{VERBS}:verb>", methods=["POST"])
@login_required
@writes_after_slow_work  # a resolution's photos
def step(case_id: int, verb: str):
    message = STEPS[verb]
    # Load for viewing: whether this user may take the step now is the service's question, asked after
    # the version check, so a stale page is told to refresh rather than refused.
    current = queries.get_case_for(current_user, case_id)
    form = CaseStepForm()
    departments = queries.departments_serving(current.district_id, current.street_id)
    _choices(form, current, departments)
    form.departments.choices = [(d.id, d.name) for d in departments]
    if verb == "owner":
        form.owner.choices = [SelectChoice(u.id, u.real_name) for u in queries.compound_staff(current.compound_id)]
    if not form.validate_on_submit():
        return _render_case(current, form, 400, posted=verb)
    version = int_or_none(form.version.data)
    public, internal = form.public_note.data or "", form.internal_note.data or ""
    stored = []
    if verb == "resolve" and any(f.filename for f in request.files.getlist(form.photos.name)):
        try:
            stored = photo_storage.store_uploads(request.files.getlist(form.photos.name))
        except ValidationError as error:
            attach_to_form(form, error)
            return _render_case(current, form, 400, posted=verb)
    chosen = [d for d in departments if d.id in (form.departments.data or [])]
    lead = _pick(departments, form.lead.data)
    who = current_user

    def work():
        if verb == "dispatch":
            services.dispatch(who, current, chosen, public, expected_version=version, lead=lead)
        elif verb == "withdraw":
            services.withdraw(who, current, public, expected_version=version)
        elif verb == "accept":
            services.accept(who, current, public, expected_version=version)
        elif verb == "resolve":
            services.resolve(who, current, public, stored, expected_version=version)
        elif verb == "note":
            services.add_note(who, current, public, internal, expected_version=version)
        elif verb == "escalate":
            services.escalate(who, current, public, expected_version=version)
        elif verb == "acknowledge":
            services.acknowledge(who, current, public, expected_version=version)
        elif verb == "return":
            reason = ReturnReason(form.return_reason.data) if form.return_reason.data else None
            services.return_case(who, current, reason, form.basis.data or "", expected_version=version)
        elif verb == "finish":
            services.finish_part(who, current, public, expected_version=version)
        elif verb == "release":
            services.release_part(who, current, form.department.data, public, expected_version=version)
        elif verb == "extend":
            deadline = from_local(form.new_deadline.data) if form.new_deadline.data else None
            services.request_extension(who, current, deadline, form.basis.data or "", expected_version=version)
        elif verb in ("approve", "refuse"):
            services.decide_extension(who, current, verb == "approve", public, expected_version=version)
        elif verb == "correct":
            with_parts = current.status in (CaseStatus.DISPATCHED, CaseStatus.IN_PROGRESS)
            services.correct(
                who,
                current,
                case_type=db.session.get(CaseType, form.case_type.data) if form.case_type.data else None,
                priority=Priority(form.priority.data) if form.priority.data else None,
                departments=chosen if with_parts else None,
                lead=lead,
                note=public,
                expected_version=version,
            )
        else:
            owner = db.session.get(User, form.owner.data) if form.owner.data else None
            services.set_owner(who, current, owner, expected_version=version)

    ok, _ = save(form, work, success=message)
    if not ok:
        photo_storage.discard(stored)
        db.session.refresh(current)
        return _render_case(current, form, 409 if STALE_MESSAGE in form.form_errors else 400, posted=verb)
    if not can(current_user, Action.VIEW_CASE, current):  # a department that returned it is off the case
        return redirect(url_for("cases.inbox"))
    return redirect(url_for("cases.case", case_id=current.id))


@bp.route("/cases/<int:case_id>/rate", methods=["POST"])
@login_required
def rate(case_id: int):
    current = queries.get_case_for(current_user, case_id, Action.RATE_CASE)
    form = RateForm()
    if form.validate_on_submit():
        satisfaction = Satisfaction(form.satisfaction.data)
        perform(
            services.rate,
            current_user,
            current,
            satisfaction,
            form.comment.data or "",
            success="感谢您的评价" if satisfaction is not Satisfaction.UNSATISFIED else "已退回重新处置，感谢您的反馈",
        )
    else:
        flash("请选择满意度", "warn")
    return redirect(url_for("board.post", post_id=current.post_id, _anchor="case"))


@bp.route("/case-photos/<int:photo_id>")
@bp.route("/case-photos/<int:photo_id>/thumb", endpoint="photo_thumb", defaults={"thumb": True})
@login_required
def photo(photo_id: int, thumb: bool = False):
    image = db.session.get(CasePhoto, photo_id)
    if image is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    event = db.session.get(CaseEvent, image.event_id)
    current = db.session.get(Case, event.case_id)
    # Public resolution photos: for whoever may see the post, and for the handlers who know the matter.
    if not can(current_user, Action.READ_CASE_DETAILS, current):
        board_queries.get_post_for(current_user, current.post_id)
        if current.post.is_hidden:
            raise PermissionDenied(Decision.NOT_FOUND)
    response = send_from_directory(
        photo_storage.upload_dir(), image.thumb_name if thumb else image.file_name, mimetype="image/jpeg"
    )
    response.headers["Cache-Control"] = PRIVATE_REVALIDATED
    return response


# 我的工单 -----------------------------------------------------------------------------------


@bp.route("/cases")
@login_required
def inbox():
    if not current_user.assignments:
        raise PermissionDenied(Decision.FORBIDDEN, "工单只对工作人员开放；您反映的问题立案后会显示在原帖上。")
    view = request.args.get("view", "open")
    if view not in queries.INBOX_VIEWS:
        view = "open"
    form = InboxFilterForm(request.args)
    districts = sorted({a.district_id for a in current_user.assignments})
    form.case_type.choices = [SelectChoice("", "全部类型")] + [
        SelectChoice(t.id, t.name)
        for district_id in districts
        for t in queries.case_types(district_id, active_only=False)
    ]
    narrow = queries.InboxFilter()
    if form.validate():  # a filter that is not valid is shown with its error and left out
        narrow = queries.InboxFilter(
            number=(form.number.data or "").strip(),
            compound=(form.compound.data or "").strip(),
            case_type_id=form.case_type.data or None,
            level=Level.from_value(form.level.data),
        )
    page = queries.inbox(current_user, view, request.args.get("after"), current_app.config["PAGE_SIZE"], narrow)
    waiting = queries.waiting_extensions([c.id for c in page.items])
    return render_template(
        "cases/inbox.html",
        page=page,
        view=view,
        views=queries.INBOX_VIEWS,
        waiting=waiting,
        form=form,
        narrowed=narrow != queries.InboxFilter(),
    )


# Dashboards ---------------------------------------------------------------------------------

LEVELS = {
    "compound": (Compound, Case.compound_id),
    "street": (Street, Case.street_id),
    "district": (District, Case.district_id),
}


def _dashboard_scope(level: str, node_id: int):
    """The node, the SQL for its cases within the asked date range (filing dates), the range's
    form (a date that is not one is shown with its error and left out) and the range's first and last day."""
    model, column = LEVELS[level]
    node = db.session.get(model, node_id)
    if node is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    require(current_user, Action.VIEW_DASHBOARD, node)
    condition = column == node_id
    period = PeriodForm(request.args)
    start = end = None
    if period.validate():
        start, end = period.start.data, period.end.data
    if start:
        condition &= Case.created_at >= local_midnight_utc(start)
    if end:
        condition &= Case.created_at < local_midnight_utc(end + timedelta(days=1))
    return node, condition, period, (start, end)


_DASHBOARD_PARTS = caching.Key("dashboard_part")


def _kept_part(template: str, key: str, **context) -> Markup:
    """A part of a dashboard rendered once for the figures kept under ``key``, whoever views it (it
    shows nothing of the viewer): a district's tables list each of its ~565 compounds, and rendering
    them at every view cost more than reading the figures."""
    return Markup(
        _DASHBOARD_PARTS.get_or_make(_DASHBOARD_PARTS(template, key), lambda: render_template(template, **context))
    )


@bp.route("/dashboard/<any(compound, street, district):level>/<int:node_id>")
@login_required
def dashboard_page(level: str, node_id: int):
    node, condition, period, (start, end) = _dashboard_scope(level, node_id)
    board = dashboard.dashboard_of(level, node_id, condition, (str(start or ""), str(end or "")))
    responses = dashboard.first_responses_of(
        level,
        node_id,
        local_midnight_utc(start) if start else None,
        local_midnight_utc(end + timedelta(days=1)) if end else None,
    )
    return render_template(
        "cases/dashboard.html",
        node=node,
        level=level,
        period=period,
        board=board,
        quick_periods=_quick_periods(),
        breakdowns=_kept_part(
            "cases/_breakdowns.html", board.key, board=board, level=level, min_ranked=dashboard.MIN_RANKED
        ),
        first_responses=_kept_part("responses/_dashboard.html", responses.key, first_responses=responses, level=level),
    )


def _quick_periods() -> list[tuple[str, date | None]]:
    today = to_local(utcnow()).date()
    return [
        ("近30天", today - timedelta(days=29)),
        ("近90天", today - timedelta(days=89)),
        ("今年", today.replace(month=1, day=1)),
        ("全部", None),
    ]


CSV_COLUMNS = [
    "编号",
    "居民区",
    "案件类型",
    "紧急程度",
    "状态",
    "当前层级",
    "立案时间",
    "处置期限",
    "是否超期",
    "办结时间",
    "处置用时（小时）",
    "结案时间",
    "满意度",
    "重新处置次数",
    "派单部门",
]


def _cell(value):
    """Spreadsheets run cells that start with = + - @ as formulas: quote them."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@bp.route("/dashboard/<any(compound, street, district):level>/<int:node_id>/cases.csv")
@login_required
def dashboard_csv(level: str, node_id: int):
    node, condition, _period, _days = _dashboard_scope(level, node_id)

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # BOM: Excel then reads the file as UTF-8
        writer.writerow(CSV_COLUMNS)
        for case in dashboard.cases_in_view(condition):
            writer.writerow(
                [
                    _cell(value)
                    for value in [
                        case.number,
                        case.compound.name,
                        case.case_type.name,
                        case.priority.label,
                        case.status.label,
                        case.level.label,
                        format_local(case.created_at),
                        format_local(case.deadline_at),
                        "是" if case.is_overdue else "否",
                        format_local(case.resolved_at),
                        round(case.resolve_minutes / 60, 1) if case.resolve_minutes is not None else "",
                        format_local(case.closed_at),
                        case.satisfaction.label if case.satisfaction else "",
                        case.reopen_count,
                        services.parts_text(case) if case.parts else "",
                    ]
                ]
            )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    filename = f"cases-{level}-{node_id}.csv"
    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# Case types (district admin) ---------------------------------------------------------------


@bp.route("/admin/d/<int:district_id>/case-types", methods=["GET", "POST"])
@login_required
def case_types(district_id: int):
    district = db.session.get(District, district_id)
    if district is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    require(current_user, Action.MANAGE_CASE_TYPES, district)
    form = CaseTypeForm()
    if form.validate_on_submit():
        ok, _ = save(
            form,
            lambda: services.add_case_type(current_user, district, form.name.data),
            success=f"已添加类型：{form.name.data}",
        )
        if ok:
            return redirect(url_for("cases.case_types", district_id=district.id))
    return render_template(
        "cases/case_types.html",
        district=district,
        form=form,
        types=queries.case_types(district.id, active_only=False),
        action_form=ActionForm(),
    )


@bp.route("/admin/d/<int:district_id>/case-types/<int:type_id>/<any(enable, disable):verb>", methods=["POST"])
@login_required
def toggle_case_type(district_id: int, type_id: int, verb: str):
    district = db.session.get(District, district_id)
    case_type = db.session.get(CaseType, type_id)
    if district is None or case_type is None or case_type.district_id != district.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    if ActionForm().validate_on_submit():
        perform(
            services.set_case_type_active,
            current_user,
            district,
            case_type,
            verb == "enable",
            success="已启用" if verb == "enable" else "已停用",
        )
    return redirect(url_for("cases.case_types", district_id=district.id))


# The working-day calendar (district admin) ---------------------------------------------------


def _calendar_district(district_id: int) -> District:
    district = db.session.get(District, district_id)
    if district is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    require(current_user, Action.MANAGE_CALENDAR, district)
    return district


@bp.route("/admin/d/<int:district_id>/calendar", methods=["GET", "POST"])
@login_required
def calendar(district_id: int):
    district = _calendar_district(district_id)
    year = int_or_none(request.args.get("year")) or to_local(utcnow()).year
    year = min(max(year, 2000), 2100)
    form = CalendarDayForm()
    if form.validate_on_submit():
        ok, _ = save(
            form,
            lambda: services.set_calendar_day(
                current_user, district, form.day.data, form.kind.data == "work", form.note.data or ""
            ),
            success=f"已设置 {form.day.data:%Y-%m-%d}",
        )
        if ok:
            return redirect(url_for("cases.calendar", district_id=district.id, year=form.day.data.year))
    return render_template(
        "cases/calendar.html",
        district=district,
        year=year,
        days=queries.calendar_year(district.id, year),
        form=form,
        action_form=ActionForm(),
    )


@bp.route("/admin/d/<int:district_id>/calendar/<any(remove, holidays):verb>", methods=["POST"])
@login_required
def calendar_change(district_id: int, verb: str):
    district = _calendar_district(district_id)
    year = int_or_none(request.form.get("year"))
    if ActionForm().validate_on_submit():
        if verb == "holidays":
            perform(services.load_national_holidays, current_user, district, success="已导入法定节假日和调休安排")
        else:
            try:
                day = date.fromisoformat(request.form.get("day", ""))
            except ValueError:
                day = None
            perform(services.remove_calendar_day, current_user, district, day, success="已删除")
            year = year or (day.year if day else None)
    return redirect(url_for("cases.calendar", district_id=district.id, year=year))


@bp.app_template_filter("hours")
def _hours(value: float | None) -> str:
    """Dashboard durations: a dash when there is none, never "0.0 小时" for a few minutes."""
    if value is None:
        return "—"
    return "不到0.1小时" if value < 0.1 else f"{value} 小时"


@bp.app_template_filter("status_row")
def _status_row(pair):
    status, count = pair
    return (status.label, count)


@bp.app_template_filter("type_row")
def _type_row(row):
    name, filed, _closed = row
    return (name, filed)


@bp.app_context_processor
def _case_helpers():
    """Board templates ask for the case of a post (the card on the post, the tag on feed cards)
    without the board package depending on cases."""
    return {
        "case_of_post": queries.case_of_post,
        "cases_of_posts": queries.cases_of_posts,
        "public_timeline": lambda case: queries.timeline(case, internal=False),
        "owner_label": services.owner_label,
        "RateForm": RateForm,
    }
