"""党员亮身份 (the badge on posts and replies, the secretary's list, withdrawing a badge), answers
marked helpful and a neighbour's page of contributions, and 办事指南 (Markdown cleaned by the one
allow-list, grouped by topic, shared across a street)."""

import re
from html import unescape

import pytest
import sqlalchemy as sa
from civic_helpers import (
    card_titles,
    flashes,
    make_post,
    make_reply,
    messages,
    post_body,
    section,
    signed_in,
    tags,
    text_of,
)

from community_board.accounts.models import PartyBadge, Salutation, User
from community_board.audit import AuditEntry
from community_board.board import services as board_services
from community_board.board.models import Post, Reply
from community_board.compounds.models import StaffRole
from community_board.extensions import db
from community_board.security import ALLOWED_TAGS

PARTY_BADGE = '<span class="badge badge_party">党员</span>'


@pytest.fixture
def member(world):
    """高建国, a confirmed party member of compound A."""
    return world.resident(
        world.compound_a, name="高建国", salutation=Salutation.MR, building="7", room="701", party=True
    )


@pytest.fixture
def helper(world):
    return world.resident(world.compound_a, name="吴刚", salutation=Salutation.MR, building="6", room="601")


def fresh_user(user) -> User:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(User, user.id)


def post_head(response) -> str:
    found = re.search(r'<header class="post__head">(.*?)</header>', text_of(response), re.S)
    assert found, "no post header"
    return found.group(1)


def replies_on(response) -> list[str]:
    return re.split(r'(?=<div class="reply[ "][^>]*id="reply-)', text_of(response))[1:]


def reply_block(response, body: str) -> str:
    return next(block for block in replies_on(response) if body in block)


# 党员亮身份 -----------------------------------------------------------------------------------------


def test_the_party_badge_shows_on_posts_and_replies(world, member, resident, helper):
    theirs = make_post(member, world.compound_a, title="周六义务理发", body="在3号楼下，欢迎老人来")
    mine = make_post(resident, world.compound_a, title="楼道灯坏了")
    make_reply(member, mine, "我去物业说一下")
    make_reply(helper, mine, "我也发现了")
    client = signed_in(helper)

    assert PARTY_BADGE in post_head(client.get(f"/p/{theirs.id}"))
    assert PARTY_BADGE not in post_head(client.get(f"/p/{mine.id}"))
    page = client.get(f"/p/{mine.id}")
    assert PARTY_BADGE in reply_block(page, "我去物业说一下")
    assert PARTY_BADGE not in reply_block(page, "我也发现了")

    feed = text_of(client.get(f"/c/{world.compound_a.id}"))
    card = feed[feed.index("周六义务理发") :]
    card = card[: card.index("</article>")]
    assert PARTY_BADGE in card


def test_the_secretary_sees_the_compounds_party_members(world, member, resident, secretary, other_compound_resident):
    world.resident(world.compound_b, name="张党员", building="1", room="101", party=True)
    page = signed_in(secretary).get(f"/c/{world.compound_a.id}/party-members")
    assert page.status_code == 200
    members = text_of(page).split("本小区党员", 1)[1]
    assert "高建国" in members
    assert "周丽" not in members and "张党员" not in members


def test_the_secretary_withdraws_a_badge(world, member, secretary, helper):
    post = make_post(member, world.compound_a, title="周六义务理发")
    client = signed_in(secretary)
    response = client.post(f"/c/{world.compound_a.id}/party-members/{member.id}/withdraw", follow_redirects=True)

    assert "已撤销党员标识" in flashes(response)
    assert fresh_user(member).party_badge is PartyBadge.NONE
    assert "高建国" not in text_of(response).split("本小区党员", 1)[1]
    assert any("书记已撤销您的党员标识" in text for text in messages(member))
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "party_badge.withdrawn"))
    assert entry is not None
    assert (entry.actor_id, entry.target_type, entry.target_id, entry.compound_id) == (
        secretary.id,
        "users",
        member.id,
        world.compound_a.id,
    )
    assert PARTY_BADGE not in post_head(signed_in(helper).get(f"/p/{post.id}"))


def test_withdrawing_a_badge_nobody_holds_says_so(world, helper, secretary):
    response = signed_in(secretary).post(
        f"/c/{world.compound_a.id}/party-members/{helper.id}/withdraw", follow_redirects=True
    )
    assert "该居民没有党员标识" in flashes(response)
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "party_badge.withdrawn")) is None


