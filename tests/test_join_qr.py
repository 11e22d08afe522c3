"""The compound's join QR code: page, images, poster, rotation."""

import pytest
import sqlalchemy as sa

from community_board.accounts.models import ResidentStatus, User
from community_board.audit import AuditEntry
from community_board.compounds.services import active_join_code
from community_board.extensions import db

JOIN_PAGES = ["/join", "/join/qr.svg", "/join/qr.png", "/join/poster"]


def current_token(compound):
    token = active_join_code(compound).token
    db.session.commit()
    return token


def test_join_page_shows_the_current_link(world, login_as, secretary):
    token = current_token(world.compound_a)

    response = login_as(secretary).get(f"/c/{world.compound_a.id}/join")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert f"/join/{token}" in page
    assert "吴淞街道 · 吴淞新城" in page
    assert "更换二维码" in page


def test_qr_as_svg(world, login_as, secretary):
    response = login_as(secretary).get(f"/c/{world.compound_a.id}/join/qr.svg")

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "<svg" in response.get_data(as_text=True)[:200]


def test_qr_as_png(world, login_as, committee):
    response = login_as(committee).get(f"/c/{world.compound_a.id}/join/qr.png")

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")


def test_poster_names_the_compound_and_explains_what_to_do(world, login_as, secretary):
    response = login_as(secretary).get(f"/c/{world.compound_a.id}/join/poster")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "吴淞新城" in page
    assert "扫一扫" in page
    assert "居民委员会" in page
    assert f"/c/{world.compound_a.id}/join/qr.svg" in page


def test_rotating_expires_the_old_code_and_the_new_one_registers(app, world, login_as, secretary):
    old_token = current_token(world.compound_a)
    staff = login_as(secretary)

    response = staff.post(f"/c/{world.compound_a.id}/join/rotate", follow_redirects=True)
    page = response.get_data(as_text=True)
    new_token = current_token(world.compound_a)

    assert "已生成新的二维码，旧二维码已失效" in page
    assert new_token != old_token
    assert f"/join/{new_token}" in page
    assert (
        db.session.scalar(sa.select(AuditEntry.actor_id).where(AuditEntry.action == "join_code.rotated"))
        == secretary.id
    )

    visitor = app.test_client()
    expired = visitor.get(f"/join/{old_token}")
    assert expired.status_code == 410
    assert "二维码已失效" in expired.get_data(as_text=True)

    response = visitor.post(
        f"/join/{new_token}",
        data={
            "phone": "13912345678",
            "password": "anjia2026",
            "real_name": "林晓",
            "salutation": "ms",
            "building": "7",
            "unit": "1",
            "room": "301",
            "consent": "y",
        },
    )
    assert response.headers["Location"] == f"/join/{new_token}/received"
    user = db.session.scalar(sa.select(User).where(User.phone == "13912345678"))
    assert (user.compound_id, user.resident_status) == (world.compound_a.id, ResidentStatus.PENDING)


def test_rotating_leaves_other_compounds_codes_alone(world, login_as, secretary):
    other_token = current_token(world.compound_b)
    assert login_as(secretary).post(f"/c/{world.compound_a.id}/join/rotate").status_code == 302
    assert current_token(world.compound_b) == other_token


@pytest.mark.parametrize("page", JOIN_PAGES)
def test_resident_gets_403(world, login_as, resident, page):
    assert login_as(resident).get(f"/c/{world.compound_a.id}{page}").status_code == 403


@pytest.mark.parametrize("page", JOIN_PAGES)
def test_staff_of_another_compound_get_404(world, login_as, other_secretary, page):
    assert login_as(other_secretary).get(f"/c/{world.compound_a.id}{page}").status_code == 404


def test_rotation_is_refused_outside_the_staff(world, client, auth, resident, other_secretary):
    token = current_token(world.compound_a)

    auth.login(resident)
    assert client.post(f"/c/{world.compound_a.id}/join/rotate").status_code == 403
    auth.logout()
    auth.login(other_secretary)
    assert client.post(f"/c/{world.compound_a.id}/join/rotate").status_code == 404
    assert current_token(world.compound_a) == token


def test_join_pages_need_a_login(client, world):
    response = client.get(f"/c/{world.compound_a.id}/join/qr.png")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
