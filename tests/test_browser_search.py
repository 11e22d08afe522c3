"""Browser: search from the board, and 这些帖子可能与你的问题相同 while composing."""

import os

import pytest

from community_board.accounts.models import Salutation
from community_board.board import services as board
from community_board.board.queries import section_by_key
from community_board.extensions import db

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_search_and_similar_posts(browser_page, live_server, world, resident, artifacts_dir):
    neighbour = world.resident(world.compound_a, name="吴刚", salutation=Salutation.MR, building="12", room="301")
    board.create_post(
        resident,
        world.compound_a,
        section_by_key("matters"),
        board.PostDraft(title="3号楼电梯又坏了", body="困在电梯里半小时，物业电话打不通。"),
    )
    phone, compound_id = neighbour.phone, world.compound_a.id
    db.session.commit()
    page = browser_page
    page.goto(f"{live_server}/login")
    page.fill("#phone", phone)
    page.fill("#password", "Passw0rd1")
    page.click("button[type=submit]")

    page.fill("#search-q", "电梯")
    page.get_by_role("button", name="搜索").click()
    hit = page.locator(".search-hit").first
    expect(hit.locator("mark").first).to_have_text("电梯")
    page.fill("#search-q", "在电梯里")  # no dictionary word, and marked whole
    page.get_by_role("button", name="搜索").click()
    expect(page.locator(".search-hit mark")).to_have_text(["在电梯里"])
    page.screenshot(path=os.path.join(artifacts_dir, "search-results.png"), full_page=True)

    page.goto(f"{live_server}/c/{compound_id}/s/matters/new")
    page.locator("#title").press_sequentially("电梯坏了", delay=50)
    similar = page.locator("[data-similar]")
    expect(similar).to_be_visible()
    expect(similar).to_contain_text("3号楼电梯又坏了")
    similar.get_by_role("button", name="我也遇到").click()
    expect(similar.locator("button")).to_have_text("已添加（1户）")
    page.screenshot(path=os.path.join(artifacts_dir, "compose-similar.png"), full_page=True)
