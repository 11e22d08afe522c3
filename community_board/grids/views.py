"""Grid pages: the five levels, a grid's households, posts, cases and month, the household file with
its visits and 代发, the resident's 我的网格, and the district's care tags."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..accounts.forms import ActionForm
from ..accounts.models import Household
from ..board.services import PostDraft
from ..cases import queries as case_queries
from ..cases.models import CaseType, Priority
from ..compounds.models import Compound, District, StaffRole, Street
from ..compounds.services import get_compound_for
from ..extensions import db
from ..permissions import Action, Decision, PermissionDenied, can, require
from ..privacy import masked_name
from ..web import perform, save
from . import bp, queries, services
from .forms import (
    BuildingsForm,
    CareTagForm,
    CareTagsForm,
    GridForm,
    GridMemberForm,
    HouseholdFileForm,
    HouseholdForm,
    MemberForm,
    PublicPhoneForm,
    RaiseCaseForm,
    VisitForm,
)
from .models import CareTag, GridDuty, GridMember, HouseholdMember, HouseholdRecord, Tenure, Visit, VisitKind


def _page_size() -> int:
    return current_app.config["PAGE_SIZE"]


def _node_for(model, node_id: int):
    node = db.session.get(model, node_id)
    if node is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    require(current_user, Action.VIEW_GRIDS, node)
    return node


# The five levels ------------------------------------------------------------------------------


# Where each role's view of the levels starts, widest first.
_START = {
    StaffRole.DISTRICT_ADMIN: (0, "grids.district_level", lambda a: {"district_id": a.district_id}),
    StaffRole.GRID_DISTRICT: (0, "grids.district_level", lambda a: {"district_id": a.district_id}),
    StaffRole.GRID_STREET: (1, "grids.street_level", lambda a: {"street_id": a.street_id}),
    StaffRole.SECRETARY: (2, "grids.compound_level", lambda a: {"compound_id": a.compound_id}),
    StaffRole.COMMITTEE: (2, "grids.compound_level", lambda a: {"compound_id": a.compound_id}),
    StaffRole.GRID_WORKER: (3, "grids.grid", lambda a: {"grid_id": a.grid_id}),
}


@bp.route("/grids")
@login_required
def levels():
    """The signed-in staff member's view of the levels, from the widest node they see."""
    starts = sorted((_START[a.role][0], a.id, a) for a in current_user.assignments if a.role in _START)
    if not starts:
        raise PermissionDenied(Decision.FORBIDDEN, "网格只对居委会、网格员和网格化中心开放。")
    _, _, assignment = starts[0]
    _, endpoint, values = _START[assignment.role]
    return redirect(url_for(endpoint, **values(assignment)))


@bp.route("/grids/district/<int:district_id>")
@login_required
def district_level(district_id: int):
    district = _node_for(District, district_id)
    streets, figures = queries.district_levels(district)
    return render_template("grids/district.html", district=district, streets=streets, figures=figures)


@bp.route("/grids/street/<int:street_id>")
@login_required
def street_level(street_id: int):
    street = _node_for(Street, street_id)
    compounds, figures = queries.street_levels(street)
    return render_template("grids/street.html", street=street, compounds=compounds, figures=figures)


def _render_compound(compound: Compound, form: GridForm, status: int = 200):
    grids, figures, unassigned = queries.compound_levels(compound)
    return render_template(
        "grids/compound.html",
        compound=compound,
        grids=grids,
        figures=figures,
        unassigned=unassigned,
        workers=queries.grid_workers([g.id for g in grids]),
        form=form,
        may_manage=can(current_user, Action.MANAGE_GRIDS, compound),
    ), status


@bp.route("/c/<int:compound_id>/grids", methods=["GET", "POST"])
@login_required
def compound_level(compound_id: int):
    compound = get_compound_for(current_user, compound_id, Action.VIEW_GRIDS)
    form = GridForm()
    if request.method == "POST":
        require(current_user, Action.MANAGE_GRIDS, compound)
        if form.validate_on_submit():
            ok, grid = save(form, lambda: services.create_grid(current_user, compound, form.name.data))
            if ok:
                flash(f"已新建{grid.name}，请为它划入楼栋", "success")
                return redirect(url_for("grids.grid", grid_id=grid.id))
        return _render_compound(compound, form, 400)
    return _render_compound(compound, form)


