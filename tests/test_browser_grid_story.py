"""Browser story of issue 14 on a phone: the grid worker of 第2网格 finds 王阿婆 (独居老人, not
visited in 90 days), phones her, and files her broken stairwell light as a case on her behalf (代发,
with her consent); the 书记 owns the case (包案人) and dispatches it to 物业, which 签收s it and asks
a 延期 the 书记 approves; 物业 resolves it and the compound's dashboard counts it solved at the
compound level."""

import os
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from grids_helpers import add_household, add_visit, make_grid, make_grid_worker, record_of

from community_board.compounds.models import DepartmentKind, StaffRole
from community_board.extensions import db
from community_board.grids import services as grids
from community_board.grids.models import CareTag, Tenure

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def phone_page(page, base, phone):
    """A new phone (browser context) signed in as ``phone``, on its landing page."""
    context = page.context.browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    other = context.new_page()
    other.set_default_timeout(10_000)
    other.goto(f"{base}/login")
    other.fill("#phone", phone)
    other.fill("#password", "Passw0rd1")
    other.click("button[type=submit]")
    return other


def household_file(secretary, grid, building, room, tags, members=(), phone=None, unit="1"):
    """A household of ``grid`` with its file kept as the 居委会 keeps it (through the services)."""
    household = add_household(secretary, grid, building, room, unit=unit)
    record = record_of(household.id)
    ids = dict(db.session.execute(sa.select(CareTag.name, CareTag.id)).all())
    grids.update_household(secretary, record, Tenure.OWNER, phone)
    for name, relation in members:
        grids.add_member(secretary, record, name, relation)
    grids.set_care_tags(secretary, record, [ids[tag] for tag in tags])
    db.session.commit()
    return household


def deadline_of(page):
    """The case page's 期限 (deadline), as shown."""
    return page.locator("dt:text-is('期限') + dd")


