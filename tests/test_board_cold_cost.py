"""What a board page nobody has seen yet costs: every rendered part forgotten, a fresh session.

In a district most page loads are such first views (thousands of posts, each opened by a few
neighbours), so their query count is fixed and small, whatever the page shows.
"""

from board_helpers import make_post, make_reply, neighbour, signed_in, text_of
from cases_helpers import department_of, new_case, walk
from conftest import count_queries

from community_board import caching
from community_board.cases.models import CaseStatus
from community_board.extensions import db


def first_view(client, url) -> tuple[int, str]:
    """(SQL statements, page text) of a GET when nothing is kept: no rendered part, no loaded object."""
    db.session.commit()
    db.session.expunge_all()
    caching.clear()
    with count_queries() as count:
        response = client.get(url)
        assert response.status_code == 200
    return count(), text_of(response)


def test_a_post_with_replies_to_replies_loads_them_with_their_authors_in_one_query(world, resident):
    """The replies' authors, and the replies they answer with their authors, come with the replies:
    the user, the post, its author, the replies, its vote, its case and the viewer's like."""
    authors = [
        neighbour(world, name=name, room=room)
        for name, room in (("吴刚", "601"), ("郑洁", "602"), ("王芳", "603"), ("赵磊", "604"))
    ]
    post = make_post(authors[0], world.compound_a, title="楼道灯坏了")
    previous = None
    for i in range(12):
        previous = make_reply(authors[i % 4], post, f"第{i}条", reply_to=previous if i % 2 else None)

    statements, text = first_view(signed_in(resident), f"/p/{post.id}")

    assert "第11条" in text and "回复 @" in text
    assert statements == 7


def test_a_feed_whose_cards_show_cases_loads_no_departments_and_no_likes_twice(world, resident, secretary, dept_staff):
    """The user, whether they asked privately, pins, the page, the cards' cases, the street, the
    sections and the viewer's likes: the cards show a case's status, never its departments."""
    department = department_of(dept_staff)
    for i in range(3):
        case = new_case(secretary, resident, title=f"工单帖{i}", departments=[department])
        walk(case, CaseStatus.IN_PROGRESS, filer=secretary, worker=dept_staff, department=department, reporter=resident)
    make_post(neighbour(world), world.compound_a, title="没有工单的帖子")

    statements, text = first_view(signed_in(resident), f"/c/{world.compound_a.id}")

    assert "工单·" in text and "没有工单的帖子" in text
    assert statements == 8