def _may_open_files(grid) -> bool:
    """Whether the viewer opens the household files of this grid (compound staff and its grid worker)."""
    probe = HouseholdRecord(Household(compound_id=grid.compound_id), grid.compound, grid, None)
    return can(current_user, Action.VIEW_HOUSEHOLD, probe)


def _render_grid(grid, forms: dict | None = None, status: int = 200):
    buildings, figures = queries.grid_buildings(grid)
    may_manage = can(current_user, Action.MANAGE_GRIDS, grid)
    forms = forms or {}
    return render_template(
        "grids/grid.html",
        grid=grid,
        buildings=buildings,
        figures=figures,
        workers=queries.grid_workers([grid.id])[grid.id],
        members=queries.grid_members(grid),
        may_manage=may_manage,
        may_open_files=_may_open_files(grid),
        buildings_form=forms.get("buildings") or BuildingsForm(),
        phone_form=forms.get("phone") or PublicPhoneForm(public_phone=grid.public_phone),
        member_form=forms.get("member") or GridMemberForm(),
        action_form=ActionForm(),
    ), status


@bp.route("/grids/<int:grid_id>")
@login_required
def grid(grid_id: int):
    return _render_grid(queries.get_grid_for(current_user, grid_id))


@bp.route("/grids/<int:grid_id>/buildings", methods=["POST"])
@login_required
def assign_buildings(grid_id: int):
    current = queries.get_grid_for(current_user, grid_id)
    require(current_user, Action.MANAGE_GRIDS, current)
    form = BuildingsForm()
    if form.validate_on_submit():
        ok, added = save(form, lambda: services.assign_buildings(current_user, current, form.buildings.data))
        if ok:
            flash(f"已划入{len(added)}栋楼" if added else "这些楼栋已在本网格", "success")
            return redirect(url_for("grids.grid", grid_id=current.id))
    return _render_grid(current, {"buildings": form}, 400)


@bp.route("/grids/<int:grid_id>/buildings/<building>/remove", methods=["POST"])
@login_required
def remove_building(grid_id: int, building: str):
    current = queries.get_grid_for(current_user, grid_id)
    if ActionForm().validate_on_submit():
        perform(services.remove_building, current_user, current, building, success=f"已将{building}号楼移出")
    return redirect(url_for("grids.grid", grid_id=current.id))


@bp.route("/grids/<int:grid_id>/phone", methods=["POST"])
@login_required
def public_phone(grid_id: int):
    current = queries.get_grid_for(current_user, grid_id)
    require(current_user, Action.MANAGE_GRIDS, current)
    form = PublicPhoneForm()
    if form.validate_on_submit():
        ok, _ = save(
            form,
            lambda: services.set_public_phone(current_user, current, form.public_phone.data or ""),
            success="已更新对居民公开的工作电话",
        )
        if ok:
            return redirect(url_for("grids.grid", grid_id=current.id))
    return _render_grid(current, {"phone": form}, 400)


@bp.route("/grids/<int:grid_id>/members", methods=["POST"])
@login_required
def add_grid_member(grid_id: int):
    current = queries.get_grid_for(current_user, grid_id)
    require(current_user, Action.MANAGE_GRIDS, current)
    form = GridMemberForm()
    if form.validate_on_submit():
        ok, _ = save(
            form,
            lambda: services.add_grid_member(current_user, current, GridDuty(form.duty.data), form.phone.data),
            success="已加入一格三员名单",
        )
        if ok:
            return redirect(url_for("grids.grid", grid_id=current.id))
    return _render_grid(current, {"member": form}, 400)


@bp.route("/grids/<int:grid_id>/members/<int:grid_member_id>/remove", methods=["POST"])
@login_required
def remove_grid_member(grid_id: int, grid_member_id: int):
    current = queries.get_grid_for(current_user, grid_id)
    member = db.session.get(GridMember, grid_member_id)
    if member is None or member.grid_id != current.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    if ActionForm().validate_on_submit():
        perform(services.remove_grid_member, current_user, current, member, success="已移出名单")
    return redirect(url_for("grids.grid", grid_id=current.id))


