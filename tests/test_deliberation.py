"""议事厅: opening a proposal, one vote per resident or household (enforced by the database, also
when two requests arrive at once), changing the vote until the deadline, closing at the deadline,
the tally hidden or shown, turnout against the electorate and the threshold, the outcome."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from civic_helpers import (
    ballot_rows,
    case_type,
    cast,
    counts,
    field_error,
    flashes,
    fresh,
    household,
    open_proposal,
    option_id,
    pass_deadline,
    proposal_form,
    residents_apart,
    section,
    signed_in,
    tally_shown,
    text_of,
    vote_over_http,
)
from sqlalchemy.exc import IntegrityError

from community_board.audit import AuditEntry
from community_board.board.models import AuthorRole, Post
from community_board.board.services import PostDraft
from community_board.cases.models import Case
from community_board.deliberation import services
from community_board.deliberation.models import Ballot, Electorate, Outcome, Proposal
from community_board.errors import ValidationError
from community_board.extensions import db
from community_board.permissions import Decision, PermissionDenied
from community_board.timeutil import format_local, utcnow

DEFAULT = ["赞成", "反对", "弃权"]


def new_url(compound):
    return f"/c/{compound.id}/s/deliberation/new"


def proposals() -> list[Proposal]:
    db.session.commit()
    return list(db.session.scalars(sa.select(Proposal).order_by(Proposal.id)))


def post_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Post))


def minute(moment):
    return moment.replace(second=0, microsecond=0)


# Opening a proposal -------------------------------------------------------------------------------


def test_a_resident_opens_a_proposal_with_the_default_options(world, resident):
    client = signed_in(resident)
    deadline = utcnow() + timedelta(days=3, hours=5)
    response = client.post(new_url(world.compound_a), data=proposal_form(deadline=deadline))

    assert response.status_code == 302
    [proposal] = proposals()
    assert response.location.endswith(f"/p/{proposal.post_id}")
    assert [o.label for o in proposal.options] == DEFAULT
    assert proposal.electorate is Electorate.RESIDENTS
    assert proposal.show_tally_early is False and proposal.turnout_threshold is None
    assert proposal.ballot_count == 0 and proposal.closed_at is None and proposal.outcome is None
    # The form's time is Shanghai time; it is kept in UTC.
    assert proposal.deadline_at == minute(deadline)
    post = db.session.get(Post, proposal.post_id)
    assert (post.section.key, post.author_id, post.compound_id) == ("deliberation", resident.id, world.compound_a.id)

    page = text_of(client.get(f"/p/{proposal.post_id}"))
    assert "是否在3号楼旁增设电动车充电桩" in page
    assert "投票中" in page and "每位认证居民一票" in page
    assert f"截止时间 {format_local(proposal.deadline_at)}" in page
    for label in DEFAULT:
        assert f'value="{option_id(proposal, label)}"' in page and f"<span>{label}</span>" in page


def test_custom_options_one_vote_per_household_a_live_tally_and_a_threshold(world, resident):
    client = signed_in(resident)
    response = client.post(
        new_url(world.compound_a),
        data=proposal_form(
            title="广场舞时间调整",
            options="周一晚上\n\n  周三晚上  \n周五晚上\n",
            electorate="households",
            show_tally_early=True,
            threshold=50,
        ),
    )

    assert response.status_code == 302
    [proposal] = proposals()
    assert [o.label for o in proposal.options] == ["周一晚上", "周三晚上", "周五晚上"]
    assert proposal.electorate is Electorate.HOUSEHOLDS
    assert proposal.show_tally_early is True and proposal.turnout_threshold == 50
    page = text_of(client.get(f"/p/{proposal.post_id}"))
    assert "每户一票" in page and "参与率需达到 50%" in page


def test_staff_may_open_a_proposal_too(world, secretary):
    response = signed_in(secretary).post(new_url(world.compound_a), data=proposal_form())
    assert response.status_code == 302
    [proposal] = proposals()
    assert db.session.get(Post, proposal.post_id).author_role is AuthorRole.SECRETARY


@pytest.mark.parametrize("who, status", [("pending_resident", 403), ("other_compound_resident", 404)])
def test_who_may_not_open_a_proposal(request, world, who, status):
    client = signed_in(request.getfixturevalue(who))
    assert client.post(new_url(world.compound_a), data=proposal_form()).status_code == status
    assert proposals() == [] and post_count() == 0


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"deadline": timedelta(minutes=10)}, "deadline", "截止时间至少在半小时以后"),
        ({"deadline": timedelta(days=91)}, "deadline", "投票期最长90天"),
        ({"options": "赞成\n反对\n赞成"}, "options", "选项不能重复"),
        ({"options": "赞成\n 赞成 "}, "options", "选项不能重复"),
        ({"options": "赞成"}, "options", "至少需要两个选项"),
        ({"options": "\n".join(f"方案{i}" for i in range(11))}, "options", "最多10个选项"),
        ({"threshold": 0}, "turnout_threshold", "请填写1到100之间的数字"),
        ({"threshold": 101}, "turnout_threshold", "请填写1到100之间的数字"),
    ],
)
def test_a_proposal_the_rules_refuse_shows_why_and_nothing_is_saved(world, resident, changes, field, message):
    fields = dict(changes)
    if "deadline" in fields:
        fields["deadline"] = utcnow() + fields["deadline"]
    response = signed_in(resident).post(new_url(world.compound_a), data=proposal_form(**fields))

    assert response.status_code == 200
    assert field_error(response, field) == message
    assert proposals() == [] and post_count() == 0


def test_a_deadline_is_required(world, resident):
    data = proposal_form()
    data["deadline"] = ""
    response = signed_in(resident).post(new_url(world.compound_a), data=data)
    assert field_error(response, "deadline") == "请选择截止时间"
    assert proposals() == []


def test_a_deadline_in_the_year_1_is_told_not_failed(world, resident):
    data = proposal_form()
    data["deadline"] = "0001-01-01T08:00"  # no UTC moment comes before it
    response = signed_in(resident).post(new_url(world.compound_a), data=data)
    assert response.status_code == 200
    assert field_error(response, "deadline") == "请选择2000年至2100年之间的日期"
    assert proposals() == []


def test_deadlines_just_inside_the_limits_are_accepted(world, resident):
    client = signed_in(resident)
    for title, ahead in (("四十分钟后截止", timedelta(minutes=40)), ("八十九天后截止", timedelta(days=89))):
        assert (
            client.post(
                new_url(world.compound_a), data=proposal_form(title=title, deadline=utcnow() + ahead)
            ).status_code
            == 302
        )
    assert len(proposals()) == 2


@pytest.mark.parametrize(
    "draft_changes, field, message",
    [
        ({"turnout_threshold": 0}, "turnout_threshold", "参与率门槛应在1%到100%之间"),
        ({"turnout_threshold": 101}, "turnout_threshold", "参与率门槛应在1%到100%之间"),
        ({"options": ["同意", "同意 "]}, "options", "选项不能重复"),
        ({"options": ["只有一个"]}, "options", "至少需要两个选项"),
        ({"options": ["甲", "乙" * 31]}, "options", "每个选项最多30个字"),
        ({"deadline_at": timedelta(minutes=29)}, "deadline", "截止时间至少在半小时以后"),
        ({"deadline_at": timedelta(days=90, minutes=5)}, "deadline", "投票期最长90天"),
    ],
)
def test_the_service_checks_the_same_rules(world, resident, draft_changes, field, message):
    fields = {"options": [], "electorate": Electorate.RESIDENTS, "deadline_at": timedelta(days=3), **draft_changes}
    fields["deadline_at"] = utcnow() + fields["deadline_at"]
    with pytest.raises(ValidationError) as refused:
        services.open_proposal(
            resident,
            world.compound_a,
            section("deliberation"),
            PostDraft(title="议题", body="背景"),
            services.ProposalDraft(**fields),
        )
    assert (refused.value.field, refused.value.message) == (field, message)


def test_residents_discuss_under_a_proposal_like_any_post(world, resident):
    proposal = open_proposal(resident, world.compound_a)
    neighbour = residents_apart(world, world.compound_a, ["吴刚"])[0]
    response = signed_in(neighbour).post(f"/p/{proposal.post_id}/reply", data={"body": "支持，楼道充电太危险"})
    assert response.status_code == 302
    assert "支持，楼道充电太危险" in text_of(signed_in(resident).get(f"/p/{proposal.post_id}"))


# Voting ---------------------------------------------------------------------------------------------


def test_a_resident_votes_once_and_may_change_the_vote_until_the_deadline(world, resident):
    proposal = open_proposal(resident, world.compound_a)
    voter = residents_apart(world, world.compound_a, ["吴刚"])[0]
    client = signed_in(voter)

    response = vote_over_http(client, proposal, "赞成", follow=True)
    assert "已投票，截止前可以修改" in flashes(response)
    assert counts(proposal) == {"赞成": 1, "反对": 0, "弃权": 0}
    assert fresh(proposal).ballot_count == 1
    page = text_of(client.get(f"/p/{proposal.post_id}"))
    assert "修改投票" in page and f'value="{option_id(proposal, "赞成")}" checked' in page

    vote_over_http(client, proposal, "赞成")  # the same choice again changes nothing
    assert counts(proposal) == {"赞成": 1, "反对": 0, "弃权": 0}

    vote_over_http(client, proposal, "反对")
    assert counts(proposal) == {"赞成": 0, "反对": 1, "弃权": 0}
    vote_over_http(client, proposal, "弃权")
    assert counts(proposal) == {"赞成": 0, "反对": 0, "弃权": 1}

    [ballot] = ballot_rows(proposal)
    assert ballot.voter_id == voter.id and ballot.voter_key == f"u{voter.id}"
    assert ballot.option_id == option_id(proposal, "弃权") and ballot.updated_at is not None
    assert fresh(proposal).ballot_count == 1


def test_every_resident_of_a_household_votes_when_each_resident_has_a_vote(world, resident):
    proposal = open_proposal(resident, world.compound_a, electorate=Electorate.RESIDENTS)
    first, second = household(world, world.compound_a, ["王芳", "王磊"])
    assert first.household_id == second.household_id is not None
    vote_over_http(signed_in(first), proposal, "赞成")
    vote_over_http(signed_in(second), proposal, "反对")
    assert counts(proposal) == {"赞成": 1, "反对": 1, "弃权": 0}
    assert fresh(proposal).ballot_count == 2


def test_one_vote_per_household_the_second_member_is_told_the_family_voted(world, resident):
    proposal = open_proposal(resident, world.compound_a, electorate=Electorate.HOUSEHOLDS)
    first, second = household(world, world.compound_a, ["王芳", "王磊"])
    elsewhere = residents_apart(world, world.compound_a, ["吴刚"])[0]
    assert first.household_id == second.household_id != elsewhere.household_id

    vote_over_http(signed_in(first), proposal, "赞成")
    response = vote_over_http(signed_in(second), proposal, "反对", follow=True)
    assert "您家已由其他家庭成员投票" in flashes(response)
    assert counts(proposal) == {"赞成": 1, "反对": 0, "弃权": 0}
    assert fresh(proposal).ballot_count == 1

    # The member who voted may still change the household's vote; another household votes too.
    vote_over_http(signed_in(first), proposal, "弃权")
    vote_over_http(signed_in(elsewhere), proposal, "反对")
    assert counts(proposal) == {"赞成": 0, "反对": 1, "弃权": 1}
    rows = ballot_rows(proposal)
    assert sorted(b.voter_key for b in rows) == sorted([f"h{first.household_id}", f"h{elsewhere.household_id}"])
    assert fresh(proposal).ballot_count == 2

    with pytest.raises(ValidationError, match="您家已由其他家庭成员投票"):
        services.vote(second, fresh(proposal), option_id(proposal, "赞成"))
    db.session.rollback()
    assert counts(proposal) == {"赞成": 0, "反对": 1, "弃权": 1}


def test_the_database_refuses_a_second_ballot_for_the_same_voter(world, resident):
    proposal = open_proposal(resident, world.compound_a)
    cast(resident, proposal, "赞成")
    db.session.add(
        Ballot(
            proposal_id=proposal.id,
            option_id=option_id(proposal, "反对"),
            voter_id=resident.id,
            voter_key=f"u{resident.id}",
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert len(ballot_rows(proposal)) == 1


def test_the_database_refuses_a_second_ballot_for_the_same_household(world, resident):
    proposal = open_proposal(resident, world.compound_a, electorate=Electorate.HOUSEHOLDS)
    first, second = household(world, world.compound_a, ["王芳", "王磊"])
    cast(first, proposal, "赞成")
    db.session.add(
        Ballot(
            proposal_id=proposal.id,
            option_id=option_id(proposal, "反对"),
            voter_id=second.id,
            voter_key=f"h{second.household_id}",
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert [b.voter_id for b in ballot_rows(proposal)] == [first.id]


@pytest.mark.parametrize("electorate", [Electorate.RESIDENTS, Electorate.HOUSEHOLDS])
def test_two_votes_at_the_same_moment_leave_exactly_one_ballot(world, resident, electorate):
    """The same resident on two phones (or, per household, two members) pressing 投票 at once."""
    first, second = household(world, world.compound_a, ["王芳", "王磊"])
    voters = [first, first] if electorate is Electorate.RESIDENTS else [first, second]
    for round_number in range(3):
        proposal = open_proposal(resident, world.compound_a, title=f"议题{round_number}", electorate=electorate)
        clients = [signed_in(v) for v in voters]
        choices = [option_id(proposal, "赞成"), option_id(proposal, "反对")]
        url = f"/p/{proposal.post_id}/vote"
        db.session.commit()  # the test's own session shares requests: end its transaction first
        barrier = threading.Barrier(len(clients))

        def press(pair):
            client, choice = pair
            barrier.wait()
            return client.post(url, data={"option": choice}).status_code

        with ThreadPoolExecutor(len(clients)) as pool:
            assert set(pool.map(press, zip(clients, choices, strict=False))) == {302}

        [ballot] = ballot_rows(proposal)
        tally = counts(proposal)
        assert fresh(proposal).ballot_count == 1
        assert sum(tally.values()) == 1
        chosen = next(o.label for o in fresh(proposal).options if o.id == ballot.option_id)
        assert tally[chosen] == 1


def test_voting_after_the_deadline_is_refused_with_a_clear_message(world, resident):
    proposal = open_proposal(resident, world.compound_a)
    early, late = residents_apart(world, world.compound_a, ["吴刚", "郑洁"])
    vote_over_http(signed_in(early), proposal, "赞成")
    proposal = pass_deadline(proposal)

    response = vote_over_http(signed_in(early), proposal, "反对", follow=True)
    assert "投票已截止" in flashes(response)
    response = vote_over_http(signed_in(late), proposal, "反对", follow=True)
    assert "投票已截止" in flashes(response)

    assert counts(proposal) == {"赞成": 1, "反对": 0, "弃权": 0}
    assert [b.voter_id for b in ballot_rows(proposal)] == [early.id]
    page = text_of(signed_in(early).get(f"/p/{proposal.post_id}"))
    assert 'class="vote-form"' not in page
    assert "已截止" in page and "您投了“赞成”" in page


def test_voting_from_another_compound_is_not_found(world, resident, other_compound_resident):
    proposal = open_proposal(resident, world.compound_a)
    client = signed_in(other_compound_resident)
    assert client.get(f"/p/{proposal.post_id}").status_code == 404
    assert vote_over_http(client, proposal, "赞成").status_code == 404
    with pytest.raises(PermissionDenied) as refused:
        services.vote(other_compound_resident, proposal, option_id(proposal, "赞成"))
    assert refused.value.decision is Decision.NOT_FOUND
    db.session.rollback()
    assert ballot_rows(proposal) == [] and counts(proposal)["赞成"] == 0


@pytest.mark.parametrize("electorate", [Electorate.HOUSEHOLDS, Electorate.RESIDENTS])
def test_staff_without_a_household_cannot_vote(world, resident, secretary, electorate):
    proposal = open_proposal(resident, world.compound_a, electorate=electorate)
    client = signed_in(secretary)
    assert client.get(f"/p/{proposal.post_id}").status_code == 200
    assert vote_over_http(client, proposal, "赞成").status_code == 403
    assert 'class="vote-form"' not in text_of(client.get(f"/p/{proposal.post_id}"))
    assert ballot_rows(proposal) == [] and fresh(proposal).ballot_count == 0


def test_a_resident_awaiting_verification_cannot_vote(world, resident, pending_resident):
    proposal = open_proposal(resident, world.compound_a)
    assert vote_over_http(signed_in(pending_resident), proposal, "赞成").status_code == 403
    assert ballot_rows(proposal) == []


# The deadline -------------------------------------------------------------------------------------


def test_with_a_frozen_clock_voting_stops_and_the_proposal_closes_exactly_at_the_deadline(world, resident):
    proposal = open_proposal(resident, world.compound_a)
    voters = residents_apart(world, world.compound_a, ["吴刚", "郑洁"])
    deadline = proposal.deadline_at

    cast(voters[0], proposal, "赞成", now=deadline - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="投票已截止"):
        services.vote(voters[1], proposal, option_id(proposal, "反对"), now=deadline)
    db.session.rollback()
    with pytest.raises(ValidationError, match="投票已截止"):
        services.vote(voters[0], fresh(proposal), option_id(proposal, "反对"), now=deadline + timedelta(days=1))
    db.session.rollback()
    assert counts(proposal) == {"赞成": 1, "反对": 0, "弃权": 0}

    assert services.close_due(now=deadline - timedelta(minutes=1)) == 0
    db.session.commit()
    assert fresh(proposal).closed_at is None

    assert services.close_due(now=deadline) == 1
    db.session.commit()
    proposal = fresh(proposal)
    assert proposal.closed_at == deadline
    assert proposal.eligible_at_close == 3  # the opener and the two voters

    assert services.close_due(now=deadline + timedelta(hours=1)) == 0  # closed once


def test_flask_deliberation_close_due_closes_only_proposals_past_their_deadline(app, world, resident):
    due = open_proposal(resident, world.compound_a, title="已到期的议题")
    still_open = open_proposal(resident, world.compound_a, title="还在投票的议题")
    cast(resident, due, "反对")
    pass_deadline(due)
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["deliberation", "close-due"])
    assert result.exit_code == 0, result.output
    assert "Closed 1 proposal(s)." in result.output

    due, still_open = fresh(due), fresh(still_open)
    assert due.closed_at is not None and due.eligible_at_close == 1
    assert still_open.closed_at is None and still_open.eligible_at_close is None

    again = app.test_cli_runner().invoke(args=["deliberation", "close-due"])
    assert "Closed 0 proposal(s)." in again.output


# The tally ---------------------------------------------------------------------------------------


def three_votes(world, proposal):
    voters = residents_apart(world, world.compound_a, ["吴刚", "郑洁", "冯涛"])
    for voter, label in zip(voters, ["赞成", "赞成", "反对"], strict=False):
        cast(voter, proposal, label)
    return voters


def test_the_tally_is_hidden_until_the_deadline_unless_the_proposal_shows_it_early(world, resident):
    hidden = open_proposal(resident, world.compound_a, title="票数截止后公布")
    live = open_proposal(resident, world.compound_a, title="实时公开票数", show_tally_early=True)
    three_votes(world, hidden)
    for voter, label in zip(
        residents_apart(world, world.compound_a, ["褚明", "卫红", "蒋平"], building="10"),
        ["赞成", "赞成", "反对"],
        strict=False,
    ):
        cast(voter, live, label)
    client = signed_in(resident)

    page = client.get(f"/p/{hidden.post_id}")
    assert not tally_shown(page)
    assert "已有 3 人投票，截止后公布结果" in text_of(page)
    assert "2票" not in text_of(page) and "66.7%" not in text_of(page)

    page = client.get(f"/p/{live.post_id}")
    assert tally_shown(page) and "截止后公布结果" not in text_of(page)
    for shown in ("2票 · 66.7%", "1票 · 33.3%", "0票 · 0.0%"):
        assert shown in text_of(page)

    pass_deadline(hidden)
    page = client.get(f"/p/{hidden.post_id}")
    assert tally_shown(page) and "截止后公布结果" not in text_of(page)
    for shown in ("2票 · 66.7%", "1票 · 33.3%", "0票 · 0.0%"):
        assert shown in text_of(page)


@pytest.mark.parametrize(
    "threshold, verdict",
    [
        (80, "未达到参与率门槛"),
        (75, "达到门槛，结果有效"),
        (None, None),
    ],
)
def test_turnout_counts_verified_residents_of_the_compound_against_the_threshold(
    world, resident, pending_resident, other_compound_resident, secretary, threshold, verdict
):
    opener = resident
    proposal = open_proposal(opener, world.compound_a, threshold=threshold)
    three_votes(world, proposal)  # 3 of 4 verified residents; pending, staff and other compounds don't count
    proposal = pass_deadline(proposal)

    outcome = services.result(proposal)
    assert (outcome.ballots, outcome.eligible, outcome.turnout) == (3, 4, 0.75)
    assert outcome.threshold_met is (None if threshold is None else threshold <= 75)

    page = text_of(signed_in(opener).get(f"/p/{proposal.post_id}"))
    assert "参与 3 / 4人，参与率 75.0%" in page
    if verdict:
        assert verdict in page and f"参与率需达到 {threshold}%" in page
    else:
        assert "门槛" not in page


def test_per_household_turnout_counts_distinct_households(world, resident, pending_resident):
    # resident (5-2-502) + 王家 two members at 3-1-301 + a pending resident: 2 households eligible.
    proposal = open_proposal(resident, world.compound_a, electorate=Electorate.HOUSEHOLDS, threshold=60)
    first, _second = household(world, world.compound_a, ["王芳", "王磊"])
    cast(first, proposal, "赞成")
    proposal = pass_deadline(proposal)

    outcome = services.result(proposal)
    assert (outcome.ballots, outcome.eligible, outcome.turnout, outcome.threshold_met) == (1, 2, 0.5, False)
    page = text_of(signed_in(resident).get(f"/p/{proposal.post_id}"))
    assert "参与 1 / 2户，参与率 50.0%" in page and "未达到参与率门槛" in page


def test_the_electorate_is_frozen_when_the_proposal_closes(world, resident):
    proposal = open_proposal(resident, world.compound_a)
    cast(resident, proposal, "赞成")
    residents_apart(world, world.compound_a, ["吴刚"])
    assert services.result(fresh(proposal)).eligible == 2  # open: the electorate is live

    services.close_due(now=proposal.deadline_at)
    db.session.commit()
    residents_apart(world, world.compound_a, ["郑洁", "冯涛"], building="11")  # verified after the close
    proposal = fresh(proposal)
    assert proposal.eligible_at_close == 2
    outcome = services.result(proposal)
    assert (outcome.ballots, outcome.eligible, outcome.turnout) == (1, 2, 0.5)


def test_the_electorate_is_frozen_at_the_deadline_even_before_the_cron_job_runs(world, resident):
    """Closing is checked on read too: once the deadline has passed and the result was shown,
    residents verified later do not change the turnout."""
    proposal = open_proposal(resident, world.compound_a)
    cast(resident, proposal, "赞成")
    residents_apart(world, world.compound_a, ["吴刚"])
    pass_deadline(proposal)
    client = signed_in(resident)
    assert "参与 1 / 2人，参与率 50.0%" in text_of(client.get(f"/p/{proposal.post_id}"))

    residents_apart(world, world.compound_a, ["郑洁", "冯涛"], building="11")  # verified after the deadline
    assert "参与 1 / 2人，参与率 50.0%" in text_of(client.get(f"/p/{proposal.post_id}"))


def test_a_turnout_exactly_at_the_threshold_meets_it(world, resident):
    """29 of 50 households is exactly 58%: a 58% threshold is met (no floating-point rounding down)."""
    proposal = open_proposal(resident, world.compound_a, threshold=58)
    proposal = fresh(proposal)
    for option, votes in zip(proposal.options, (20, 9, 0), strict=False):
        option.vote_count = votes
    proposal.ballot_count = 29
    proposal.deadline_at = utcnow() - timedelta(hours=1)
    proposal.closed_at, proposal.eligible_at_close = proposal.deadline_at, 50
    db.session.commit()

    outcome = services.result(fresh(proposal))
    assert (outcome.ballots, outcome.eligible) == (29, 50)
    assert outcome.threshold_met is True
    page = text_of(signed_in(resident).get(f"/p/{proposal.post_id}"))
    assert "参与 29 / 50人，参与率 58.0%" in page
    assert "达到门槛，结果有效" in page and "未达到参与率门槛" not in page


# The outcome -------------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", list(Outcome))
def test_compound_staff_record_the_outcome_after_the_deadline(world, resident, committee, outcome):
    proposal = open_proposal(resident, world.compound_a)
    cast(resident, proposal, "赞成")
    proposal = pass_deadline(proposal)
    note = "居委会将会同物业两周内拿出实施方案并公示"

    response = signed_in(committee).post(
        f"/p/{proposal.post_id}/outcome", data={"outcome": outcome.value, "note": note}, follow_redirects=True
    )
    assert "已记录决议" in flashes(response)
    proposal = fresh(proposal)
    assert (proposal.outcome, proposal.outcome_note, proposal.outcome_by_id) == (outcome, note, committee.id)
    assert proposal.closed_at is not None and proposal.eligible_at_close == 1
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "proposal.outcome"))
    assert entry is not None and entry.actor_id == committee.id and entry.target_id == proposal.post_id

    page = text_of(signed_in(resident).get(f"/p/{proposal.post_id}"))
    assert f"决议（{outcome.label}）：</strong>{note}" in page
    assert 'class="outcome-form"' not in page


def test_the_outcome_waits_for_the_deadline(world, resident, secretary):
    proposal = open_proposal(resident, world.compound_a)
    client = signed_in(secretary)
    assert 'class="outcome-form"' not in text_of(client.get(f"/p/{proposal.post_id}"))
    client.post(f"/p/{proposal.post_id}/outcome", data={"outcome": "passed", "note": "提前通过"})
    assert fresh(proposal).outcome is None

    with pytest.raises(ValidationError, match="投票截止后才能记录决议"):
        services.record_outcome(secretary, fresh(proposal), Outcome.PASSED, "提前通过")
    db.session.rollback()
    services.record_outcome(secretary, fresh(proposal), Outcome.PASSED, "到期后通过", now=proposal.deadline_at)
    db.session.commit()
    assert fresh(proposal).outcome is Outcome.PASSED


def test_a_refused_outcome_tells_the_secretary_why(world, resident, secretary):
    proposal = open_proposal(resident, world.compound_a)
    client = signed_in(secretary)

    response = client.post(
        f"/p/{proposal.post_id}/outcome", data={"outcome": "passed", "note": "提前通过"}, follow_redirects=True
    )
    assert "投票截止后才能记录决议" in text_of(response)

    pass_deadline(proposal)
    response = client.post(
        f"/p/{proposal.post_id}/outcome", data={"outcome": "passed", "note": ""}, follow_redirects=True
    )
    assert "请写明决议内容" in text_of(response)
    assert fresh(proposal).outcome is None


@pytest.mark.parametrize("who, status", [("resident", 403), ("other_secretary", 404), ("officer", 403)])
def test_only_compound_staff_record_an_outcome(request, world, secretary, who, status):
    proposal = open_proposal(secretary, world.compound_a)
    pass_deadline(proposal)
    client = signed_in(request.getfixturevalue(who))
    response = client.post(f"/p/{proposal.post_id}/outcome", data={"outcome": "passed", "note": "通过"})
    assert response.status_code == status
    assert fresh(proposal).outcome is None
    if status == 403:
        assert 'class="outcome-form"' not in text_of(client.get(f"/p/{proposal.post_id}"))


def test_a_proposal_can_be_filed_as_a_case_like_any_post(world, resident, secretary):
    proposal = open_proposal(resident, world.compound_a)
    pass_deadline(proposal)
    signed_in(secretary).post(f"/p/{proposal.post_id}/outcome", data={"outcome": "passed", "note": "同意安装"})

    assert signed_in(resident).get(f"/p/{proposal.post_id}/case/new").status_code == 403
    response = signed_in(secretary).post(
        f"/p/{proposal.post_id}/case/new", data={"case_type": case_type("市容绿化").id, "priority": "normal"}
    )
    assert response.status_code == 302
    db.session.commit()
    case = db.session.scalar(sa.select(Case).where(Case.post_id == proposal.post_id))
    assert case is not None and case.reporter_id == resident.id
    assert f"工单 {case.number}" in text_of(signed_in(resident).get(f"/p/{proposal.post_id}"))
