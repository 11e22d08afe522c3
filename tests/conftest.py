"""World-building fixtures: a district with two compounds and a user of every role, in one line each.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set; on
PostgreSQL each run gets a schema of its own so parallel runs do not collide.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from contextlib import contextmanager

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import g
from stdnum.cn import ric

import config as config_module
from community_board import create_app
from community_board.accounts.models import PartyBadge, ResidentStatus, Salutation, User
from community_board.accounts.services import hash_password, household_at
from community_board.cli import new_district
from community_board.compounds.models import (
    Compound,
    Department,
    DepartmentKind,
    District,
    StaffAssignment,
    StaffRole,
    Street,
)
from community_board.compounds.services import active_join_code
from community_board.extensions import db, limiter, reading_outside_transaction
from community_board.privacy import id_number_hmac
from community_board.timeutil import utcnow

PASSWORD = "Passw0rd1"
REFERENCE_TABLES = {"sections"}  # seeded by migrations, kept between tests


def valid_id_number(serial: int) -> str:
    # Born 1990 in 宝山区 (310113, created 1988); calc_check_digit ignores the last character it is given.
    body = f"31011319900101{serial % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    os.environ["CB_INSTANCE_PATH"] = str(instance)
    settings = config_module.TestingConfig()
    settings.SECRET_KEY = "test-secret"
    settings.ID_HASH_KEY = "test-id-hash-key"
    url = settings.SQLALCHEMY_DATABASE_URI
    schema = None
    if url.startswith("postgresql"):
        schema = f"cb_test_{secrets.token_hex(4)}"
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
        settings.SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"options": f"-csearch_path={schema}"}}
    else:
        # A file, not :memory:, so the browser tests' server thread sees the same data.
        settings.SQLALCHEMY_DATABASE_URI = f"sqlite:///{instance / 'test.db'}"
    app = create_app(settings)
    with app.app_context():
        # The schema comes from the migrations, as in production; they also seed the sections.
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if schema:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def fresh_user_per_request(app):
    """Requests reuse the test's app context, so its ``g`` and database session outlive a request.
    Flask-Login would keep the previous request's user (even another client's): load each request's
    user afresh. And a request would carry on in the transaction the test (or the request before)
    opened: end it when nothing is pending, so each request begins its own, as in production (a page
    view reads outside one, a POST begins one up front). A page view's session ends with it, as in
    production: it refuses writes, and the test goes on to write."""

    @app.before_request
    def _start_as_a_new_request():
        g.pop("_login_user", None)
        if not (db.session.new or db.session.dirty or db.session.deleted):
            db.session.commit()

    @app.teardown_request
    def _end_a_page_view(_error):
        if reading_outside_transaction():
            db.session.rollback()  # no database transaction under it


@pytest.fixture(autouse=True)
def app_context(app):
    from community_board import caching

    with app.app_context():
        caching.clear()  # each test starts from an empty database, so from empty caches
        yield
        db.session.remove()
        # Empty every table so each test starts from nothing.
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if table.name not in REFERENCE_TABLES:
                    conn.execute(table.delete())
    limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


# The world --------------------------------------------------------------------------------


class World:
    """Builds districts, compounds and people; every user's password is PASSWORD."""

    def __init__(self):
        self._hash = hash_password(PASSWORD)
        self._phones = iter(range(13700000000, 13800000000))
        self.district = self.new_district("宝山区", "BS")
        self.street_a = self.street("吴淞街道")
        self.street_b = self.street("罗店镇")
        self.compound_a = self.compound("吴淞新城", self.street_a)
        self.compound_b = self.compound("美罗家园", self.street_b)
        db.session.commit()

    def new_district(self, name: str, code: str) -> District:
        """A district as production makes one: with the default case types."""
        return new_district(name, code)

    def street(self, name: str) -> Street:
        street = Street(district=self.district, name=name)
        db.session.add(street)
        db.session.flush()
        return street

    def compound(self, name: str, street: Street) -> Compound:
        compound = Compound(district_id=street.district_id, street=street, name=name)
        db.session.add(compound)
        db.session.flush()
        active_join_code(compound)
        return compound

    def department(self, name="吴淞街道城管中队", kind=DepartmentKind.URBAN_MANAGEMENT, street=None) -> Department:
        department = Department(
            district_id=self.district.id, street_id=street.id if street else None, name=name, kind=kind
        )
        db.session.add(department)
        db.session.commit()
        return department

    def user(self, name="王芳", **fields) -> User:
        user = User(phone=str(next(self._phones)), real_name=name, password_hash=self._hash, **fields)
        db.session.add(user)
        db.session.flush()
        return user

    def resident(
        self,
        compound=None,
        *,
        name="周丽",
        salutation=Salutation.MS,
        building="5",
        unit="2",
        room="502",
        status=ResidentStatus.VERIFIED,
        party=False,
        id_number=None,
    ) -> User:
        compound = compound or self.compound_a
        user = self.user(
            name,
            compound=compound,
            salutation=salutation,
            building=building,
            unit=unit,
            room=room,
            resident_status=status,
            consented_at=utcnow(),
            party_badge=PartyBadge.CONFIRMED if party else PartyBadge.NONE,
        )
        if id_number:
            user.id_number_hmac = id_number_hmac("test-id-hash-key", id_number)
            user.id_number_last4 = id_number[-4:]
        if status is ResidentStatus.VERIFIED:
            user.verified_at = utcnow()
            user.household = household_at(compound, building, unit, room)
        db.session.commit()
        return user

    def staff(self, role: StaffRole, node=None, name="李秀英") -> User:
        """A staff user with ``role`` on ``node`` (a compound, street, department or the district)."""
        user = self.user(name)
        self.assign(user, role, node)
        db.session.commit()
        return user

    def assign(self, user: User, role: StaffRole, node=None) -> None:
        node = node if node is not None else self.district
        district_id, street_id, compound_id = node.scope
        db.session.add(
            StaffAssignment(
                user=user,
                role=role,
                district_id=district_id,
                street_id=street_id,
                compound_id=compound_id,
                department_id=node.id if isinstance(node, Department) else None,
            )
        )
        db.session.flush()
        db.session.refresh(user, ["assignments"])


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def resident(world):
    return world.resident(world.compound_a, name="周丽", building="5")