@bp.route("/grids/<int:grid_id>/b/<building>")
@login_required
def building(grid_id: int, building: str):
    current = queries.get_grid_for(current_user, grid_id)
    if not queries.in_grid(current, building):
        raise PermissionDenied(Decision.NOT_FOUND)
    may_open_files = _may_open_files(current)
    page = (
        queries.households_of_building(current, building, request.args.get("after"), _page_size())
        if may_open_files
        else None
    )
    _, figures = queries.grid_buildings(current)
    return render_template(
        "grids/building.html",
        grid=current,
        building=building,
        figures=figures.get(building) or queries.Figures(),
        page=page,
    )


@bp.route("/grids/<int:grid_id>/households/new", methods=["GET", "POST"])
@login_required
def add_household(grid_id: int):
    current = queries.get_grid_for(current_user, grid_id)
    if not _may_open_files(current):
        raise PermissionDenied(Decision.FORBIDDEN, "只有居委会和本网格的网格员可以登记住户。")
    form = HouseholdForm(building=request.args.get("building", ""))
    if form.validate_on_submit():
        ok, household = save(
            form,
            lambda: services.add_household(
                current_user, current, form.building.data, form.unit.data or "", form.room.data
            ),
            success="已登记住户，可以继续填写一户一档",
        )
        if ok:
            return redirect(url_for("grids.household", household_id=household.id))
    return render_template("grids/add_household.html", grid=current, form=form), 400 if form.errors else 200


@bp.route("/grids/<int:grid_id>/posts")
@login_required
def grid_posts(grid_id: int):
    current = queries.get_grid_for(current_user, grid_id)
    page = queries.grid_posts(current_user, current, request.args.get("after"), _page_size())
    return render_template(
        "grids/posts.html", grid=current, page=page, cases=case_queries.cases_of_posts([p.id for p in page.items])
    )


@bp.route("/grids/<int:grid_id>/cases")
@login_required
def grid_cases(grid_id: int):
    current = queries.get_grid_for(current_user, grid_id)
    page = queries.grid_cases(current_user, current, request.args.get("after"), _page_size())
    return render_template("grids/cases.html", grid=current, page=page)


@bp.route("/grids/<int:grid_id>/month")
@login_required
def month(grid_id: int):
    """The grid worker's month: visits this month, and households nobody visited in 90 days."""
    current = queries.get_grid_for(current_user, grid_id)
    if not _may_open_files(current):
        raise PermissionDenied(Decision.FORBIDDEN, "只有居委会和本网格的网格员可以查看走访情况。")
    today = services.today_local()
    first, last = queries.month_bounds(today)
    return render_template(
        "grids/month.html",
        grid=current,
        today=today,
        visits=queries.visits_between(current, first, last),
        page=queries.not_visited(current, today, request.args.get("after"), _page_size()),
        days=queries.NOT_VISITED_DAYS,
    )


# The household file -----------------------------------------------------------------------------


def _shown_in_full(record: HouseholdRecord, view: queries.FileView) -> list[str]:
    """What 'show full' uncovers for this household, as the access log names it."""
    shown = []
    if view.accounts or view.members:
        shown.append("成员姓名")
    if record.file and record.file.contact_phone:
        shown.append("联系电话")
    return shown


def _render_household(record: HouseholdRecord, full: bool = False, member_form=None, status: int = 200):
    view = queries.file_view(record)
    visits = queries.visits_of(record.household, request.args.get("after"), _page_size())
    return render_template(
        "grids/household.html",
        record=record,
        household=record.household,
        file=record.file,
        view=view,
        full=full,
        revealable=bool(_shown_in_full(record, view)),
        visits=visits,
        cases=case_queries.cases_of_posts([v.post_id for v in visits.items if v.post_id]),
        may_keep=can(current_user, Action.KEEP_HOUSEHOLD, record),
        member_form=member_form or MemberForm(),
        action_form=ActionForm(),
        masked_name=masked_name,
    ), status


@bp.route("/households/<int:household_id>")
@login_required
def household(household_id: int):
    return _render_household(queries.get_household_for(current_user, household_id))


