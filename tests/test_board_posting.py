"""Writing on the board: who may post where, what a post must have, how its text shows, edit and delete."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from board_helpers import field_error, make_post, neighbour, signed_in, text_of

from community_board.audit import AuditEntry
from community_board.board import services
from community_board.board.models import AuthorRole, Post
from community_board.extensions import db
from community_board.permissions import Decision, PermissionDenied


def compose(client, compound, key, title="楼道灯坏了", body="三楼的灯不亮了", **data):
    return client.post(f"/c/{compound.id}/s/{key}/new", data={"title": title, "body": body, **data})


def posts():
    return list(db.session.scalars(sa.select(Post).order_by(Post.id)))


# Who may post where ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, key, status, role",
    [
        ("resident", "matters", 302, AuthorRole.RESIDENT),
        ("resident", "notice", 403, None),
        ("secretary", "notice", 302, AuthorRole.SECRETARY),
        ("officer", "police", 302, AuthorRole.POLICE),
        ("officer", "notice", 403, None),
        ("pending_resident", "matters", 403, None),
        ("other_compound_resident", "matters", 404, None),
    ],
)
def test_who_may_post_where(request, world, login_as, who, key, status, role):
    client = login_as(request.getfixturevalue(who))
    response = compose(client, world.compound_a, key)
    assert response.status_code == status
    if role is None:
        assert posts() == []
    else:
        [post] = posts()
        assert response.location.endswith(f"/p/{post.id}")
        assert (post.section.key, post.author_role, post.compound_id) == (key, role, world.compound_a.id)


@pytest.mark.parametrize(
    "who, key, decision",
    [
        ("resident", "notice", Decision.FORBIDDEN),
        ("officer", "notice", Decision.FORBIDDEN),
        ("pending_resident", "matters", Decision.FORBIDDEN),
        ("other_compound_resident", "matters", Decision.NOT_FOUND),
    ],
)
def test_create_post_service_refuses(request, world, who, key, decision):
    with pytest.raises(PermissionDenied) as refused:
        make_post(request.getfixturevalue(who), world.compound_a, key)
    assert refused.value.decision is decision


def test_compose_page_offers_only_sections_the_user_may_post_in(world, resident, login_as):
    page = text_of(login_as(resident).get(f"/c/{world.compound_a.id}/new"))
    assert "身边事" in page and "警民直通车" in page
    assert "社区公告" not in page and "办事指南" not in page


# What a post must have ---------------------------------------------------------------------


def test_title_is_required_and_typed_body_is_kept(world, resident, login_as):
    response = compose(login_as(resident), world.compound_a, "matters", title="  ", body="电梯又停了，已经两天")
    assert response.status_code == 200
    assert field_error(response, "title") == "请填写标题"
    assert "电梯又停了，已经两天" in text_of(response)
    assert posts() == []


def test_body_is_required_and_typed_title_is_kept(world, resident, login_as):
    response = compose(login_as(resident), world.compound_a, "matters", title="电梯停了", body="")
    assert field_error(response, "body") == "请填写内容"
    assert 'value="电梯停了"' in text_of(response)
    assert posts() == []


# Plain text --------------------------------------------------------------------------------


def test_body_is_plain_text_escaped_with_line_breaks_and_safe_links(world, resident, login_as):
    client = login_as(resident)
    body = "<script>alert('x')</script>\n第二行 见 https://example.com/notice"
    compose(client, world.compound_a, "matters", body=body)
    page = text_of(client.get(f"/p/{posts()[0].id}"))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    assert re.search(r"&lt;/script&gt;<br>\s*第二行", page)
    link = re.search(r'<a [^>]*href="https://example.com/notice"[^>]*>', page)
    assert link and 'rel="nofollow noopener noreferrer"' in link.group(0)


def test_script_urls_do_not_become_links(world, resident, login_as):
    client = login_as(resident)
    compose(client, world.compound_a, "matters", body="点这里 javascript:alert(1) 或 <a href='javascript:x'>这里</a>")
    page = text_of(client.get(f"/p/{posts()[0].id}"))
    assert not re.search(r"<a [^>]*href=[\"']?javascript", page)
    assert "javascript:alert(1)" in page  # shown as text


def test_title_is_escaped_on_the_feed_and_the_post(world, resident, login_as):
    client = login_as(resident)
    compose(client, world.compound_a, "matters", title="<img src=x onerror=alert(1)>")
    for url in (f"/c/{world.compound_a.id}", f"/p/{posts()[0].id}"):
        page = text_of(client.get(url))
        assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


# Editing -----------------------------------------------------------------------------------


def test_author_edits_within_24_hours_and_the_post_says_edited(world, resident, login_as):
    post = make_post(resident, world.compound_a)
    client = login_as(resident)
    assert "已编辑" not in text_of(client.get(f"/p/{post.id}"))
    response = client.post(f"/p/{post.id}/edit", data={"title": "楼道灯已修好", "body": "物业来修过了"})
    assert response.status_code == 302
    page = text_of(client.get(f"/p/{post.id}"))
    assert "楼道灯已修好" in page and "物业来修过了" in page and "已编辑" in page


def test_edit_after_24_hours_is_refused(world, resident, login_as):
    post = make_post(resident, world.compound_a)
    post.created_at -= timedelta(hours=25)
    db.session.commit()
    client = login_as(resident)
    assert client.get(f"/p/{post.id}/edit").status_code == 403
    assert client.post(f"/p/{post.id}/edit", data={"title": "改了", "body": "改了"}).status_code == 403
    assert (post.title, post.edited_at) == ("楼道灯坏了", None)


def test_someone_else_cannot_edit(world, resident, login_as):
    post = make_post(resident, world.compound_a)
    client = login_as(neighbour(world))
    assert client.post(f"/p/{post.id}/edit", data={"title": "改了", "body": "改了"}).status_code == 403
    assert post.title == "楼道灯坏了"


# Deleting ----------------------------------------------------------------------------------


def test_delete_is_soft_and_only_moderators_still_see_the_post(world, resident, secretary, login_as):
    post = make_post(resident, world.compound_a, title="找到一只猫")
    client = login_as(resident)
    response = client.post(f"/p/{post.id}/delete")
    assert response.status_code == 302

    assert db.session.get(Post, post.id).deleted_at is not None
    assert "找到一只猫" not in text_of(client.get(f"/c/{world.compound_a.id}"))
    assert client.get(f"/p/{post.id}").status_code == 404
    assert signed_in(neighbour(world)).get(f"/p/{post.id}").status_code == 404

    staff = signed_in(secretary)
    page = staff.get(f"/p/{post.id}")
    assert page.status_code == 200 and "该帖子已被作者删除" in text_of(page)
    log = text_of(staff.get(f"/c/{world.compound_a.id}/moderation"))
    assert "作者删除帖子" in log and "找到一只猫" in log
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "post.deleted"))
    assert (entry.actor_id, entry.target_id) == (resident.id, post.id)


def test_someone_else_cannot_delete(world, resident, login_as):
    post = make_post(resident, world.compound_a)
    assert login_as(neighbour(world)).post(f"/p/{post.id}/delete").status_code == 403
    assert db.session.get(Post, post.id).deleted_at is None


def test_post_count_follows_create_and_delete(world, resident, login_as):
    client = login_as(resident)
    compose(client, world.compound_a, "matters", title="第一帖")
    compose(client, world.compound_a, "neighbours", title="第二帖")
    assert world.compound_a.post_count == 2
    client.post(f"/p/{posts()[0].id}/delete")
    assert world.compound_a.post_count == 1


def test_deleting_twice_does_not_count_twice(world, resident):
    post = make_post(resident, world.compound_a)
    services.delete_post(resident, post)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.delete_post(resident, post)
    db.session.rollback()
    assert world.compound_a.post_count == 0
