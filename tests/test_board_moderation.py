"""Reports and the secretary's moderation: queue, hide/restore, dismiss, pin, who may, the audit trail."""

import pytest
import sqlalchemy as sa
from board_helpers import (
    card_titles,
    flashes,
    make_post,
    make_reply,
    neighbour,
    signed_in,
    text_of,
)

from community_board.audit import AuditEntry
from community_board.board import services
from community_board.board.models import Post, Reply, Report, ReportReason, ReportStatus
from community_board.extensions import db
from community_board.notifications.models import Notification, NotificationKind

HIDDEN_NOTE = "该内容已被居委会隐藏。原因："


@pytest.fixture
def spam(world, resident):
    """A post by 周丽 (the resident) with a reply of hers."""
    post = make_post(resident, world.compound_a, title="低价装修找我", body="加微信 abc123")
    reply = make_reply(resident, post, "私聊优惠")
    return post, reply


@pytest.fixture
def reporters(world):
    return neighbour(world, name="吴刚"), neighbour(world, name="郑洁", room="602")


def file_reports(post, reply, reporters):
    """Both neighbours report the post; the first also reports the reply."""
    first, second = reporters
    services.report(first, post, ReportReason.ADVERTISING)
    services.report(second, post, ReportReason.RUMOUR, "不是真的")
    services.report(first, post, ReportReason.ABUSE, reply=reply)
    db.session.commit()