@bp.route("/households/<int:household_id>/reveal", methods=["POST"])
@login_required
def reveal(household_id: int):
    """显示完整信息: the file with names and phone in full, once its access-log row is written."""
    record = queries.get_household_for(current_user, household_id)
    require(current_user, Action.REVEAL_HOUSEHOLD, record)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("grids.household", household_id=household_id))
    shown = _shown_in_full(record, queries.file_view(record))
    if not shown:
        flash("这户没有登记姓名或电话", "info")
        return redirect(url_for("grids.household", household_id=household_id))
    if not perform(services.reveal, current_user, record, "、".join(shown), success="已显示完整信息（本次查看已记录）"):
        return redirect(url_for("grids.household", household_id=household_id))
    return _render_household(record, full=True)


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@login_required
def edit_household(household_id: int):
    record = queries.get_household_for(current_user, household_id)
    require(current_user, Action.KEEP_HOUSEHOLD, record)
    view = queries.file_view(record)
    file = record.file
    form = HouseholdFileForm(tenure=file.tenure.value if file and file.tenure else "")
    tags_form = CareTagsForm(prefix="tags", tags=[t.id for t in view.tags])
    tags_form.tags.choices = [SelectChoice(t.id, t.name) for t in view.district_tags if t.active or t in view.tags]
    if form.validate_on_submit() and tags_form.validate():

        def work():
            services.update_household(
                current_user,
                record,
                Tenure(form.tenure.data) if form.tenure.data else None,
                form.contact_phone.data or None,
                clear_phone=form.clear_phone.data,
            )
            services.set_care_tags(current_user, record, tags_form.tags.data or [])

        ok, _ = save(form, work, success="已保存一户一档")
        if ok:
            return redirect(url_for("grids.household", household_id=household_id))
    status = 400 if form.errors or tags_form.errors else 200
    return render_template(
        "grids/edit_household.html", record=record, form=form, tags_form=tags_form, file=file
    ), status


@bp.route("/households/<int:household_id>/members", methods=["POST"])
@login_required
def add_member(household_id: int):
    record = queries.get_household_for(current_user, household_id)
    require(current_user, Action.KEEP_HOUSEHOLD, record)
    form = MemberForm()
    if form.validate_on_submit():
        ok, _ = save(
            form,
            lambda: services.add_member(current_user, record, form.name.data, form.relation.data),
            success="已添加成员",
        )
        if ok:
            return redirect(url_for("grids.household", household_id=household_id))
    return _render_household(record, member_form=form, status=400)


@bp.route("/households/<int:household_id>/members/<int:member_id>/remove", methods=["POST"])
@login_required
def remove_member(household_id: int, member_id: int):
    record = queries.get_household_for(current_user, household_id)
    member = db.session.get(HouseholdMember, member_id)
    if member is None or member.household_id != record.household.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    if ActionForm().validate_on_submit():
        perform(services.remove_member, current_user, record, member, success="已移除成员")
    return redirect(url_for("grids.household", household_id=household_id))


@bp.route("/households/<int:household_id>/visits", methods=["GET", "POST"])
@login_required
def record_visit(household_id: int):
    record = queries.get_household_for(current_user, household_id)
    require(current_user, Action.KEEP_HOUSEHOLD, record)
    form = VisitForm()
    if request.method == "GET":
        form.visited_on.data = services.today_local()
        form.kind.data = request.args.get("kind") if request.args.get("kind") in ("visit", "phone") else "visit"
    if form.validate_on_submit():
        ok, visit = save(
            form,
            lambda: services.record_visit(
                current_user,
                record,
                form.visited_on.data,
                VisitKind(form.kind.data),
                form.met.data or "",
                form.raised.data,
                form.follow_up.data or "",
            ),
            success="已记入民情日记",
        )
        if ok:
            if request.form.get("then") == "case":
                return redirect(url_for("grids.raise_case", household_id=household_id, visit_id=visit.id))
            return redirect(url_for("grids.household", household_id=household_id))
    return render_template("grids/visit.html", record=record, form=form), 400 if form.errors else 200


def _visit_of(record: HouseholdRecord, visit_id: int) -> Visit:
    visit = db.session.get(Visit, visit_id)
    if visit is None or visit.household_id != record.household.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    return visit