@pytest.mark.parametrize(
    "who, status", [("committee", 403), ("resident", 403), ("officer", 403), ("other_secretary", 404)]
)
def test_only_the_compounds_secretary_lists_members_and_withdraws_badges(request, world, member, who, status):
    client = signed_in(request.getfixturevalue(who))
    assert client.get(f"/c/{world.compound_a.id}/party-members").status_code == status
    response = client.post(f"/c/{world.compound_a.id}/party-members/{member.id}/withdraw")
    assert response.status_code == status
    assert fresh_user(member).party_badge is PartyBadge.CONFIRMED
    assert messages(member) == []


# Helpful answers ---------------------------------------------------------------------------------


def helpful_url(reply):
    return f"/p/{reply.post_id}/replies/{reply.id}/helpful"


def test_the_asker_marks_an_answer_helpful_and_can_take_it_back(world, resident, helper):
    post = make_post(resident, world.compound_a, title="哪里可以修自行车")
    answer = make_reply(helper, post, "菜场门口有个修车摊")
    client = signed_in(resident)

    assert client.post(helpful_url(answer)).status_code == 302
    assert db.session.get(Reply, answer.id).helpful is True
    page = client.get(f"/p/{post.id}")
    assert "楼主：有帮助" in reply_block(page, "菜场门口有个修车摊")
    assert "取消有帮助" in reply_block(page, "菜场门口有个修车摊")

    client.post(helpful_url(answer))
    db.session.commit()
    assert db.session.get(Reply, answer.id).helpful is False
    assert "楼主：有帮助" not in reply_block(client.get(f"/p/{post.id}"), "菜场门口有个修车摊")


@pytest.mark.parametrize("who", ["helper", "neighbour", "secretary"])
def test_only_the_asker_marks_answers_helpful(request, world, resident, helper, who):
    post = make_post(resident, world.compound_a, title="哪里可以修自行车")
    answer = make_reply(helper, post, "菜场门口有个修车摊")
    actor = (
        world.resident(world.compound_a, name="郑洁", building="8", room="801")
        if who == "neighbour"
        else request.getfixturevalue(who)
    )
    client = signed_in(actor)
    assert client.post(helpful_url(answer)).status_code == 403
    db.session.commit()
    assert db.session.get(Reply, answer.id).helpful is False
    assert "有帮助</button>" not in text_of(client.get(f"/p/{post.id}"))


def test_the_asker_cannot_mark_their_own_reply(world, resident, helper):
    post = make_post(resident, world.compound_a, title="哪里可以修自行车")
    own = make_reply(resident, post, "补充：是山地车")
    response = signed_in(resident).post(helpful_url(own), follow_redirects=True)
    assert "只能标记别人对您帖子的回复" in flashes(response)
    db.session.commit()
    assert db.session.get(Reply, own.id).helpful is False


# A neighbour's page ------------------------------------------------------------------------------


def profile_url(compound, user):
    return f"/c/{compound.id}/u/{user.id}"


def thank_and_mark(world, resident, helper):
    """helper fulfilled resident's 互助 request (thanked) and answered a question (marked helpful)."""
    request_post = make_post(resident, world.compound_a, key="mutual_aid", title="求借轮椅一周", aid_kind="request")
    make_reply(helper, request_post, "我家有，晚上送过来")
    board_services.mark_aid_fulfilled(resident, request_post, helper, "谢谢吴先生，帮了大忙")
    db.session.commit()
    question = make_post(resident, world.compound_a, title="哪里可以修自行车")
    answer = make_reply(helper, question, "菜场门口有个修车摊")
    board_services.toggle_helpful(resident, question, answer)
    db.session.commit()
    return request_post, answer


def test_a_neighbours_page_lists_their_thanks_and_helpful_answers(world, resident, helper):
    thank_and_mark(world, resident, helper)
    make_reply(helper, make_post(resident, world.compound_a, title="别的帖子"), "这条没被标记")
    viewer = world.resident(world.compound_a, name="郑洁", building="8", room="801")

    page = text_of(signed_in(viewer).get(profile_url(world.compound_a, helper)))
    assert "帮邻居解决 1 件事 · 1 条回答被标为有帮助" in page
    thanked, answers = page.split("被感谢的互助", 1)[1].split("有帮助的回答", 1)
    assert "求借轮椅一周" in thanked and "“谢谢吴先生，帮了大忙”" in thanked
    assert "菜场门口有个修车摊" in answers and "哪里可以修自行车" in answers
    assert "这条没被标记" not in page


