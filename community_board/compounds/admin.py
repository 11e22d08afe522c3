"""District admin: streets, compounds and departments (add, rename), staff roles and accounts."""

from __future__ import annotations

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from ..accounts import services as account_services
from ..accounts.forms import ActionForm
from ..accounts.models import User
from ..errors import ValidationError
from ..extensions import db, writes_after_slow_work
from ..pagination import id_page
from ..permissions import Action, Decision, PermissionDenied, require
from ..privacy import masked_phone
from ..web import perform, save
from . import bp, services
from .forms import CompoundForm, DepartmentForm, DepartmentRenameForm, RenameForm, StaffForm, StreetForm
from .models import (
    Compound,
    CompoundKind,
    Department,
    DepartmentKind,
    District,
    StaffAssignment,
    StaffRole,
    Street,
    StreetKind,
)


def _district_for_admin(district_id: int) -> District:
    district = db.session.get(District, district_id)
    if district is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    require(current_user, Action.MANAGE_HIERARCHY, district)
    return district


@bp.route("/admin")
@login_required
def admin_home():
    for assignment in current_user.assignments:
        if assignment.role is StaffRole.DISTRICT_ADMIN:
            return redirect(url_for("compounds.admin_district", district_id=assignment.district_id))
    raise PermissionDenied(Decision.FORBIDDEN, "这个页面只对区管理员开放。")


def _departments(district: District) -> list[Department]:
    return list(
        db.session.scalars(
            sa.select(Department)
            .where(Department.district_id == district.id)
            .order_by(Department.street_id.is_not(None), Department.street_id, Department.id)
        )
    )


def _hierarchy_forms(district: District, departments=None):
    streets = district.streets
    street_form, compound_form, department_form = (
        StreetForm(prefix="street"),
        CompoundForm(prefix="compound"),
        DepartmentForm(prefix="department"),
    )
    compound_form.street_id.choices = [SelectChoice(str(s.id), s.name) for s in streets]
    department_form.parent.choices = [SelectChoice("district", f"{district.name}（区级）")] + [
        SelectChoice(str(s.id), s.name) for s in streets
    ]
    return street_form, compound_form, department_form


def _render_district(district: District, street_form, compound_form, department_form):
    # Streets with their compounds in two queries, whatever the district's size.
    streets = list(
        db.session.scalars(
            sa.select(Street)
            .where(Street.district_id == district.id)
            .options(selectinload(Street.compounds))
            .order_by(Street.id)
        )
    )
    return render_template(
        "admin/district.html",
        district=district,
        streets=streets,
        departments=_departments(district),
        street_form=street_form,
        compound_form=compound_form,
        department_form=department_form,
    )


@bp.route("/admin/d/<int:district_id>")
@login_required
def admin_district(district_id: int):
    district = _district_for_admin(district_id)
    return _render_district(district, *_hierarchy_forms(district))


@bp.route("/admin/d/<int:district_id>/<any(street, compound, department):kind>", methods=["POST"])
@login_required
def admin_create(district_id: int, kind: str):
    district = _district_for_admin(district_id)
    forms = _hierarchy_forms(district)
    form = forms[("street", "compound", "department").index(kind)]
    if form.validate_on_submit():
        ok, _ = save(form, lambda: _create(kind, district, form), success=f"已添加：{form.name.data}")
        if ok:
            return redirect(url_for("compounds.admin_district", district_id=district.id))
    return _render_district(district, *forms), 400


def _create(kind: str, district: District, form) -> None:
    if kind == "street":
        services.create_street(current_user, district, form.name.data, StreetKind(form.kind.data))
    elif kind == "compound":
        street = db.session.get(Street, form.street_id.data)
        if street is None or street.district_id != district.id:
            raise ValidationError("所选街镇不存在", "street_id")
        services.create_compound(current_user, street, form.name.data, CompoundKind(form.kind.data))
    else:
        street = None if form.parent.data == "district" else db.session.get(Street, int(form.parent.data))
        services.create_department(current_user, district, street, form.name.data, DepartmentKind(form.kind.data))


def _scope_choices(district: District) -> list[SelectChoice]:
    """Grouped choices (optgroups) for the staff form: compounds, streets, the district, departments, grids."""
    from ..grids.models import Grid  # grids build on compounds

    streets = district.streets
    grids = db.session.execute(
        sa.select(Grid.id, Grid.name, Compound.name)
        .join(Compound, Compound.id == Grid.compound_id)
        .where(Grid.district_id == district.id)
        .order_by(Compound.street_id, Compound.id, Grid.id)
    )
    return [
        *(
            SelectChoice(f"compound:{c.id}", f"{s.name} · {c.name}", optgroup="居民区")
            for s in streets
            for c in s.compounds
        ),
        *(SelectChoice(f"street:{s.id}", s.name, optgroup="街镇") for s in streets),
        SelectChoice(f"district:{district.id}", district.name, optgroup="全区"),
        *(SelectChoice(f"department:{d.id}", d.name, optgroup="部门") for d in _departments(district)),
        *(
            SelectChoice(f"grid:{grid_id}", f"{compound} · {name}", optgroup="网格（网格员）")
            for grid_id, name, compound in grids
        ),
    ]


