"""Browser stories on a phone: the author of a voted-on 议题 adds a 补充说明 instead of editing it;
a resident's private question to the police says who can read it."""

import os

import pytest
from civic_helpers import cast, open_proposal, residents_apart

from community_board.extensions import db

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def sign_in(page, live_server, user):
    page.goto(f"{live_server}/login")
    page.fill("#phone", user.phone)
    page.fill("#password", "Passw0rd1")
    page.click("button[type=submit]")


def test_the_author_adds_a_note_to_a_voted_on_proposal(browser_page, live_server, world, resident, artifacts_dir):
    proposal = open_proposal(
        resident, world.compound_a, body="楼道充电有火灾隐患，物业提出在3号楼旁建12个充电位，每户每月15元。"
    )
    cast(residents_apart(world, world.compound_a, ["吴刚"])[0], proposal, "赞成")
    post_id = proposal.post_id
    db.session.commit()  # one SQLite writer: release the test's transaction for the server
    page = browser_page
    sign_in(page, live_server, resident)

    page.goto(f"{live_server}/p/{post_id}")
    card = page.locator("#proposal")
    expect(page.locator(".post__links").get_by_role("link", name="编辑")).to_have_count(0)
    card.get_by_role("link", name="添加补充说明").click()
    page.get_by_label("补充说明").fill("更正：每户每月10元（原文写的15元有误），由维修基金补贴差额。")
    page.screenshot(path=os.path.join(artifacts_dir, "deliberation-note-form.png"), full_page=True)
    page.get_by_role("button", name="发布补充说明").click()

    expect(page.locator(".flash")).to_have_text("已添加补充说明")
    note = card.locator("[data-proposal-note]")
    expect(note).to_have_count(1)
    expect(note).to_contain_text("每户每月10元")
    expect(note).to_contain_text("周女士")
    page.screenshot(path=os.path.join(artifacts_dir, "deliberation-note.png"), full_page=True)


def test_a_private_question_says_who_can_read_it(browser_page, live_server, world, resident, officer, artifacts_dir):
    page = browser_page
    sign_in(page, live_server, resident)
    page.goto(f"{live_server}/c/{world.compound_a.id}/s/police/new")
    page.fill("#title", "家里老人接到可疑电话")
    page.fill("#body", "对方自称公安局，要求把存款转到“安全账户”。")
    page.get_by_label("私下提问（只有民警和书记能看到）").check()
    page.get_by_role("button", name="提交问题").click()

    expect(page.locator(".post [data-private]")).to_have_text("私下提问 · 仅民警和书记可见")
    page.screenshot(path=os.path.join(artifacts_dir, "police-private-question.png"), full_page=True)
    page.goto(f"{live_server}/c/{world.compound_a.id}/s/police")
    expect(page.locator(".post-card", has_text="家里老人接到可疑电话").locator("[data-private]")).to_be_visible()
    page.screenshot(path=os.path.join(artifacts_dir, "police-private-card.png"), full_page=True)