def test_a_neighbours_page_is_for_their_own_compound(
    world, resident, helper, other_compound_resident, pending_resident
):
    client = signed_in(other_compound_resident)
    assert client.get(profile_url(world.compound_a, helper)).status_code == 404
    assert client.get(profile_url(world.compound_b, helper)).status_code == 404
    own = signed_in(resident)
    assert own.get(profile_url(world.compound_a, helper)).status_code == 200
    assert own.get(profile_url(world.compound_a, pending_resident)).status_code == 404
    assert own.get(profile_url(world.compound_a, other_compound_resident)).status_code == 404


def test_a_hidden_answer_leaves_the_neighbours_page(world, resident, helper, secretary):
    _request_post, answer = thank_and_mark(world, resident, helper)
    board_services.hide(secretary, answer.post, "含有广告", reply=answer)
    db.session.commit()
    page = text_of(signed_in(resident).get(profile_url(world.compound_a, helper)))
    assert "菜场门口有个修车摊" not in page
    assert "1 条回答被标为有帮助" not in page


def test_a_hidden_request_leaves_the_neighbours_page(world, resident, helper, secretary):
    request_post, _answer = thank_and_mark(world, resident, helper)
    board_services.hide(secretary, request_post, "涉及个人隐私")
    db.session.commit()
    page = text_of(signed_in(resident).get(profile_url(world.compound_a, helper)))
    assert "求借轮椅一周" not in page
    assert "帮邻居解决 0 件事" in page


# 办事指南 ------------------------------------------------------------------------------------------

ARTICLE = """# 办理流程

## 需要的材料

- 身份证原件
- 户口本

**注意**：请在工作日办理。详见[一网通办](https://zwdt.sh.gov.cn/)。
"""


def guide_form(title="居住证怎么办", body=ARTICLE, topic="证件办理", shared=False):
    data = {"title": title, "body": body, "topic": topic}
    if shared:
        data["shared_with_street"] = "y"
    return data


def guide_posts() -> list[Post]:
    db.session.commit()
    return list(db.session.scalars(sa.select(Post).where(Post.section_id == section("guide").id).order_by(Post.id)))


@pytest.mark.parametrize("who", ["secretary", "committee"])
def test_staff_write_a_guide_article_with_headings_lists_bold_and_links(request, world, resident, who):
    author = request.getfixturevalue(who)
    response = signed_in(author).post(f"/c/{world.compound_a.id}/s/guide/new", data=guide_form())
    assert response.status_code == 302
    [article] = guide_posts()
    assert (article.topic, article.shared_with_street) == ("证件办理", False)

    body = post_body(signed_in(resident).get(f"/p/{article.id}"))
    assert "<h3>办理流程</h3>" in body and "<h4>需要的材料</h4>" in body
    assert re.search(r"<ul>\s*<li>身份证原件</li>\s*<li>户口本</li>\s*</ul>", body)
    assert "<strong>注意</strong>" in body
    [link] = [attrs for name, attrs in tags(body) if name == "a"]
    assert 'href="https://zwdt.sh.gov.cn/"' in link
    assert re.search(r'rel="nofollow[^"]*"', link) and 'target="_blank"' in link
    assert {name for name, _ in tags(body)} <= ALLOWED_TAGS
    assert "#" not in article.excerpt and "**" not in article.excerpt


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">点我</a>',
        "[点我](javascript:alert(1))",
        "[点我](JaVaScRiPt:alert(document.cookie))",
        "[点我]( javascript:alert(1))",
        "<javascript:alert(1)>",
        "![图](https://evil.example/x.png)",
        '![图](x" onerror="alert(1))',
        '[点我](https://a.example/ "x\\" onmouseover=\\"alert(1)")',
        "<svg onload=alert(1)>",
        "<iframe src=//evil.example></iframe>",
        "<<script>script>alert(1)<</script>/script>",
        "`<script>alert(1)</script>`",
        "    <script>alert(1)</script>",
        '<div style="background:url(javascript:alert(1))">x</div>',
    ],
)
def test_no_script_survives_in_a_guide_article(world, secretary, resident, payload):
    body = f"## 注意事项\n\n{payload}\n\n- 第一条\n"
    response = signed_in(secretary).post(f"/c/{world.compound_a.id}/s/guide/new", data=guide_form(body=body))
    assert response.status_code == 302
    [article] = guide_posts()
    shown = post_body(signed_in(resident).get(f"/p/{article.id}"))

    for markup in (article.body_html, shown):
        found = tags(markup)
        assert {name for name, _ in found} <= ALLOWED_TAGS, found
        for name, attrs in found:
            assert not re.search(r"\bon\w+\s*=", attrs, re.I), (name, attrs)
            assert not re.search(r"\b(?:style|src)\s*=", attrs, re.I), (name, attrs)
            href = re.search(r'href="([^"]*)"', attrs)
            if href:
                assert re.match(r"(https?:|mailto:|tel:)", unescape(href.group(1)).strip(), re.I), href.group(1)
        assert "<script" not in markup.lower() and "<img" not in markup.lower()
    assert "<h4>注意事项</h4>" in shown and "<li>第一条</li>" in shown


