"""Browser story: a resident scans the QR, registers, the secretary approves, the resident is in."""

import os

import pytest

from community_board.compounds.services import active_join_code
from community_board.extensions import db

pytestmark = pytest.mark.browser


def join_token(compound) -> str:
    token = active_join_code(compound).token
    db.session.commit()  # end the test's transaction: SQLite has one writer, the server needs it
    return token


def sign_in(page, base, phone, password):
    page.goto(f"{base}/login")
    page.fill("#phone", phone)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_join_by_qr_and_get_verified(browser_page, live_server, world, secretary, artifacts_dir):
    page = browser_page
    token = join_token(world.compound_a)

    page.goto(f"{live_server}/join/{token}")
    assert page.locator(".join-intro__where").inner_text() == "吴淞街道 · 吴淞新城"

    # A mistyped phone keeps what was typed and says what is wrong, next to the field.
    page.fill("#phone", "1380013")
    page.fill("#password", "anjia2026")
    page.fill("#real_name", "林晓")
    page.check("input[name=salutation][value=ms]")
    page.fill("#building", "7")
    page.fill("#unit", "1")
    page.fill("#room", "301")
    page.check("#consent")
    page.click("button[type=submit]")
    assert page.locator("#phone-error").inner_text() == "请输入11位中国大陆手机号码"
    assert page.input_value("#real_name") == "林晓"
    page.screenshot(path=os.path.join(artifacts_dir, "join-errors.png"), full_page=True)

    page.fill("#phone", "13800138000")
    page.fill("#password", "anjia2026")
    page.click("button[type=submit]")
    # The same answer whether or not the number had an account: she signs in to see where it is.
    assert "注册信息已提交" in page.locator(".status-card").inner_text()
    page.screenshot(path=os.path.join(artifacts_dir, "join-received.png"), full_page=True)
    page.fill("#phone", "13800138000")
    page.fill("#password", "anjia2026")
    page.click("button[type=submit]")
    page.goto(f"{live_server}/me")
    assert "等待审核" in page.locator(".status-card").inner_text()
    page.screenshot(path=os.path.join(artifacts_dir, "join-pending.png"), full_page=True)

    # The secretary approves her from the queue on another phone.
    staff_context = page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    staff = staff_context.new_page()
    sign_in(staff, live_server, secretary.phone, "Passw0rd1")
    staff.goto(f"{live_server}/c/{world.compound_a.id}/verification")
    card = staff.locator(".review-card", has_text="林晓")
    assert "7号楼1单元301室" in card.inner_text()
    staff.screenshot(path=os.path.join(artifacts_dir, "verification-queue.png"), full_page=True)
    card.get_by_role("button", name="通过").click()
    assert "已通过该居民的认证" in staff.locator(".flash").inner_text()
    assert staff.locator(".empty-state").inner_text().startswith("没有待审核的居民")
    staff_context.close()

    page.reload()
    assert "已实名认证" in page.locator(".status-card").inner_text()
    page.goto(f"{live_server}/")
    assert page.locator(".banner__name").inner_text() == "吴淞新城"
    page.screenshot(path=os.path.join(artifacts_dir, "compound-home.png"), full_page=True)


def test_rotated_qr_shows_expired_page(browser_page, live_server, world, secretary, artifacts_dir):
    page = browser_page
    old_token = join_token(world.compound_a)
    sign_in(page, live_server, secretary.phone, "Passw0rd1")
    page.goto(f"{live_server}/c/{world.compound_a.id}/join")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="更换二维码").click()
    assert "已生成新的二维码" in page.locator(".flash").inner_text()
    assert old_token not in page.locator(".qr-card__url").inner_text()

    page.goto(f"{live_server}/join/{old_token}")
    assert page.locator(".weui-msg__title").inner_text() == "二维码已失效"
    page.screenshot(path=os.path.join(artifacts_dir, "join-expired.png"), full_page=True)
