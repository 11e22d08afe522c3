"""发帖必响应: what counts as a first staff response (a staff reply, a case, the 居委会 acting on a
message), the queue of residents' posts and messages still waiting for one (oldest first, hours
waited, keyset pages at a fixed cost), and the dashboard figures: the median first-response time
and the share answered within four hours, per compound."""

from __future__ import annotations

from datetime import timedelta

import pytest
from board_helpers import make_post, make_reply, signed_in, text_of
from cases_helpers import file_post
from civic_helpers import ask
from conftest import page_statements
from line_helpers import row_titles, write_to_line

from community_board.board import services as board_services
from community_board.board.models import Post
from community_board.cases import dashboard
from community_board.extensions import db
from community_board.line import services as line_services
from community_board.timeutil import replaying_at, utcnow


@pytest.fixture
def neighbour(world):
    return world.resident(world.compound_a, name="吴刚", building="6", room="601")


def queue_of(user, compound, **query):
    return signed_in(user).get(f"/c/{compound.id}/awaiting", query_string=query)


def test_a_staff_reply_a_case_or_the_committee_acting_is_a_response_and_nothing_else_is(
    world, resident, neighbour, secretary, committee, officer
):
    answered = make_post(resident, world.compound_a, title="电梯又停了")
    by_neighbour = make_post(resident, world.compound_a, key="neighbours", title="桂花开了")
    filed = make_post(resident, world.compound_a, key="mutual_aid", title="求借轮椅", aid_kind="request")
    by_police = make_post(resident, world.compound_a, key="deliberation", title="晚上广场舞太吵")
    message = write_to_line(resident, title="想申请助餐")
    taken = write_to_line(neighbour, title="楼上漏水")
    untouched = write_to_line(neighbour, title="门口小广告")
    make_post(resident, world.compound_a, key="second_hand", title="旧藤椅", price_yuan="30", condition="used")
    ask(resident, title="电动车被偷了", private=True)
    make_post(secretary, world.compound_a, key="notice", title="停水通知")

    make_reply(secretary, answered, body="已联系维保")
    make_reply(neighbour, by_neighbour, body="好香")
    make_reply(resident, by_neighbour, body="是啊")
    file_post(committee, filed, type_name="其他")
    make_reply(officer, by_police, body="已提醒跳舞的队伍")
    make_reply(committee, message, body="已收到")
    line_services.take(secretary, taken)
    db.session.commit()

    responded = {
        p.title for p in (answered, by_neighbour, filed, by_police, message, taken, untouched) if p.first_response_at
    }
    assert responded == {"电梯又停了", "求借轮椅", "晚上广场舞太吵", "想申请助餐", "楼上漏水"}
    # Second-hand items, questions to the police and staff notices never wait in the queue.
    assert row_titles(queue_of(committee, world.compound_a), "data-awaiting") == ["桂花开了", "门口小广告"]


def test_the_first_response_is_recorded_once_with_its_minutes(world, resident, secretary, committee):
    start = utcnow() - timedelta(hours=6)
    with replaying_at(start):
        post = make_post(resident, world.compound_a, title="垃圾桶满了")
    with replaying_at(start + timedelta(minutes=95)):
        make_reply(committee, post, body="已通知保洁")
    with replaying_at(start + timedelta(hours=3)):
        make_reply(secretary, post, body="保洁已清运")
        file_post(secretary, post, type_name="环境卫生")
    db.session.expire_all()
    post = db.session.get(Post, post.id)
    assert post.first_response_at == start + timedelta(minutes=95) and post.first_response_minutes == 95


def test_the_queue_lists_the_oldest_first_with_the_hours_waited(world, resident, neighbour, committee):
    now = utcnow()
    for hours, title, writer in ((5, "楼道灯坏了", resident), (30, "车棚漏雨", neighbour), (0.5, "井盖松动", resident)):
        with replaying_at(now - timedelta(hours=hours)):
            make_post(writer, world.compound_a, title=title)
    with replaying_at(now - timedelta(hours=12)):
        write_to_line(neighbour, title="独居老人想申请助餐")

    response = queue_of(committee, world.compound_a)

    assert row_titles(response, "data-awaiting") == ["车棚漏雨", "独居老人想申请助餐", "楼道灯坏了", "井盖松动"]
    page = text_of(response)
    assert "已等待 30 小时" in page and "已等待 12 小时" in page and "已等待 5 小时" in page and "不到1小时" in page
    assert "私信居委会" in page and "吴刚" in page  # staff see the full name