@pytest.fixture
def pending_resident(world):
    return world.resident(
        world.compound_a,
        name="钱学明",
        salutation=Salutation.MR,
        building="8",
        unit="3",
        room="1102",
        status=ResidentStatus.PENDING,
    )


@pytest.fixture
def other_compound_resident(world):
    return world.resident(world.compound_b, name="孙建华", salutation=Salutation.MR, building="21")


@pytest.fixture
def secretary(world):
    return world.staff(StaffRole.SECRETARY, world.compound_a, name="李秀英")


@pytest.fixture
def committee(world):
    return world.staff(StaffRole.COMMITTEE, world.compound_a, name="陈敏")


@pytest.fixture
def other_secretary(world):
    return world.staff(StaffRole.SECRETARY, world.compound_b, name="张伟")


@pytest.fixture
def officer(world):
    return world.staff(StaffRole.POLICE, world.compound_a, name="刘强")


@pytest.fixture
def grid_worker(world):
    return world.staff(StaffRole.GRID_STREET, world.street_a, name="赵磊")


@pytest.fixture
def dept_staff(world):
    return world.staff(StaffRole.DEPARTMENT, world.department(street=world.street_a), name="周勇")


@pytest.fixture
def admin(world):
    return world.staff(StaffRole.DISTRICT_ADMIN, world.district, name="王建国")


@pytest.fixture
def people(resident, secretary, dept_staff):
    """Who files, works, and reports a case in compound A, with the department it goes to."""
    return dict(
        filer=secretary,
        worker=dept_staff,
        department=next(a.department for a in dept_staff.assignments if a.department),
        reporter=resident,
    )


@pytest.fixture
def street_b_people(world):
    """A reporter, a secretary and a department of street B, for cases that must not count on street A."""
    department = world.department("罗店镇城管中队", street=world.street_b)
    return dict(
        filer=world.staff(StaffRole.SECRETARY, world.compound_b, name="张伟"),
        worker=world.staff(StaffRole.DEPARTMENT, department, name="孙涛"),
        department=department,
        reporter=world.resident(world.compound_b, name="孙建华", building="21"),
    )


@pytest.fixture
def dengbao(app, monkeypatch):
    """The app under the 等保 2.0 profile (PASSWORD_POLICY=dengbao), settings derived as in production."""
    monkeypatch.setenv("PASSWORD_POLICY", "dengbao")
    settings = config_module.TestingConfig()
    for key in (
        "PASSWORD_POLICY",
        "LOGIN_LOCK_AFTER",
        "LOGIN_LOCK_MINUTES",
        "PASSWORD_MAX_AGE_DAYS",
        "STAFF_IDLE_TIMEOUT",
    ):
        monkeypatch.setitem(app.config, key, getattr(settings, key))


# Acting as a user -------------------------------------------------------------------------


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, user_or_phone, password=PASSWORD, remember=False, follow_redirects=False):
        phone = getattr(user_or_phone, "phone", user_or_phone)
        data = {"phone": phone, "password": password}
        if remember:
            data["remember"] = "y"
        return self.client.post("/login", data=data, follow_redirects=follow_redirects)

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def login_as(client):
    """login_as(user) signs the test client in as ``user`` and returns the client."""

    def sign_in(user):
        response = Auth(client).login(user)
        assert response.status_code == 302, "login failed"
        return client

    return sign_in


@contextmanager
def count_queries():
    """Count SQL statements run inside the block: ``with count_queries() as n: ...; n()``."""
    statements = []

    def listener(_conn, _cursor, statement, *_args):
        if not re.match(r"\s*(BEGIN|SAVEPOINT|RELEASE|ROLLBACK|COMMIT|PRAGMA)", statement, re.I):
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield lambda: len(statements)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)


def page_statements(client, url) -> int:
    """SQL statements a GET of ``url`` runs when nothing is cached: neither objects the test built
    nor page parts rendered by an earlier request may spare it a query."""
    from community_board import caching

    db.session.expire_all()
    caching.clear()
    with count_queries() as count:
        assert client.get(url).status_code == 200
    return count()


# Browser ----------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live_server(app):
    """The app served on 127.0.0.1 in a thread, for Playwright."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def browser_page(live_server):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (make test installs it with apt where it can)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()
        browser.close()


@pytest.fixture(scope="session")
def artifacts_dir():
    path = os.path.join(os.path.dirname(__file__), "artifacts")
    os.makedirs(path, exist_ok=True)
    return path
