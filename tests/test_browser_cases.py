"""Browser story 广场变菜园: a resident posts, the secretary files and dispatches, 物业 does its part
(协办), 城管 resolves (主办), the resident rates 满意, and the street dashboard counts it closed."""

import os

import pytest

from community_board.compounds.models import DepartmentKind, StaffRole
from community_board.extensions import db

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def phone_page(page, base, phone):
    """A new phone (browser context) signed in as ``phone``."""
    context = page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    other = context.new_page()
    other.goto(f"{base}/login")
    other.fill("#phone", phone)
    other.fill("#password", "Passw0rd1")
    other.click("button[type=submit]")
    return other


def test_square_turned_vegetable_garden(browser_page, live_server, world, resident, secretary, artifacts_dir):
    squad = world.department("吴淞街道城管中队", DepartmentKind.URBAN_MANAGEMENT, street=world.street_a)
    estate = world.department("吴淞新城物业服务中心", DepartmentKind.PROPERTY, street=world.street_a)
    officer = world.staff(StaffRole.DEPARTMENT, squad, name="周勇")
    keeper = world.staff(StaffRole.DEPARTMENT, estate, name="钱红")
    grid = world.staff(StaffRole.GRID_STREET, world.street_a, name="赵磊")
    phones = {
        "resident": resident.phone,
        "secretary": secretary.phone,
        "squad": officer.phone,
        "estate": keeper.phone,
        "grid": grid.phone,
    }
    compound_id, street_id = world.compound_a.id, world.street_a.id
    db.session.commit()  # SQLite has one writer: release the test's transaction for the server

    # 周丽 posts what she saw on the square.
    resident_page = phone_page(browser_page, live_server, phones["resident"])
    resident_page.goto(f"{live_server}/c/{compound_id}/s/matters/new")
    resident_page.fill("#title", "广场变菜园")
    resident_page.fill("#body", "中心广场西侧的绿化带被人挖开种了菜。")
    resident_page.get_by_role("button", name="发布").click()
    post_url = resident_page.url

    # The secretary files it as a case and dispatches it to 城管 and 物业 in one go.
    staff_page = phone_page(browser_page, live_server, phones["secretary"])
    staff_page.goto(post_url)
    staff_page.get_by_role("link", name="立案").click()
    staff_page.select_option("#case_type", label="市容绿化")
    staff_page.get_by_label("吴淞街道城管中队").check()
    staff_page.get_by_label("吴淞新城物业服务中心").check()
    staff_page.get_by_role("button", name="立案").click()
    expect(staff_page.locator(".flash")).to_have_text("已立案并派单")
    expect(staff_page.locator(".case-status").first).to_have_text("已派单")

    # 城管 finds it in 我的工单, takes it and resolves it.
    squad_page = phone_page(browser_page, live_server, phones["squad"])
    squad_page.goto(f"{live_server}/cases")
    squad_page.get_by_text("广场变菜园").click()
    squad_page.locator("summary", has_text="接单处置").click()
    squad_page.locator("details[open] textarea[name=public_note]").fill("已派员到现场，联系种菜居民")
    squad_page.locator("details[open]").get_by_role("button", name="接单处置").click()
    expect(squad_page.locator(".flash")).to_have_text("已接单")

    # 物业 assists: it signs for its part and reports it before 城管 may resolve the case.
    estate_page = phone_page(browser_page, live_server, phones["estate"])
    estate_page.goto(f"{live_server}/cases")
    estate_page.get_by_text("广场变菜园").click()
    estate_page.locator("summary", has_text="签收").click()
    estate_page.locator("details[open]").get_by_role("button", name="签收").click()
    expect(estate_page.locator(".flash")).to_have_text("已签收")
    estate_page.locator("summary", has_text="协办完成").click()
    estate_page.locator("details[open] textarea[name=public_note]").fill("已清运挖出的泥土")
    estate_page.locator("details[open]").get_by_role("button", name="协办完成").click()
    expect(estate_page.locator(".flash")).to_have_text("已提交协办完成")

    squad_page.reload()
    squad_page.locator("summary", has_text="办结").click()
    squad_page.locator("details[open] textarea[name=public_note]").fill("菜已清除，绿化带已补种黄杨")
    squad_page.locator("details[open]").get_by_role("button", name="办结").click()
    expect(squad_page.locator(".flash")).to_have_text("已办结，等待居民评价")
    squad_page.screenshot(path=os.path.join(artifacts_dir, "case-staff.png"), full_page=True)

    # 周丽 sees every step on her post and rates the result.
    resident_page.goto(post_url)
    card = resident_page.locator("#case")
    for step in ("立案", "派单", "接单处置", "办结"):
        expect(card.locator(".timeline__head", has_text=step).first).to_be_visible()
    expect(card).to_contain_text("菜已清除，绿化带已补种黄杨")
    expect(card).to_contain_text("吴淞街道城管中队")  # the department, not the officer's name
    expect(card).not_to_contain_text("周勇")
    resident_page.screenshot(path=os.path.join(artifacts_dir, "case-resident-rate.png"), full_page=True)
    card.get_by_label("满意", exact=True).check()
    card.get_by_role("button", name="提交评价").click()
    expect(resident_page.locator(".flash")).to_have_text("感谢您的评价")
    expect(resident_page.locator("#case .case-status").first).to_have_text("已关闭")

    # The street grid centre's dashboard counts it.
    grid_page = phone_page(browser_page, live_server, phones["grid"])
    grid_page.goto(f"{live_server}/dashboard/street/{street_id}")
    expect(grid_page.locator("[data-kpi=closure-rate]")).to_have_text("100.0%")
    grid_page.screenshot(path=os.path.join(artifacts_dir, "case-dashboard.png"), full_page=True)