@pytest.mark.parametrize("who, status", [("resident", 403), ("officer", 403), ("other_compound_resident", 404)])
def test_residents_and_police_cannot_write_guides(request, world, who, status):
    client = signed_in(request.getfixturevalue(who))
    assert client.post(f"/c/{world.compound_a.id}/s/guide/new", data=guide_form()).status_code == status
    assert guide_posts() == []


def test_a_guide_article_needs_a_topic(world, secretary):
    response = signed_in(secretary).post(f"/c/{world.compound_a.id}/s/guide/new", data=guide_form(topic=""))
    assert response.status_code == 200
    assert "请填写主题" in text_of(response)
    assert guide_posts() == []


def guide_groups(response) -> list[tuple[str, list[str]]]:
    """(topic, article titles) in the order the guide page shows them."""
    page = text_of(response)
    groups = []
    for chunk in page.split('<div class="weui-cells__title">')[1:]:
        topic, rest = chunk.split("</div>", 1)
        block = rest.split('<div class="weui-cells__title">')[0]
        titles = re.findall(r'<div class="weui-cell__bd"><div>([^<]*)</div>', block)
        groups.append((unescape(topic.strip()), [unescape(t) for t in titles]))
    return groups


def test_the_guide_groups_articles_by_topic(world, secretary, resident):
    for title, topic in (
        ("居住证怎么办", "证件办理"),
        ("老年人助餐点", "养老服务"),
        ("身份证换领", "证件办理"),
        ("小区停车证申请", "停车管理"),
        ("居家养老上门服务", "养老服务"),
    ):
        make_post(secretary, world.compound_a, key="guide", title=title, body=f"## {title}\n\n- 第一步", topic=topic)

    page = signed_in(resident).get(f"/c/{world.compound_a.id}/s/guide")
    assert page.status_code == 200
    assert guide_groups(page) == [
        ("停车管理", ["小区停车证申请"]),
        ("养老服务", ["居家养老上门服务", "老年人助餐点"]),
        ("证件办理", ["居住证怎么办", "身份证换领"]),
    ]


@pytest.fixture
def compound_c(world):
    """Another compound of street A."""
    compound = world.compound("宝杨宝龙", world.street_a)
    db.session.commit()
    return compound


def test_an_article_shared_with_the_street_reaches_every_compound_of_the_street(
    world, secretary, compound_c, other_compound_resident
):
    response = signed_in(secretary).post(
        f"/c/{world.compound_a.id}/s/guide/new", data=guide_form(title="高龄津贴申领", topic="养老服务", shared=True)
    )
    assert response.status_code == 302
    unshared = make_post(
        secretary, world.compound_a, key="guide", title="本小区停车证", body="找物业", topic="停车管理"
    )
    [shared, _] = guide_posts()
    assert shared.shared_with_street is True and unshared.shared_with_street is False

    neighbour_c = world.resident(compound_c, name="冯婷", building="2", room="201")
    client = signed_in(neighbour_c)
    guide_c = client.get(f"/c/{compound_c.id}/s/guide")
    assert guide_groups(guide_c) == [("养老服务", ["高龄津贴申领"])]
    assert "全街镇" in text_of(guide_c)
    opened = client.get(f"/p/{shared.id}")
    assert opened.status_code == 200 and "<h3>办理流程</h3>" in post_body(opened)
    assert client.get(f"/p/{unshared.id}").status_code == 404

    staff_c = world.staff(StaffRole.SECRETARY, compound_c, name="孙书记")
    assert signed_in(staff_c).get(f"/p/{shared.id}").status_code == 200

    outsider = signed_in(other_compound_resident)  # compound B, another street
    assert outsider.get(f"/p/{shared.id}").status_code == 404
    assert outsider.get(f"/p/{unshared.id}").status_code == 404
    assert guide_groups(outsider.get(f"/c/{world.compound_b.id}/s/guide")) == []


def test_a_shared_article_stays_in_its_own_compounds_feed(world, secretary, compound_c):
    make_post(
        secretary,
        world.compound_a,
        key="guide",
        title="高龄津贴申领",
        body="## 条件",
        topic="养老服务",
        shared_with_street=True,
    )
    neighbour_c = world.resident(compound_c, name="冯婷", building="2", room="201")
    assert "高龄津贴申领" not in card_titles(signed_in(neighbour_c).get(f"/c/{compound_c.id}"))
