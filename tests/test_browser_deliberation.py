"""Browser story: a resident votes on a 议题, changes the vote, the deadline passes, the result shows."""

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa

from community_board import caching
from community_board.accounts.models import User
from community_board.deliberation.models import Proposal
from community_board.extensions import db
from community_board.timeutil import to_local, utcnow

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_vote_change_and_result(browser_page, live_server, world, resident, secretary, artifacts_dir):
    neighbour = world.resident(world.compound_a, name="吴刚", building="12", room="301")
    phones = (resident.phone, neighbour.phone)
    compound_id = world.compound_a.id
    # Both joined the compound well before this vote (the electorate is fixed at the deadline).
    db.session.execute(sa.update(User).values(verified_at=utcnow() - timedelta(days=30)))
    db.session.commit()  # one SQLite writer: release the test's transaction for the server
    page = browser_page

    page.goto(f"{live_server}/login")
    page.fill("#phone", phones[0])
    page.fill("#password", "Passw0rd1")
    page.click("button[type=submit]")

    # 周丽 opens a proposal: default options, one vote per resident, tally hidden until the deadline.
    page.goto(f"{live_server}/c/{compound_id}/s/deliberation/new")
    page.fill("#title", "是否在3号楼旁增设电动车充电桩")
    page.fill("#body", "楼道充电有火灾隐患，物业提出在3号楼旁建12个充电位。")
    page.fill("#deadline", to_local(utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="发布议题").click()
    expect(page.locator(".flash")).to_have_text("议题已发布")
    post_url = page.url

    card = page.locator("#proposal")
    card.get_by_label("赞成").check()
    card.get_by_role("button", name="投票").click()
    expect(page.locator(".flash")).to_have_text("已投票，截止前可以修改")
    expect(card.get_by_label("赞成")).to_be_checked()
    expect(card).to_contain_text("截止后公布结果")
    expect(card.locator("[data-tally]")).to_have_count(0)

    # She changes her mind before the deadline.
    card.get_by_label("弃权").check()
    card.get_by_role("button", name="修改投票").click()
    expect(card.get_by_label("弃权")).to_be_checked()
    page.screenshot(path=os.path.join(artifacts_dir, "deliberation-voting.png"), full_page=True)

    # The deadline passes (the clock moves on: set it in the past).
    db.session.execute(sa.update(Proposal).values(deadline_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    # A page cached before was due to expire at the old deadline; moving the deadline behind the
    # app's back stands in for that wait, so the cached parts go too.
    caching.clear()
    page.goto(post_url)
    expect(card.locator(".case-status")).to_have_text("已截止")
    expect(card.get_by_role("button", name="修改投票")).to_have_count(0)
    tally = card.locator("[data-tally]")
    expect(tally.locator(".tally__row", has_text="弃权")).to_contain_text("1票 · 100.0%")
    expect(tally.locator(".tally__row", has_text="赞成")).to_contain_text("0票")
    expect(card.locator("[data-turnout]")).to_contain_text("参与 1 / 2人，参与率 50.0%")
    expect(card.locator("[data-my-vote]")).to_contain_text("您投了“弃权”")
    page.screenshot(path=os.path.join(artifacts_dir, "deliberation-result.png"), full_page=True)
