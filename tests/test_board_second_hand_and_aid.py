"""闲置物品 (price, condition, 在售/已预订/已出) and 互助 (求助/帮忙, 已解决, thanks)."""

import itertools
import re

import pytest
from board_helpers import (
    card_titles,
    field_error,
    flashes,
    load_more_href,
    make_post,
    make_reply,
    neighbour,
    signed_in,
    text_of,
)

from community_board.board import services
from community_board.board.models import AidStatus, TradeStatus
from community_board.errors import ValidationError
from community_board.extensions import db
from community_board.permissions import PermissionDenied


def compose(client, compound, key, **data):
    return client.post(f"/c/{compound.id}/s/{key}/new", data={"title": "儿童自行车", "body": "九成新", **data})


def sell(seller, compound, title="儿童自行车", **fields):
    fields = {"price_yuan": "50", "condition": "used", **fields}
    return make_post(seller, compound, "second_hand", title=title, body="孩子大了用不上", **fields)


# 闲置物品 -------------------------------------------------------------------------------------


def test_second_hand_needs_a_price_or_free(world, resident, login_as):
    response = compose(login_as(resident), world.compound_a, "second_hand", condition="used")
    assert field_error(response, "price_yuan") == "请填写价格，或勾选“免费送”"
    assert world.compound_a.post_count == 0


def test_second_hand_price_must_be_a_number(world, resident, login_as):
    response = compose(login_as(resident), world.compound_a, "second_hand", price_yuan="五十", condition="used")
    assert field_error(response, "price_yuan") == NOT_A_NUMBER


NOT_A_NUMBER, OUT_OF_RANGE = "价格请填写数字，最多两位小数，如 50 或 12.5", "价格应在0到100万元之间"


@pytest.mark.parametrize(
    "price, messages",
    [
        ("-5", {NOT_A_NUMBER, OUT_OF_RANGE}),
        ("2000000", {OUT_OF_RANGE}),
        ("nan", {NOT_A_NUMBER}),
        ("inf", {NOT_A_NUMBER, OUT_OF_RANGE}),  # float() accepts these: infinity
        ("1e999", {NOT_A_NUMBER, OUT_OF_RANGE}),
    ],
)
def test_impossible_prices_get_a_message(world, resident, login_as, price, messages):
    response = compose(login_as(resident), world.compound_a, "second_hand", price_yuan=price, condition="used")
    assert response.status_code == 200
    assert field_error(response, "price_yuan") in messages


def test_second_hand_needs_a_condition(world, resident, login_as):
    response = compose(login_as(resident), world.compound_a, "second_hand", price_yuan="50")
    assert field_error(response, "condition") == "请选择成色"
    assert field_error(response, "price_yuan") is None
    assert world.compound_a.post_count == 0


def test_free_item_needs_no_price(world, resident, login_as):
    response = compose(login_as(resident), world.compound_a, "second_hand", is_free="y", condition="like_new")
    assert response.status_code == 302


def test_prices_show_in_yuan_or_as_free(world, resident, login_as):
    sell(resident, world.compound_a, title="书架", price_yuan="50")
    sell(resident, world.compound_a, title="台灯", price_yuan="12.5")
    sell(resident, world.compound_a, title="旧报纸", is_free=True, price_yuan="")
    page = text_of(login_as(resident).get(f"/c/{world.compound_a.id}/s/second_hand"))
    assert "¥50<" in page and "¥12.50<" in page and "免费送<" in page


ALLOWED = {
    (TradeStatus.AVAILABLE, TradeStatus.RESERVED),
    (TradeStatus.AVAILABLE, TradeStatus.GONE),
    (TradeStatus.RESERVED, TradeStatus.AVAILABLE),
    (TradeStatus.RESERVED, TradeStatus.GONE),
}


@pytest.mark.parametrize("start, target", list(itertools.product(TradeStatus, TradeStatus)))
def test_trade_status_transitions(world, resident, start, target):
    post = sell(resident, world.compound_a)
    post.trade_status = start
    db.session.commit()
    if (start, target) in ALLOWED:
        services.set_trade_status(resident, post, target)
        assert post.trade_status is target
    else:
        with pytest.raises(ValidationError, match=f"“{start.label}”不能改为“{target.label}”"):
            services.set_trade_status(resident, post, target)


def test_seller_walks_an_item_to_gone_and_cannot_reopen_it(world, resident, login_as):
    post = sell(resident, world.compound_a)
    client = login_as(resident)
    for status, label in [("reserved", "已预订"), ("available", "在售"), ("reserved", "已预订"), ("gone", "已出")]:
        response = client.post(f"/p/{post.id}/trade-status", data={"status": status}, follow_redirects=True)
        assert f"已改为“{label}”" in flashes(response)
    response = client.post(f"/p/{post.id}/trade-status", data={"status": "available"}, follow_redirects=True)
    assert "“已出”不能改为“在售”" in flashes(response)
    assert post.trade_status is TradeStatus.GONE


