"""Whoever may not read an object gets 404 on every action on it, and no log or list shows it.

The walk below enumerates the app's URL map: for every role that gets 404 on an object's page, every
POST route on that object must answer 404 too. A new POST route whose parameters the walk cannot
bind fails the walk, so it has to be classified here rather than slip past it.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa
from board_helpers import make_post, make_reply, signed_in, text_of
from cases_helpers import file_post
from civic_helpers import ask, open_proposal
from flask import current_app
from grids_helpers import add_household, add_visit, make_grid, make_grid_worker, record_of
from line_helpers import write_to_line
from werkzeug.routing import AnyConverter

from community_board.board import services as board_services
from community_board.compounds.models import District, StaffRole
from community_board.extensions import db
from community_board.grids import services as grid_services
from community_board.grids.models import CareTag, GridDuty

# POST routes that act on no object of the hierarchy (the signed-in user's own account, the login form).
NO_OBJECT = {
    "accounts.login",
    "accounts.logout",
    "accounts.change_password",
    "accounts.resubmit",
    "accounts.request_party_badge",
    "accounts.join",
    "notifications.mark_all_read",
    "accounts.change_details",
    "accounts.withdraw_change",
    "accounts.leave",
    "accounts.move",
    "accounts.change_phone",
    "accounts.reset_password",
}


class Objects:
    """One object of each kind a POST route acts on, and the GET page that shows it."""

    def __init__(self, world, asker, secretary, officer):
        self.private_question = ask(asker, title="邻居家暴，想私下反映", body="4号楼有人半夜打闹", private=True)
        self.answer = make_reply(officer, self.private_question, body="已收到，我们会上门了解")
        self.private_case = file_post(officer, self.private_question, type_name="环境卫生")
        self.public_post = make_post(asker, world.compound_a, title="楼道灯坏了")
        self.public_reply = make_reply(secretary, self.public_post, body="已报修")
        self.proposal = open_proposal(secretary, world.compound_a).post
        self.other_compound_post = make_post(world.other_resident, world.compound_b, title="小区门口积水")
        self.other_compound_reply = make_reply(world.other_resident, self.other_compound_post, body="同感")
        # 网格: the asker's building (5) is in the first grid; an elder without an account lives in the second.
        self.grid = world.grid
        self.household = asker.household
        self.visit = add_visit(secretary, self.household)
        self.member = grid_services.add_member(secretary, world.record(self.household), "周大山", "配偶")
        self.grid_member = grid_services.add_grid_member(secretary, self.grid, GridDuty.POLICE, officer.phone)
        self.other_grid_household = add_household(secretary, world.other_grid, "9", "101")
        db.session.commit()
        self.line_message = write_to_line(asker, title="隔壁疑似群租", body="想私下反映")
        self.line_reply = make_reply(secretary, self.line_message, body="已收到，会上门核实")

    def posts(self):
        return [
            (self.private_question, self.answer),
            (self.line_message, self.line_reply),
            (self.public_post, self.public_reply),
            (self.proposal, None),
            (self.other_compound_post, self.other_compound_reply),
        ]


def _bindings(rule, objects: Objects, world, post, reply, case, compound, district, grid=None, household=None):
    """Every URL of ``rule`` for one object (each value of an ``any(...)`` part), or None when the
    rule acts on an object of another kind."""
    values = {
        "post_id": post and post.id,
        "reply_id": reply and reply.id,
        "case_id": case and case.id,
        "compound_id": compound and compound.id,
        "district_id": district and district.id,
        "user_id": world.pending.id,
        "assignment_id": world.any_assignment.id,
        "type_id": objects.private_case.case_type_id,
        "key": "matters",
        "change_id": 1,
        "node_id": world.compound_a.id,
        "grid_id": grid and grid.id,
        "household_id": household and household.id,
        "visit_id": objects.visit.id,
        "member_id": objects.member.id,
        "grid_member_id": objects.grid_member.id,
        "building": "5",
        "tag_id": world.care_tag.id,
    }
    unknown = (
        rule.arguments - values.keys() - {name for name, c in rule._converters.items() if isinstance(c, AnyConverter)}
    )
    assert not unknown, f"classify {rule.rule}: the walk cannot bind {sorted(unknown)}"
    subject = {"post_id", "case_id", "compound_id", "district_id", "grid_id", "household_id"} & rule.arguments
    given = {
        "post_id": post,
        "case_id": case,
        "compound_id": compound,
        "district_id": district,
        "grid_id": grid,
        "household_id": household,
    }
    if not subject or any(given[name] is None for name in subject) or (reply is None and "reply_id" in rule.arguments):
        return None
    if {"post_id", "case_id"} & subject and {"compound_id", "district_id"} & subject:
        return None  # acts on two kinds at once: walked with each kind's page below
    urls = [{name: values[name] for name in rule.arguments if name in values}]
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            urls = [{**url, name: item} for url in urls for item in sorted(converter.items)]
    adapter = current_app.url_map.bind("localhost")
    return [adapter.build(rule.endpoint, url) for url in urls]


@pytest.fixture
def everyone(
    world,
    resident,
    secretary,
    committee,
    officer,
    grid_worker,
    dept_staff,
    admin,
    other_secretary,
    pending_resident,
    other_compound_resident,
):
    world.pending = pending_resident
    world.other_resident = other_compound_resident
    other_district = District(name="嘉定区", code="JD")
    db.session.add(other_district)
    db.session.flush()
    other_admin = world.staff(StaffRole.DISTRICT_ADMIN, other_district, name="孙明")
    neighbour = world.resident(world.compound_a, name="吴刚", building="6", room="601")
    street_b_grid = world.staff(StaffRole.GRID_STREET, world.street_b, name="钱进")
    district_grid = world.staff(StaffRole.GRID_DISTRICT, world.district, name="冯军")
    world.any_assignment = secretary.assignments[0]
    world.grid = make_grid(secretary, world.compound_a, "第1网格", "1-6")
    world.other_grid = make_grid(secretary, world.compound_a, "第2网格", "7-12")
    world.record = lambda household: record_of(household.id)
    world.care_tag = db.session.scalars(sa.select(CareTag).where(CareTag.district_id == world.district.id)).first()
    return {
        "grid worker": make_grid_worker(world, world.grid, "王晓燕"),
        "other grid worker": make_grid_worker(world, world.other_grid, "孙芳"),
        "resident": neighbour,
        "asker": resident,
        "committee": committee,
        "secretary": secretary,
        "officer": officer,
        "street grid": grid_worker,
        "other street grid": street_b_grid,
        "district grid": district_grid,
        "department": dept_staff,
        "admin": admin,
        "other secretary": other_secretary,
        "other resident": other_compound_resident,
        "pending": pending_resident,
        "other district admin": other_admin,
    }


def test_every_post_route_answers_404_to_whoever_gets_404_on_the_object(world, everyone):
    objects = Objects(world, everyone["asker"], everyone["secretary"], everyone["officer"])
    post_rules = [
        r
        for r in current_app.url_map.iter_rules()
        if "POST" in r.methods and r.endpoint not in NO_OBJECT and r.endpoint != "static"
    ]
    assert len(post_rules) >= 20, "the walk found too few POST routes to mean anything"
    targets = [dict(post=p, reply=r, page=f"/p/{p.id}") for p, r in objects.posts()]
    targets.append(dict(case=objects.private_case, page=f"/cases/{objects.private_case.id}"))
    targets += [dict(compound=c, page=f"/c/{c.id}") for c in (world.compound_a, world.compound_b)]
    targets.append(dict(district=world.district, page=f"/admin/d/{world.district.id}"))
    targets.append(dict(grid=objects.grid, page=f"/grids/{objects.grid.id}"))
    for household in (objects.household, objects.other_grid_household):
        targets.append(dict(household=household, page=f"/households/{household.id}"))

    walked, leaks, kinds = 0, [], set()
    for role, user in everyone.items():
        client = signed_in(user)
        for target in targets:
            if client.get(target["page"]).status_code != 404:
                continue
            for rule in post_rules:
                urls = _bindings(
                    rule,
                    objects,
                    world,
                    target.get("post"),
                    target.get("reply"),
                    target.get("case"),
                    target.get("compound"),
                    target.get("district"),
                    target.get("grid"),
                    target.get("household"),
                )
                for url in urls or ():
                    walked += 1
                    kinds.add(url.split("/")[1])
                    status = client.post(
                        url, data={"reason": "测试", "body": "测试", "public_note": "测试"}
                    ).status_code
                    if status != 404:
                        leaks.append(f"{role}: POST {url} answered {status} after GET {target['page']} answered 404")
    assert walked > 100
    assert {"p", "cases", "c", "admin", "grids", "households"} <= kinds, "every kind of object was walked"
    assert not leaks, "\n".join(leaks)


def test_committee_cannot_moderate_a_private_question_it_may_not_read(world, resident, committee, officer):
    question = ask(resident, title="邻居家暴，想私下反映", private=True)
    client = signed_in(committee)
    assert client.get(f"/p/{question.id}").status_code == 404
    for verb in ("hide", "lock", "pin", "restore", "dismiss"):
        assert client.post(f"/p/{question.id}/{verb}", data={"reason": "无关"}).status_code == 404
    db.session.expire_all()
    assert question.hidden_at is None and question.locked is False and question.pinned_at is None


def _log_lines(response) -> list[str]:
    """The 管理记录 entries of a moderation page, as text."""
    log = text_of(response).partition("管理记录</div>")[2]
    cells = re.findall(r'<div class="weui-cell__bd">(.*?)</div>\s*<div class="weui-cell__ft">', log, re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]


def test_the_moderation_log_hides_private_questions_from_staff_who_may_not_read_them(
    world, resident, secretary, committee
):
    question = ask(resident, title="邻居家暴想私下反映", private=True)
    board_services.hide(secretary, question, "涉及他人隐私")
    db.session.commit()
    board_services.restore(secretary, question)
    board_services.delete_post(resident, question)
    public = make_post(resident, world.compound_a, title="楼道灯坏了")
    board_services.set_pinned(secretary, public, True)
    db.session.commit()

    secretary_log = " ".join(_log_lines(signed_in(secretary).get(f"/c/{world.compound_a.id}/moderation")))
    assert "邻居家暴想私下反映" in secretary_log  # the secretary reads private questions
    committee_page = signed_in(committee).get(f"/c/{world.compound_a.id}/moderation")
    committee_log = " ".join(_log_lines(committee_page))
    assert "楼道灯坏了" in committee_log, "the log itself still shows what the committee may read"
    assert "邻居家暴想私下反映" not in text_of(committee_page)
    assert resident.real_name not in text_of(committee_page)
    assert len(_log_lines(committee_page)) == 1, "entries about the private question are left out, not blanked"


def test_a_deleted_street_wide_guide_article_is_gone_for_other_compounds(world, secretary):
    other_compound_same_street = world.compound("海滨二村", world.street_a)
    db.session.commit()
    neighbour_secretary = world.staff(StaffRole.SECRETARY, other_compound_same_street, name="何静")
    article = make_post(
        secretary,
        world.compound_a,
        key="guide",
        title="如何办理居住证明",
        body="带身份证到居委会",
        topic="证明",
        shared_with_street=True,
    )
    client = signed_in(neighbour_secretary)
    assert client.get(f"/p/{article.id}").status_code == 200
    board_services.delete_post(secretary, article)
    db.session.commit()
    assert client.get(f"/p/{article.id}").status_code == 404
    assert signed_in(secretary).get(f"/p/{article.id}").status_code == 200  # its own compound still moderates it


def test_the_case_of_a_private_question_shows_the_asker_and_text_only_to_its_readers_and_the_levels_it_reached(
    world, resident, secretary, committee, officer, grid_worker, dept_staff
):
    from community_board.cases import services as case_services

    question = ask(resident, title="邻居家暴想私下反映", body="4号楼有人半夜打闹，请民警处理", private=True)
    case = file_post(officer, question)
    page = f"/cases/{case.id}"

    def shown_to(user) -> str:
        response = signed_in(user).get(page)
        assert response.status_code == 200
        return text_of(response)

    for reader in (officer, secretary):
        assert "4号楼有人半夜打闹" in shown_to(reader) and resident.real_name in shown_to(reader)
    for outsider in (committee, grid_worker):
        text = shown_to(outsider)
        assert "4号楼有人半夜打闹" not in text and "邻居家暴想私下反映" not in text
        assert resident.real_name not in text and "5号楼" not in text
    assert "邻居家暴想私下反映" not in text_of(signed_in(committee).get("/cases?view=all"))

    case_services.dispatch(secretary, case, [dept_staff.assignments[0].department])
    case_services.escalate(secretary, case, "需要街道协调")
    db.session.commit()
    assert "4号楼有人半夜打闹" in shown_to(grid_worker)  # escalated to the street: it may now read it
    department_view = shown_to(dept_staff)
    assert "4号楼有人半夜打闹" in department_view and resident.real_name not in department_view
    assert "4号楼有人半夜打闹" not in shown_to(committee)


def test_a_403_says_why_in_the_readers_situation(world, pending_resident, resident, secretary):
    waiting = signed_in(pending_resident)
    response = waiting.get(f"/c/{world.compound_a.id}/new")
    assert response.status_code == 403
    assert "等待居委会审核" in text_of(response) and "工作人员" not in text_of(response)
    assert "等待居委会审核" in text_of(waiting.get(f"/c/{world.compound_a.id}/s/matters/new"))

    staff_page = signed_in(resident).get(f"/c/{world.compound_a.id}/verification")
    assert staff_page.status_code == 403 and "只对本小区的工作人员开放" in text_of(staff_page)

    notice = make_post(secretary, world.compound_a, key="notice", title="停水通知")
    edit = signed_in(resident).get(f"/p/{notice.id}/edit")
    assert edit.status_code == 403 and "只有作者可以" in text_of(edit)
    board_services.set_locked(secretary, notice, True)
    db.session.commit()
    locked = signed_in(resident).post(f"/p/{notice.id}/reply", data={"body": "收到"})
    assert locked.status_code == 403 and "已关闭回复" in text_of(locked)


def test_staff_who_may_not_read_a_private_question_neither_read_nor_work_its_case(
    world, resident, secretary, committee, officer, grid_worker
):
    question = ask(resident, title="邻居家暴想私下反映", body="4号楼有人半夜打闹", private=True)
    case = file_post(officer, question, note="已受理：402室，民警今晚上门")
    for outsider in (committee, grid_worker):
        client = signed_in(outsider)
        page = text_of(client.get(f"/cases/{case.id}"))
        assert "402室" not in page and "民警今晚上门" not in page
        for verb in ("dispatch", "withdraw", "note", "escalate"):
            response = client.post(f"/cases/{case.id}/{verb}", data={"version": case.version, "public_note": "看看"})
            assert response.status_code == 403, (outsider.real_name, verb)
    db.session.expire_all()
    assert case.status.value == "filed" and case.level.value == "compound"
    assert "民警今晚上门" in text_of(signed_in(secretary).get(f"/cases/{case.id}"))
