"""Cached board parts never show stale content: a viewer loads a page first (so its parts are
cached), someone else changes something through the app, and the viewer's next load shows it.

The list cache also turns over with the minute (times read "3分钟前"); every test here runs in
one frozen minute of that clock, so a change that failed to move the board version would be
served from the cache instead of being hidden by a minute turning over mid-test.
"""

import re
from datetime import datetime, timedelta
from html import escape, unescape

import pytest
import sqlalchemy as sa
from board_helpers import make_post, make_reply, neighbour, signed_in, text_of
from cases_helpers import department_of, file_post, walk
from civic_helpers import open_proposal, residents_apart, vote_over_http
from conftest import PASSWORD, count_queries, page_statements
from flask import current_app, g

from community_board import caching, timeutil
from community_board.accounts import services as accounts
from community_board.board import cached_parts, services
from community_board.board.models import Reply
from community_board.cases.models import CaseStatus
from community_board.compounds.models import Compound, StaffAssignment, StaffRole
from community_board.extensions import db
from community_board.timeutil import utcnow


@pytest.fixture(autouse=True)
def one_minute(monkeypatch):
    """The clock stands still for the whole test: relative times are filled in to the minute."""
    frozen = utcnow()
    monkeypatch.setattr(cached_parts, "utcnow", lambda: frozen)
    return frozen


# Reading pages ------------------------------------------------------------------------------


def card(response, title: str) -> str:
    """The HTML of the card titled ``title`` on a feed or section page ("" when it is not there)."""
    heading = f'<h3 class="post-card__title">{escape(title, quote=False)}</h3>'
    return next(
        (
            block
            for block in re.findall(r'<article class="post-card.*?</article>', text_of(response), re.S)
            if heading in block
        ),
        "",
    )


def card_counts(block: str) -> tuple[int, int]:
    """(replies, likes) a card shows."""
    replies = re.search(r'title="回复"><img[^>]*>(\d+)</span>', block)
    likes = re.search(r'title="赞"><img[^>]*>(\d+)</span>', block)
    assert replies and likes, "no counts on the card"
    return int(replies.group(1)), int(likes.group(1))


def card_time(block: str) -> str:
    found = re.search(r"<time [^>]*>([^<]*)</time>", block)
    assert found, "no time on the card"
    return found.group(1)


def page_likes(response) -> int:
    found = re.search(r"<span data-like-count>(\d+)</span>", text_of(response))
    assert found, "no like count on the post page"
    return int(found.group(1))


def page_replies(response) -> int:
    found = re.search(r'<h3 class="replies__title">回复 (\d+)</h3>', text_of(response))
    assert found, "no reply count on the post page"
    return int(found.group(1))


def case_tag(block: str) -> str | None:
    found = re.search(r'<span class="case-status case-status_\w+">(工单·[^<]*)</span>', block)
    return found.group(1) if found else None


def tally(response) -> dict[str, str]:
    """Option label → "2票 · 66.7%" on a post page with a visible tally."""
    return dict(
        re.findall(
            r'<span class="tally__label">([^<]*)</span>.*?<span class="tally__count">([^<]*)</span>',
            text_of(response),
            re.S,
        )
    )


def turnout(response) -> str:
    found = re.search(r"<p class=\"muted\" data-turnout>([^<]*)", text_of(response))
    assert found, "no turnout on the post page"
    return " ".join(found.group(1).split())


PARTY_BADGE = '<span class="badge badge_party">党员</span>'


def board_version(compound) -> int:
    """The version as the database has it now, not as this session remembers it."""
    db.session.commit()
    return db.session.scalar(sa.select(Compound.board_version).where(Compound.id == compound.id))


# 1. Likes -------------------------------------------------------------------------------------