def test_an_elder_s_stairwell_light_from_phone_call_to_compound_level(
    browser_page, live_server, world, secretary, artifacts_dir
):
    def shot(page, name):
        # The tab bar is fixed to the bottom of the screen: a screen as tall as the page keeps it
        # from covering the middle of a full-page picture.
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": 390, "height": max(height, 844)})
        page.screenshot(path=os.path.join(artifacts_dir, f"story_{name}.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})

    compound = world.compound_a
    first = make_grid(secretary, compound, "第1网格", "1-6")
    grid = make_grid(secretary, compound, "第2网格", "7-12")
    worker = make_grid_worker(world, grid, "杨帆")
    estate = world.department("吴淞新城物业服务中心", DepartmentKind.PROPERTY, street=world.street_a)
    keeper = world.staff(StaffRole.DEPARTMENT, estate, name="钱红")
    # 第2网格: 王阿婆 last visited 120 days ago; a 低保 household visited 100 days ago (cared for, but
    # more recently); a household without tags never visited; one visited last week.
    elder = household_file(
        secretary, grid, "9", "101", ["独居老人", "高龄"], members=[("王秀兰", "本人")], phone="13700000901"
    )
    poor = household_file(secretary, grid, "11", "201", ["低保"], members=[("孙红梅", "户主")], unit="2")
    household_file(secretary, grid, "12", "301", [])
    recent = household_file(secretary, grid, "10", "602", ["留守儿童"], members=[("李桂芳", "祖母")])
    add_visit(secretary, elder, days_ago=120, raised="身体还好，女儿每月来一次")
    add_visit(secretary, poor, days_ago=100, raised="无")
    add_visit(worker, recent, days_ago=7, raised="无")
    # 第1网格's elder, never visited, is not this grid worker's.
    household_file(secretary, first, "3", "102", ["独居老人"], members=[("赵德明", "本人")])
    phones = {"worker": worker.phone, "secretary": secretary.phone, "estate": keeper.phone}
    db.session.commit()  # SQLite has one writer: release the test's transaction for the server

    # 1. 杨帆 opens her grid's month: households not visited in 90 days, cared-for ones first, and
    #    王阿婆's (独居老人, 120 days) on top; she opens the file and uncovers the phone to call her.
    worker_page = phone_page(browser_page, live_server, phones["worker"])
    worker_page.get_by_role("link", name="网格").click()
    expect(worker_page.locator(".topbar__title")).to_have_text("吴淞新城 · 第2网格")
    worker_page.get_by_role("link", name="本月走访").click()
    not_visited = worker_page.locator("#not-visited + .weui-cells")
    rows = not_visited.locator(".weui-cell")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("9号楼1单元101室")
    expect(rows.nth(0)).to_contain_text("独居老人")
    expect(rows.nth(1)).to_contain_text("11号楼2单元201室")
    expect(rows.nth(2)).to_contain_text("12号楼1单元301室")
    expect(not_visited).not_to_contain_text("3号楼")
    expect(not_visited).not_to_contain_text("10号楼")
    shot(worker_page, 1)
    rows.nth(0).click()
    expect(worker_page.locator(".topbar__title")).to_have_text("一户一档")
    expect(worker_page.locator(".page")).to_contain_text("王* · 本人")
    expect(worker_page.locator(".page")).to_contain_text("137****0901")
    worker_page.once("dialog", lambda dialog: dialog.accept())
    worker_page.get_by_role("button", name="显示完整姓名和电话").click()
    expect(worker_page.locator(".flash")).to_have_text("已显示完整信息（本次查看已记录）")
    expect(worker_page.get_by_role("link", name="13700000901")).to_have_attribute("href", "tel:13700000901")
    expect(worker_page.locator(".page")).to_contain_text("王秀兰 · 本人")
    shot(worker_page, "1_file")

    # 2. She phones 王阿婆, who says the stairwell light is broken, and raises a case from the call
    #    on her behalf: refused until the consent box is ticked.
    worker_page.get_by_role("link", name="记录电话").click()
    expect(worker_page.get_by_label("电话")).to_be_checked()
    worker_page.get_by_label("见到/通话的人").fill("本人")
    worker_page.get_by_label("反映的情况").fill("王阿婆说9号楼1单元楼道灯坏了一个多星期，晚上下楼看不见台阶。")
    worker_page.get_by_label("后续跟进").fill("征得同意后代发工单")
    worker_page.get_by_role("button", name="保存", exact=True).click()
    expect(worker_page.locator(".flash")).to_have_text("已记入民情日记")
    visit = worker_page.locator(".visit").first
    expect(visit).to_contain_text("电话")
    expect(visit).to_contain_text("楼道灯坏了")
    shot(worker_page, "2_visit")
    visit.get_by_role("link", name="由这次走访代发工单").click()
    expect(worker_page.get_by_label("以谁的名义")).to_have_value("0")
    # The post is public in the compound: she writes it without naming the elder.
    worker_page.get_by_label("标题").fill("9号楼1单元楼道灯坏了")
    worker_page.get_by_label("内容").fill(
        "9号楼1单元楼道灯坏了一个多星期，晚上下楼看不见台阶，楼里有独居老人，请尽快修复。"
    )
    worker_page.get_by_label("案件类型").select_option(label="物业维修")
    worker_page.get_by_role("button", name="代发并立案").click()
    expect(worker_page.locator(".field-error")).to_have_text("请先征得居民同意，并勾选“居民已同意”")
    expect(worker_page.locator(".topbar__title")).to_contain_text("代发工单")
    shot(worker_page, "2_consent")
    worker_page.get_by_label("居民已同意", exact=False).check()
    worker_page.get_by_role("button", name="代发并立案").click()
    expect(worker_page.locator(".flash")).to_have_text("已代发并立案，书记会尽快派单")
    card = worker_page.locator("#case")
    expect(card.locator(".tag_on-behalf")).to_have_text("网格员代发")
    expect(card.locator(".case-status").first).to_have_text("已立案")
    expect(card).to_contain_text("包案：居民区书记")
    shot(worker_page, 2)

    # 3. The 书记 finds it among the cases she owns (包案人) and dispatches it to 物业.
    staff_page = phone_page(browser_page, live_server, phones["secretary"])
    staff_page.get_by_role("link", name="我的工单").click()
    staff_page.get_by_role("link", name="我包案的").click()
    row = staff_page.locator(".case-row", has_text="9号楼1单元楼道灯坏了")
    expect(row.locator(".tag_on-behalf")).to_have_text("网格员代发")
    row.click()
    expect(staff_page.locator("[data-owner]")).to_have_text("李秀英（居民区书记）")
    expect(staff_page.locator("dt:text-is('反映人') + dd")).to_have_text("9号楼1单元101室住户（网格员代发：杨帆）")
    expect(staff_page.locator(".case-card .tag_on-behalf")).to_have_text("网格员代发")
    staff_page.locator("summary", has_text="派单").first.click()
    staff_page.locator("details[open]").get_by_role("checkbox", name="吴淞新城物业服务中心").check()
    staff_page.locator("details[open] textarea[name=public_note]").fill("请物业尽快修复楼道灯")
    staff_page.locator("details[open]").get_by_role("button", name="派单").click()
    expect(staff_page.locator(".flash")).to_have_text("已派单")
    expect(staff_page.locator(".case-card .case-status").first).to_have_text("已派单")
    expect(staff_page.locator("[data-part='吴淞新城物业服务中心']")).to_contain_text("待签收")
    shot(staff_page, 3)

    # 4. 物业 signs for it (its 签收 is taking it on) and asks for more time: the lamp is on order.
    estate_page = phone_page(browser_page, live_server, phones["estate"])
    estate_page.get_by_text("9号楼1单元楼道灯坏了").click()
    expect(estate_page.locator("dt:text-is('反映人') + dd")).to_have_text("9号楼住户（网格员代发）")
    estate_page.locator("summary", has_text="签收并接单处置").click()
    estate_page.locator("details[open] textarea[name=public_note]").fill("已安排电工明天上门查看")
    estate_page.locator("details[open]").get_by_role("button", name="签收并接单处置").click()
    expect(estate_page.locator(".flash")).to_have_text("已接单")
    expect(estate_page.locator(".case-card .case-status").first).to_have_text("处置中")
    expect(estate_page.locator("[data-part='吴淞新城物业服务中心']")).to_contain_text("已签收")
    old_deadline = deadline_of(estate_page).inner_text()
    new_deadline = (grids.today_local() + timedelta(days=14)).isoformat()
    estate_page.locator("summary", has_text="申请延期").click()
    estate_page.locator("details[open] input[name=new_deadline]").fill(f"{new_deadline}T17:00")
    estate_page.locator("details[open] textarea[name=basis]").fill("灯具型号停产，需向厂家订货，约十天到货")
    estate_page.locator("details[open]").get_by_role("button", name="申请延期").click()
    expect(estate_page.locator(".flash")).to_have_text("已提交延期申请，等待审批")
    expect(estate_page.locator("[data-extension]")).to_contain_text(f"申请延期至 {new_deadline} 17:00")
    expect(estate_page.locator("[data-extension]")).to_contain_text("等待派单人审批")
    shot(estate_page, 4)

    # 5. The 书记 approves it: the deadline moves.
    staff_page.reload()
    expect(deadline_of(staff_page)).to_have_text(old_deadline)
    expect(staff_page.locator("[data-extension]")).to_contain_text("灯具型号停产")
    staff_page.locator("summary", has_text=re.compile("^同意延期$")).click()
    staff_page.locator("details[open]").get_by_role("button", name="同意延期", exact=True).click()
    expect(staff_page.locator(".flash")).to_have_text("已同意延期")
    expect(deadline_of(staff_page)).to_have_text(f"{new_deadline} 17:00")
    expect(staff_page.locator("[data-extension]")).to_have_count(0)
    shot(staff_page, 5)

    # 6. 物业 resolves it.
    estate_page.reload()
    expect(deadline_of(estate_page)).to_have_text(f"{new_deadline} 17:00")
    estate_page.locator("summary", has_text="办结").click()
    estate_page.locator("details[open] textarea[name=public_note]").fill("已更换9号楼1单元楼道灯并检查了各层照明")
    estate_page.locator("details[open]").get_by_role("button", name="办结").click()
    expect(estate_page.locator(".flash")).to_have_text("已办结，等待居民评价")
    expect(estate_page.locator(".case-card .case-status").first).to_have_text("已办结")
    shot(estate_page, 6)
    # 杨帆 is told, to call 王阿婆 back; she is not asked to rate it in the elder's place.
    worker_page.get_by_role("link", name="消息").click()
    expect(worker_page.locator(".page")).to_contain_text("已办结，请把处理结果告知居民")
    worker_page.get_by_text("已办结，请把处理结果告知居民").click()
    expect(worker_page.locator("#case")).to_contain_text("已更换9号楼1单元楼道灯并检查了各层照明")
    expect(worker_page.locator("#case").get_by_role("button", name="提交评价")).to_have_count(0)
    shot(worker_page, "6_worker")
    # 王阿婆 has no account: her household file is where the case is followed.
    worker_page.get_by_role("link", name="首页").click()
    worker_page.get_by_role("link", name="网格").click()
    worker_page.get_by_role("link", name="本月走访").click()
    worker_page.locator(".weui-cell", has_text="已代发工单").click()
    expect(worker_page.locator(".visit").first.locator(".case-status")).to_have_text("已办结")

    # 7. The compound's dashboard counts it as solved at the compound level.
    staff_page.get_by_role("link", name="首页").click()
    staff_page.get_by_role("link", name="吴淞新城").click()
    staff_page.locator(".staff-tools").get_by_role("link", name="工单统计").click()
    expect(staff_page.locator("[data-solved=compound]")).to_have_text("100.0%")
    expect(staff_page.locator("[data-solved=street]")).to_have_text("0.0%")
    expect(staff_page.locator(".weui-cells__title", has_text="在哪一级解决")).to_have_text(
        "在哪一级解决（已办结 1 件）"
    )
    shot(staff_page, 7)
