"""警民直通车: bulletins reach every compound the officer serves and no other; private questions
exist only for the asker, the compound's police and the secretary; 民警回复; the officer's queue of
unanswered questions across their compounds; the median first-answer time; questions become cases."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from civic_helpers import (
    ask,
    bulletin,
    card_titles,
    case_type,
    make_post,
    make_reply,
    median_chip,
    officer_serving,
    police_posts,
    queue_titles,
    signed_in,
    text_of,
)

from community_board.accounts.models import Salutation
from community_board.board.models import AuthorRole, BulletinKind, Post
from community_board.cases.models import Case
from community_board.extensions import db
from community_board.timeutil import utcnow


@pytest.fixture
def compound_c(world):
    """A third compound, in compound A's street."""
    compound = world.compound("宝杨宝龙", world.street_a)
    db.session.commit()
    return compound


@pytest.fixture
def beat_officer(world, compound_c):
    """刘警官 serves compounds A and C."""
    return officer_serving(world, world.compound_a, compound_c)


@pytest.fixture
def resident_c(world, compound_c):
    return world.resident(compound_c, name="冯婷", salutation=Salutation.MS, building="2", room="201")


def police_page(compound):
    return f"/c/{compound.id}/s/police"


def neighbour(world, name="吴刚", room="601", compound=None):
    return world.resident(compound or world.compound_a, name=name, salutation=Salutation.MR, building="6", room=room)


# Bulletins ------------------------------------------------------------------------------------------


def test_a_bulletin_reaches_every_compound_the_officer_serves_and_no_other(
    world, beat_officer, compound_c, resident, resident_c, other_compound_resident
):
    client = signed_in(beat_officer)
    response = client.post(
        f"/c/{world.compound_a.id}/s/police/new",
        data={"kind": "safety", "title": "近期小区电动车被盗多发", "body": "请把电动车停进车棚并上锁。"},
    )

    assert response.status_code == 302
    a_copy, c_copy = police_posts()
    assert response.location.endswith(f"/p/{a_copy.id}")  # back to the board the officer posted from
    assert (a_copy.compound_id, c_copy.compound_id) == (world.compound_a.id, compound_c.id)
    for copy in (a_copy, c_copy):
        assert copy.bulletin_kind is BulletinKind.SAFETY and copy.author_role is AuthorRole.POLICE
        assert copy.author_id == beat_officer.id and copy.is_private is False
    assert police_posts(world.compound_b) == []

    for viewer, compound in ((resident, world.compound_a), (resident_c, compound_c)):
        reader = signed_in(viewer)
        home, section = reader.get(f"/c/{compound.id}"), reader.get(police_page(compound))
        for page in (home, section):
            assert "近期小区电动车被盗多发" in card_titles(page)
            assert '<span class="tag tag_police">治安提示</span>' in text_of(page)

    outsider = signed_in(other_compound_resident)
    for page in (outsider.get(f"/c/{world.compound_b.id}"), outsider.get(police_page(world.compound_b))):
        assert "近期小区电动车被盗多发" not in text_of(page)
    assert outsider.get(f"/p/{a_copy.id}").status_code == 404
    assert outsider.get(f"/p/{c_copy.id}").status_code == 404


@pytest.mark.parametrize("kind", list(BulletinKind))
def test_every_bulletin_kind_is_shown_with_its_label(world, beat_officer, compound_c, resident, kind):
    bulletin(beat_officer, kind=kind, title=f"{kind.label}通报")
    page = signed_in(resident).get(police_page(world.compound_a))
    assert f'<span class="tag tag_police">{kind.label}</span>' in text_of(page)
    assert f"{kind.label}通报" in card_titles(page)


def test_the_officer_chooses_the_kind_residents_ask_questions_on_the_same_page(world, beat_officer, resident):
    assert "通报类型" in text_of(signed_in(beat_officer).get(f"/c/{world.compound_a.id}/s/police/new"))
    form = text_of(signed_in(resident).get(f"/c/{world.compound_a.id}/s/police/new"))
    assert "通报类型" not in form and "私下提问" in form


