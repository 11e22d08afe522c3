"""Hierarchy verbs (streets, compounds, departments, staff roles) and join codes."""
from __future__ import annotations

import secrets
from io import BytesIO

import segno
import sqlalchemy as sa
from flask import current_app, url_for

from .. import audit
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


def create_department(actor, district: District, street: Street | None, name: str, kind: DepartmentKind) -> Department:
    require(actor, Action.MANAGE_HIERARCHY, district)
    if street is not None and street.district_id != district.id:
        raise ValidationError("所选街镇不属于本区", "parent")
    street_id, name = (street.id if street else None), name.strip()
    # The unique constraint treats NULL street_ids as distinct, so district-level names are checked here.
    duplicate = db.session.scalar(
        sa.select(Department.id).where(
            Department.district_id == district.id,
            Department.street_id.is_(None) if street_id is None else Department.street_id == street_id,
            Department.name == name,
        )
    )
    if duplicate:
        raise ValidationError("同一层级下已有同名部门", "name")
    department = insert_unique(
        Department(district_id=district.id, street_id=street_id, name=name, kind=kind),
        "同一层级下已有同名部门",
        "name",
    )
    audit.record(actor, "department.created", department, district_id=district.id, note=department.name)
    return department


def resolve_scope(district: District, role: StaffRole, scope_key: str):
    """Turn a form's 'compound:3' / 'street:2' / 'district:1' / 'department:5' into its node,
    checking it lies in this district and fits the role."""
    kind, _, raw_id = scope_key.partition(":")
    if kind != role.scope_level:
        raise ValidationError(f"“{role.label}”的范围应选择{_SCOPE_NAMES[role.scope_level]}", "scope")
    model = {"compound": Compound, "street": Street, "district": District, "department": Department}[kind]
    node = db.session.get(model, int(raw_id)) if raw_id.isdigit() else None
    if node is None or node.scope[0] != district.id:
        raise ValidationError("所选范围不存在", "scope")
    return node


_SCOPE_NAMES = {"compound": "居民区", "street": "街镇", "district": "全区", "department": "部门"}


def assign_staff(actor, district: District, user, role: StaffRole, node) -> StaffAssignment:
    require(actor, Action.MANAGE_HIERARCHY, district)
    district_id, street_id, compound_id = node.scope
    department_id = node.id if isinstance(node, Department) else None
    duplicate = db.session.scalar(
        sa.select(StaffAssignment.id).where(
            StaffAssignment.user_id == user.id,
            StaffAssignment.role == role,
            StaffAssignment.district_id == district_id,
            StaffAssignment.street_id.is_(None) if street_id is None else StaffAssignment.street_id == street_id,
            StaffAssignment.compound_id.is_(None) if compound_id is None else StaffAssignment.compound_id == compound_id,
            StaffAssignment.department_id.is_(None) if department_id is None else StaffAssignment.department_id == department_id,
        )
    )
    if duplicate:
        raise ValidationError("该人员已有这个角色和范围", "role")
    assignment = StaffAssignment(
        user_id=user.id, role=role, district_id=district_id, street_id=street_id,
        compound_id=compound_id, department_id=department_id,
    )
    db.session.add(assignment)
    audit.record(actor, "staff.assigned", user, district_id=district.id, note=f"{role.value}:{node.scope}")
    return assignment


def revoke_staff(actor, district: District, assignment: StaffAssignment) -> None:
    require(actor, Action.MANAGE_HIERARCHY, district)
    if assignment.district_id != district.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    if assignment.user_id == actor.id and assignment.role is StaffRole.DISTRICT_ADMIN:
        raise ValidationError("不能撤销自己的区管理员角色，请由另一位区管理员操作")
    audit.record(actor, "staff.revoked", assignment.user, district_id=district.id, note=assignment.role.value)
    db.session.delete(assignment)
