"""Replies (order, official badges, mentions, locks) and likes (toggle, exact counts, scope)."""

import itertools
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from board_helpers import make_post, make_reply, neighbour, signed_in, text_of

from community_board.board import services
from community_board.board.models import Like, Post
from community_board.extensions import db
from community_board.notifications.models import Notification, NotificationKind

JSON = {"Accept": "application/json"}


def reply_blocks(response) -> dict[int, str]:
    """Each reply's HTML on a post page, by reply id, in page order."""
    page = text_of(response)
    starts = [(m.start(), int(m.group(1))) for m in re.finditer(r'<div class="reply[ "][^>]*id="reply-(\d+)"', page)]
    ends = [start for start, _ in starts[1:]] + [page.index('id="replies-end"')]
    return {reply_id: page[start:end] for (start, reply_id), end in zip(starts, ends, strict=False)}


def inbox(user) -> list[NotificationKind]:
    query = sa.select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.id)
    return list(db.session.scalars(query))


# Replies --------------------------------------------------------------------------------------


def test_replies_are_listed_oldest_first(world, resident, login_as):
    post = make_post(resident, world.compound_a)
    ids = [make_reply(resident, post, body).id for body in ["第一条", "第二条", "第三条"]]
    assert list(reply_blocks(login_as(resident).get(f"/p/{post.id}"))) == ids


def test_official_replies_carry_their_badge(world, resident, secretary, officer, login_as):
    post = make_post(resident, world.compound_a)
    mine = make_reply(neighbour(world), post, "我家也是")
    official = make_reply(secretary, post, "已联系物业，明天修")
    police = make_reply(officer, post, "注意用电安全")
    blocks = reply_blocks(signed_in(neighbour(world, name="郑洁", room="602")).get(f"/p/{post.id}"))
    assert "官方回复" in blocks[official.id] and "民警回复" not in blocks[official.id]
    assert "民警回复" in blocks[police.id] and "官方回复" not in blocks[police.id]
    assert "官方回复" not in blocks[mine.id] and "民警回复" not in blocks[mine.id]


def test_only_the_post_author_sees_official_replies_highlighted(world, resident, secretary, login_as):
    post = make_post(resident, world.compound_a)
    official = make_reply(secretary, post, "已联系物业")
    plain = make_reply(neighbour(world), post, "同问")
    as_author = reply_blocks(login_as(resident).get(f"/p/{post.id}"))
    assert "reply_highlight" in as_author[official.id] and "reply_highlight" not in as_author[plain.id]
    as_other = reply_blocks(signed_in(neighbour(world, name="郑洁", room="602")).get(f"/p/{post.id}"))
    assert "reply_highlight" not in as_other[official.id]


def test_reply_to_a_reply_mentions_and_notifies_both(world, resident, login_as):
    author = neighbour(world, name="吴刚")
    post = make_post(author, world.compound_a)
    first = make_reply(resident, post, "三楼也不亮")  # 周丽 → 周女士
    replier = neighbour(world, name="郑洁", room="602")
    client = signed_in(replier)
    response = client.post(f"/p/{post.id}/reply", data={"body": "我去找物业", "reply_to": str(first.id)})
    assert response.status_code == 302
    page = text_of(client.get(f"/p/{post.id}"))
    assert "回复 @周女士：" in page
    assert inbox(resident) == [NotificationKind.MENTION]
    assert inbox(author) == [NotificationKind.REPLY, NotificationKind.REPLY]  # the first reply and this one
    assert inbox(replier) == []


def test_nobody_is_notified_of_their_own_reply(world, resident):
    post = make_post(resident, world.compound_a)
    other = neighbour(world)
    theirs = make_reply(other, post, "请问是哪一层")
    make_reply(resident, post, "三楼", reply_to=theirs)  # the author answers on their own post
    mine = make_reply(resident, post, "补充一下")
    make_reply(resident, post, "再补充", reply_to=mine)
    assert inbox(resident) == [NotificationKind.REPLY]  # only the neighbour's reply
    assert inbox(other) == [NotificationKind.MENTION]


def test_replying_to_the_post_author_notifies_them_once(world, resident):
    post = make_post(resident, world.compound_a)
    own = make_reply(resident, post, "补充：是三楼")
    make_reply(neighbour(world), post, "收到", reply_to=own)
    assert inbox(resident) == [NotificationKind.REPLY]


