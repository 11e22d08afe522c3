"""Hierarchy verbs (streets, compounds, departments: create and rename; staff roles and accounts) and join codes."""

from __future__ import annotations

import secrets
from io import BytesIO

import segno
import sqlalchemy as sa
from flask import current_app, url_for
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..accounts import services as account_services
from ..accounts.lifecycle_models import ResetCode
from ..accounts.models import User
from ..errors import ValidationError
from ..extensions import db
from ..permissions import Action, Decision, PermissionDenied, require
from ..persistence import insert_unique
from ..timeutil import utcnow
from .models import (
    Compound,
    CompoundKind,
    Department,
    DepartmentKind,
    District,
    JoinCode,
    StaffAssignment,
    StaffRole,
    Street,
    StreetKind,
)


def get_compound_for(user, compound_id: int, action: Action) -> Compound:
    """The compound if ``user`` may do ``action`` there; 404 outside their scope, 403 inside."""
    compound = db.session.get(Compound, compound_id)
    if compound is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    require(user, action, compound)
    return compound


# Join codes ---------------------------------------------------------------------------------


def active_join_code(compound: Compound) -> JoinCode:
    """The compound's current join code, created on first use."""
    code = db.session.scalar(
        sa.select(JoinCode).where(JoinCode.compound_id == compound.id, JoinCode.revoked_at.is_(None))
    )
    if code is None:
        code = JoinCode(compound_id=compound.id, token=secrets.token_urlsafe(16))
        db.session.add(code)
        db.session.flush()
    return code


