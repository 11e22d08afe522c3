"""议事厅: once someone voted, the question and its options stay as voted on; corrections go in
补充说明 (text, author, time), shown above the choice and the tally, newest last."""

import re
from html import unescape

import pytest
import sqlalchemy as sa
from civic_helpers import (
    cast,
    field_error,
    flashes,
    fresh,
    open_proposal,
    residents_apart,
    signed_in,
    text_of,
)

from community_board.board import services as board_services
from community_board.board.models import Post
from community_board.compounds.models import Compound
from community_board.deliberation import services
from community_board.deliberation.models import ProposalNote
from community_board.errors import ValidationError
from community_board.extensions import db
from community_board.permissions import PermissionDenied
from community_board.timeutil import format_local

FROZEN = "已有居民投票，议题和选项不能再修改；如需更正，请添加补充说明"
EDIT = {"title": "是否在5号楼旁增设电动车充电桩", "body": "改成5号楼"}


@pytest.fixture
def voted(world, resident):
    """周丽's 议题 with one ballot from a neighbour."""
    proposal = open_proposal(resident, world.compound_a, options=("赞成", "反对"))
    cast(residents_apart(world, world.compound_a, ["吴刚"])[0], proposal, "赞成")
    return proposal


def post_of(proposal) -> Post:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Post, proposal.post_id)


def note_texts(page: str) -> list[str]:
    return [
        unescape(re.sub(r"<[^>]+>", "", body)).strip()
        for body in re.findall(r'<div class="proposal-note__body">(.*?)</div>', page, re.S)
    ]


def board_version(compound) -> int:
    db.session.commit()
    return db.session.scalar(sa.select(Compound.board_version).where(Compound.id == compound.id))


# Frozen once voted on -------------------------------------------------------------------------


def test_once_someone_voted_the_author_cannot_edit_the_question(world, resident, voted):
    client = signed_in(resident)
    page = text_of(client.get(f"/p/{voted.post_id}"))
    assert f'href="/p/{voted.post_id}/edit"' not in page
    assert "添加补充说明" in page

    opened = client.get(f"/p/{voted.post_id}/edit", follow_redirects=True)
    assert FROZEN in flashes(opened)

    refused = client.post(f"/p/{voted.post_id}/edit", data=EDIT)
    assert FROZEN in text_of(refused)
    assert "改成5号楼" in text_of(refused)  # what they typed is still there to copy into a note
    post = post_of(voted)
    assert (post.title, post.body, post.edited_at) == ("是否在3号楼旁增设电动车充电桩", "请大家投票", None)


def test_the_edit_verb_itself_refuses_a_voted_on_question(resident, voted):
    with pytest.raises(ValidationError) as refused:
        board_services.edit_post(resident, post_of(voted), board_services.PostDraft(**EDIT))
    assert refused.value.message == FROZEN


def test_before_any_vote_the_question_may_be_edited_but_never_the_options(world, resident):
    proposal = open_proposal(resident, world.compound_a, options=("赞成", "反对"))
    client = signed_in(resident)
    assert f'href="/p/{proposal.post_id}/edit"' in text_of(client.get(f"/p/{proposal.post_id}"))

    response = client.post(f"/p/{proposal.post_id}/edit", data={**EDIT, "options": "同意\n不同意\n再议"})
    assert response.status_code == 302
    assert post_of(proposal).title == EDIT["title"]
    assert [o.label for o in fresh(proposal).options] == ["赞成", "反对"]


# 补充说明 ----------------------------------------------------------------------------------------


