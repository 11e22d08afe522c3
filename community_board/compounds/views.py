"""Home routing, the compound home, the staff workbench and the join QR pages."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from ..accounts.forms import ActionForm
from ..accounts.models import ResidentStatus, User
from ..cases import queries as case_queries
from ..extensions import db, writes_on_get
from ..pagination import Page, id_page
from ..permissions import STAFF_RIGHTS, Action, Decision, PermissionDenied, can, is_staff
from ..web import commit_work, perform
from . import bp, services
from .models import Compound, StaffRole


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    if is_staff(current_user):
        return redirect(url_for("compounds.workbench"))
    if current_user.is_verified_resident:
        return redirect(url_for("board.feed", compound_id=current_user.compound_id))
    return redirect(url_for("accounts.me"))


WORKBENCH_PAGE = 50


def _compounds_in_scope(user, name: str, cursor: str | None) -> Page[Compound]:
    """A page of the compounds whose boards the user's roles open, in one query, filtered by name."""
    board_roles = STAFF_RIGHTS[Action.VIEW_BOARD]
    conditions = []
    for assignment in user.assignments:
        if assignment.role not in board_roles:
            continue
        district_id, street_id, compound_id = assignment.scope
        condition = Compound.district_id == district_id
        if street_id is not None:
            condition &= Compound.street_id == street_id
        if compound_id is not None:
            condition &= Compound.id == compound_id
        conditions.append(condition)
    if not conditions:
        return Page([], None)
    stmt = sa.select(Compound).where(sa.or_(*conditions)).options(selectinload(Compound.street))
    if name:
        stmt = stmt.where(Compound.name.contains(name, autoescape=True))
    return id_page(stmt, Compound, cursor, WORKBENCH_PAGE)


def _pending_counts(compounds: list[Compound]) -> dict[int, int]:
    if not compounds:
        return {}
    rows = db.session.execute(
        sa.select(User.compound_id, sa.func.count())
        .where(User.compound_id.in_([c.id for c in compounds]), User.resident_status == ResidentStatus.PENDING)
        .group_by(User.compound_id)
    )
    return dict(rows.all())


DEPARTMENT_CASES_SHOWN = 10


@bp.route("/staff")
@login_required
def workbench():
    if not is_staff(current_user):
        raise PermissionDenied(Decision.FORBIDDEN, "工作台只对工作人员开放。")
    name = (request.args.get("q") or "").strip()[:40]
    page = _compounds_in_scope(current_user, name, request.args.get("after"))
    compounds = [c for c in page.items if can(current_user, Action.VIEW_BOARD, c)]
    # A department's staff have no compounds of their own: their work is the cases sent to them.
    department_cases = None
    if any(a.role is StaffRole.DEPARTMENT for a in current_user.assignments):
        department_cases = case_queries.inbox(current_user, "open", None, DEPARTMENT_CASES_SHOWN)
    return render_template(
        "compounds/workbench.html",
        compounds=compounds,
        next_cursor=page.next_cursor,
        name=name,
        searchable=bool(name or page.next_cursor or request.args.get("after")),
        pending=_pending_counts(compounds),
        department_cases=department_cases,
    )


# Join QR code -----------------------------------------------------------------------------


def _join_code_for(compound_id: int):
    """The compound (for its staff only) and its current join code, created on first use."""
    compound = services.get_compound_for(current_user, compound_id, Action.MANAGE_JOIN_CODE)
    code = commit_work(lambda: services.active_join_code(compound))
    return compound, code


@bp.route("/c/<int:compound_id>/join")
@writes_on_get
@login_required
def join_code(compound_id: int):
    compound, code = _join_code_for(compound_id)
    return render_template(
        "compounds/join_code.html",
        compound=compound,
        code=code,
        join_url=services.join_url(code),
        action_form=ActionForm(),
    )


@bp.route("/c/<int:compound_id>/join/qr.<any(svg, png):kind>")
@writes_on_get
@login_required
def join_qr(compound_id: int, kind: str):
    compound, code = _join_code_for(compound_id)
    mimetype = "image/svg+xml" if kind == "svg" else "image/png"
    response = Response(services.join_qr(code, kind), mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    if kind == "png":
        response.headers["Content-Disposition"] = f'inline; filename="join-qr-{compound.id}.png"'
    return response


@bp.route("/c/<int:compound_id>/join/poster")
@writes_on_get
@login_required
def join_poster(compound_id: int):
    compound, code = _join_code_for(compound_id)
    return render_template("compounds/join_poster.html", compound=compound, code=code)


@bp.route("/c/<int:compound_id>/join/rotate", methods=["POST"])
@login_required
def rotate_join_code(compound_id: int):
    compound = services.get_compound_for(current_user, compound_id, Action.MANAGE_JOIN_CODE)
    if ActionForm().validate_on_submit():
        perform(services.rotate_join_code, current_user, compound, success="已生成新的二维码，旧二维码已失效")
    return redirect(url_for("compounds.join_code", compound_id=compound.id))