def test_a_neighbours_like_and_unlike_show_on_the_feed_and_the_post_page_at_once(world, resident):
    post = make_post(neighbour(world, name="吴刚"), world.compound_a, title="楼道灯坏了")
    viewer = signed_in(resident)
    feed, page = f"/c/{world.compound_a.id}", f"/p/{post.id}"
    assert card_counts(card(viewer.get(feed), "楼道灯坏了")) == (0, 0)
    assert page_likes(viewer.get(page)) == 0

    liker = signed_in(neighbour(world, name="郑洁", room="602"))
    assert liker.post(f"/p/{post.id}/like", headers={"Accept": "application/json"}).get_json()["liked"] is True
    assert card_counts(card(viewer.get(feed), "楼道灯坏了")) == (0, 1)
    assert page_likes(viewer.get(page)) == 1

    # Unliking deletes the row with a Core statement the flush hook never sees.
    assert liker.post(f"/p/{post.id}/like", headers={"Accept": "application/json"}).get_json()["liked"] is False
    assert card_counts(card(viewer.get(feed), "楼道灯坏了")) == (0, 0)
    assert page_likes(viewer.get(page)) == 0


# 2. Replies -----------------------------------------------------------------------------------


def test_a_neighbours_reply_shows_on_the_card_and_the_post_page_at_once(world, resident):
    post = make_post(neighbour(world, name="吴刚"), world.compound_a, title="楼道灯坏了")
    viewer = signed_in(resident)
    feed, page = f"/c/{world.compound_a.id}", f"/p/{post.id}"
    assert card_counts(card(viewer.get(feed), "楼道灯坏了")) == (0, 0)
    first = viewer.get(page)
    assert page_replies(first) == 0 and "物业说明天来修" not in text_of(first)

    replier = signed_in(neighbour(world, name="郑洁", room="602"))
    assert replier.post(f"/p/{post.id}/reply", data={"body": "物业说明天来修"}).status_code == 302

    assert card_counts(card(viewer.get(feed), "楼道灯坏了")) == (1, 0)
    again = viewer.get(page)
    assert page_replies(again) == 1 and "物业说明天来修" in text_of(again)


# 3. Moderation ----------------------------------------------------------------------------------


def test_a_post_the_secretary_hides_leaves_the_feed_and_the_section_at_once(world, resident, secretary):
    post = make_post(neighbour(world, name="吴刚"), world.compound_a, title="卖保健品，加微信")
    make_post(neighbour(world, name="郑洁", room="602"), world.compound_a, title="楼道灯坏了")
    viewer = signed_in(resident)
    feed, matters = f"/c/{world.compound_a.id}", f"/c/{world.compound_a.id}/s/matters"
    assert card(viewer.get(feed), "卖保健品，加微信") and card(viewer.get(matters), "卖保健品，加微信")

    moderator = signed_in(secretary)
    assert moderator.post(f"/p/{post.id}/hide", data={"reason": "广告"}).status_code == 302
    for url in (feed, matters):
        response = viewer.get(url)
        assert not card(response, "卖保健品，加微信") and card(response, "楼道灯坏了")

    assert moderator.post(f"/p/{post.id}/restore").status_code == 302
    assert card(viewer.get(feed), "卖保健品，加微信") and card(viewer.get(matters), "卖保健品，加微信")


# 4. Cases ---------------------------------------------------------------------------------------


def test_the_cards_case_tag_follows_the_case(world, resident, secretary, dept_staff):
    post = make_post(resident, world.compound_a, title="广场变菜园")
    viewer = signed_in(neighbour(world, name="吴刚"))
    feed = f"/c/{world.compound_a.id}"
    assert case_tag(card(viewer.get(feed), "广场变菜园")) is None

    case = file_post(secretary, post)
    assert case_tag(card(viewer.get(feed), "广场变菜园")) == "工单·已立案"

    department = department_of(dept_staff)
    walk(case, CaseStatus.DISPATCHED, filer=secretary, worker=dept_staff, department=department, reporter=resident)
    assert case_tag(card(viewer.get(feed), "广场变菜园")) == "工单·已派单"

    walk(case, CaseStatus.IN_PROGRESS, filer=secretary, worker=dept_staff, department=department, reporter=resident)
    assert case_tag(card(viewer.get(feed), "广场变菜园")) == "工单·处置中"


# 5. 党员 badge ------------------------------------------------------------------------------------