def test_a_bulletin_from_a_compound_the_officer_does_not_serve_is_not_found(world, beat_officer):
    response = signed_in(beat_officer).post(
        f"/c/{world.compound_b.id}/s/police/new", data={"kind": "fraud", "title": "警惕诈骗", "body": "不要转账"}
    )
    assert response.status_code == 404
    assert police_posts() == []


# Questions -----------------------------------------------------------------------------------------


def test_a_public_question_is_visible_to_neighbours(world, beat_officer, resident):
    response = signed_in(resident).post(
        f"/c/{world.compound_a.id}/s/police/new",
        data={"title": "小区门口的违停谁来管", "body": "每天早上都堵住消防通道"},
    )
    assert response.status_code == 302
    [question] = police_posts()
    assert question.is_private is False and question.bulletin_kind is None
    assert question.author_role is AuthorRole.RESIDENT

    reader = signed_in(neighbour(world))
    assert reader.get(f"/p/{question.id}").status_code == 200
    assert "小区门口的违停谁来管" in card_titles(reader.get(police_page(world.compound_a)))
    assert "小区门口的违停谁来管" in card_titles(reader.get(f"/c/{world.compound_a.id}"))


@pytest.fixture
def private_question(world, beat_officer, resident):
    response = signed_in(resident).post(
        f"/c/{world.compound_a.id}/s/police/new",
        data={"title": "家里老人接到可疑电话", "body": "对方自称公安局要求转账到安全账户", "private": "y"},
    )
    assert response.status_code == 302
    [question] = police_posts()
    assert question.is_private is True
    return question


def test_a_private_question_does_not_exist_for_other_residents(world, private_question):
    reader = signed_in(neighbour(world))
    assert reader.get(f"/p/{private_question.id}").status_code == 404
    assert reader.post(f"/p/{private_question.id}/reply", data={"body": "我也接到过"}).status_code == 404
    assert reader.post(f"/p/{private_question.id}/like").status_code == 404
    for page in (reader.get(police_page(world.compound_a)), reader.get(f"/c/{world.compound_a.id}")):
        assert "家里老人接到可疑电话" not in text_of(page)
    assert db.session.get(Post, private_question.id).reply_count == 0


@pytest.mark.parametrize(
    "who, status",
    [
        ("asker", 200),
        ("beat_officer", 200),
        ("secretary", 200),
        ("committee", 404),
        ("grid_worker", 404),
        ("other_compound_resident", 404),
    ],
)
def test_who_may_read_a_private_question(request, world, resident, private_question, who, status):
    viewer = resident if who == "asker" else request.getfixturevalue(who)
    client = signed_in(viewer)
    assert client.get(f"/p/{private_question.id}").status_code == status
    if status == 200:
        assert "对方自称公安局要求转账到安全账户" in text_of(client.get(f"/p/{private_question.id}"))
        listed = card_titles(client.get(police_page(world.compound_a)))
        assert "家里老人接到可疑电话" in listed


PRIVATE_MARKER = "私下提问 · 仅民警和书记可见"


@pytest.mark.parametrize("who", ["asker", "beat_officer", "secretary"])
def test_a_private_question_is_marked_as_such_for_those_who_see_it(request, world, resident, private_question, who):
    client = signed_in(resident if who == "asker" else request.getfixturevalue(who))
    post_page = text_of(client.get(f"/p/{private_question.id}"))
    assert post_page.count(PRIVATE_MARKER) == 1
    for listing in (police_page(world.compound_a), f"/c/{world.compound_a.id}"):
        card = re.search(r'<article class="post-card.*?</article>', text_of(client.get(listing)), re.S).group(0)
        assert "家里老人接到可疑电话" in card and PRIVATE_MARKER in card
    if who == "asker":  # the asker finds their own question by search too
        hit = re.search(
            r'<a class="card search-hit".*?</a>', text_of(client.get("/search", query_string={"q": "可疑电话"})), re.S
        ).group(0)
        assert f'href="/p/{private_question.id}"' in hit and PRIVATE_MARKER in hit


