"""The caching seam (community_board/caching.py), on both backends: every field a board page shows,
changed through the ORM or by a Core statement, shows on every page showing it at the next load;
shared entries hold nothing of one viewer."""

import re
from html import escape

import pytest
import sqlalchemy as sa
from board_helpers import make_post, make_reply, neighbour, signed_in, text_of
from flask import current_app

from community_board import caching
from community_board.accounts.models import User
from community_board.board import services
from community_board.board.cached_parts import CSRF_PLACEHOLDER
from community_board.board.models import Post, Reply
from community_board.compounds.models import Compound
from community_board.extensions import db

REDIS_URL = "redis://127.0.0.1:6379/13"


def _redis_reachable() -> bool:
    try:
        return caching.RedisBackend(REDIS_URL, 60).client.ping()
    except Exception:  # noqa: BLE001  (no Redis here: those cases skip)
        return False


@pytest.fixture(params=["memory", "redis"])
def backend(request, app):
    """Each test once with the in-process LRU and once with Redis (its own key prefix per run)."""
    kept = app.extensions["cache"]
    if request.param == "redis":
        if not _redis_reachable():
            pytest.skip("no Redis on 127.0.0.1:6379")
        app.extensions["cache"] = caching.RedisBackend(REDIS_URL, 60)
    caching.clear()
    yield request.param
    caching.clear()
    app.extensions["cache"] = kept


# What each field looks like once changed, and the pages that show it ("feed", "post"). Numbers
# are seven digits so no id on the page (PostgreSQL keeps counting them across tests) is mistaken for one.
SHOWN = {
    (Post, "title"): ("新标题甲乙", ("feed", "post")),
    (Post, "excerpt"): ("新摘要丙丁", ("feed",)),
    (Post, "body_html"): ("<p>新正文戊己</p>", ("post",)),
    (Post, "like_count"): (9876501, ("feed", "post")),
    (Post, "reply_count"): (6543201, ("feed", "post")),
    (Reply, "body_html"): ("<p>新回复庚辛</p>", ("post",)),
    (User, "real_name"): ("欧阳新名", ("feed", "post")),
    (User, "building"): ("88", ("feed", "post")),
    (Compound, "name"): ("新名字小区", ("feed", "post")),
    (Compound, "resident_count"): (4321001, ("feed",)),
}


def _text(value) -> str:
    if isinstance(value, str) and value.startswith("<p>"):
        return value[3:-4]
    return f"{value}号楼" if value == "88" else str(value)


@pytest.mark.parametrize("how", ["orm", "core"])
@pytest.mark.parametrize("model, field", list(SHOWN))
def test_every_field_a_board_page_shows_shows_at_once_when_changed(world, secretary, backend, how, model, field):
    """The secretary sees full names, so every field here is on the page as stored."""
    author = neighbour(world, name="吴刚")
    post = make_post(author, world.compound_a, title="楼道灯坏了")
    reply = make_reply(author, post, "物业说明天来修")
    viewer = signed_in(secretary)
    pages = {"feed": f"/c/{world.compound_a.id}", "post": f"/p/{post.id}"}
    value, shown_on = SHOWN[(model, field)]
    for url in pages.values():
        assert _text(value) not in text_of(viewer.get(url))

    row = {Post: post, Reply: reply, User: author, Compound: world.compound_a}[model]
    if how == "orm":
        setattr(row, field, value)
    else:
        db.session.execute(sa.update(model).where(model.id == row.id).values({field: value}))
    db.session.commit()

    for page in shown_on:
        assert escape(_text(value), quote=False) in text_of(viewer.get(pages[page])), (
            f"{page} still shows the old {field}"
        )


def _entries() -> list[str]:
    backend = current_app.extensions["cache"]
    if isinstance(backend, caching.MemoryBackend):
        return [str(value) for value in backend._items.values()]
    prefix = current_app.config["CACHE_KEY_PREFIX"]
    return [raw.decode() for raw in (backend.client.get(k) for k in backend.client.scan_iter(f"{prefix}*")) if raw]


def test_shared_entries_hold_nothing_of_the_viewer_and_each_viewer_gets_their_own_bits(
    world, resident, app, monkeypatch, backend
):
    post = make_post(neighbour(world, name="吴刚"), world.compound_a, title="楼道灯坏了")
    liker, other = signed_in(resident), signed_in(neighbour(world, name="郑洁", room="602"))
    services.toggle_like(resident, post)
    db.session.commit()
    make_reply(resident, post, "我的回复")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # forms carry tokens, as in production

    page = text_of(liker.get(f"/p/{post.id}"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert "like-button like-button_on" in page and CSRF_PLACEHOLDER not in page and "<!--" not in page
    other = text_of(other.get(f"/p/{post.id}"))
    assert "like-button like-button_on" not in other and 'class="like-button"' in other

    entries = _entries()
    assert entries and all(token not in entry for entry in entries)
    assert any(CSRF_PLACEHOLDER in entry for entry in entries)


def test_own_replies_offer_no_reply_or_report_link_to_their_author_only(world, resident, backend):
    post = make_post(neighbour(world, name="吴刚"), world.compound_a, title="楼道灯坏了")
    reply = make_reply(resident, post, "我的回复")
    report_link = f"/p/{post.id}/report?reply={reply.id}"
    assert report_link not in text_of(signed_in(resident).get(f"/p/{post.id}"))
    assert report_link in text_of(signed_in(neighbour(world, name="郑洁", room="602")).get(f"/p/{post.id}"))


def test_a_private_question_shows_in_its_askers_feed_only(world, resident, backend):
    from community_board.board.models import Section

    make_post(neighbour(world, name="吴刚"), world.compound_a, title="楼道灯坏了")
    other = signed_in(neighbour(world, name="郑洁", room="602"))
    feed = f"/c/{world.compound_a.id}"
    assert "楼道灯坏了" in text_of(other.get(feed))  # the shared feed is kept now
    police = db.session.scalar(sa.select(Section).where(Section.key == "police"))
    question = make_post(resident, world.compound_a, key=police.key, title="我家门口有可疑人员")
    db.session.execute(sa.update(Post).where(Post.id == question.id).values(is_private=True))
    db.session.commit()
    assert "我家门口有可疑人员" in text_of(signed_in(resident).get(feed))
    assert "我家门口有可疑人员" not in text_of(other.get(feed))


def test_a_model_declared_twice_differently_is_refused():
    with pytest.raises(ValueError):
        caching.depends_on(Post, post=Post.id)
    with pytest.raises(ValueError):
        caching.Key("board_page")
