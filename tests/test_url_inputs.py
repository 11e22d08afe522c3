"""Whatever a URL carries (path ids, cursors, filters), a bad value is a 404 or a first page, never a 500."""

import re
from datetime import datetime
from urllib.parse import parse_qsl

import pytest
import sqlalchemy as sa
from board_helpers import make_post, make_reply, neighbour, signed_in
from flask import current_app
from grids_helpers import add_household, add_visit, make_grid, make_grid_worker
from line_helpers import write_to_line

from community_board.board.models import Post
from community_board.extensions import db
from community_board.pagination import decode_cursor, encode_cursor

HUGE_IDS = ["2147483648", "9" * 20]  # past PostgreSQL's INTEGER; past SQLite's int64
PART = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def id_rules():
    """Every route with an id in its path."""
    return [rule for rule in current_app.url_map.iter_rules() if "<int:" in rule.rule]


def url_with(rule, id_value: str) -> str:
    """``rule`` with ``id_value`` in every id and a valid value in every other part."""

    def value(part: re.Match) -> str:
        converter, name = part.groups()
        if converter == "int":
            return id_value
        if converter == "any":
            return sorted(rule._converters[name].items)[0]
        return "neighbours"  # a section key, a join token

    return PART.sub(value, rule.rule)


def test_every_id_route_is_covered():
    rules = [rule.rule for rule in id_rules()]
    assert len(rules) >= 40 and "/p/<int:post_id>" in rules


@pytest.mark.parametrize("id_value", [*HUGE_IDS, "1" + "0" * 5000, "１２"])  # also 5000 digits, full-width digits
def test_a_long_number_in_any_id_route_is_a_404(world, resident, admin, secretary, id_value):
    clients = [signed_in(user) for user in (resident, secretary, admin)]
    answers = set()
    for rule in id_rules():
        url = url_with(rule, id_value)
        method = "GET" if "GET" in rule.methods else "POST"
        answers |= {(client.open(url, method=method).status_code, method, rule.rule) for client in clients}
    assert {status for status, _, _ in answers} == {404}, sorted(a for a in answers if a[0] != 404)


def test_the_largest_id_still_routes(world, resident):
    """2**31 - 1 still reaches the view (and finds nothing): the bound is the column's, not lower."""
    client = signed_in(resident)
    assert client.get("/p/2147483647").status_code == 404
    assert client.get(f"/c/{world.compound_a.id}").status_code == 200
    assert client.get(f"/c/0{world.compound_a.id}").status_code == 200  # a leading zero is still the number


# Cursors --------------------------------------------------------------------------------------

BAD_CURSORS = [
    "garbage",
    "_",
    "2024-01-01T00:00:00_",
    "2024-01-01T00:00:00_99999999999999999999",
    "2024-01-01T00:00:00_2147483648",
    "2024-01-01T00:00:00_-1",
    "2024-01-01T00:00:00_²",
    "2024-01-01T00:00:00_1e5",
    "9999-12-31T23:59:59.999999_1",
    "0001-01-01T00:00:00_1",
    "99999-01-01T00:00:00_1",
    "2024-13-45T00:00:00_1",
    "2024-01-01T00:00:00+08:00_1",
    "2024-W01-1_1",
    "20240101_1",
    "2024-01-01_1",
    "２０２４-01-01T00:00:00_1",
    "x" * 5000,
]


