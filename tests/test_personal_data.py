"""Personal data stays out of caches, cookies and logs (access logs included)."""

import logging
import os
import subprocess
import sys
import time

import pytest
import requests
from board_helpers import image_bytes, signed_in, upload
from test_production_checks import SETTINGS, free_port

import config as config_module
from community_board import ROOT, create_app
from community_board.accounts.models import ResidentStatus, Salutation
from community_board.board import services
from community_board.board.models import Photo, Post
from community_board.extensions import db

PHONE_SEARCHED = "13912345678"


# Caches -------------------------------------------------------------------------------------


def test_json_for_a_signed_in_user_is_not_cached(world, resident):
    response = signed_in(resident).get(f"/c/{world.compound_a.id}/similar?title=电梯坏了")
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_csv_export_is_not_cached(world, grid_worker):
    response = signed_in(grid_worker).get(f"/dashboard/street/{world.street_a.id}/cases.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_kept_photo_is_asked_for_again_and_refused_once_its_post_is_hidden(world, resident, secretary):
    client = signed_in(resident)
    client.post(
        f"/c/{world.compound_a.id}/s/neighbours/new",
        data={"title": "小区的花开了", "body": "拍了几张", "photos": upload(("a.jpg", image_bytes()))},
    )
    photo = db.session.scalars(db.select(Photo)).one()
    first = client.get(f"/photos/{photo.id}")
    assert first.headers["Cache-Control"] == "private, no-cache"  # kept, but checked before each use
    etag = first.headers["ETag"]
    assert client.get(f"/photos/{photo.id}", headers={"If-None-Match": etag}).status_code == 304

    services.hide(secretary, db.session.get(Post, photo.post_id), "涉及他人隐私")
    db.session.commit()

    assert client.get(f"/photos/{photo.id}", headers={"If-None-Match": etag}).status_code == 404


# Cookies ------------------------------------------------------------------------------------


def session_of(app, client) -> dict:
    """What the signed (not encrypted) session cookie carries: anyone holding it can read this."""
    cookie = client.get_cookie("session").value
    return app.session_interface.get_signing_serializer(app).loads(cookie)


@pytest.mark.parametrize(
    "decision, data, message",
    [
        ("approve", {}, "已通过该居民的认证"),
        ("reject", {"reason": "查无此室号"}, "已退回该居民的申请"),
    ],
)
def test_deciding_on_a_resident_keeps_their_name_out_of_the_cookie(app, world, secretary, decision, data, message):
    applicant = world.resident(name="钱学明", salutation=Salutation.MR, building="8", status=ResidentStatus.PENDING)
    client = signed_in(secretary)

    client.post(f"/c/{world.compound_a.id}/verification/{applicant.id}/{decision}", data=data)

    carried = session_of(app, client)
    assert carried["_flashes"] == [("success", message)]
    assert "钱学明" not in repr(carried)


# Logs ---------------------------------------------------------------------------------------


def test_failed_logins_over_the_limit_never_log_the_phone(client, resident, caplog):
    caplog.set_level(logging.DEBUG)
    statuses = [
        client.post("/login", data={"phone": resident.phone, "password": "Wrong1234"}).status_code for _ in range(6)
    ]
    assert statuses[-1] == 429
    assert resident.phone not in caplog.text


def test_the_development_server_logs_requests_without_their_query_string(live_server, world, secretary, caplog):
    caplog.set_level(logging.INFO)
    session = requests.Session()
    session.post(f"{live_server}/login", data={"phone": secretary.phone, "password": "Passw0rd1"})

    assert session.get(f"{live_server}/search", params={"q": PHONE_SEARCHED}).status_code == 200

    assert '"GET /search HTTP/1.1" 200' in caplog.text
    assert PHONE_SEARCHED not in caplog.text


def test_gunicorns_access_log_names_routes_without_query_strings_or_tokens(tmp_path):
    """The shipped gunicorn.conf.py, as `make bench` runs it (its database empty: the join page
    answers 503 and writes one line to the error log)."""
    port, token = free_port(), "a1b2c3d4e5f6a7b8"
    access_log = tmp_path / "access.log"
    env = {
        **{k: v for k, v in os.environ.items() if k not in SETTINGS},
        "CB_CONFIG": "bench",
        "CB_INSTANCE_PATH": str(tmp_path),
    }
    server = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            "-c",
            ROOT / "gunicorn.conf.py",
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            access_log,
            "community_board:create_app()",
        ],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/login", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.2)
        requests.get(f"{base}/search", params={"q": PHONE_SEARCHED}, allow_redirects=False, timeout=10)
        requests.get(f"{base}/join/{token}", params={"from": PHONE_SEARCHED}, timeout=10)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)

    logged = access_log.read_text()
    assert '"GET /search HTTP/1.1" 302' in logged
    assert '"GET /join/<token> HTTP/1.1" 503' in logged
    assert PHONE_SEARCHED not in logged + errors
    assert token not in logged + errors
    assert "Unavailable on GET /join/<token>: OperationalError" in errors


def test_a_database_error_logs_the_route_and_stack_but_not_the_row_it_quotes(app, caplog):
    """PostgreSQL's message for a duplicate quotes the row (DETAIL: Key (phone)=(…)); the log keeps
    its first line."""
    from sqlalchemy.exc import IntegrityError

    detail = f'duplicate key value violates unique constraint "uq_users_phone"\nDETAIL:  Key (phone)=({PHONE_SEARCHED})'
    failing = create_app(config_module.TestingConfig(), SECRET_KEY=app.config["SECRET_KEY"])

    @failing.route("/duplicate/<int:n>")
    def duplicate(n):
        raise IntegrityError("INSERT INTO users", None, Exception(detail))

    assert failing.test_client().get("/duplicate/7?phone=" + PHONE_SEARCHED).status_code == 500
    assert "Unhandled error on GET /duplicate/7: IntegrityError (Exception): duplicate key value" in caplog.text
    assert "in duplicate" in caplog.text  # where it happened
    assert PHONE_SEARCHED not in caplog.text
