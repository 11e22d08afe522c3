"""Browser story: a resident posts to 身边事 with a photo, a neighbour replies, the secretary pins it."""

import os
from io import BytesIO

import pytest
from PIL import Image

from community_board.accounts.models import Salutation
from community_board.extensions import db

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def sign_in(page, base, phone):
    page.goto(f"{base}/login")
    page.fill("#phone", phone)
    page.fill("#password", "Passw0rd1")
    page.click("button[type=submit]")


def photo_file(tmp_path):
    image = Image.new("RGB", (1200, 900), "#7aa35a")
    buffer = BytesIO()
    image.save(buffer, format="JPEG")
    path = tmp_path / "garden.jpg"
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_post_reply_and_pin(browser_page, live_server, world, resident, secretary, artifacts_dir, tmp_path):
    neighbour = world.resident(world.compound_a, name="吴刚", salutation=Salutation.MR, building="12", room="301")
    compound_id = world.compound_a.id
    phones = (resident.phone, neighbour.phone, secretary.phone)
    db.session.commit()  # one SQLite writer: release the test's transaction before the server writes
    page = browser_page

    # 周丽 posts to 身边事 with a photo.
    sign_in(page, live_server, phones[0])
    page.goto(f"{live_server}/c/{compound_id}/s/matters")
    page.get_by_label("在身边事发帖").click()
    page.fill("#title", "广场变菜园")
    page.fill("#body", "中心广场西侧的绿化带被挖开种了菜。\n土堆在人行道上，请居委会看看。")
    page.set_input_files("[data-photo-input]", photo_file(tmp_path))
    assert page.locator("[data-photo-previews] img").count() == 1
    page.get_by_role("button", name="发布").click()
    assert page.locator(".flash").inner_text() == "发布成功"
    assert page.locator(".post__title").inner_text() == "广场变菜园"
    assert page.locator(".photo-grid img").count() == 1
    post_url = page.url

    # 吴刚 replies from his own phone.
    context = page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    neighbour_page = context.new_page()
    sign_in(neighbour_page, live_server, phones[1])
    neighbour_page.goto(post_url)
    assert "周女士" in neighbour_page.locator(".post__head").inner_text()
    neighbour_page.fill("#body", "我也看到了，土都堆到路上了")
    neighbour_page.get_by_role("button", name="发送").click()
    assert "我也看到了" in neighbour_page.locator(".reply").last.inner_text()
    context.close()

    # The secretary replies officially and pins the post.
    context = page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    staff_page = context.new_page()
    sign_in(staff_page, live_server, phones[2])
    staff_page.goto(post_url)
    staff_page.fill("#body", "情况收到，已上报城管中队和物业。")
    staff_page.get_by_role("button", name="发送").click()
    staff_page.get_by_role("button", name="置顶").click()
    assert staff_page.locator(".flash").inner_text() == "已置顶"
    context.close()

    # Back on 周丽's phone: pinned first in the feed, the official reply highlighted for her.
    page.goto(f"{live_server}/c/{compound_id}")
    first_card = page.locator(".post-card").first
    assert "置顶" in first_card.inner_text() and "广场变菜园" in first_card.inner_text()
    assert first_card.locator(".thumbs img").count() == 1
    page.screenshot(path=os.path.join(artifacts_dir, "board-feed.png"), full_page=True)
    first_card.locator(".post-card__title").click()
    highlighted = page.locator(".reply_highlight")
    assert highlighted.count() == 1 and "官方回复" in highlighted.inner_text()
    assert "吴先生" in page.locator(".reply").first.inner_text()
    page.screenshot(path=os.path.join(artifacts_dir, "board-post.png"), full_page=True)

    # The like button works without a page reload.
    page.get_by_role("button", name="赞").click()
    expect(page.locator("[data-like-count]")).to_have_text("1")
    expect(page.locator("[data-like-label]")).to_have_text("已赞")

    # 消息: she was told about both replies.
    page.goto(f"{live_server}/messages")
    assert page.locator(".message").count() == 2
    page.screenshot(path=os.path.join(artifacts_dir, "board-messages.png"), full_page=True)