@pytest.fixture
def list_pages(world, resident, secretary, officer, admin):
    """(client, url, cursor parameter) for every list page that pages by keyset."""
    compound = world.compound_a
    post = make_post(resident, compound, title="楼道灯坏了")
    make_reply(secretary, post)
    write_to_line(resident, compound)
    grid = make_grid(secretary, compound, buildings="1-6")
    worker = make_grid_worker(world, grid)
    household = add_household(secretary, grid, "3", "101")
    add_visit(worker, household)
    resident_client, staff_client, officer_client = signed_in(resident), signed_in(secretary), signed_in(officer)
    worker_client = signed_in(worker)
    return [
        (resident_client, f"/c/{compound.id}", "after"),
        (resident_client, f"/c/{compound.id}/s/matters", "after"),
        (resident_client, f"/p/{post.id}", "after"),
        (resident_client, "/messages", "after"),
        (resident_client, "/search?q=楼道", "after"),
        (staff_client, f"/c/{compound.id}/moderation", "after"),
        (staff_client, f"/c/{compound.id}/moderation", "log_after"),
        (staff_client, "/cases?view=open", "after"),
        (staff_client, "/cases?view=overdue", "after"),
        (staff_client, f"/c/{compound.id}/verification", "after"),
        (staff_client, f"/c/{compound.id}/residents", "after"),
        (staff_client, f"/c/{compound.id}/party-members", "after"),
        (staff_client, f"/c/{compound.id}/party-members", "members_after"),
        (officer_client, "/police/questions", "after"),
        (resident_client, "/line", "after"),
        (staff_client, f"/c/{compound.id}/line", "after"),
        (staff_client, f"/c/{compound.id}/line?tab=closed", "after"),
        (staff_client, f"/c/{compound.id}/awaiting", "after"),
        (staff_client, "/cases?view=unsigned", "after"),
        (staff_client, "/cases?view=mine&compound=小区", "after"),
        (worker_client, f"/grids/{grid.id}/month", "after"),
        (worker_client, f"/grids/{grid.id}/posts", "after"),
        (worker_client, f"/grids/{grid.id}/cases", "after"),
        (worker_client, f"/grids/{grid.id}/b/3", "after"),
        (worker_client, f"/households/{household.id}", "after"),
    ]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_bad_cursor_on_any_list_page_gives_the_first_page(list_pages, cursor):
    for client, url, parameter in list_pages:
        path, _, query = url.partition("?")
        response = client.get(path, query_string={**dict(parse_qsl(query)), parameter: cursor})
        assert response.status_code == 200, (url, parameter, response.status_code)


def test_a_cursor_round_trips_and_odd_ones_are_refused():
    moment = datetime(2024, 5, 6, 7, 8, 9, 123456)
    assert decode_cursor(encode_cursor(moment, 42)) == (moment, 42)
    assert decode_cursor(encode_cursor(moment.replace(microsecond=0), 2147483647)) == (
        moment.replace(microsecond=0),
        2147483647,
    )
    for cursor in BAD_CURSORS:
        assert decode_cursor(cursor) is None, cursor


# Other parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize("section", [*HUGE_IDS, "-1", "abc", "²", ""])
def test_search_section_filter_takes_any_text(world, resident, section):
    make_post(resident, world.compound_a, title="楼道灯坏了")
    response = signed_in(resident).get("/search", query_string={"q": "楼道", "section": section})
    assert response.status_code == 200


@pytest.mark.parametrize("parameter", ["q", "scope", "after", "section"])
def test_search_parameters_with_a_nul_byte_are_harmless(world, resident, parameter):
    query = {"q": "楼道", parameter: "楼\x00道"}
    assert signed_in(resident).get("/search", query_string=query).status_code in (200, 400)


def test_similar_posts_with_a_nul_byte_are_harmless(world, resident):
    response = signed_in(resident).get(f"/c/{world.compound_a.id}/similar", query_string={"title": "楼道\x00灯"})
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("value", [*HUGE_IDS, "²", "-1", "x"])
def test_reply_and_report_ids_in_the_query_string_are_harmless(world, resident, value):
    post = make_post(resident, world.compound_a)
    client = signed_in(neighbour(world))
    assert client.get(f"/p/{post.id}", query_string={"reply_to": value}).status_code == 200
    assert client.get(f"/p/{post.id}/report", query_string={"reply": value}).status_code in (200, 404)


@pytest.mark.parametrize("key", ["nope", "x" * 3000, "楼道", "%00"])
def test_an_unknown_section_key_is_a_404(world, resident, key):
    client = signed_in(resident)
    assert client.get(f"/c/{world.compound_a.id}/s/{key}").status_code == 404
    assert client.get(f"/c/{world.compound_a.id}/s/{key}/new").status_code == 404


def test_control_characters_in_typed_text_are_dropped(world, resident):
    """A NUL byte in a form (PostgreSQL refuses it in any text) is dropped, not a 500."""
    response = signed_in(resident).post(
        f"/c/{world.compound_a.id}/s/neighbours/new", data={"title": "花\x00开了", "body": "拍了\x07几张\n第二行"}
    )
    assert response.status_code == 302
    post = db.session.scalar(sa.select(Post))
    assert (post.title, post.body) == ("花开了", "拍了几张\n第二行")