def test_the_author_adds_notes_shown_above_the_choice_newest_last(world, resident, voted):
    client = signed_in(resident)
    assert client.get(f"/p/{voted.post_id}/note").status_code == 200
    for text in ("更正：是5号楼旁，不是3号楼", "费用由维修基金支出 <script>alert(1)</script>"):
        response = client.post(f"/p/{voted.post_id}/note", data={"body": text})
        assert response.status_code == 302
        assert response.location.endswith(f"/p/{voted.post_id}#proposal-notes")

    page = text_of(client.get(f"/p/{voted.post_id}"))
    assert note_texts(page) == ["更正：是5号楼旁，不是3号楼", "费用由维修基金支出 <script>alert(1)</script>"]
    assert "<script>alert(1)" not in page  # cleaned by the one sanitizer
    card = page[page.index('id="proposal"') :]
    assert card.index("data-proposal-note") < card.index('class="vote-form"')
    for note in db.session.scalars(sa.select(ProposalNote)):  # who wrote it, when (Shanghai time)
        assert re.search(rf"周女士.*?· <time[^>]*>{format_local(note.created_at, '%m-%d %H:%M')}</time>", card, re.S)
    assert "已编辑" not in page and post_of(voted).title == "是否在3号楼旁增设电动车充电桩"


def test_notes_show_above_the_tally_once_voting_is_over(world, resident, secretary, voted):
    services.add_note(secretary, voted, "物业已确认施工方案")
    db.session.commit()
    voted = fresh(voted)
    voted.deadline_at = voted.created_at  # the vote is over: the tally shows
    db.session.commit()
    card = text_of(signed_in(resident).get(f"/p/{voted.post_id}"))
    card = card[card.index('id="proposal"') :]
    assert card.index("物业已确认施工方案") < card.index("data-tally")
    assert "李书记" in card


def test_a_note_moves_the_board_version_so_kept_pages_show_it(world, resident, voted):
    client = signed_in(resident)
    assert note_texts(text_of(client.get(f"/p/{voted.post_id}"))) == []  # kept for this viewer
    before = board_version(world.compound_a)

    assert client.post(f"/p/{voted.post_id}/note", data={"body": "补充：施工期两周"}).status_code == 302

    assert board_version(world.compound_a) > before
    assert note_texts(text_of(client.get(f"/p/{voted.post_id}"))) == ["补充：施工期两周"]


@pytest.mark.parametrize(
    "who, status",
    [
        ("secretary", 302),
        ("committee", 302),
        ("officer", 403),
        ("neighbour", 403),
        ("other_compound_resident", 404),
    ],
)
def test_who_may_add_a_note(request, world, voted, who, status):
    user = (
        residents_apart(world, world.compound_a, ["郑强"], building="11")[0]
        if who == "neighbour"
        else request.getfixturevalue(who)
    )
    client = signed_in(user)
    assert client.post(f"/p/{voted.post_id}/note", data={"body": "补充"}).status_code == status
    assert client.get(f"/p/{voted.post_id}/note").status_code == (200 if status == 302 else status)
    page = text_of(client.get(f"/p/{voted.post_id}"))
    assert ("添加补充说明" in page) == (status == 302)


def test_a_refused_note_comes_back_with_what_was_typed(world, resident, voted):
    client = signed_in(resident)
    too_long = "说" * 501
    response = client.post(f"/p/{voted.post_id}/note", data={"body": too_long})
    assert response.status_code == 200
    assert field_error(response, "body") == "最多500个字"
    assert too_long in text_of(response)

    blank = client.post(f"/p/{voted.post_id}/note", data={"body": "   "})
    assert field_error(blank, "body") == "请填写补充说明"
    assert db.session.scalars(sa.select(ProposalNote)).all() == []


def test_notes_are_capped(world, resident, voted):
    for i in range(services.MOST_NOTES):
        services.add_note(resident, voted, f"补充{i}")
    with pytest.raises(ValidationError) as refused:
        services.add_note(resident, voted, "再补充一条")
    assert "最多20条补充说明" in refused.value.message


def test_a_refused_note_says_why(world, voted):
    neighbour = residents_apart(world, world.compound_a, ["郑强"], building="11")[0]
    client = signed_in(neighbour)

    for response in (
        client.get(f"/p/{voted.post_id}/note"),
        client.post(f"/p/{voted.post_id}/note", data={"body": "补充"}),
    ):
        assert response.status_code == 403
        assert "只有议题的发起人和居委会可以添加补充说明" in text_of(response)
    with pytest.raises(PermissionDenied) as refused:
        services.add_note(neighbour, voted, "补充")
    assert refused.value.reason == "只有议题的发起人和居委会可以添加补充说明"