def test_empty_reply_is_refused_with_a_message(world, resident, login_as):
    post = make_post(resident, world.compound_a)
    response = login_as(resident).post(f"/p/{post.id}/reply", data={"body": "  "})
    assert response.status_code == 400
    assert "请填写回复内容" in text_of(response)
    assert post.reply_count == 0


def test_locked_post_refuses_residents_but_not_the_secretary(world, resident, secretary, login_as):
    post = make_post(resident, world.compound_a)
    services.set_locked(secretary, post, True)
    db.session.commit()
    client = login_as(resident)
    assert client.post(f"/p/{post.id}/reply", data={"body": "还没修好"}).status_code == 403
    assert "回复已关闭" in text_of(client.get(f"/p/{post.id}"))
    assert signed_in(secretary).post(f"/p/{post.id}/reply", data={"body": "已派人处理"}).status_code == 302
    assert post.reply_count == 1


def test_reply_count_is_kept_on_the_post(world, resident, login_as):
    post = make_post(resident, world.compound_a)
    client = signed_in(neighbour(world))
    for body in ["一", "二"]:
        client.post(f"/p/{post.id}/reply", data={"body": body})
    assert db.session.get(Post, post.id).reply_count == 2
    assert "回复 2</h3>" in text_of(login_as(resident).get(f"/p/{post.id}"))


# Likes ----------------------------------------------------------------------------------------


def test_like_toggles_through_the_json_endpoint(world, resident, login_as):
    post = make_post(resident, world.compound_a)
    client = signed_in(neighbour(world))
    assert client.post(f"/p/{post.id}/like", headers=JSON).get_json() == {"liked": True, "like_count": 1}
    assert client.post(f"/p/{post.id}/like", headers=JSON).get_json() == {"liked": False, "like_count": 0}
    assert client.post(f"/p/{post.id}/like").status_code == 302  # without JavaScript: back to the post
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Like)) == 1


@pytest.mark.parametrize("order", sorted(set(itertools.permutations("aabb"))))
def test_like_count_stays_exact_in_any_order(world, resident, order):
    post = make_post(resident, world.compound_a)
    clients = {"a": signed_in(neighbour(world, name="吴刚")), "b": signed_in(neighbour(world, name="郑洁", room="602"))}
    likes = set()
    for who in order:
        result = clients[who].post(f"/p/{post.id}/like", headers=JSON).get_json()
        likes ^= {who}
        assert result == {"liked": who in likes, "like_count": len(likes)}
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(Like).where(Like.post_id == post.id))
    assert db.session.get(Post, post.id).like_count == rows == 0


def test_like_count_stays_exact_when_neighbours_like_at_the_same_moment(world, resident):
    post = make_post(resident, world.compound_a)
    clients = [signed_in(neighbour(world, name=name, room=str(700 + i))) for i, name in enumerate("吴郑王冯陈褚")]
    url = f"/p/{post.id}/like"

    def all_at_once():
        db.session.commit()  # the test's own requests share its session: end its transaction first
        barrier = threading.Barrier(len(clients))

        def toggle(client):
            barrier.wait()
            return client.post(url, headers=JSON).status_code

        with ThreadPoolExecutor(len(clients)) as pool:
            assert set(pool.map(toggle, clients)) == {200}
        db.session.expire_all()
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(Like).where(Like.post_id == post.id))
        return db.session.get(Post, post.id).like_count, rows

    assert all_at_once() == (6, 6)
    assert all_at_once() == (0, 0)


def test_liking_a_post_of_another_compound_is_not_found(world, resident, other_compound_resident, login_as):
    post = make_post(resident, world.compound_a)
    response = login_as(other_compound_resident).post(f"/p/{post.id}/like", headers=JSON)
    assert response.status_code == 404
    assert post.like_count == 0


@pytest.mark.parametrize("odd", ["²", "٣", "99999999999999999999", "12abc", ""])
def test_a_strange_reply_to_in_the_address_shows_the_post_without_a_reply_target(world, resident, login_as, odd):
    post = make_post(resident, world.compound_a, title="楼道灯坏了")
    response = login_as(resident).get(f"/p/{post.id}?reply_to={odd}")
    assert response.status_code == 200
    assert "楼道灯坏了" in text_of(response)
