"""`flask` commands: create-admin here; seed-demo and seed-district from ``seeding``."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask

from . import seeding
from .accounts import rules
from .accounts.models import User
from .accounts.services import hash_password
from .cases.services import add_default_case_types
from .compounds.models import District, StaffAssignment, StaffRole
from .extensions import db, write_transactions
from .grids.services import add_default_care_tags


def get_or_create(model, defaults: dict | None = None, **keys):
    """The row with ``keys``, made (with ``defaults``) if missing: commands that run again add nothing."""
    row = db.session.scalar(sa.select(model).filter_by(**keys))
    if row is None:
        row = model(**keys, **(defaults or {}))
        db.session.add(row)
        db.session.flush()
    return row


def new_district(name: str, code: str) -> District:
    """A district with the default case types and care tags: every way a district comes to be goes through here."""
    district = District(name=name, code=code)
    db.session.add(district)
    db.session.flush()
    add_default_case_types(district)
    add_default_care_tags(district)
    return district


def init_app(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--district", "district_name", required=True, help="区名，例如 宝山区")
    @click.option("--code", default="", help="区代码（新建区时需要），例如 BS")
    @click.option("--phone", required=True)
    @click.option("--name", "real_name", required=True)
    @click.password_option()
    def create_admin_command(district_name, code, phone, real_name, password):
        """Create a district (if new) and a district admin account."""
        phone = rules.normalize_phone(phone)
        for problem in (rules.phone_problem(phone), rules.password_problem(password)):
            if problem:
                raise click.BadParameter(problem)
        password_hash = hash_password(password)
        with write_transactions():
            _create_admin(district_name, code, phone, real_name, password_hash)
        click.echo(f"District admin {phone} ready for {district_name}.")

    seeding.init_app(app)  # flask seed-demo, flask seed-district


def _create_admin(district_name: str, code: str, phone: str, real_name: str, password_hash: str) -> None:
    district = db.session.scalar(sa.select(District).where(District.name == district_name))
    if district is None:
        if not code:
            raise click.BadParameter("新建区时请用 --code 给出区代码")
        district = new_district(district_name, code.upper())
    user = get_or_create(User, phone=phone, defaults={"real_name": real_name, "password_hash": password_hash})
    get_or_create(StaffAssignment, user_id=user.id, role=StaffRole.DISTRICT_ADMIN, district_id=district.id)
    db.session.commit()
