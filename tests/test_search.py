"""搜索: any text finds exactly the posts that contain it (numbers and Latin words matched whole),
newest first, page by page; what a viewer may not see never appears; new and edited posts are
findable at once and keep their place; 我也遇到."""

import importlib.util
import re
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from board_helpers import signed_in

from community_board.accounts.models import Salutation
from community_board.board import services as board
from community_board.board.queries import section_by_key
from community_board.extensions import db
from community_board.search import services as search
from community_board.search.models import SearchDocument
from community_board.search.segment import index_words


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


@pytest.mark.parametrize(
    "text, expected",
    [
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
    ],
)
def test_words_phrases_and_mixed_text_find_exactly_the_posts_that_contain_them(
    world, resident, board_a, text, expected
):
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
    world, resident, secretary, other_compound_resident, board_a
):
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


@pytest.mark.parametrize(
    "title, body, text",
    [
        ("水电通知", "小区暂停水电两天", "停水"),  # a dictionary cuts 暂停/水电: 停水 is no word of it
        ("菜园", "中心广场变菜园了", "广场变菜园"),
        ("车棚", "自行车棚顶漏雨", "行车棚"),
        ("快递", "快递柜在东门", "递柜在东"),
    ],
)
def test_any_text_a_post_contains_finds_it_however_a_dictionary_would_cut_it(world, resident, title, body, text):
    post(resident, world.compound_a, title, body)
    post(resident, world.compound_a, "无关", "今天天气不错")
    assert titles(resident, text, world.compound_a) == [title]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("5号楼", ["5号楼停电"]),
        ("15号楼", ["15号楼漏水"]),
        ("号楼", ["5号楼停电", "15号楼漏水"]),
        ("wifi", ["wifi密码"]),
        ("wifi6", ["wifi6路由器"]),
        ("wif", []),
    ],
)
def test_numbers_and_latin_words_match_whole_so_5号楼_does_not_find_15号楼(world, resident, text, expected):
    post(resident, world.compound_a, "15号楼漏水", "15号楼顶楼漏水")
    post(resident, world.compound_a, "wifi6路由器", "出一个wifi6路由器")
    post(resident, world.compound_a, "wifi密码", "活动室的wifi连不上")
    post(resident, world.compound_a, "5号楼停电", "5号楼今晚停电")
    assert titles(resident, text, world.compound_a) == expected


def test_one_character_finds_it_anywhere_in_a_word(world, resident):
    post(resident, world.compound_a, "天热记得多喝水", "出门带上杯子")  # 水 ends the run
    post(resident, world.compound_a, "楼下水管爆了", "一楼大厅全湿了")  # 水 inside the run
    post(resident, world.compound_a, "电梯坏了", "困住了")
    post(resident, world.compound_a, "求助", "水")  # a run of one
    assert titles(resident, "水", world.compound_a) == ["求助", "楼下水管爆了", "天热记得多喝水"]
    assert titles(resident, "喝", world.compound_a) == ["天热记得多喝水"]


def test_the_highlight_marks_exactly_what_matched(world, resident, board_a):
    post(resident, world.compound_a, "ＷｉＦｉ密码", "活动室的ＷｉＦｉ")
    client = signed_in(resident)
    page = client.get("/search", query_string={"q": "电梯维修"}).get_data(as_text=True)
    assert "<mark>电梯维修</mark>" in page and "<mark>电梯</mark>" not in page
    page = client.get("/search", query_string={"q": "wifi"}).get_data(as_text=True)
    assert "<mark>ＷｉＦｉ</mark>密码" in page and "<mark>WiFi</mark>也连不上" in page
    assert search.highlight("15号楼和5号楼<b>", ["5号楼"]) == "15号楼和<mark>5号楼</mark>&lt;b&gt;"


def test_results_come_newest_first_page_by_page(world, resident):
    made = [post(resident, world.compound_a, f"电梯第{i}次坏了", "又停了") for i in range(25)]
    client = signed_in(resident)
    page = client.get("/search", query_string={"q": "电梯"}).get_data(as_text=True)
    shown = re.findall(r"电梯第(\d+)次坏了", page.replace("<mark>", "").replace("</mark>", ""))
    more = unescape(re.search(r'href="(/search\?[^"]*after=[^"]*)"', page).group(1))
    page = client.get(more).get_data(as_text=True)
    shown += re.findall(r"电梯第(\d+)次坏了", page.replace("<mark>", "").replace("</mark>", ""))
    assert [int(i) for i in shown] == list(range(len(made)))[::-1]
    assert "没有更多了" in page