@bp.route("/households/<int:household_id>/visits/<int:visit_id>/case", methods=["GET", "POST"])
@login_required
def raise_case(household_id: int, visit_id: int):
    """由这次走访代发工单: a post and a case for the household, with the resident's consent."""
    record = queries.get_household_for(current_user, household_id)
    require(current_user, Action.KEEP_HOUSEHOLD, record)
    visit = _visit_of(record, visit_id)
    if visit.post_id is not None:
        case = case_queries.case_of_post(visit.post_id)
        flash("这次走访已经代发过工单", "info")
        return redirect(
            url_for("cases.case", case_id=case.id) if case else url_for("board.post", post_id=visit.post_id)
        )
    accounts = services.account_members(record.household)
    # Not prefilled from the diary: the post is public in the compound, the diary is staff-only.
    form = RaiseCaseForm()
    form.resident.choices = [SelectChoice(0, "不以居民账号发布（由我代发）")] + [
        SelectChoice(u.id, f"{u.masked_name}（已注册，立案后可在原帖查看和评价）")
        for u in accounts
        if u.is_verified_resident
    ]
    if request.method == "GET" and len(form.resident.choices) > 1:
        form.resident.data = form.resident.choices[1][0]
    form.case_type.choices = [SelectChoice(t.id, t.name) for t in case_queries.case_types(record.compound.district_id)]
    if form.validate_on_submit():
        resident = next((u for u in accounts if u.id == form.resident.data), None)
        case_type = db.session.get(CaseType, form.case_type.data)
        ok, case = save(
            form,
            lambda: services.raise_case(
                current_user,
                record,
                visit,
                PostDraft(title=form.title.data, body=form.body.data),
                case_type,
                Priority(form.priority.data),
                consent=form.consent.data,
                resident=resident,
            ),
            success="已代发并立案，书记会尽快派单",
        )
        if ok:
            return redirect(url_for("board.post", post_id=case.post_id))
    return render_template("grids/raise_case.html", record=record, visit=visit, form=form), (
        400 if form.errors or form.form_errors else 200
    )


@bp.app_context_processor
def _grid_helpers():
    """The case page names the household a case was raised for (代发) without cases depending on grids."""
    return {"household_of_post": queries.household_of_post}


# The resident's grid ---------------------------------------------------------------------------


@bp.route("/me/grid")
@login_required
def my_grid():
    """我的网格: who the resident's grid worker is and how to reach them (their work phone only)."""
    if not current_user.is_verified_resident:
        raise PermissionDenied(Decision.FORBIDDEN, "通过实名认证后可以查看您所在的网格和网格员。")
    current = queries.grid_of_resident(current_user)
    workers = queries.grid_workers([current.id])[current.id] if current else []
    members = queries.grid_members(current) if current else []
    return render_template("grids/my_grid.html", grid=current, workers=workers, members=members)


# Care tags (district admin) -------------------------------------------------------------------


def _district_for_tags(district_id: int) -> District:
    district = db.session.get(District, district_id)
    if district is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    require(current_user, Action.MANAGE_CARE_TAGS, district)
    return district


@bp.route("/admin/d/<int:district_id>/care-tags", methods=["GET", "POST"])
@login_required
def care_tags(district_id: int):
    district = _district_for_tags(district_id)
    form = CareTagForm()
    if form.validate_on_submit():
        ok, _ = save(
            form, lambda: services.add_care_tag(current_user, district, form.name.data), success="已添加关爱标签"
        )
        if ok:
            return redirect(url_for("grids.care_tags", district_id=district.id))
    tags = db.session.scalars(
        sa.select(CareTag).where(CareTag.district_id == district.id).order_by(CareTag.sort_order, CareTag.id)
    ).all()
    return render_template(
        "grids/care_tags.html", district=district, tags=tags, form=form, action_form=ActionForm()
    ), 400 if form.errors or form.form_errors else 200


@bp.route("/admin/d/<int:district_id>/care-tags/<int:tag_id>/<any(enable, disable):verb>", methods=["POST"])
@login_required
def toggle_care_tag(district_id: int, tag_id: int, verb: str):
    district = _district_for_tags(district_id)
    tag = db.session.get(CareTag, tag_id)
    if tag is None or tag.district_id != district.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    if ActionForm().validate_on_submit():
        perform(
            services.set_care_tag_active,
            current_user,
            district,
            tag,
            verb == "enable",
            success="已启用" if verb == "enable" else "已停用",
        )
    return redirect(url_for("grids.care_tags", district_id=district.id))
