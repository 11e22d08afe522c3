"""The compound feed: keyset pages, pinned and hidden posts, a fixed query cost, the banner, 消息, scope."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from board_helpers import (
    card_titles,
    fake_photos,
    flashes,
    image_bytes,
    load_more_href,
    make_post,
    make_reply,
    neighbour,
    section,
    signed_in,
    text_of,
)
from conftest import page_statements

from community_board.board import photos, services
from community_board.board.models import Like, Photo, Post, Report
from community_board.extensions import db
from community_board.timeutil import utcnow


def write_posts(author, compound, count, same_time=False):
    """``count`` posts titled 帖子00…, one minute apart (or all at one moment), oldest first."""
    moment = utcnow() - timedelta(days=1)
    for i in range(count):
        post = services.create_post(
            author, compound, section("neighbours"), services.PostDraft(title=f"帖子{i:02d}", body=f"第{i}条")
        )
        post.created_at = moment if same_time else moment + timedelta(minutes=i)
    db.session.commit()


def titles(first, last):
    """Titles from 帖子<first> down to 帖子<last>, newest first."""
    return [f"帖子{i:02d}" for i in range(first, last - 1, -1)]


# Pages ----------------------------------------------------------------------------------------


def test_feed_pages_by_20_with_load_more(world, resident, login_as):
    write_posts(resident, world.compound_a, 45)
    client = login_as(resident)
    first = client.get(f"/c/{world.compound_a.id}")
    assert card_titles(first) == titles(44, 25)
    href = load_more_href(first)
    assert href.startswith(f"/c/{world.compound_a.id}?after=")
    second = client.get(href)
    assert card_titles(second) == titles(24, 5)
    third = client.get(load_more_href(second))
    assert card_titles(third) == titles(4, 0)
    assert load_more_href(third) is None and "没有更多了" in text_of(third)


def test_posts_written_at_the_same_moment_page_without_gaps_or_repeats(world, resident, login_as):
    write_posts(resident, world.compound_a, 25, same_time=True)
    client = login_as(resident)
    first = client.get(f"/c/{world.compound_a.id}")
    second = client.get(load_more_href(first))
    seen = card_titles(first) + card_titles(second)
    assert sorted(seen) == titles(24, 0)[::-1] and len(card_titles(first)) == 20


def test_load_more_fragment_is_only_cards(world, resident, login_as):
    write_posts(resident, world.compound_a, 25)
    client = login_as(resident)
    href = load_more_href(client.get(f"/c/{world.compound_a.id}"))
    fragment = client.get(href, headers={"X-Requested-With": "fetch"})
    page = text_of(fragment)
    assert card_titles(fragment) == titles(4, 0)
    assert "<html" not in page and "banner" not in page and "tabbar" not in page
    assert page.lstrip().startswith("<article")


def test_section_pages_page_too(world, resident, login_as):
    write_posts(resident, world.compound_a, 22)
    client = login_as(resident)
    first = client.get(f"/c/{world.compound_a.id}/s/neighbours")
    assert card_titles(first) == titles(21, 2)
    assert card_titles(client.get(load_more_href(first))) == titles(1, 0)


def test_pinned_posts_come_first_once(world, resident, secretary, login_as):
    write_posts(resident, world.compound_a, 25)
    oldest = db.session.scalar(sa.select(Post).where(Post.title == "帖子00"))
    services.set_pinned(secretary, oldest, True)
    db.session.commit()
    client = login_as(resident)
    first = client.get(f"/c/{world.compound_a.id}")
    assert card_titles(first) == ["帖子00"] + titles(24, 5)
    assert card_titles(client.get(load_more_href(first))) == titles(4, 1)


def test_every_pinned_post_stays_on_the_home_feed(world, resident, secretary, login_as):
    write_posts(resident, world.compound_a, 8)
    for post in db.session.scalars(sa.select(Post).order_by(Post.id).limit(6)).all():
        services.set_pinned(secretary, post, True)
    db.session.commit()
    shown = card_titles(login_as(resident).get(f"/c/{world.compound_a.id}"))
    assert sorted(shown) == titles(7, 0)[::-1]  # six pinned and two others, none lost


def test_hidden_posts_are_gone_for_residents_and_marked_for_the_secretary(world, resident, secretary, login_as):
    make_post(resident, world.compound_a, title="正常的帖子")
    hidden = make_post(resident, world.compound_a, title="被隐藏的帖子")
    services.hide(secretary, hidden, "广告")
    db.session.commit()
    reader, staff = login_as(resident), signed_in(secretary)
    for url in (f"/c/{world.compound_a.id}", f"/c/{world.compound_a.id}/s/matters"):
        assert card_titles(reader.get(url)) == ["正常的帖子"]
        staff_page = staff.get(url)
        assert card_titles(staff_page) == ["被隐藏的帖子", "正常的帖子"]
        hidden_card = text_of(staff_page).split('<article class="post-card')[1]
        assert "已隐藏" in hidden_card


def test_feeds_only_show_their_own_compound(world, resident, other_compound_resident, login_as):
    make_post(other_compound_resident, world.compound_b, title="美罗家园的帖子")
    make_post(resident, world.compound_a, title="吴淞新城的帖子")
    assert card_titles(login_as(resident).get(f"/c/{world.compound_a.id}")) == ["吴淞新城的帖子"]


# A fixed number of queries per page ---------------------------------------------------------------

SURNAMES = "吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马苗凤花方"


def people(world, count):
    """``count`` more verified residents of compound A."""
    return [neighbour(world, name=SURNAMES[i % len(SURNAMES)] + "敏", room=str(1000 + i)) for i in range(count)]


def busy_posts(world, count, start=0, key="neighbours"):
    """Posts each by a different author, with 3 photos, two replies (one answering the other) and
    three likes: every card has something that could cost a query of its own."""
    authors = people(world, count + 2)
    for i in range(count):
        post = services.create_post(
            authors[i],
            world.compound_a,
            section(key),
            services.PostDraft(title=f"帖子{start + i}", body="正文", aid_kind="request"),
            fake_photos(3),
        )
        first = services.add_reply(authors[i + 1], post, "第一条回复")
        services.add_reply(authors[i + 2], post, "回复楼上", reply_to=first)
        for liker in authors[i : i + 3]:
            services.toggle_like(liker, post)
    db.session.commit()


def test_home_feed_costs_the_same_with_5_or_40_posts(world, resident, secretary, login_as):
    url = f"/c/{world.compound_a.id}"
    client = login_as(resident)
    busy_posts(world, 5)
    services.set_pinned(secretary, db.session.scalar(sa.select(Post).limit(1)), True)
    db.session.commit()
    few = page_statements(client, url)
    busy_posts(world, 35, start=5)
    assert page_statements(client, url) == few


def test_section_page_costs_the_same_with_5_or_40_posts(world, resident, login_as):
    url = f"/c/{world.compound_a.id}/s/mutual_aid"
    client = login_as(resident)
    busy_posts(world, 5, key="mutual_aid")
    few = page_statements(client, url)
    busy_posts(world, 35, start=5, key="mutual_aid")
    assert page_statements(client, url) == few


def test_post_page_costs_the_same_with_3_or_50_replies(world, resident, secretary, officer, login_as):
    post = services.create_post(
        resident,
        world.compound_a,
        section("mutual_aid"),
        services.PostDraft(title="求助", body="正文", aid_kind="request"),
        fake_photos(3),
    )
    db.session.commit()
    url = f"/p/{post.id}"

    def add_replies(repliers):
        previous = None
        for replier in repliers:  # each answers the one before: every reply has a mention
            previous = services.add_reply(replier, post, "我来帮忙", reply_to=previous)
        db.session.commit()

    client = login_as(resident)  # the author: highlights and the list of helpers to thank are on
    add_replies([secretary, officer, *people(world, 1)])
    few = page_statements(client, url)
    add_replies(people(world, 47))
    assert db.session.get(Post, post.id).reply_count == 50
    assert page_statements(client, url) == few


# The banner and 消息 ------------------------------------------------------------------------------


def test_banner_shows_the_figures_kept_on_the_compound(world, resident, login_as):
    compound = world.compound_a
    compound.resident_count, compound.post_count, compound.solved_count = 128, 57, 9
    db.session.commit()
    page = text_of(login_as(resident).get(f"/c/{compound.id}"))
    assert "<strong>128</strong><span>实名居民</span>" in page
    assert "<strong>57</strong><span>帖子</span>" in page
    assert "<strong>9</strong><span>已解决</span>" in page


def test_messages_list_notifications_and_mark_all_read(world, resident, login_as):
    post = make_post(resident, world.compound_a, title="楼道灯坏了")
    other = neighbour(world, name="吴刚")
    make_reply(other, post, "我家门口也不亮")
    make_reply(other, post, "物业说明天修")
    client = login_as(resident)
    page = text_of(client.get("/messages"))
    assert "吴先生回复了“楼道灯坏了”：我家门口也不亮" in page and "物业说明天修" in page
    assert 'aria-label="2条未读">2<' in page and 'action="/messages/read"' in page
    assert 'aria-label="2条未读"' in text_of(client.get(f"/c/{world.compound_a.id}"))  # on every tab bar

    response = client.post("/messages/read", follow_redirects=True)
    assert "已全部标为已读" in flashes(response)
    page = text_of(response)
    assert "条未读" not in page and 'action="/messages/read"' not in page
    assert "我家门口也不亮" in page  # read messages stay listed


def test_messages_are_private(world, resident, login_as):
    post = make_post(resident, world.compound_a)
    make_reply(neighbour(world, name="吴刚"), post, "收到")
    page = text_of(signed_in(neighbour(world, name="郑洁", room="602")).get("/messages"))
    assert "暂无消息" in page and "条未读" not in page


# Compound boundary ------------------------------------------------------------------------------


@pytest.fixture
def compound_a_post(world, resident, secretary):
    """A post of compound A with a real photo and a reply; yields the ids its URLs need."""
    stored = photos.store_images([image_bytes()])
    post = services.create_post(
        resident,
        world.compound_a,
        section("second_hand"),
        services.PostDraft(title="出一张书桌", body="自提", price_yuan="80", condition="used"),
        stored,
    )
    reply = services.add_reply(secretary, post, "注意交易安全")
    db.session.commit()
    photo_id = db.session.scalar(sa.select(Photo.id).where(Photo.post_id == post.id))
    yield {"c": world.compound_a.id, "p": post.id, "r": reply.id, "photo": photo_id}
    photos.discard(stored)


# (url, form data for a POST or None for a GET)
BOUNDARY = [
    ("/c/{c}", None),
    ("/c/{c}/s/matters", None),
    ("/c/{c}/s/second_hand?available=1", None),
    ("/p/{p}", None),
    ("/p/{p}?reply_to={r}", None),
    ("/photos/{photo}", None),
    ("/photos/{photo}/thumb", None),
    ("/p/{p}/like", {}),
    ("/p/{p}/reply", {"body": "你好"}),
    ("/p/{p}/reply", {"body": "你好", "reply_to": "{r}"}),
    ("/p/{p}/report", None),
    ("/p/{p}/report", {"reason": "advertising"}),
    ("/p/{p}/report?reply={r}", {"reason": "abuse"}),
]


def call(client, url, data, ids):
    url = url.format(**ids)
    if data is None:
        return client.get(url)
    return client.post(url, data={k: v.format(**ids) for k, v in data.items()})


@pytest.mark.parametrize("url, data", BOUNDARY)
def test_another_compounds_resident_gets_404(world, compound_a_post, other_compound_resident, url, data):
    response = call(signed_in(other_compound_resident), url, data, compound_a_post)
    assert response.status_code == 404
    post = db.session.get(Post, compound_a_post["p"])
    assert (post.like_count, post.reply_count) == (0, 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Like)) == 0


@pytest.mark.parametrize("url, data", BOUNDARY)
def test_a_resident_of_the_compound_gets_through(world, compound_a_post, url, data):
    """The same requests work from inside the compound: the 404s above come from the boundary."""
    response = call(signed_in(neighbour(world)), url, data, compound_a_post)
    assert response.status_code in (200, 302)


def test_a_section_page_deep_in_the_list_costs_what_the_first_page_costs(world, resident, login_as):
    client = login_as(resident)
    busy_posts(world, 45, key="mutual_aid")
    url = f"/c/{world.compound_a.id}/s/mutual_aid"
    first = page_statements(client, url)
    deeper = url
    for _ in range(2):  # 加载更多 twice, as a reader scrolling down would
        link = re.search(r'data-load-more href="([^"]+)"', text_of(client.get(deeper)))
        deeper = link.group(1).replace("&amp;", "&")
    assert "after=" in deeper
    assert page_statements(client, deeper) == first
