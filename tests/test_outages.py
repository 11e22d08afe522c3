"""Database or Redis down: a friendly 503 that needs neither, and one short log line per failure."""

import logging

import pytest
from board_helpers import signed_in

import config as config_module
from community_board import create_app
from community_board.compounds.services import active_join_code

UNREACHABLE_DATABASES = {
    "sqlite": "sqlite:///{tmp}/no-such-directory/board.db",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/test",  # a closed port
}


def error_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "community_board.errors"]


@pytest.fixture(params=sorted(UNREACHABLE_DATABASES))
def database_down(request, app, tmp_path):
    """The app as production runs it (errors inside error pages handled, not raised), its database
    unreachable, and a client carrying the session cookie of a signed-in resident."""
    settings = config_module.TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = UNREACHABLE_DATABASES[request.param].format(tmp=tmp_path)
    down = create_app(settings, SECRET_KEY=app.config["SECRET_KEY"], PROPAGATE_EXCEPTIONS=False)
    return down.test_client()


@pytest.fixture
def resident_cookie(resident):
    return signed_in(resident).get_cookie("session").value


def test_a_signed_in_resident_gets_a_friendly_503(database_down, resident_cookie, caplog):
    database_down.set_cookie("session", resident_cookie)

    response = database_down.get("/me")

    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "系统正在维护，请稍后再试。" in page
    assert "Internal Server Error" not in page and "Traceback" not in page
    assert response.headers["Retry-After"] == "30"
    [line] = error_lines(caplog)
    assert line.exc_info is None
    assert line.getMessage().startswith("Unavailable on GET /me: OperationalError")
    assert len(line.getMessage()) < 400 and "\n" not in line.getMessage()


def test_a_missing_page_while_the_database_is_down_is_a_503_too(database_down, resident_cookie):
    database_down.set_cookie("session", resident_cookie)
    response = database_down.get("/no-such-page")
    assert response.status_code == 503
    assert "系统正在维护" in response.get_data(as_text=True)


def test_json_clients_get_a_json_503(database_down, resident_cookie):
    database_down.set_cookie("session", resident_cookie)
    response = database_down.get("/me", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.get_json() == {"error": "系统正在维护，请稍后再试。", "status": 503}


def test_the_log_line_names_the_route_not_the_join_token(database_down, world, caplog):
    token = active_join_code(world.compound_a).token

    assert database_down.get(f"/join/{token}").status_code == 503

    [line] = error_lines(caplog)
    assert "GET /join/<token>" in line.getMessage()
    assert token not in caplog.text


# Redis (rate-limit storage) down ---------------------------------------------------------


@pytest.fixture
def redis_down(app):
    settings = config_module.TestingConfig()
    yield create_app(
        settings, SECRET_KEY=app.config["SECRET_KEY"], RATELIMIT_STORAGE_URI="redis://127.0.0.1:1"
    ).test_client()  # a closed port
    create_app(
        config_module.TestingConfig(), SECRET_KEY=app.config["SECRET_KEY"]
    )  # the limiter is shared: back to memory://


def test_with_redis_down_login_fails_closed_with_a_friendly_503(redis_down, resident, caplog):
    response = redis_down.post("/login", data={"phone": resident.phone, "password": "Passw0rd1"})

    assert response.status_code == 503
    assert "登录服务暂时不可用，请稍后再试" in response.get_data(as_text=True)
    assert redis_down.get("/me").status_code == 302  # not signed in: the right password did not get past
    [line] = error_lines(caplog)
    assert line.getMessage().startswith("Unavailable on POST /login: StorageError (ConnectionError)")
    assert resident.phone not in caplog.text


def test_with_redis_down_joining_fails_closed_with_a_friendly_503(redis_down):
    response = redis_down.post("/join/any-token", data={"phone": "13912345678"})
    assert response.status_code == 503
    assert "注册服务暂时不可用，请稍后再试" in response.get_data(as_text=True)


def test_with_redis_down_the_login_page_still_opens(redis_down):
    assert redis_down.get("/login").status_code == 200
