"""`flask` commands: seed-demo and create-admin."""
from __future__ import annotations

from datetime import timedelta

import click
import sqlalchemy as sa
from flask import Flask, current_app
from stdnum.cn import ric

from .accounts import rules
from .accounts.models import PartyBadge, ResidentStatus, Salutation, User
from .accounts.services import hash_password, household_at
from .board.demo import seed_board
from .cases.demo import seed_cases
from .cases.services import add_default_case_types
from .compounds.models import (
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
from .compounds.services import active_join_code
from .deliberation.demo import seed_proposals
from .extensions import db, write_transactions
from .privacy import id_number_hmac
from .timeutil import utcnow

DEMO_PASSWORD = "Demo1234"

DEMO_STREETS = {
    "吴淞街道": (StreetKind.STREET, [("吴淞新城", CompoundKind.NEIGHBOURHOOD), ("淞南一村", CompoundKind.NEIGHBOURHOOD)]),
    "罗店镇": (StreetKind.TOWN, [("美罗家园", CompoundKind.NEIGHBOURHOOD), ("天平村", CompoundKind.VILLAGE)]),
}

# (name, kind, street or None for the district)
DEMO_DEPARTMENTS = [
    ("吴淞街道城管中队", DepartmentKind.URBAN_MANAGEMENT, "吴淞街道"),
    ("吴淞街道网格化综合管理中心", DepartmentKind.GRID_CENTRE, "吴淞街道"),
    ("吴淞新城物业服务中心", DepartmentKind.PROPERTY, "吴淞街道"),
    ("吴淞派出所", DepartmentKind.POLICE_STATION, "吴淞街道"),
    ("罗店镇城管中队", DepartmentKind.URBAN_MANAGEMENT, "罗店镇"),
    ("罗店镇网格化综合管理中心", DepartmentKind.GRID_CENTRE, "罗店镇"),
    ("宝山区城市网格化综合管理中心", DepartmentKind.GRID_CENTRE, None),
]

# (phone, name, role, scope): scope names a compound, street, department or None for the district.
DEMO_STAFF = [
    ("13800000001", "王建国", StaffRole.DISTRICT_ADMIN, None),
    ("13800000002", "李秀英", StaffRole.SECRETARY, "吴淞新城"),
    ("13800000003", "陈敏", StaffRole.COMMITTEE, "吴淞新城"),
    ("13800000004", "张伟", StaffRole.SECRETARY, "美罗家园"),
    ("13800000005", "刘强", StaffRole.POLICE, "吴淞新城"),
    ("13800000005", "刘强", StaffRole.POLICE, "淞南一村"),
    ("13800000006", "赵磊", StaffRole.GRID_STREET, "吴淞街道"),
    ("13800000007", "孙丽", StaffRole.GRID_DISTRICT, None),
    ("13800000008", "周勇", StaffRole.DEPARTMENT, "吴淞街道城管中队"),
    ("13800000009", "黄蕾", StaffRole.SECRETARY, "淞南一村"),
    ("13800000010", "马志华", StaffRole.SECRETARY, "天平村"),
    ("13800000011", "钱红", StaffRole.DEPARTMENT, "吴淞新城物业服务中心"),
    ("13800000012", "顾建军", StaffRole.DEPARTMENT, "罗店镇城管中队"),
    ("13800000013", "陆平", StaffRole.DEPARTMENT, "吴淞街道网格化综合管理中心"),
]

# (phone, name, salutation, compound, building, unit, room, status, party member, has ID number)
DEMO_RESIDENTS = [
    ("13900000001", "周丽", Salutation.MS, "吴淞新城", "5", "2", "502", ResidentStatus.VERIFIED, True, True),
    ("13900000002", "吴刚", Salutation.MR, "吴淞新城", "12", "1", "301", ResidentStatus.VERIFIED, False, False),
    ("13900000003", "郑芳", Salutation.MS, "吴淞新城", "5", "2", "502", ResidentStatus.VERIFIED, False, False),
    ("13900000004", "钱学明", Salutation.MR, "吴淞新城", "8", "3", "1102", ResidentStatus.PENDING, False, True),
    ("13900000005", "欧阳娜", Salutation.MS, "吴淞新城", "3", "1", "201", ResidentStatus.PENDING, False, False),
    ("13900000011", "孙建华", Salutation.MR, "美罗家园", "21", "1", "602", ResidentStatus.VERIFIED, True, True),
    ("13900000012", "冯晓燕", Salutation.MS, "美罗家园", "7", "2", "101", ResidentStatus.VERIFIED, False, False),
    ("13900000013", "陈国庆", Salutation.MR, "美罗家园", "15", "", "303", ResidentStatus.PENDING, False, False),
    ("13900000021", "何美玲", Salutation.MS, "淞南一村", "33", "4", "402", ResidentStatus.VERIFIED, False, False),
    ("13900000031", "沈大伯", Salutation.MR, "天平村", "6", "", "1", ResidentStatus.VERIFIED, False, False),
]

# Printed by `make run`; one per line: role, compound, phone.
DEMO_LOGINS = [
    ("区管理员", "宝山区", "13800000001"),
    ("居民区书记", "吴淞新城", "13800000002"),
    ("居委会工作人员", "吴淞新城", "13800000003"),
    ("居民（已认证，党员）", "吴淞新城", "13900000001"),
    ("居民（待审核）", "吴淞新城", "13900000004"),
    ("居民区书记", "美罗家园", "13800000004"),
    ("居民（已认证）", "美罗家园", "13900000012"),
    ("社区民警", "吴淞新城、淞南一村", "13800000005"),
    ("街道网格化中心", "吴淞街道", "13800000006"),
    ("区网格化中心", "宝山区", "13800000007"),
    ("城管中队", "吴淞街道", "13800000008"),
    ("物业", "吴淞新城", "13800000011"),
]


def demo_id_number(seed: str) -> str:
    """A well-formed (checksum-valid) but fictitious ID number for demo residents."""
    # 310113 (宝山区) exists since 1988; calc_check_digit expects the number with a check character.
    body = "310113" + "1990" + "0101" + seed[-3:].rjust(3, "0")
    return body + ric.calc_check_digit(body + "0")


def _get_or_create(model, defaults: dict | None = None, **keys):
    row = db.session.scalar(sa.select(model).filter_by(**keys))
    if row is None:
        row = model(**keys, **(defaults or {}))
        db.session.add(row)
        db.session.flush()
    return row


def new_district(name: str, code: str) -> District:
    """A district with the default case types: every way a district comes to be goes through here."""
    district = District(name=name, code=code)
    db.session.add(district)
    db.session.flush()
    add_default_case_types(district)
    return district


def seed_demo() -> None:
    district = db.session.scalar(sa.select(District).where(District.name == "宝山区")) or new_district("宝山区", "BS")
    streets, compounds = {}, {}
    for street_name, (kind, compound_specs) in DEMO_STREETS.items():
        street = _get_or_create(Street, district_id=district.id, name=street_name, defaults={"kind": kind})
        streets[street_name] = street
        for compound_name, compound_kind in compound_specs:
            compound = _get_or_create(
                Compound, street_id=street.id, name=compound_name,
                defaults={"district_id": district.id, "kind": compound_kind},
            )
            active_join_code(compound)
            compounds[compound_name] = compound
    departments = {}
    for name, kind, street_name in DEMO_DEPARTMENTS:
        street_id = streets[street_name].id if street_name else None
        departments[name] = _get_or_create(
            Department, district_id=district.id, street_id=street_id, name=name, defaults={"kind": kind}
        )

    password_hash = hash_password(DEMO_PASSWORD)
    for phone, name, role, scope_name in DEMO_STAFF:
        user = _get_or_create(User, phone=phone, defaults={"real_name": name, "password_hash": password_hash})
        node = compounds.get(scope_name) or streets.get(scope_name) or departments.get(scope_name) or district
        district_id, street_id, compound_id = node.scope
        _get_or_create(
            StaffAssignment, user_id=user.id, role=role, district_id=district_id, street_id=street_id,
            compound_id=compound_id, department_id=node.id if isinstance(node, Department) else None,
        )

    key = current_app.config["ID_HASH_KEY"]
    for phone, name, salutation, compound_name, building, unit, room, status, party, has_id in DEMO_RESIDENTS:
        compound = compounds[compound_name]
        id_number = demo_id_number(phone) if has_id else None
        user = _get_or_create(
            User, phone=phone,
            defaults={
                "real_name": name, "salutation": salutation, "password_hash": password_hash,
                "compound_id": compound.id, "building": building, "unit": unit, "room": room,
                "resident_status": status, "consented_at": utcnow(),
                "id_number_hmac": id_number_hmac(key, id_number) if id_number else None,
                "id_number_last4": id_number[-4:] if id_number else None,
                "party_badge": PartyBadge.CONFIRMED if party else PartyBadge.NONE,
            },
        )
        if status is ResidentStatus.VERIFIED and user.household_id is None:
            user.verified_at = utcnow() - timedelta(days=60)  # they joined before the demo story
            user.household = household_at(compound, building, unit, room)
    db.session.flush()
    _recount_residents()
    demo_phones = {row[0] for row in DEMO_STAFF} | {row[0] for row in DEMO_RESIDENTS}
    users_by_phone = {u.phone: u for u in db.session.scalars(sa.select(User).where(User.phone.in_(demo_phones)))}
    seed_board(compounds, users_by_phone)
    seed_cases(compounds, users_by_phone)
    seed_proposals(users_by_phone)
    db.session.commit()


def _recount_residents() -> None:
    verified = (
        sa.select(sa.func.count()).where(
            User.compound_id == Compound.id, User.resident_status == ResidentStatus.VERIFIED
        ).scalar_subquery()
    )
    db.session.execute(sa.update(Compound).values(resident_count=verified))


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--force", is_flag=True, help="also under CB_CONFIG=production")
    def seed_demo_command(force):
        """Load the demo district (idempotent) and print the demo logins."""
        if app.config["CONFIG_NAME"] == "production" and not force:
            raise click.ClickException("seed-demo creates accounts with a known password; "
                                       "use CB_CONFIG=development, or --force if you mean it")
        with write_transactions():
            seed_demo()
        click.echo(f"Demo data loaded. Demo logins (password {DEMO_PASSWORD} for all):")
        for role, compound, phone in DEMO_LOGINS:
            click.echo(f"  {role} | {compound} | {phone} | {DEMO_PASSWORD}")

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

    from .district_seed import (
        init_app as init_seed_district,  # noqa: E402  (flask seed-district)
    )
    init_seed_district(app)


def _create_admin(district_name: str, code: str, phone: str, real_name: str, password_hash: str) -> None:
    district = db.session.scalar(sa.select(District).where(District.name == district_name))
    if district is None:
        if not code:
            raise click.BadParameter("新建区时请用 --code 给出区代码")
        district = new_district(district_name, code.upper())
    user = _get_or_create(User, phone=phone, defaults={"real_name": real_name, "password_hash": password_hash})
    _get_or_create(StaffAssignment, user_id=user.id, role=StaffRole.DISTRICT_ADMIN, district_id=district.id)
    db.session.commit()