def rotate_join_code(actor, compound: Compound) -> JoinCode:
    """Revoke the current code (its QR then shows 'expired') and issue a new one."""
    require(actor, Action.MANAGE_JOIN_CODE, compound)
    now = utcnow()
    db.session.execute(
        sa.update(JoinCode)
        .where(JoinCode.compound_id == compound.id, JoinCode.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    code = JoinCode(compound_id=compound.id, token=secrets.token_urlsafe(16), created_at=now)
    db.session.add(code)
    audit.record(actor, "join_code.rotated", compound, compound=compound)
    return code


def find_join_code(token: str) -> JoinCode | None:
    return db.session.scalar(sa.select(JoinCode).where(JoinCode.token == token))


def join_url(code: JoinCode) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    path = url_for("accounts.join", token=code.token)
    return base + path if base else url_for("accounts.join", token=code.token, _external=True)


def join_qr(code: JoinCode, kind: str) -> bytes:
    """The join URL as a QR image: 'svg' for screens and print, 'png' for sharing in chats."""
    qr = segno.make(join_url(code), error="m")
    buffer = BytesIO()
    if kind == "svg":
        qr.save(buffer, kind="svg", scale=8, border=2, xmldecl=False, svgns=True)
    else:
        qr.save(buffer, kind="png", scale=12, border=2)
    return buffer.getvalue()


# Hierarchy (district admin) -----------------------------------------------------------------


def create_street(actor, district: District, name: str, kind: StreetKind) -> Street:
    require(actor, Action.MANAGE_HIERARCHY, district)
    street = insert_unique(Street(district_id=district.id, name=name.strip(), kind=kind), "该街镇已存在", "name")
    audit.record(actor, "street.created", street, district_id=district.id, note=street.name)
    return street


def create_compound(actor, street: Street, name: str, kind: CompoundKind) -> Compound:
    require(actor, Action.MANAGE_HIERARCHY, street.district)
    compound = insert_unique(
        Compound(district_id=street.district_id, street_id=street.id, name=name.strip(), kind=kind),
        "该街镇下已有同名居民区",
        "name",
    )
    active_join_code(compound)
    audit.record(actor, "compound.created", compound, compound=compound, note=compound.name)
    return compound


_DEPARTMENT_TAKEN = "同一层级下已有同名部门"


def _check_department_name(district_id: int, street_id: int | None, name: str, renaming: int | None = None) -> None:
    # The unique constraint treats NULL street_ids as distinct, so district-level names are checked here.
    duplicate = db.session.scalar(
        sa.select(Department.id).where(
            Department.district_id == district_id,
            Department.street_id.is_(None) if street_id is None else Department.street_id == street_id,
            Department.name == name,
            Department.id != renaming if renaming is not None else sa.true(),
        )
    )
    if duplicate:
        raise ValidationError(_DEPARTMENT_TAKEN, "name")


def create_department(actor, district: District, street: Street | None, name: str, kind: DepartmentKind) -> Department:
    require(actor, Action.MANAGE_HIERARCHY, district)
    if street is not None and street.district_id != district.id:
        raise ValidationError("所选街镇不属于本区", "parent")
    street_id, name = (street.id if street else None), name.strip()
    _check_department_name(district.id, street_id, name)
    department = insert_unique(
        Department(district_id=district.id, street_id=street_id, name=name, kind=kind), _DEPARTMENT_TAKEN, "name"
    )
    audit.record(actor, "department.created", department, district_id=district.id, note=department.name)
    return department


# Renaming: the new name shows on every board page at once --------------------------------------


def rename_street(actor, street: Street, name: str) -> None:
    require(actor, Action.MANAGE_HIERARCHY, street.district)
    _rename(actor, "street.renamed", street, name, "该街镇已存在", Compound.street_id == street.id)


def rename_compound(actor, compound: Compound, name: str) -> None:
    require(actor, Action.MANAGE_HIERARCHY, compound.street.district)
    _rename(actor, "compound.renamed", compound, name, "该街镇下已有同名居民区", Compound.id == compound.id)


def rename_department(actor, department: Department, name: str) -> None:
    """Its name shows on the cases it handles: the boards of its street, or of the whole district."""
    require(actor, Action.MANAGE_HIERARCHY, db.session.get(District, department.district_id))
    _check_department_name(department.district_id, department.street_id, name.strip(), renaming=department.id)
    served = (
        Compound.district_id == department.district_id
        if department.street_id is None
        else Compound.street_id == department.street_id
    )
    _rename(actor, "department.renamed", department, name, _DEPARTMENT_TAKEN, served)


def _rename(actor, action: str, node, name: str, taken: str, shown_on) -> None:
    """Rename ``node`` (a sibling's name is a form error, caught by the unique constraint even in a
    race) and move the board version of the compounds whose pages show it (``shown_on``)."""
    from .. import caching

    name, old = name.strip(), node.name
    if name == old:
        return
    try:
        with db.session.begin_nested():
            node.name = name
    except IntegrityError:
        raise ValidationError(taken, "name") from None
    compound_ids = db.session.scalars(sa.select(Compound.id).where(shown_on)).all()
    caching.touch(db.session, compound_ids)
    audit.record(actor, action, node, district_id=node.district_id, note=f"{old} → {name}")


# Staff ---------------------------------------------------------------------------------------

PHONE_UNAVAILABLE = "该手机号不能设置为本区工作人员，请核对号码"


def _districts_of(user: User) -> set[int]:
    """An account belongs to the districts where it is a resident or holds any staff role."""
    districts = set(
        db.session.scalars(sa.select(StaffAssignment.district_id).where(StaffAssignment.user_id == user.id).distinct())
    )
    if user.compound is not None:
        districts.add(user.compound.district_id)
    return districts


def _belongs_elsewhere(user: User, district: District) -> bool:
    """One that belongs only to other districts is not this district's to take over, nor to learn about."""
    districts = _districts_of(user)
    return bool(districts) and district.id not in districts


def staff_account(district: District, phone: str, real_name: str | None, password_hash: str | None) -> User:
    """The account to give a staff role: this district's account with that phone, or a new one.
    Another district's account is answered as an unknown phone would be until the new account
    cannot be made; then the phone is refused without saying whose it is."""
    user = db.session.scalar(sa.select(User).where(User.phone == phone))
    if user is not None and not _belongs_elsewhere(user, district):
        return user
    if not real_name:
        raise ValidationError("新账号请填写姓名", "real_name")
    if not password_hash:
        raise ValidationError("新账号请设置初始密码", "password")
    if user is not None:
        raise ValidationError(PHONE_UNAVAILABLE, "phone")
    return insert_unique(
        User(phone=phone, real_name=real_name, password_hash=password_hash), PHONE_UNAVAILABLE, "phone"
    )


def resolve_scope(district: District, role: StaffRole, scope_key: str):
    """Turn a form's 'compound:3' / 'street:2' / 'district:1' / 'department:5' into its node,
    checking it lies in this district and fits the role."""
    from ..grids.models import Grid  # grids build on compounds

    kind, _, raw_id = scope_key.partition(":")
    if kind != role.scope_level:
        raise ValidationError(f"“{role.label}”的范围应选择{_SCOPE_NAMES[role.scope_level]}", "scope")
    model = {"compound": Compound, "street": Street, "district": District, "department": Department, "grid": Grid}[kind]
    node = db.session.get(model, int(raw_id)) if raw_id.isdigit() else None
    if node is None or node.scope[0] != district.id:
        raise ValidationError("所选范围不存在", "scope")
    return node


_SCOPE_NAMES = {"compound": "居民区", "street": "街镇", "district": "全区", "department": "部门", "grid": "网格"}


def assign_staff(actor, district: District, user, role: StaffRole, node) -> StaffAssignment:
    require(actor, Action.MANAGE_HIERARCHY, district)
    district_id, street_id, compound_id = node.scope
    department_id = node.id if isinstance(node, Department) else None
    grid_id = node.id if role is StaffRole.GRID_WORKER else None  # a grid's scope is its compound's
    duplicate = db.session.scalar(
        sa.select(StaffAssignment.id).where(
            StaffAssignment.user_id == user.id,
            StaffAssignment.role == role,
            StaffAssignment.district_id == district_id,
            StaffAssignment.street_id.is_(None) if street_id is None else StaffAssignment.street_id == street_id,
            StaffAssignment.compound_id.is_(None)
            if compound_id is None
            else StaffAssignment.compound_id == compound_id,
            StaffAssignment.department_id.is_(None)
            if department_id is None
            else StaffAssignment.department_id == department_id,
            StaffAssignment.grid_id.is_(None) if grid_id is None else StaffAssignment.grid_id == grid_id,
        )
    )
    if duplicate:
        raise ValidationError("该人员已有这个角色和范围", "role")
    assignment = StaffAssignment(
        user_id=user.id,
        role=role,
        district_id=district_id,
        street_id=street_id,
        compound_id=compound_id,
        department_id=department_id,
        grid_id=grid_id,
    )
    db.session.add(assignment)
    # A staff account is reset by the district admin only: a code the 居委会 issued before is void.
    db.session.execute(sa.delete(ResetCode).where(ResetCode.user_id == user.id))
    where = f"{node.scope}" if grid_id is None else f"{node.scope}:grid{grid_id}"
    audit.record(actor, "staff.assigned", user, district_id=district.id, note=f"{role.value}:{where}")
    return assignment


def revoke_staff(actor, district: District, assignment: StaffAssignment) -> None:
    require(actor, Action.MANAGE_HIERARCHY, district)
    if assignment.district_id != district.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    if assignment.user_id == actor.id and assignment.role is StaffRole.DISTRICT_ADMIN:
        raise ValidationError("不能撤销自己的区管理员角色，请由另一位区管理员操作")
    audit.record(actor, "staff.revoked", assignment.user, district_id=district.id, note=assignment.role.value)
    db.session.delete(assignment)


def _district_staff(district: District, user: User) -> None:
    """404 unless ``user`` holds a staff role in this district. Stopping an account stops it
    everywhere: one that also serves or lives in another district is not this admin's alone."""
    districts = _districts_of(user)
    held = db.session.scalar(
        sa.select(StaffAssignment.id)
        .where(StaffAssignment.user_id == user.id, StaffAssignment.district_id == district.id)
        .limit(1)
    )
    if held is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    if districts != {district.id}:
        raise ValidationError(
            "该账号也在其他区担任角色或居住，不能在本区停用或恢复；请先撤销本区的角色，或与其他区的管理员商定"
        )


def deactivate_staff(actor, district: District, user: User) -> None:
    """停用: the account can no longer sign in and every session it has ends; its roles stay for
    reactivation."""
    require(actor, Action.MANAGE_HIERARCHY, district)
    _district_staff(district, user)
    if user.id == actor.id:
        raise ValidationError("不能停用自己的账号，请由另一位区管理员操作")
    if not user.active:
        return
    user.active = False
    account_services.end_all_sessions(user)
    audit.record(actor, "staff.deactivated", user, district_id=district.id)


def reactivate_staff(actor, district: District, user: User) -> None:
    require(actor, Action.MANAGE_HIERARCHY, district)
    _district_staff(district, user)
    if user.active:
        return
    user.active = True
    audit.record(actor, "staff.reactivated", user, district_id=district.id)