def test_a_confirmed_party_badge_shows_on_the_members_posts_at_once(world, resident, secretary):
    member = neighbour(world, name="高建国", room="701")
    make_post(member, world.compound_a, title="周六义务理发")
    accounts.request_party_badge(member)
    db.session.commit()
    viewer = signed_in(resident)
    feed = f"/c/{world.compound_a.id}"
    assert PARTY_BADGE not in card(viewer.get(feed), "周六义务理发")

    accounts.confirm_party_badge(secretary, member)
    db.session.commit()
    assert PARTY_BADGE in card(viewer.get(feed), "周六义务理发")

    accounts.withdraw_party_badge(secretary, member)
    db.session.commit()
    assert PARTY_BADGE not in card(viewer.get(feed), "周六义务理发")


# 6. 议事厅 ------------------------------------------------------------------------------------------


def test_a_vote_shows_on_the_live_tally_at_once_and_so_does_a_changed_vote(world, resident):
    proposal = open_proposal(resident, world.compound_a, show_tally_early=True)
    (voter,) = residents_apart(world, world.compound_a, ["吴刚"])
    viewer = signed_in(resident)
    page = f"/p/{proposal.post_id}"
    assert tally(viewer.get(page)) == {"赞成": "0票 · 0.0%", "反对": "0票 · 0.0%", "弃权": "0票 · 0.0%"}

    ballot_box = signed_in(voter)
    assert vote_over_http(ballot_box, proposal, "赞成").status_code == 302
    assert tally(viewer.get(page))["赞成"] == "1票 · 100.0%"

    # Changing a vote moves the counters with Core updates only; the ballot row is not tracked.
    assert vote_over_http(ballot_box, proposal, "反对").status_code == 302
    shown = tally(viewer.get(page))
    assert shown["赞成"] == "0票 · 0.0%" and shown["反对"] == "1票 · 100.0%"


def test_a_resident_verified_while_the_vote_runs_counts_in_the_turnout_at_once(
    world, resident, secretary, pending_resident
):
    """Who may vote is counted live while a proposal is open: verifying a resident changes the
    turnout line of its post page."""
    proposal = open_proposal(resident, world.compound_a, show_tally_early=True)
    viewer = signed_in(resident)
    page = f"/p/{proposal.post_id}"
    assert turnout(viewer.get(page)).startswith("参与 0 / 1人")

    accounts.approve_resident(secretary, pending_resident)
    db.session.commit()
    assert turnout(viewer.get(page)).startswith("参与 0 / 2人")


# 7. Staff roles -----------------------------------------------------------------------------------


def test_a_resident_given_a_staff_role_sees_what_staff_see_without_signing_in_again(world, resident, secretary, admin):
    author = neighbour(world, name="吴刚")
    hidden = make_post(author, world.compound_a, title="卖保健品，加微信")
    make_post(author, world.compound_a, title="楼道灯坏了")
    services.hide(secretary, hidden, "广告")
    db.session.commit()
    viewer = signed_in(resident)
    feed = f"/c/{world.compound_a.id}"
    before = viewer.get(feed)
    assert not card(before, "卖保健品，加微信") and "吴先生" in card(before, "楼道灯坏了")

    district_admin = signed_in(admin)
    assert (
        district_admin.post(
            f"/admin/d/{world.district.id}/staff",
            data={
                "phone": resident.phone,
                "role": StaffRole.SECRETARY.value,
                "scope": f"compound:{world.compound_a.id}",
            },
        ).status_code
        == 302
    )
    as_staff = viewer.get(feed)
    assert as_staff.status_code == 200, "the role change ended the resident's session"
    assert "已隐藏" in card(as_staff, "卖保健品，加微信")
    assert "吴刚" in card(as_staff, "楼道灯坏了")

    assignment = db.session.scalar(sa.select(StaffAssignment).where(StaffAssignment.user_id == resident.id))
    assert district_admin.post(f"/admin/d/{world.district.id}/staff/{assignment.id}/revoke").status_code == 302
    after = viewer.get(feed)
    assert not card(after, "卖保健品，加微信") and "吴刚" not in card(after, "楼道灯坏了")


# 8. CSRF tokens in cached forms -----------------------------------------------------------------