@pytest.mark.parametrize("cursor", ["", "abc", "-5", "1.5", "²", "９", "2147483648", "9" * 40, "2026-11-20T08:00:00_5"])
def test_a_bad_cursor_shows_the_first_page(world, resident, board_a, cursor):
    response = signed_in(resident).get("/search", query_string={"q": "电梯", "after": cursor})
    assert response.status_code == 200
    assert "电梯维修公示" in response.get_data(as_text=True).replace("<mark>", "").replace("</mark>", "")


def test_an_edited_post_keeps_its_place_in_the_results(world, resident):
    older = post(resident, world.compound_a, "电梯坏了", "3号楼电梯停了")
    post(resident, world.compound_a, "电梯修好了", "3号楼电梯能用了")
    document_id = db.session.scalar(sa.select(SearchDocument.id).where(SearchDocument.key == f"p{older.id}"))
    board.edit_post(resident, older, board.PostDraft(title="电梯又坏了", body="3号楼电梯又停了"))
    db.session.commit()
    assert titles(resident, "电梯", world.compound_a) == ["电梯修好了", "电梯又坏了"]
    assert titles(resident, "又停", world.compound_a) == ["电梯又坏了"]
    assert db.session.scalar(sa.select(SearchDocument.id).where(SearchDocument.key == f"p{older.id}")) == document_id


def test_similar_posts_are_found_however_a_dictionary_would_cut_them(world, resident):
    post(resident, world.compound_a, "水电通知", "小区暂停水电两天")
    post(resident, world.compound_a, "停车", "车位不够")
    found = signed_in(resident).get(f"/c/{world.compound_a.id}/similar", query_string={"title": "停水了吗"}).get_json()
    assert [p["title"] for p in found["posts"]] == ["水电通知"]


def test_reindex_keeps_everything_findable_in_the_order_it_was_written(app, world, resident, board_a):
    board.add_reply(resident, board_a[1], "电梯今天还是停着")
    db.session.commit()
    post(resident, world.compound_a, "电梯通知", "明天电梯年检")  # a post written after the reply

    def found():
        _words, page = search.search(resident, "电梯", world.compound_a)
        return [(hit.post.title, hit.reply is not None) for hit in page.items]

    before = found()
    assert before == [("电梯通知", False), ("电梯又坏了", True), ("电梯维修公示", False), ("电梯又坏了", False)]
    result = app.test_cli_runner().invoke(args=["search", "reindex", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "Indexed 7 posts and replies." in result.output
    db.session.commit()
    assert found() == before


def _migration(name: str):
    path = Path(__file__).parent.parent / "migrations" / "versions" / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_upgrade_rewrites_the_words_of_existing_documents(world, resident, monkeypatch):
    monkeypatch.setattr(search, "NEWEST_WINDOW", 0)  # through the index alone, whose words are old
    made = post(resident, world.compound_a, "水电通知", "小区暂停水电两天")
    key = f"p{made.id}"
    scope = f"c{world.compound_a.id} s{world.street_a.id}"
    documents = SearchDocument.__table__
    db.session.execute(
        documents.update()
        .where(documents.c.key == key)  # as 0005's jieba index left it
        .values(words=f"{scope} 水电 通知 小区 暂停 水电 两天")
    )
    db.session.commit()
    assert titles(resident, "停水", world.compound_a) == []
    db.session.commit()

    with db.engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
        _migration("0007_search_bigrams.py").upgrade()

    assert titles(resident, "停水", world.compound_a) == ["水电通知"]
    document = db.session.scalar(sa.select(SearchDocument).where(SearchDocument.key == key))
    assert document.words == " ".join([scope, *index_words(document.text)])


@pytest.mark.parametrize("window", [3, 7, 5000])
def test_pages_list_every_match_newest_first_however_the_newest_documents_are_read(
    world, resident, monkeypatch, window
):
    """On PostgreSQL the newest documents are read directly before the full-text index is asked:
    wherever that boundary falls, page after page gives exactly the matches, newest first."""
    monkeypatch.setattr(search, "NEWEST_WINDOW", window)
    made = [
        post(resident, world.compound_a, f"第{i}帖", "明天停水，请储水" if i % 3 else "电梯又坏了") for i in range(14)
    ]
    expected = [p.title for p in reversed(made) if "停水" in p.body]
    shown, cursor = [], None
    for _page in range(10):
        _words, page = search.search(resident, "停水", world.compound_a, cursor=cursor, limit=2)
        shown += [hit.post.title for hit in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert shown == expected