STAFF_PAGE = 50


def _render_staff(district: District, form: StaffForm, status: int = 200):
    """The district's staff a page at a time, each person once with their roles here; filtered by
    name or phone number and by role."""
    query = (request.args.get("q") or "").strip()[:40]
    role = StaffRole.from_value(request.args.get("role") or "")
    assigned = sa.select(StaffAssignment.user_id).where(StaffAssignment.district_id == district.id)
    if role is not None:
        assigned = assigned.where(StaffAssignment.role == role)
    stmt = sa.select(User).where(User.id.in_(assigned))
    if query.isdigit():
        stmt = stmt.where(User.phone.contains(query, autoescape=True))
    elif query:
        stmt = stmt.where(User.real_name.contains(query, autoescape=True))
    page = id_page(stmt, User, request.args.get("after"), STAFF_PAGE)
    roles: dict[int, list[StaffAssignment]] = {user.id: [] for user in page.items}
    if roles:
        for assignment in db.session.scalars(
            sa.select(StaffAssignment)
            .where(StaffAssignment.district_id == district.id, StaffAssignment.user_id.in_(roles))
            .options(
                selectinload(StaffAssignment.compound),
                selectinload(StaffAssignment.street),
                selectinload(StaffAssignment.department),
                selectinload(StaffAssignment.grid),
            )
            .order_by(StaffAssignment.role, StaffAssignment.id)
        ):
            roles[assignment.user_id].append(assignment)
    return render_template(
        "admin/staff.html",
        district=district,
        form=form,
        people=[(user, roles[user.id]) for user in page.items],
        next_cursor=page.next_cursor,
        query=query,
        role=role,
        roles=list(StaffRole),
        action_form=ActionForm(),
    ), status


@bp.route("/admin/d/<int:district_id>/staff", methods=["GET", "POST"])
@login_required
@writes_after_slow_work  # hashing a new account's password
def admin_staff(district_id: int):
    district = _district_for_admin(district_id)
    form = StaffForm()
    form.scope.choices = _scope_choices(district)
    if not form.validate_on_submit():
        return _render_staff(district, form, 400 if form.is_submitted() else 200)
    new_password_hash = None
    if form.password.data:
        new_password_hash = account_services.hash_password(form.password.data)
    role = StaffRole(form.role.data)

    def assign():
        node = services.resolve_scope(district, role, form.scope.data)
        user = services.staff_account(district, form.phone.data, form.real_name.data, new_password_hash)
        services.assign_staff(current_user, district, user, role, node)

    ok, _ = save(form, assign, success=f"已为 {masked_phone(form.phone.data)} 设置角色：{role.label}")
    if not ok:
        return _render_staff(district, form, 400)
    return redirect(url_for("compounds.admin_staff", district_id=district.id))


@bp.route("/admin/d/<int:district_id>/staff/<int:assignment_id>/revoke", methods=["POST"])
@login_required
def admin_revoke(district_id: int, assignment_id: int):
    district = _district_for_admin(district_id)
    assignment = db.session.get(StaffAssignment, assignment_id)
    if assignment is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    if ActionForm().validate_on_submit():
        perform(services.revoke_staff, current_user, district, assignment, success="已撤销该角色")
    return redirect(url_for("compounds.admin_staff", district_id=district.id))


@bp.route("/admin/d/<int:district_id>/staff/u<int:user_id>/<any(deactivate, reactivate):verb>", methods=["POST"])
@login_required
def admin_account(district_id: int, user_id: int, verb: str):
    district = _district_for_admin(district_id)
    user = db.session.get(User, user_id)
    if user is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    if ActionForm().validate_on_submit():
        if verb == "deactivate":
            perform(services.deactivate_staff, current_user, district, user, success="已停用该账号，其登录已全部失效")
        else:
            perform(services.reactivate_staff, current_user, district, user, success="已恢复该账号")
    return redirect(url_for("compounds.admin_staff", district_id=district.id))


# Renaming ----------------------------------------------------------------------------------

RENAMES = {
    # kind: (model, form, the verb, what the page calls it)
    "street": (Street, RenameForm, services.rename_street, "街镇"),
    "compound": (Compound, RenameForm, services.rename_compound, "居民区/村"),
    "department": (Department, DepartmentRenameForm, services.rename_department, "部门"),
}


@bp.route(
    "/admin/d/<int:district_id>/<any(street, compound, department):kind>/<int:node_id>/rename", methods=["GET", "POST"]
)
@login_required
def admin_rename(district_id: int, kind: str, node_id: int):
    district = _district_for_admin(district_id)
    model, form_class, rename, noun = RENAMES[kind]
    node = db.session.get(model, node_id)
    if node is None or node.district_id != district.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    form = form_class(name=node.name)
    if form.validate_on_submit():
        old = node.name
        ok, _ = save(
            form, lambda: rename(current_user, node, form.name.data), success=f"已改名：{old} → {form.name.data}"
        )
        if ok:
            return redirect(url_for("compounds.admin_district", district_id=district.id))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/rename.html", district=district, node=node, noun=noun, form=form), status
