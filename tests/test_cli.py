"""`flask seed-demo`: loads the demo district once, however often it runs, and prints the logins."""

import sqlalchemy as sa
from stdnum.cn import ric
from werkzeug.security import check_password_hash

from community_board.accounts.models import Household, ResidentStatus, User
from community_board.compounds.models import (
    Compound,
    Department,
    JoinCode,
    StaffAssignment,
    Street,
)
from community_board.extensions import db
from community_board.seeding.demo import PASSWORD as DEMO_PASSWORD
from community_board.seeding.demo import demo_id_number, logins

COUNTED = [User, Compound, Street, Department, StaffAssignment, Household, JoinCode]


def counts() -> dict[str, int]:
    result = {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model)) for model in COUNTED}
    db.session.commit()  # end the read so the next command can write
    return result


def seed(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def login_lines(output: str) -> list[list[str]]:
    return [[part.strip() for part in line.split("|")] for line in output.splitlines() if "|" in line]


def test_seed_demo_is_idempotent(app):
    seed(app)
    first = counts()
    seed(app)

    assert counts() == first
    assert first["Compound"] == 4
    assert first["User"] > 10
    verified = User.resident_status == ResidentStatus.VERIFIED
    lived_in = sa.select(sa.func.count(sa.distinct(User.household_id))).where(verified)
    assert db.session.scalar(lived_in) < db.session.scalar(sa.select(sa.func.count()).where(verified))  # shared
    assert first["Household"] > db.session.scalar(lived_in)  # and some nobody registered, kept by grid workers


def test_seed_demo_prints_one_working_login_per_demo_account(app):
    lines = login_lines(seed(app))

    assert len(lines) == len(logins())
    assert [tuple(line[:3]) for line in lines] == logins()
    for _role, _compound, phone, password in lines:
        assert password == DEMO_PASSWORD
        user = db.session.scalar(sa.select(User).where(User.phone == phone))
        assert user is not None, phone
        assert check_password_hash(user.password_hash, password)


def test_demo_logins_describe_their_accounts(app):
    seed(app)
    for role, compound, phone in logins():
        user = db.session.scalar(sa.select(User).where(User.phone == phone))
        if role.startswith("居民（"):
            assert user.compound.name == compound
            assert ("待审核" in role) == (user.resident_status is ResidentStatus.PENDING)
            assert ("党员" in role) == user.is_party_member
        else:
            assert user.assignments, phone


def test_demo_secretary_can_sign_in_and_see_the_queue(app, client):
    seed(app)
    secretary = "13800000002"
    assert client.post("/login", data={"phone": secretary, "password": DEMO_PASSWORD}).status_code == 302
    compound = db.session.scalar(sa.select(Compound).where(Compound.name == "吴淞新城"))
    page = client.get(f"/c/{compound.id}/verification").get_data(as_text=True)
    assert "钱学明先生" in page
    assert "欧阳娜女士" in page


def test_demo_id_numbers_are_well_formed():
    assert ric.is_valid(demo_id_number("13900000001"))
    assert demo_id_number("13900000001") != demo_id_number("13900000011")