def test_a_public_question_carries_no_private_marker(world, resident):
    question = ask(resident, title="小区门口的违停谁来管")
    client = signed_in(resident)
    assert PRIVATE_MARKER not in text_of(client.get(f"/p/{question.id}"))
    assert PRIVATE_MARKER not in text_of(client.get(police_page(world.compound_a)))


def test_police_answers_are_marked_and_set_the_first_answer_time(world, beat_officer, resident):
    question = ask(resident, title="电动车被偷了怎么报案", created_at=utcnow() - timedelta(minutes=42))
    make_reply(neighbour(world), question, "我上次是去派出所报的")
    make_reply(beat_officer, question, "可以拨打110，或到吴淞派出所报案")
    make_reply(beat_officer, question, "另外请保留购车发票")

    db.session.commit()
    question = db.session.get(Post, question.id)
    assert question.first_answer_minutes == 42
    page = text_of(signed_in(resident).get(f"/p/{question.id}"))
    marked = {
        body: "民警回复" in block
        for block in replies_on(page)
        for body in ("我上次是去派出所报的", "可以拨打110", "另外请保留购车发票")
        if body in block
    }
    assert marked == {"我上次是去派出所报的": False, "可以拨打110": True, "另外请保留购车发票": True}


def replies_on(page: str) -> list[str]:
    """The HTML of each reply on a post page."""
    return re.split(r'(?=<div class="reply[ "][^>]*id="reply-)', page)[1:]


# The officer's queue ---------------------------------------------------------------------------------


def test_the_queue_lists_unanswered_questions_across_the_officers_compounds_oldest_first(
    world, beat_officer, compound_c, resident, resident_c, other_compound_resident
):
    now = utcnow()
    flyers = ask(resident, title="A小区：楼下有人发小广告", created_at=now - timedelta(hours=3))
    oldest = ask(resident_c, title="C小区：快递被冒领", created_at=now - timedelta(hours=5))
    ask(resident, title="A小区：私下反映家暴", private=True, created_at=now - timedelta(hours=1))
    ask(other_compound_resident, title="B小区：别处的问题", created_at=now - timedelta(hours=9))
    make_post(resident, world.compound_a, key="matters", title="身边事不算提问")
    bulletin(beat_officer, title="民警自己的通报不算提问")
    client = signed_in(beat_officer)

    assert queue_titles(client.get("/police/questions")) == [
        "C小区：快递被冒领",
        "A小区：楼下有人发小广告",
        "A小区：私下反映家暴",
    ]

    # A neighbour's reply is not an answer; the officer's is.
    make_reply(neighbour(world), flyers, "我也看到了")
    assert "A小区：楼下有人发小广告" in queue_titles(client.get("/police/questions"))

    response = client.post(f"/p/{oldest.id}/reply", data={"body": "请到驿站调取监控，我们会跟进"})
    assert response.status_code == 302
    assert queue_titles(client.get("/police/questions")) == ["A小区：楼下有人发小广告", "A小区：私下反映家暴"]


def test_the_queue_pages_oldest_first(app, world, beat_officer, resident):
    size = app.config["PAGE_SIZE"]
    now = utcnow()
    for i in range(size + 2):
        ask(resident, title=f"问题{i:02d}", created_at=now - timedelta(minutes=100 - i))
    client = signed_in(beat_officer)
    first = client.get("/police/questions")
    titles = queue_titles(first)
    assert titles == [f"问题{i:02d}" for i in range(size)]
    after = re.search(r'href="(/police/questions\?after=[^"]+)"', text_of(first)).group(1).replace("&amp;", "&")
    assert queue_titles(client.get(after)) == [f"问题{i:02d}" for i in range(size, size + 2)]


@pytest.mark.parametrize("who", ["resident", "secretary", "committee"])
def test_only_police_have_a_queue(request, who):
    assert signed_in(request.getfixturevalue(who)).get("/police/questions").status_code == 403


# The median first-answer time ------------------------------------------------------------------------


def answered(resident, officer, minutes: int, title: str):
    question = ask(resident, title=title, created_at=utcnow() - timedelta(minutes=minutes, seconds=20))
    make_reply(officer, question, "已收到，马上处理")
    db.session.commit()
    assert db.session.get(Post, question.id).first_answer_minutes == minutes
    return question