def test_only_the_seller_changes_the_status(world, resident, secretary, login_as):
    post = sell(resident, world.compound_a)
    assert login_as(neighbour(world)).post(f"/p/{post.id}/trade-status", data={"status": "gone"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.set_trade_status(secretary, post, TradeStatus.GONE)
    assert post.trade_status is TradeStatus.AVAILABLE


def test_only_available_filter(world, resident, login_as):
    sell(resident, world.compound_a, title="在售的书架")
    services.set_trade_status(resident, sell(resident, world.compound_a, title="预订的台灯"), TradeStatus.RESERVED)
    services.set_trade_status(resident, sell(resident, world.compound_a, title="出掉的沙发"), TradeStatus.GONE)
    db.session.commit()
    client = login_as(resident)
    url = f"/c/{world.compound_a.id}/s/second_hand"
    assert sorted(card_titles(client.get(url))) == sorted(["在售的书架", "预订的台灯", "出掉的沙发"])
    assert card_titles(client.get(url + "?available=1")) == ["在售的书架"]


def test_only_available_filter_is_kept_by_load_more(world, resident, login_as):
    for i in range(22):
        sell(resident, world.compound_a, title=f"在售{i:02d}")
    services.set_trade_status(resident, sell(resident, world.compound_a, title="已出的"), TradeStatus.GONE)
    db.session.commit()
    client = login_as(resident)
    first = client.get(f"/c/{world.compound_a.id}/s/second_hand?available=1")
    second = client.get(load_more_href(first))
    assert sorted(card_titles(first) + card_titles(second)) == [f"在售{i:02d}" for i in range(22)]


def test_editing_the_title_keeps_the_price(world, resident, login_as):
    post = sell(resident, world.compound_a, title="钢琴", price_yuan="12345.67")
    assert post.price_label == "¥12345.67"
    client = login_as(resident)
    form = text_of(client.get(f"/p/{post.id}/edit"))
    shown = re.search(r'<input [^>]*id="price_yuan"[^>]*value="([^"]*)"', form).group(1)
    assert shown == "12345.67"
    client.post(
        f"/p/{post.id}/edit",
        data={"title": "钢琴（可小刀）", "body": "九成新", "price_yuan": shown, "condition": "used"},
    )
    assert (post.title, post.price_label) == ("钢琴（可小刀）", "¥12345.67")


# 互助 -----------------------------------------------------------------------------------------


def ask_for_help(author, compound, title="求助搬柜子"):
    return make_post(author, compound, "mutual_aid", title=title, body="周六上午需要两个人", aid_kind="request")


def test_mutual_aid_needs_request_or_offer(world, resident, login_as):
    client = login_as(resident)
    assert field_error(compose(client, world.compound_a, "mutual_aid"), "aid_kind") == "请选择求助还是帮忙"
    assert compose(client, world.compound_a, "mutual_aid", aid_kind="offer").status_code == 302


def test_marking_fulfilled_counts_as_solved_once(world, resident, login_as):
    post = ask_for_help(resident, world.compound_a)
    client = login_as(resident)
    response = client.post(f"/p/{post.id}/fulfilled", data={"helper": "", "note": ""}, follow_redirects=True)
    assert "已标记为已解决" in flashes(response)
    assert post.aid_status is AidStatus.FULFILLED and world.compound_a.solved_count == 1
    response = client.post(f"/p/{post.id}/fulfilled", data={"helper": ""}, follow_redirects=True)
    assert "这条互助已经标记为已解决" in flashes(response)
    assert world.compound_a.solved_count == 1


def test_only_the_author_marks_fulfilled(world, resident, login_as):
    post = ask_for_help(resident, world.compound_a)
    assert login_as(neighbour(world)).post(f"/p/{post.id}/fulfilled", data={"helper": ""}).status_code == 403
    assert world.compound_a.solved_count == 0


def test_thanking_someone_who_did_not_reply_is_refused(world, resident, login_as):
    post = ask_for_help(resident, world.compound_a)
    stranger = neighbour(world)
    response = login_as(resident).post(
        f"/p/{post.id}/fulfilled", data={"helper": str(stranger.id)}, follow_redirects=True
    )
    assert "只能感谢在帖子下回复过的邻居" in flashes(response)
    assert post.aid_status is AidStatus.OPEN and post.thanked_user_id is None
    assert world.compound_a.solved_count == 0


def test_thanks_to_a_helper_who_replied_shows_on_the_post(world, resident, login_as):
    post = ask_for_help(resident, world.compound_a)
    helper = neighbour(world, name="吴刚")
    make_reply(helper, post, "我周六有空，来帮你")
    response = login_as(resident).post(
        f"/p/{post.id}/fulfilled", data={"helper": str(helper.id), "note": "谢谢帮我搬柜子"}
    )
    assert response.status_code == 302
    assert world.compound_a.solved_count == 1
    page = text_of(signed_in(neighbour(world, name="郑洁", room="602")).get(f"/p/{post.id}"))
    assert "楼主感谢了 吴先生：“谢谢帮我搬柜子”" in page
    assert '<span class="tag tag_status">已解决</span>' in page