def test_queue_pages_cost_the_same_however_full(world, resident, committee, app):
    now = utcnow()
    for n in range(app.config["PAGE_SIZE"] + 3):
        with replaying_at(now - timedelta(hours=50 - n)):
            make_post(resident, world.compound_a, title=f"问题{n}")
    client = signed_in(committee)
    first = client.get(f"/c/{world.compound_a.id}/awaiting")
    assert row_titles(first, "data-awaiting")[:2] == ["问题0", "问题1"]
    cursor = text_of(first).split("after=")[1].split('"')[0]
    rest = client.get(f"/c/{world.compound_a.id}/awaiting", query_string={"after": cursor})
    assert row_titles(rest, "data-awaiting") == ["问题20", "问题21", "问题22"]
    assert page_statements(client, f"/c/{world.compound_a.id}/awaiting") == page_statements(
        client, f"/c/{world.compound_a.id}/awaiting?after={cursor}"
    )


def test_the_queue_is_for_the_compounds_committee_only(world, resident, officer, grid_worker, other_secretary):
    write_to_line(resident, title="想申请助餐")
    assert queue_of(resident, world.compound_a).status_code == 403
    assert queue_of(officer, world.compound_a).status_code == 403
    assert queue_of(grid_worker, world.compound_a).status_code == 403
    assert queue_of(other_secretary, world.compound_a).status_code == 404


# Figures ----------------------------------------------------------------------------------------


def _post_answered_after(author, compound, staff, minutes, written, title):
    """A post written at ``written`` and answered ``minutes`` later (None: never)."""
    with replaying_at(written):
        post = make_post(author, compound, title=title)
    if minutes is not None:
        with replaying_at(written + timedelta(minutes=minutes)):
            board_services.add_reply(staff, post, "收到，马上处理")
            db.session.commit()
    return post


@pytest.fixture
def known_set(world, resident, secretary, other_compound_resident, other_secretary):
    """Compound A: answered after 30, 90, 300 and 600 minutes; one waiting 5 hours, one 1 hour.
    Compound B: answered after 120 minutes. Older posts (outside the 30 days) do not count."""
    now = utcnow()
    a, b = world.compound_a, world.compound_b
    day_ago = now - timedelta(days=1)
    for minutes in (300, 30, 600, 90):
        _post_answered_after(resident, a, secretary, minutes, day_ago - timedelta(minutes=minutes * 7), f"A{minutes}")
    _post_answered_after(resident, a, secretary, None, now - timedelta(hours=5), "A等了5小时")
    _post_answered_after(resident, a, secretary, None, now - timedelta(hours=1), "A等了1小时")
    _post_answered_after(resident, a, secretary, 5, now - timedelta(days=40), "A早就答复了")
    _post_answered_after(other_compound_resident, b, other_secretary, 120, day_ago, "B120")


def test_the_median_and_the_share_within_four_hours_on_a_known_set(world, known_set):
    district = dashboard.first_responses_of("district", world.district.id)
    by_name = dict(district.compounds)
    a, b = by_name["吴淞新城"], by_name["美罗家园"]
    assert a.median_minutes == 90 and a.median_hours == 1.5  # nearest rank of 30, 90, 300, 600
    assert (a.within, a.due) == (2, 5)  # 30 and 90 of four answered and one waiting past 4 hours
    assert b.median_hours == 2.0 and b.within_share == 1
    assert district.overall.median_minutes == 120 and (district.overall.within, district.overall.due) == (3, 6)


def test_the_dashboards_show_the_figures_per_compound(world, known_set, grid_worker, secretary):
    street = text_of(signed_in(grid_worker).get(f"/dashboard/street/{world.street_a.id}"))
    assert 'data-kpi="response-median">1.5 小时' in street and 'data-kpi="response-within">40%' in street
    assert "吴淞新城" in street and "美罗家园" not in street
    compound = text_of(signed_in(secretary).get(f"/dashboard/compound/{world.compound_a.id}"))
    assert 'data-kpi="response-within">40%' in compound and "发帖必响应" in compound


def test_a_response_shows_on_the_dashboard_at_once(world, resident, secretary, grid_worker):
    with replaying_at(utcnow() - timedelta(hours=6)):
        post = make_post(resident, world.compound_a, title="路灯不亮")
    client = signed_in(grid_worker)
    assert 'data-kpi="response-within">0%' in text_of(client.get(f"/dashboard/street/{world.street_a.id}"))
    make_reply(secretary, post, body="已报修")
    assert 'data-kpi="response-median">6.0 小时' in text_of(client.get(f"/dashboard/street/{world.street_a.id}"))
