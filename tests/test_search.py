"""搜索: two-character words, phrases and mixed text find exactly the posts that contain them; what a
viewer may not see never appears; new and edited posts are findable at once; 我也遇到."""
import pytest
from board_helpers import signed_in

from community_board.accounts.models import Salutation
from community_board.board import services as board
from community_board.board.queries import section_by_key
from community_board.extensions import db
from community_board.search import services as search


def post(author, compound, title, body, section="matters", **fields):
    made = board.create_post(author, compound, section_by_key(section), board.PostDraft(title=title, body=body))
    for name, value in fields.items():
        setattr(made, name, value)
    db.session.commit()
    return made


def titles(viewer, text, scope, **options):
    _words, page = search.search(viewer, text, scope, **options)
    return [hit.post.title for hit in page.items]


@pytest.fixture
def board_a(world, resident):
    return [
        post(resident, world.compound_a, "明天停水通知", "5号楼3单元明天上午9点到12点停水，请提前储水。"),
        post(resident, world.compound_a, "电梯又坏了", "12号楼电梯今天又停了，物业什么时候来修？"),
        post(resident, world.compound_a, "广场变菜园了", "中心广场变菜园了，绿化带被挖开种了青菜。"),
        post(resident, world.compound_a, "晚上噪音太大", "楼上装修噪音到晚上十点，WiFi也连不上。"),
        post(resident, world.compound_a, "电梯维修公示", "3号楼电梯维修，时间为下周一。"),
    ]


@pytest.mark.parametrize("text, expected", [
    ("停水", ["明天停水通知"]),
    ("电梯", ["电梯维修公示", "电梯又坏了"]),
    ("物业", ["电梯又坏了"]),
    ("噪音", ["晚上噪音太大"]),
    ("电梯维修", ["电梯维修公示"]),
    ("广场变菜园", ["广场变菜园了"]),
    ("5号楼", ["明天停水通知"]),
    ("3单元", ["明天停水通知"]),
    ("wifi", ["晚上噪音太大"]),
    ("WiFi", ["晚上噪音太大"]),
    ("地铁", []),
])
def test_words_phrases_and_mixed_text_find_exactly_the_posts_that_contain_them(world, resident, board_a, text, expected):
    assert titles(resident, text, world.compound_a) == expected


def test_results_are_highlighted_and_the_empty_state_names_the_query(world, resident, board_a):
    client = signed_in(resident)
    page = client.get("/search", query_string={"q": "停水"}).get_data(as_text=True)
    assert "<mark>停水</mark>" in page
    page = client.get("/search", query_string={"q": "地铁"}).get_data(as_text=True)
    assert "没有找到与“地铁”相关的内容" in page


def test_a_new_or_edited_post_is_findable_at_once(world, resident, board_a):
    fresh = post(resident, world.compound_a, "快递柜坏了", "东门快递柜屏幕黑了")
    assert titles(resident, "快递柜", world.compound_a) == ["快递柜坏了"]
    board.edit_post(resident, fresh, board.PostDraft(title="快递柜修好了", body="东门快递柜已恢复"))
    db.session.commit()
    assert titles(resident, "屏幕", world.compound_a) == []
    assert titles(resident, "恢复", world.compound_a) == ["快递柜修好了"]


def test_replies_are_searched_too(world, resident, board_a):
    board.add_reply(resident, board_a[1], "楼下的垃圾房也该清理了")
    db.session.commit()
    _words, page = search.search(resident, "垃圾房", world.compound_a)
    assert [(hit.post.title, hit.reply is not None) for hit in page.items] == [("电梯又坏了", True)]


def test_hidden_deleted_private_and_other_compound_content_never_appears(
        world, resident, secretary, other_compound_resident, board_a):
    hidden, deleted = board_a[0], board_a[1]
    board.hide(secretary, hidden, "不实信息")
    board.delete_post(resident, deleted)
    asker = world.resident(world.compound_a, name="吴刚", salutation=Salutation.MR, building="12", room="301")
    post(asker, world.compound_a, "电动车被偷了", "昨晚车棚电动车被偷", section="police", is_private=True)
    post(other_compound_resident, world.compound_b, "美罗家园停水", "美罗家园明天停水")
    db.session.commit()

    assert titles(resident, "停水", world.compound_a) == []  # hidden here; the other compound's never
    assert titles(resident, "电梯", world.compound_a) == ["电梯维修公示"]  # the deleted one is gone
    assert titles(resident, "电动车", world.compound_a) == []  # someone else's private question
    assert titles(asker, "电动车", world.compound_a) == ["电动车被偷了"]  # but the asker finds it
    assert titles(secretary, "电动车", world.compound_a) == ["电动车被偷了"]
    assert titles(other_compound_resident, "停水", world.compound_b) == ["美罗家园停水"]


def test_street_staff_search_their_street(world, resident, grid_worker, other_compound_resident, board_a):
    post(other_compound_resident, world.compound_b, "美罗家园停水", "美罗家园明天停水")
    assert titles(grid_worker, "停水", world.street_a) == ["明天停水通知"]
    page = signed_in(grid_worker).get("/search", query_string={"q": "停水"}).get_data(as_text=True)
    page = page.replace("<mark>", "").replace("</mark>", "")
    assert "明天停水通知" in page and "美罗家园停水" not in page


def test_section_filter(world, resident, board_a):
    post(resident, world.compound_a, "出闲置电梯卡套", "全新", section="neighbours")
    matters = section_by_key("matters")
    assert titles(resident, "电梯", world.compound_a, section_id=matters.id) == ["电梯维修公示", "电梯又坏了"]


def test_similar_open_posts_while_composing_and_me_too(world, resident, board_a):
    neighbour = world.resident(world.compound_a, name="吴刚", salutation=Salutation.MR, building="12", room="301")
    client = signed_in(neighbour)
    found = client.get(f"/c/{world.compound_a.id}/similar", query_string={"title": "电梯坏了"}).get_json()
    assert [p["title"] for p in found["posts"]] == ["电梯维修公示", "电梯又坏了"]

    broken = board_a[1]
    response = client.post(f"/p/{broken.id}/me-too", headers={"Accept": "application/json"})
    assert response.get_json() == {"affected": 1}
    assert client.post(f"/p/{broken.id}/me-too", headers={"Accept": "application/json"}).status_code == 409
    assert "1户也遇到" in client.get(f"/p/{broken.id}").get_data(as_text=True)


def test_the_author_household_cannot_say_me_too(world, resident, board_a):
    response = signed_in(resident).post(f"/p/{board_a[1].id}/me-too", headers={"Accept": "application/json"})
    assert response.status_code == 409 and "您家" in response.get_json()["error"]