def kinds(user):
    return list(
        db.session.scalars(
            sa.select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def audit_actions():
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


# Reporting ------------------------------------------------------------------------------------


def test_resident_reports_a_post_and_a_reply(world, spam, reporters):
    post, reply = spam
    client = signed_in(reporters[0])
    form = text_of(client.get(f"/p/{post.id}/report"))
    assert all(reason.label in form for reason in ReportReason)
    response = client.post(
        f"/p/{post.id}/report", data={"reason": "advertising", "detail": "广告"}, follow_redirects=True
    )
    assert "举报已提交，居委会会尽快处理" in flashes(response)
    assert client.post(f"/p/{post.id}/report?reply={reply.id}", data={"reason": "abuse"}).status_code == 302
    rows = db.session.execute(sa.select(Report.reply_id, Report.reason, Report.status).order_by(Report.id)).all()
    assert rows == [
        (None, ReportReason.ADVERTISING, ReportStatus.OPEN),
        (reply.id, ReportReason.ABUSE, ReportStatus.OPEN),
    ]


def test_duplicate_report_gets_a_clear_message(world, spam, reporters):
    post, _ = spam
    client = signed_in(reporters[0])
    client.post(f"/p/{post.id}/report", data={"reason": "advertising"})
    response = client.post(f"/p/{post.id}/report", data={"reason": "rumour"})
    assert response.status_code == 200
    assert "您已经举报过，居委会会尽快处理" in text_of(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 1


def test_report_needs_a_reason(world, spam, reporters):
    response = signed_in(reporters[0]).post(f"/p/{spam[0].id}/report", data={"detail": "看着不对"})
    assert "请选择举报原因" in text_of(response)


def test_queue_lists_open_reports(world, spam, reporters, secretary):
    file_reports(*spam, reporters)
    page = text_of(signed_in(secretary).get(f"/c/{world.compound_a.id}/moderation"))
    assert page.count("低价装修找我") == 3
    assert "回复：私聊优惠" in page
    assert "广告营销" in page and "不实信息" in page and "人身攻击、辱骂" in page
    assert "说明：不是真的" in page


# Hide, restore, dismiss ----------------------------------------------------------------------


def test_hidden_post_shows_the_reason_instead_of_the_body(world, spam, reporters, resident, secretary):
    post, _ = spam
    file_reports(*spam, reporters)
    staff = signed_in(secretary)
    response = staff.post(f"/p/{post.id}/hide", data={"reason": "商业广告"}, follow_redirects=True)
    assert "已隐藏" in flashes(response)

    reader = signed_in(reporters[0])
    page = text_of(reader.get(f"/p/{post.id}"))
    assert HIDDEN_NOTE + "商业广告" in page
    assert "加微信" not in page
    assert "低价装修找我" not in card_titles(reader.get(f"/c/{world.compound_a.id}"))

    assert kinds(resident)[-1] is NotificationKind.POST_HIDDEN
    assert kinds(reporters[0]) == kinds(reporters[1]) == [NotificationKind.REPORT_HANDLED]
    queue = text_of(staff.get(f"/c/{world.compound_a.id}/moderation"))
    assert "说明：不是真的" not in queue  # both post reports left the queue…
    assert "回复：私聊优惠" in queue  # …the report of the reply is still open
    statuses = db.session.scalars(sa.select(Report.status).where(Report.reply_id.is_(None)))
    assert set(statuses) == {ReportStatus.UPHELD}


def test_hidden_post_title_is_not_shown_to_residents(world, spam, secretary):
    """The title can be the offending part: it goes with the body, also from the browser tab's <title>."""
    post, _ = spam
    signed_in(secretary).post(f"/p/{post.id}/hide", data={"reason": "商业广告"})
    page = text_of(signed_in(neighbour(world)).get(f"/p/{post.id}"))
    assert HIDDEN_NOTE + "商业广告" in page
    assert "低价装修找我" not in page


def test_hide_needs_a_reason(world, spam, secretary):
    post, _ = spam
    response = signed_in(secretary).post(f"/p/{post.id}/hide", data={"reason": " "}, follow_redirects=True)
    assert "请填写隐藏原因" in flashes(response)
    assert db.session.get(Post, post.id).hidden_at is None


def test_hidden_reply_shows_its_reason(world, spam, reporters, secretary):
    post, reply = spam
    file_reports(*spam, reporters)
    signed_in(secretary).post(f"/p/{post.id}/hide?reply={reply.id}", data={"reason": "广告"})
    page = text_of(signed_in(reporters[1]).get(f"/p/{post.id}"))
    assert "该回复已被隐藏。原因：广告" in page and "私聊优惠" not in page
    assert "加微信" in page  # the post itself stays
    assert kinds(reporters[0]) == [NotificationKind.REPORT_HANDLED]
    assert kinds(reporters[1]) == []  # did not report the reply


def test_restore_brings_the_post_back(world, spam, reporters, secretary):
    post, _ = spam
    staff = signed_in(secretary)
    staff.post(f"/p/{post.id}/hide", data={"reason": "商业广告"})
    response = staff.post(f"/p/{post.id}/restore", follow_redirects=True)
    assert "已恢复显示" in flashes(response)
    reader = signed_in(reporters[0])
    page = text_of(reader.get(f"/p/{post.id}"))
    assert "加微信" in page and HIDDEN_NOTE not in page
    assert "低价装修找我" in card_titles(reader.get(f"/c/{world.compound_a.id}"))


def test_dismiss_keeps_the_content_and_tells_the_reporter(world, spam, reporters, resident, secretary):
    post, _ = spam
    file_reports(*spam, reporters)
    staff = signed_in(secretary)
    response = staff.post(f"/p/{post.id}/dismiss", follow_redirects=True)
    assert "已驳回举报，内容保留" in flashes(response)
    assert db.session.get(Post, post.id).hidden_at is None
    assert kinds(reporters[1]) == [NotificationKind.REPORT_HANDLED]
    text = db.session.scalar(sa.select(Notification.text).where(Notification.user_id == reporters[1].id))
    assert "未发现问题" in text
    assert NotificationKind.POST_HIDDEN not in kinds(resident)
    assert "说明：不是真的" not in text_of(staff.get(f"/c/{world.compound_a.id}/moderation"))


# Pin --------------------------------------------------------------------------------------------


def test_pin_puts_the_post_first_and_unpin_takes_it_back(world, resident, secretary):
    oldest = make_post(secretary, world.compound_a, "notice", title="停水通知")
    make_post(resident, world.compound_a, title="楼道灯坏了")
    make_post(resident, world.compound_a, title="谁家的猫")
    staff, reader = signed_in(secretary), signed_in(resident)
    feed = f"/c/{world.compound_a.id}"

    staff.post(f"/p/{oldest.id}/pin")
    response = reader.get(feed)
    assert card_titles(response) == ["停水通知", "谁家的猫", "楼道灯坏了"]
    first_card = text_of(response).split('<article class="post-card')[1]
    assert "置顶" in first_card

    staff.post(f"/p/{oldest.id}/unpin")
    response = reader.get(feed)
    assert card_titles(response) == ["谁家的猫", "楼道灯坏了", "停水通知"]
    assert "tag_pinned" not in text_of(response)


# Who may moderate ------------------------------------------------------------------------------


def test_committee_staff_may_moderate(world, spam, committee):
    post, _ = spam
    client = signed_in(committee)
    assert client.get(f"/c/{world.compound_a.id}/moderation").status_code == 200
    assert client.post(f"/p/{post.id}/hide", data={"reason": "广告"}).status_code == 302
    assert db.session.get(Post, post.id).hidden_reason == "广告"


@pytest.mark.parametrize("who, status", [("resident", 403), ("other_secretary", 404)])
def test_moderation_is_closed_to_residents_and_other_compounds(request, world, spam, who, status):
    post, _ = spam
    client = signed_in(request.getfixturevalue(who))
    assert client.get(f"/c/{world.compound_a.id}/moderation").status_code == status
    for verb in ["hide", "restore", "dismiss", "pin", "unpin", "lock", "unlock"]:
        assert client.post(f"/p/{post.id}/{verb}", data={"reason": "x"}).status_code == status
    assert db.session.get(Post, post.id).hidden_at is None
    assert audit_actions() == []


def test_every_moderation_action_is_audited_and_nothing_is_deleted(world, spam, reporters, secretary):
    post, reply = spam
    file_reports(*spam, reporters)
    staff = signed_in(secretary)
    steps = [
        ("hide", "", {"reason": "广告"}),
        ("restore", "", {}),
        ("hide", f"?reply={reply.id}", {"reason": "广告"}),
        ("restore", f"?reply={reply.id}", {}),
        ("dismiss", "", {}),
        ("pin", "", {}),
        ("unpin", "", {}),
        ("lock", "", {}),
        ("unlock", "", {}),
    ]
    for verb, query, data in steps:
        assert staff.post(f"/p/{post.id}/{verb}{query}", data=data).status_code == 302
    assert audit_actions() == [
        "post.hidden",
        "post.restored",
        "reply.hidden",
        "reply.restored",
        "reports.dismissed",
        "post.pinned",
        "post.unpinned",
        "post.locked",
        "post.unlocked",
    ]
    assert db.session.get(Post, post.id) is not None and db.session.get(Reply, reply.id) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 3
    log = text_of(staff.get(f"/c/{world.compound_a.id}/moderation"))
    assert "隐藏帖子" in log and "驳回举报" in log and "置顶帖子" in log
