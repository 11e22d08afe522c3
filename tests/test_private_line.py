"""私信居委会: a resident writes privately to their compound's 居委会. Only the writer and the
compound's 书记 and committee read it — not neighbours, not the police, not another compound, not
oversight — by URL, search, feed, counts, the moderation log or notifications. Staff share an inbox
(待处理/处理中/已结束, oldest first), take or assign messages, reply, close them, and file cases that
keep the message private."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from board_helpers import flashes, make_post, section, signed_in, text_of
from cases_helpers import case_type, messages
from conftest import page_statements
from line_helpers import row_titles, write_to_line

from community_board.board import queries as board_queries
from community_board.board.models import Post
from community_board.cases import services as case_services
from community_board.cases.models import Case
from community_board.compounds.models import StaffRole
from community_board.extensions import db
from community_board.line import services
from community_board.line.models import LineStatus
from community_board.timeutil import replaying_at, utcnow

TITLE = "隔壁单元疑似群租"
BODY = "3号楼2单元601住了十几个人，想私下反映"


@pytest.fixture
def neighbour(world):
    return world.resident(world.compound_a, name="吴刚", building="6", room="601")


@pytest.fixture
def message(resident):
    return write_to_line(resident, title=TITLE, body=BODY)


@pytest.fixture
def outsiders(world, neighbour, officer, grid_worker, other_secretary, admin):
    district_grid = world.staff(StaffRole.GRID_DISTRICT, world.district, name="冯军")
    return {
        "another resident": neighbour,
        "police": officer,
        "street grid centre": grid_worker,
        "district grid centre": district_grid,
        "another compound's secretary": other_secretary,
        "district admin": admin,
    }


def reloaded(post: Post) -> Post:
    db.session.commit()  # end the test's snapshot: requests committed in their own transactions
    db.session.expire_all()
    return db.session.get(Post, post.id)


# Writing ----------------------------------------------------------------------------------------


def test_a_resident_writes_to_the_committee_and_reads_it_on_its_own_page(world, resident, secretary, committee):
    client = signed_in(resident)
    form = client.get(f"/c/{world.compound_a.id}/line/new")
    assert form.status_code == 200 and "只有您和居委会的工作人员能看到" in text_of(form)

    response = client.post(f"/c/{world.compound_a.id}/line/new", data={"title": TITLE, "body": BODY})

    message = db.session.scalar(sa.select(Post).where(Post.title == TITLE))
    assert response.status_code == 302 and response.location.endswith(f"/line/{message.id}")
    assert message.is_private and message.author_id == resident.id
    page = text_of(client.get(f"/line/{message.id}"))
    assert BODY in page and "私信 · 仅您和居委会可见" in page and "已送达居委会，等待处理" in page
    assert TITLE in text_of(client.get("/line"))
    # The board's post URL leads its readers to the message's page.
    assert client.get(f"/p/{message.id}").location.endswith(f"/line/{message.id}")
    # The 居委会 hears of it; nobody else does.
    assert messages(secretary) == [f"居民私信：“{TITLE}”"] and messages(committee) == [f"居民私信：“{TITLE}”"]


def test_only_verified_residents_write_and_staff_of_the_compound_do_not(world, pending_resident, committee, officer):
    refused = signed_in(pending_resident).get(f"/c/{world.compound_a.id}/line/new")
    assert refused.status_code == 403 and "等待居委会审核" in text_of(refused)
    for staff in (committee, officer):
        assert signed_in(staff).get(f"/c/{world.compound_a.id}/line/new").status_code == 403
    mine = signed_in(pending_resident).get("/line")
    assert mine.status_code == 200 and "实名认证通过后才能写私信" in text_of(mine)


def test_an_empty_message_is_refused_with_the_text_kept(world, resident):
    response = signed_in(resident).post(f"/c/{world.compound_a.id}/line/new", data={"title": TITLE, "body": ""})
    assert response.status_code == 200 and "请填写内容" in text_of(response) and TITLE in text_of(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 0


# Privacy ----------------------------------------------------------------------------------------


def test_nobody_else_opens_a_message_or_acts_on_it(message, secretary, committee, outsiders):
    for reader in (secretary, committee):
        assert signed_in(reader).get(f"/line/{message.id}").status_code == 200
    for who, user in outsiders.items():
        client = signed_in(user)
        for url in (f"/line/{message.id}", f"/p/{message.id}", f"/p/{message.id}/case/new"):
            assert client.get(url).status_code == 404, (who, url)
        for verb in ("reply", "take", "close", "reopen", "assign"):
            assert (
                client.post(f"/line/{message.id}/{verb}", data={"body": "看看", "handler": user.id}).status_code == 404
            ), (who, verb)
        assert client.post(f"/p/{message.id}/reply", data={"body": "看看"}).status_code == 404, who
    assert reloaded(message).reply_count == 0 and message.line_handler_id is None


def test_department_staff_are_refused_every_post_page_and_learn_nothing_of_a_message(message, dept_staff):
    page = signed_in(dept_staff).get(f"/line/{message.id}")  # as for any post: the page is not theirs
    assert page.status_code == 403 and TITLE not in text_of(page) and BODY not in text_of(page)


def test_a_message_is_in_no_feed_section_count_or_search_but_its_readers(
    world, resident, message, secretary, officer, neighbour
):
    public = make_post(resident, world.compound_a, title="楼道里堆了很多杂物", body="群租的房客把纸箱堆在楼道")
    assert world.compound_a.post_count == 1, "the message counts on no banner"
    scope = f"compound:{world.compound_a.id}"
    for viewer in (resident, neighbour, secretary, officer):
        client = signed_in(viewer)
        for page in (f"/c/{world.compound_a.id}", f"/c/{world.compound_a.id}/s/matters"):
            text = text_of(client.get(page))
            assert TITLE not in text and public.title in text, (viewer.real_name, page)
        assert client.get(f"/c/{world.compound_a.id}/s/line").status_code == 404
        found = text_of(client.get("/search", query_string={"q": "群租", "scope": scope}))
        assert (f'href="/p/{message.id}"' in found) == (viewer in (resident, secretary)), viewer.real_name
        assert f'href="/p/{public.id}"' in found


def test_the_moderation_log_and_notifications_keep_it_among_its_readers(
    world, message, secretary, committee, admin, officer, neighbour
):
    services.take(committee, message)
    db.session.commit()
    assert "受理私信" in text_of(signed_in(secretary).get(f"/c/{world.compound_a.id}/moderation"))
    # Whoever reads the audit log without reading the line (the district admin) finds no entry about it.
    assert board_queries.moderation_log(admin, world.compound_a, None, 50).items == []
    for outsider in (officer, neighbour, admin):
        assert not [text for text in messages(outsider) if TITLE in text]


# The inbox --------------------------------------------------------------------------------------


def test_the_inbox_lists_each_tab_oldest_first(world, resident, neighbour, secretary, committee):
    now = utcnow()
    for hours, title, writer in (
        (30, "楼下饭店油烟太大", neighbour),
        (50, "独居老人想申请助餐", resident),
        (2, "家门口被贴小广告", resident),
    ):
        with replaying_at(now - timedelta(hours=hours)):
            write_to_line(writer, title=title)
    client = signed_in(committee)
    inbox = f"/c/{world.compound_a.id}/line"
    assert row_titles(client.get(inbox), "data-message") == [
        "独居老人想申请助餐",
        "楼下饭店油烟太大",
        "家门口被贴小广告",
    ]

    oldest = db.session.scalar(sa.select(Post).where(Post.title == "独居老人想申请助餐"))
    assert client.post(f"/line/{oldest.id}/take").status_code == 302
    assert row_titles(client.get(inbox), "data-message") == ["楼下饭店油烟太大", "家门口被贴小广告"]
    handling = client.get(inbox, query_string={"tab": "handling"})
    assert row_titles(handling, "data-message") == ["独居老人想申请助餐"] and "处理人：陈敏" in text_of(handling)

    assert client.post(f"/line/{oldest.id}/close").status_code == 302
    assert row_titles(client.get(inbox, query_string={"tab": "closed"}), "data-message") == ["独居老人想申请助餐"]
    assert "居委会已处理完您的私信“独居老人想申请助餐”" in messages(resident)
    assert signed_in(resident).get(inbox).status_code == 403


def test_an_inbox_page_costs_the_same_whatever_it_holds(world, resident, committee, app):
    for n in range(app.config["PAGE_SIZE"] + 3):
        write_to_line(resident, title=f"私信{n}")
    client = signed_in(committee)
    first = client.get(f"/c/{world.compound_a.id}/line")
    cursor = text_of(first).split("after=")[1].split('"')[0]
    full = page_statements(client, f"/c/{world.compound_a.id}/line")
    last = page_statements(client, f"/c/{world.compound_a.id}/line?after={cursor}")
    assert full == last


def test_the_secretary_assigns_and_the_resident_sees_the_committee_not_a_name(
    world, resident, message, secretary, committee
):
    refused = signed_in(committee).post(f"/line/{message.id}/assign", data={"handler": committee.id})
    assert refused.status_code == 403

    response = signed_in(secretary).post(f"/line/{message.id}/assign", data={"handler": committee.id})
    assert response.status_code == 302
    assert reloaded(message).line_handler_id == committee.id
    assert messages(committee)[-1] == f"书记把居民私信“{TITLE}”交给您处理"
    staff_view = text_of(signed_in(secretary).get(f"/line/{message.id}"))
    assert "处理人：陈敏" in staff_view
    resident_view = text_of(signed_in(resident).get(f"/line/{message.id}"))
    assert "由居委会处理" in resident_view and "居委会正在处理" in resident_view and "陈敏" not in resident_view


def test_only_the_compounds_committee_can_be_given_a_message(world, message, secretary, officer, other_secretary):
    for stranger in (officer, other_secretary):
        response = signed_in(secretary).post(
            f"/line/{message.id}/assign", data={"handler": stranger.id}, follow_redirects=True
        )
        assert "请从列表中选择" in flashes(response)
    assert reloaded(message).line_handler_id is None


# Replies ----------------------------------------------------------------------------------------


def test_a_staff_reply_reaches_the_resident_and_makes_its_writer_the_handler(
    world, resident, message, committee, secretary
):
    response = signed_in(committee).post(f"/line/{message.id}/reply", data={"body": "已收到，我们本周上门核实。"})
    assert response.status_code == 302

    message = reloaded(message)
    assert message.line_handler_id == committee.id  # 首问负责: the first to answer handles it
    assert LineStatus.of(message) is LineStatus.HANDLING and message.first_response_at is not None
    assert any("回复了“隔壁单元疑似群租”：已收到，我们本周上门核实。" in text for text in messages(resident))
    page = text_of(signed_in(resident).get(f"/line/{message.id}"))
    assert "已收到，我们本周上门核实。" in page and "居委会回复" in page

    services.close(secretary, message)
    db.session.commit()
    signed_in(resident).post(f"/line/{message.id}/reply", data={"body": "今天又来了几个人"})
    assert LineStatus.of(reloaded(message)) is LineStatus.HANDLING, "the writer's reply reopens it"
    assert messages(committee)[-1] == f"居民在私信“{TITLE}”中补充：今天又来了几个人"


def test_the_boards_verbs_do_not_apply_to_a_message(resident, message, secretary):
    client = signed_in(resident)
    for verb in ("like", "me-too", "delete", "report"):
        assert client.post(f"/p/{message.id}/{verb}", data={"reason": "other"}).status_code == 403, verb
    assert client.get(f"/p/{message.id}/edit").status_code == 403


# Cases ------------------------------------------------------------------------------------------


def test_a_message_filed_as_a_case_keeps_its_privacy(
    world, resident, message, secretary, officer, grid_worker, dept_staff
):
    response = signed_in(secretary).post(
        f"/p/{message.id}/case/new", data={"case_type": case_type("治安").id, "priority": "normal", "note": ""}
    )
    assert response.status_code == 302
    message = reloaded(message)
    case = db.session.scalar(sa.select(Case).where(Case.post_id == message.id))
    assert message.first_response_at == case.created_at and LineStatus.of(message) is LineStatus.HANDLING

    assert TITLE in text_of(signed_in(secretary).get(f"/cases/{case.id}"))
    for outsider in (officer, grid_worker):
        page = text_of(signed_in(outsider).get(f"/cases/{case.id}"))
        assert "（私信居委会，仅居委会可见）" in page
        assert TITLE not in page and "十几个人" not in page and resident.real_name not in page
        assert TITLE not in text_of(signed_in(outsider).get("/cases?view=all"))

    case_services.dispatch(secretary, case, [dept_staff.assignments[0].department])
    db.session.commit()
    department_view = text_of(signed_in(dept_staff).get(f"/cases/{case.id}"))
    assert "十几个人" in department_view and resident.real_name not in department_view
    resident_view = text_of(signed_in(resident).get(f"/line/{message.id}"))
    assert case.number in resident_view and "已派单" in resident_view
    assert section("line").name == "私信居委会"
