"""Browser story: a resident forgets the password, the 居委会 hands out a code, the resident sets a new
one; later a name change waits in the queue and a 禁言 shows its reason. Screenshots at phone size."""

import os
import re

import pytest
from conftest import PASSWORD

from community_board.extensions import db

pytestmark = pytest.mark.browser


def sign_in(page, base, phone, password=PASSWORD):
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("#phone", phone)
    page.fill("#password", password)
    page.click("button[type=submit]")


def shot(page, artifacts_dir, name):
    page.screenshot(path=os.path.join(artifacts_dir, f"account_life_{name}.png"), full_page=True)


def test_reset_change_and_suspension(browser_page, live_server, world, resident, secretary, artifacts_dir):
    page, base = browser_page, live_server
    compound_id, phone, resident_id = world.compound_a.id, resident.phone, resident.id
    db.session.commit()

    # The 居委会 finds the resident in the neighbour list and hands out a code.
    sign_in(page, base, secretary.phone)
    page.goto(f"{base}/c/{compound_id}/residents")
    page.click(f"a[href$='/residents/{resident_id}/account']")
    shot(page, artifacts_dir, "staff_resident")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=生成重置码")
    code = page.locator(".reset-slip__code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    shot(page, artifacts_dir, "reset_code")

    # The resident sets a new password from the login page.
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.click("text=设置新密码")
    page.fill("#phone", phone)
    page.fill("#code", code)
    page.fill("#new_password", "Xinmima2026")
    shot(page, artifacts_dir, "reset_form")
    page.click("button[type=submit]")
    assert "密码已重设" in page.locator(".flash").inner_text()
    sign_in(page, base, phone, "Xinmima2026")

    # A corrected name waits for the 居委会.
    page.goto(f"{base}/me/details/change")
    shot(page, artifacts_dir, "change_details")
    page.fill("#real_name", "周丽娟")
    page.click("button[type=submit]")
    assert "资料变更审核中" in page.content()
    shot(page, artifacts_dir, "me_pending_change")
    for path, name in (("/me/phone", "change_phone"), ("/me/leave", "leave")):
        page.goto(base + path)
        shot(page, artifacts_dir, name)

    sign_in(page, base, secretary.phone)
    page.goto(f"{base}/c/{compound_id}/verification")
    assert "周丽娟" in page.content()
    shot(page, artifacts_dir, "queue_with_change")
    page.goto(f"{base}/c/{compound_id}/residents/{resident_id}/account")
    page.check("input[name=length][value='3d']")
    page.fill("#reason", "多次发布广告，经提醒未改")
    page.click("text=禁言 >> nth=-1")

    sign_in(page, base, phone, "Xinmima2026")
    page.goto(f"{base}/c/{compound_id}")
    assert "多次发布广告" in page.locator(".suspension-notice").inner_text()
    shot(page, artifacts_dir, "suspended_board")