def test_the_section_shows_no_median_before_any_answer(world, beat_officer, resident):
    ask(resident)
    assert median_chip(signed_in(resident).get(police_page(world.compound_a))) == "暂无民警回复记录"


def test_the_section_shows_the_median_first_answer_time_of_its_compound(
    world, beat_officer, compound_c, resident, resident_c
):
    for minutes in (240, 5, 600, 30, 90):  # median 90 minutes
        answered(resident, beat_officer, minutes, f"问题{minutes}")
    for minutes in (1, 2, 3):  # compound C answers faster; it does not count for A
        answered(resident_c, beat_officer, minutes, f"C问题{minutes}")
    ask(resident, title="还没有回复的问题", created_at=utcnow() - timedelta(days=3))

    assert median_chip(signed_in(resident).get(police_page(world.compound_a))) == "民警回复中位用时 1.5 小时"
    assert median_chip(signed_in(resident_c).get(police_page(compound_c))) == "民警回复中位用时 2 分钟"


def test_a_median_under_an_hour_is_shown_in_minutes(world, beat_officer, resident):
    for minutes in (45, 10, 20):
        answered(resident, beat_officer, minutes, f"问题{minutes}")
    assert median_chip(signed_in(resident).get(police_page(world.compound_a))) == "民警回复中位用时 20 分钟"


def test_only_questions_to_the_police_count_for_the_median(world, beat_officer, resident):
    for minutes in (10, 20, 30):
        answered(resident, beat_officer, minutes, f"问题{minutes}")
    # The officer also comments, days later, on posts in other sections.
    for title in ("闲置自行车", "楼道堆物"):
        post = make_post(resident, world.compound_a, key="matters", title=title)
        post.created_at = utcnow() - timedelta(days=3)
        db.session.commit()
        make_reply(beat_officer, post, "注意安全")
    assert median_chip(signed_in(resident).get(police_page(world.compound_a))) == "民警回复中位用时 20 分钟"


# Cases -------------------------------------------------------------------------------------------


def test_the_officer_turns_a_question_into_a_case_but_cannot_file_other_posts(world, beat_officer, resident):
    question = ask(resident, title="有人在小区里推销保健品", body="专门骗老人", private=True)
    matter = make_post(resident, world.compound_a, key="matters", title="楼道灯坏了")
    client = signed_in(beat_officer)
    police_type = case_type("治安")

    response = client.post(f"/p/{question.id}/case/new", data={"case_type": police_type.id, "priority": "urgent"})
    assert response.status_code == 302
    db.session.commit()
    case = db.session.scalar(sa.select(Case).where(Case.post_id == question.id))
    assert case is not None and case.reporter_id == resident.id and case.compound_id == world.compound_a.id

    assert (
        client.post(f"/p/{matter.id}/case/new", data={"case_type": police_type.id, "priority": "normal"}).status_code
        == 403
    )
    assert db.session.scalar(sa.select(Case).where(Case.post_id == matter.id)) is None


def test_a_private_question_cannot_be_filed_by_staff_who_cannot_read_it(world, beat_officer, resident, committee):
    question = ask(resident, title="私下反映家暴", body="隔壁每晚都有打骂声", private=True)
    client = signed_in(committee)
    form = client.get(f"/p/{question.id}/case/new")
    assert form.status_code == 404 and "隔壁每晚都有打骂声" not in text_of(form)
    response = client.post(f"/p/{question.id}/case/new", data={"case_type": case_type("治安").id, "priority": "normal"})
    assert response.status_code == 404
    assert db.session.scalar(sa.select(Case).where(Case.post_id == question.id)) is None


def test_an_officer_of_another_compound_does_not_see_the_question(world, resident):
    elsewhere = officer_serving(world, world.compound_b, name="赵刚")
    question = ask(resident, title="公开的问题")
    client = signed_in(elsewhere)
    assert client.get(f"/p/{question.id}").status_code == 404
    assert queue_titles(client.get("/police/questions")) == []