@pytest.fixture
def csrf_on(app, monkeypatch):
    """Forms and POSTs check CSRF tokens, as in production (the test config turns them off)."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


class Browser:
    """A test client with CSRF on. Requests share the test's app context, whose ``g`` keeps the
    token Flask-WTF caches per request; each request here starts without it, as it would in a server."""

    def __init__(self):
        self.client = current_app.test_client()

    def get(self, url):
        g.pop("csrf_token", None)
        return self.client.get(url)

    def post(self, url, data):
        g.pop("csrf_token", None)
        return self.client.post(url, data=data)

    def login(self, user, remember=False):
        data = {"phone": user.phone, "password": PASSWORD, "csrf_token": form_token(self.get("/login"))}
        if remember:
            data["remember"] = "y"
        assert self.post("/login", data).status_code == 302, "login failed"

    def restart(self):
        """Close and reopen the browser: the session cookie is gone, the remember-me cookie stays."""
        self.client.delete_cookie(current_app.config["SESSION_COOKIE_NAME"])
        assert self.client.get_cookie(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")) is not None

    def reply(self, post, body):
        """Send a reply with the token of the reply form the post page shows now."""
        page = self.get(f"/p/{post.id}")
        assert page.status_code == 200
        form = re.search(r'<form [^>]*id="reply-form".*?</form>', text_of(page), re.S)
        assert form, "no reply form on the post page"
        return self.post(f"/p/{post.id}/reply", {"body": body, "csrf_token": form_token(form.group(0))})


def form_token(page) -> str:
    found = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', page if isinstance(page, str) else text_of(page)
    )
    assert found, "no CSRF token in the form"
    return unescape(found.group(1))


def replies_in_db(post) -> int:
    db.session.commit()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Reply).where(Reply.post_id == post.id))


def test_the_reply_form_works_after_signing_out_and_in_again(world, resident, csrf_on):
    """Signing out keeps the browser's CSRF secret (only the user keys leave the session) and moves
    the session version, so this guards a future logout that renews the session."""
    post = make_post(neighbour(world, name="吴刚"), world.compound_a)
    browser = Browser()
    browser.login(resident)
    assert browser.get(f"/p/{post.id}").status_code == 200  # the page body is cached now
    logout_page = browser.get("/me")
    assert browser.post("/logout", {"csrf_token": form_token(logout_page)}).status_code == 302
    browser.login(resident)

    assert browser.reply(post, "我也发现了").status_code == 302
    assert replies_in_db(post) == 1


def test_the_same_resident_on_a_second_phone_gets_a_reply_form_that_works(world, resident, csrf_on):
    post = make_post(neighbour(world, name="吴刚"), world.compound_a)
    phone = Browser()
    phone.login(resident)
    assert phone.get(f"/p/{post.id}").status_code == 200  # cached with this phone's token
    tablet = Browser()
    tablet.login(resident)

    assert tablet.reply(post, "我也发现了").status_code == 302
    assert phone.reply(post, "补充一下").status_code == 302
    assert replies_in_db(post) == 2


def test_two_phones_back_from_a_restart_each_get_a_reply_form_that_works(world, resident, csrf_on):
    """Signed in with 记住我, a browser that was closed comes back with no session, so with no CSRF
    secret yet when the post page is looked up in the cache."""
    post = make_post(neighbour(world, name="吴刚"), world.compound_a)
    phone, tablet = Browser(), Browser()
    phone.login(resident, remember=True)
    tablet.login(resident, remember=True)
    phone.restart()
    tablet.restart()
    assert phone.get(f"/p/{post.id}").status_code == 200

    response = tablet.reply(post, "我也发现了")
    assert response.status_code == 302, f"the tablet's reply was refused ({response.status_code}): " + (
        "页面已过期" if "页面已过期" in text_of(response) else text_of(response)[:300]
    )
    assert replies_in_db(post) == 1


# 9. What a warm page costs --------------------------------------------------------------------


def statements(client, url, *, cached: bool) -> int:
    """SQL statements a GET of ``url`` runs in a fresh session, as each request in production has:
    no object the test (or an earlier request) loaded may spare a query. ``cached=False`` also
    forgets every rendered part first."""
    db.session.commit()
    db.session.expunge_all()
    if not cached:
        caching.clear()
    with count_queries() as count:
        assert client.get(url).status_code == 200
    return count()


def test_a_neighbours_first_look_at_a_page_someone_loaded_costs_a_few_fixed_queries(world, resident):
    """Pages are shared by everyone who sees the same HTML: a neighbour who never opened the page
    gets it for the login, the section or post asked for, their likes and (on lists) whether they
    asked a private question there."""
    author = neighbour(world, name="吴刚")
    for i in range(12):
        post = make_post(author, world.compound_a, title=f"帖子{i:02d}")
    for body in ("一", "二", "三"):
        make_reply(resident, post, body)
    client, other = signed_in(resident), signed_in(neighbour(world, name="郑洁", room="602"))
    urls = {
        "feed": f"/c/{world.compound_a.id}",
        "section": f"/c/{world.compound_a.id}/s/matters",
        "post": f"/p/{post.id}",
    }

    counts = {}
    for name, url in urls.items():
        cold_expired = page_statements(client, url)  # the suite's usual measure: objects expired, parts forgotten
        cold = statements(client, url, cached=False)
        warm = statements(client, url, cached=True)
        neighbours_first = statements(other, url, cached=True)
        counts[name] = {
            "cold (page_statements)": cold_expired,
            "cold": cold,
            "warm": warm,
            "neighbour's first": neighbours_first,
        }
    for name, seen in counts.items():
        assert seen["warm"] < min(seen["cold"], seen["cold (page_statements)"]), f"the {name} page: {seen}"
        expected = {"feed": 3, "section": 4, "post": 3}[name]
        assert seen["warm"] == seen["neighbour's first"] == expected, f"the {name} page: {seen}"


def test_a_secretarys_second_look_is_cheaper_too_but_built_afresh(world, secretary):
    """Staff have no compound of their own to key a whole page by; their pages are assembled from
    kept parts, after the queries that find the compound and the post."""
    post = make_post(neighbour(world, name="吴刚"), world.compound_a, title="楼道灯坏了")
    client = signed_in(secretary)
    for url in (f"/c/{world.compound_a.id}", f"/p/{post.id}"):
        cold = statements(client, url, cached=False)
        warm = statements(client, url, cached=True)
        assert 1 < warm < cold, (url, cold, warm)


# 10. Times ------------------------------------------------------------------------------------


def test_card_times_move_on_with_the_clock(world, resident, monkeypatch):
    noon = datetime(2025, 6, 1, 4, 0)  # 12:00 in Shanghai: two hours later is the same local day
    post = make_post(neighbour(world, name="吴刚"), world.compound_a, title="楼道灯坏了")
    post.created_at = noon
    db.session.commit()
    viewer = signed_in(resident)
    feed = f"/c/{world.compound_a.id}"

    for now, shown in ((noon + timedelta(seconds=20), "刚刚"), (noon + timedelta(hours=2, seconds=20), "2小时前")):
        monkeypatch.setattr(cached_parts, "utcnow", lambda now=now: now)
        monkeypatch.setattr(timeutil, "utcnow", lambda now=now: now)
        assert card_time(card(viewer.get(feed), "楼道灯坏了")) == shown


# 11. The version itself ------------------------------------------------------------------------


def test_each_like_and_unlike_moves_its_compounds_version_and_no_other(world, resident, other_compound_resident):
    post = make_post(neighbour(world, name="吴刚"), world.compound_a)
    theirs = make_post(other_compound_resident, world.compound_b)
    start = board_version(world.compound_a)

    assert services.toggle_like(resident, post) is True
    db.session.commit()
    liked = board_version(world.compound_a)
    assert liked > start

    assert services.toggle_like(resident, post) is False
    db.session.commit()
    unliked = board_version(world.compound_a)
    assert unliked > liked

    elsewhere = board_version(world.compound_b)
    assert services.toggle_like(neighbour(world, name="孙丽", compound=world.compound_b), theirs) is True
    db.session.commit()
    assert board_version(world.compound_b) > elsewhere
    assert board_version(world.compound_a) == unliked


def test_a_cached_proposal_page_closes_the_vote_when_its_deadline_passes(world, resident, monkeypatch):
    """The page changes by itself at the deadline: a part that shows an open vote expires then,
    even within the minute and with nothing written."""
    from community_board.deliberation import models as deliberation_models
    from community_board.deliberation import services as deliberation_services

    minute = utcnow().replace(second=0, microsecond=0) + timedelta(days=1)
    proposal = open_proposal(resident, world.compound_a)
    proposal.deadline_at = minute + timedelta(seconds=30)
    db.session.commit()
    viewer = signed_in(resident)
    page = f"/p/{proposal.post_id}"

    for now, expected, not_expected in (
        (minute + timedelta(seconds=10), "投票中", "已截止"),
        (minute + timedelta(seconds=40), "已截止", "投票中"),
    ):
        for module in (cached_parts, timeutil, deliberation_models, deliberation_services):
            monkeypatch.setattr(module, "utcnow", lambda now=now: now, raising=False)
        shown = text_of(viewer.get(page))
        assert expected in shown and not_expected not in shown


def test_a_page_kept_per_viewer_that_keeps_expiring_still_loads_each_time(world, resident, monkeypatch):
    """A page with a vote is kept per viewer; while the kept copy has expired (the vote's deadline
    is past for the page clock, not yet closed by its own), each load renders it again."""
    proposal = open_proposal(resident, world.compound_a, title="是否加装电梯")
    later = proposal.deadline_at + timedelta(minutes=5)
    monkeypatch.setattr(cached_parts, "utcnow", lambda: later)
    viewer = signed_in(resident)
    for _ in range(3):
        response = viewer.get(f"/p/{proposal.post_id}")
        assert response.status_code == 200 and "是否加装电梯" in text_of(response)


# 12. Whole pages ------------------------------------------------------------------------------


def test_a_kept_page_still_shows_the_message_of_what_the_resident_just_did(world, resident):
    """A report moves no board version, so the post page is the one kept a moment ago; the
    confirmation flashed on the way back must show all the same, and only once."""
    post = make_post(neighbour(world, name="吴刚"), world.compound_a, title="楼道灯坏了")
    viewer = signed_in(resident)
    assert "举报已提交" not in text_of(viewer.get(f"/p/{post.id}"))

    back = viewer.post(f"/p/{post.id}/report", data={"reason": "advertising", "detail": ""}, follow_redirects=True)
    assert back.status_code == 200 and "举报已提交，居委会会尽快处理" in text_of(back)
    assert "举报已提交" not in text_of(viewer.get(f"/p/{post.id}"))


def unread_badge(response) -> str | None:
    found = re.search(r'<span class="weui-badge tabbar__badge"[^>]*>([^<]*)</span>', text_of(response))
    return found.group(1) if found else None


def test_the_unread_badge_on_a_kept_page_follows_the_messages(world, resident, secretary):
    """Reading messages changes no board, only the badge in the tab bar."""
    post = make_post(resident, world.compound_a, title="楼道灯坏了")
    make_reply(secretary, post, "已通知物业")
    viewer = signed_in(resident)
    feed = f"/c/{world.compound_a.id}"
    assert unread_badge(viewer.get(feed)) == "1"
    version = board_version(world.compound_a)

    viewer.post("/messages/read")
    assert board_version(world.compound_a) == version
    assert unread_badge(viewer.get(feed)) is None


def test_an_article_shared_by_another_compound_is_never_kept_under_the_readers_board(world, secretary):
    """A street-wide 办事指南 article belongs to its author's board: when they edit it, only that
    board's version moves, so a reader from another compound of the street must not be served the
    page as their own board's version last saw it."""
    compound_c = world.compound("宝杨宝龙", world.street_a)
    db.session.commit()
    reader = signed_in(world.resident(compound_c, name="冯婷", building="2", room="201"))
    article = make_post(
        secretary,
        world.compound_a,
        key="guide",
        title="高龄津贴申领",
        body="带上户口本",
        topic="养老服务",
        shared_with_street=True,
    )
    assert "带上户口本" in text_of(reader.get(f"/p/{article.id}"))

    services.edit_post(
        secretary,
        article,
        services.PostDraft(title="高龄津贴申领", body="带上身份证", topic="养老服务", shared_with_street=True),
    )
    db.session.commit()
    shown = text_of(reader.get(f"/p/{article.id}"))
    assert "带上身份证" in shown and "带上户口本" not in shown
