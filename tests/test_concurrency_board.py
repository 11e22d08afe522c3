"""Many residents writing to one compound's board at once (likes, un-likes, replies, first votes
and vote changes through the real pages): nobody gets an error page, every counter equals the rows
it counts, everything a resident was told was saved is there, and the board's version moved once
per write (the cached board parts are keyed by it). On PostgreSQL these writes once took their row
locks in different orders and deadlocked."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from board_helpers import flashes, make_post, make_reply, neighbour, signed_in
from civic_helpers import cast, counts, fresh, open_proposal, option_id
from psycopg import errors as pg_errors
from sqlalchemy.exc import OperationalError

from community_board.board import services
from community_board.board.forms import ReplyForm
from community_board.board.models import Like, Post, Reply
from community_board.compounds.models import Compound
from community_board.deliberation import services as deliberation
from community_board.deliberation.models import Ballot
from community_board.extensions import db
from community_board.web import save

RESIDENTS = 25  # each on their own phone (test client) and connection
ACTIONS = ["like"] * 3 + ["reply"] * 2 + ["vote"] * 3  # 8 each: 200 requests in all
JSON = {"Accept": "application/json"}


def version_of(compound) -> int:
    return db.session.scalar(sa.select(Compound.board_version).where(Compound.id == compound.id))


def test_200_mixed_writes_at_once_fail_none_and_keep_every_count_exact(world, resident):
    post = make_post(resident, world.compound_a, title="小区停车怎么管")
    proposal = open_proposal(resident, world.compound_a)
    options = [o.id for o in proposal.options]
    people = [neighbour(world, name=f"邻居{i}", room=str(1000 + i)) for i in range(RESIDENTS)]
    make_reply(resident, post, "欢迎大家讨论")
    # Half already like the post (their first press un-likes it); two in three already voted
    # (their first vote is a change).
    for i, person in enumerate(people):
        if i % 2:
            services.toggle_like(person, post)
        if i % 3:
            cast(person, proposal, proposal.options[i % 3].label)
    db.session.commit()
    clients = [signed_in(person) for person in people]
    start = version_of(world.compound_a)
    like_url, reply_url, vote_url = f"/p/{post.id}/like", f"/p/{post.id}/reply", f"/p/{proposal.post_id}/vote"
    db.session.commit()  # the test's own requests share its session: end its transaction first

    shuffle = random.Random(12)
    scripts = [shuffle.sample(ACTIONS, len(ACTIONS)) for _ in people]
    # On PostgreSQL all residents press at once. SQLite has one writer at a time and each waits at
    # most its busy timeout (5 s) for the lock: fewer at once, so a CPU shared with other test runs
    # cannot stretch the queue past it.
    at_once = RESIDENTS if db.engine.dialect.name == "postgresql" else 4
    go = threading.Event()

    def act(i: int):
        """One resident's presses in order (no database here: the test's objects belong to its own
        session): what they were told, and any failure."""
        client, liked, choice, said, failures = clients[i], bool(i % 2), i % 3 if i % 3 else None, [], []
        go.wait()
        for step, action in enumerate(scripts[i]):
            try:
                if action == "like":
                    response = client.post(like_url, headers=JSON)
                    if response.status_code == 200:
                        liked = response.get_json()["liked"]
                elif action == "reply":
                    body = f"邻居{i}的第{step}条回复"
                    response = client.post(reply_url, data={"body": body})
                    if response.status_code == 302:
                        said.append(body)
                else:
                    choice = (choice + 1) % 3 if choice is not None else i % 3
                    response = client.post(vote_url, data={"option": options[choice]})
                if response.status_code not in (200, 302):
                    failures.append(f"{action}: {response.status_code}")
            except Exception as error:  # the test client re-raises what would be a 500
                failures.append(f"{action}: {type(error).__name__}: {str(error)[:80]}")
        return liked, choice, said, failures

    with ThreadPoolExecutor(at_once) as pool:
        futures = [pool.submit(act, i) for i in range(RESIDENTS)]
        go.set()
        outcomes = [future.result(timeout=120) for future in futures]

    failures = [failure for *_, failed in outcomes for failure in failed]
    assert failures == [], f"{len(failures)} of {RESIDENTS * len(ACTIONS)} requests failed: {failures[:5]}"

    db.session.expire_all()
    post = db.session.get(Post, post.id)
    likers = set(db.session.scalars(sa.select(Like.user_id).where(Like.post_id == post.id)))
    assert likers == {person.id for person, (liked, *_) in zip(people, outcomes, strict=False) if liked}
    assert post.like_count == len(likers)

    replies = list(db.session.scalars(sa.select(Reply.body).where(Reply.post_id == post.id)))
    assert sorted(replies) == sorted(["欢迎大家讨论", *(body for _, _, said, _ in outcomes for body in said)])
    assert post.reply_count == len(replies) == 1 + RESIDENTS * ACTIONS.count("reply")

    proposal = fresh(proposal)
    ballots = {
        b.voter_id: b.option_id for b in db.session.scalars(sa.select(Ballot).where(Ballot.proposal_id == proposal.id))
    }
    assert ballots == {person.id: options[choice] for person, (_, choice, *_) in zip(people, outcomes, strict=False)}
    assert proposal.ballot_count == len(ballots) == RESIDENTS
    assert {o.id: o.vote_count for o in proposal.options} == {
        option: sum(1 for chosen in ballots.values() if chosen == option) for option in options
    }

    # Every write moved the board's version, once: a page cached before it is never served again.
    assert version_of(world.compound_a) - start == RESIDENTS * len(ACTIONS)


# Run again once when the database aborted the transaction --------------------------------------


def aborted(orig: Exception) -> OperationalError:
    """What SQLAlchemy raises when PostgreSQL aborts a statement with ``orig``."""
    return OperationalError("UPDATE compounds SET board_version=board_version + 1", {}, orig)


def abort_once(module, name: str, monkeypatch, orig: Exception, calls: list) -> None:
    """Make the service ``module.name`` do all its work, then fail as PostgreSQL does when it picks
    this transaction to break a deadlock; only the first time. Each call is noted in ``calls``."""
    real = getattr(module, name)

    def once(*args, **kwargs):
        result = real(*args, **kwargs)
        db.session.flush()
        calls.append(name)
        if calls.count(name) == 1:
            raise aborted(orig)
        return result

    monkeypatch.setattr(module, name, once)


@pytest.mark.parametrize(
    "orig", [pg_errors.DeadlockDetected(), pg_errors.SerializationFailure()], ids=["deadlock", "serialization"]
)
def test_a_like_a_reply_and_a_vote_change_the_database_aborted_once_are_saved_once(world, resident, monkeypatch, orig):
    post = make_post(resident, world.compound_a)
    proposal = open_proposal(resident, world.compound_a)
    voter = neighbour(world)
    cast(voter, proposal, "赞成")
    client = signed_in(voter)
    start = version_of(world.compound_a)

    calls = []
    abort_once(services, "toggle_like", monkeypatch, orig, calls)
    assert client.post(f"/p/{post.id}/like", headers=JSON).get_json() == {"liked": True, "like_count": 1}
    abort_once(services, "add_reply", monkeypatch, orig, calls)
    assert client.post(f"/p/{post.id}/reply", data={"body": "我家也是"}).status_code == 302
    abort_once(deliberation, "vote", monkeypatch, orig, calls)
    changed = client.post(
        f"/p/{proposal.post_id}/vote", data={"option": option_id(proposal, "反对")}, follow_redirects=True
    )
    assert "已投票，截止前可以修改" in flashes(changed)

    assert calls == ["toggle_like"] * 2 + ["add_reply"] * 2 + ["vote"] * 2
    db.session.expire_all()
    post = db.session.get(Post, post.id)
    assert post.like_count == db.session.scalar(sa.select(sa.func.count()).select_from(Like)) == 1
    assert post.reply_count == 1 and list(db.session.scalars(sa.select(Reply.body))) == ["我家也是"]
    assert counts(proposal) == {"赞成": 0, "反对": 1, "弃权": 0} and fresh(proposal).ballot_count == 1
    assert version_of(world.compound_a) - start == 3


@pytest.mark.parametrize(
    "orig, runs",
    [
        (pg_errors.DeadlockDetected(), 2),  # aborted again: the second time is the last
        (pg_errors.QueryCanceled(), 1),  # a statement timeout is not a conflict that goes away
        (OSError("database is locked"), 1),  # SQLite already waited its busy timeout
    ],
    ids=["deadlock-twice", "timeout", "sqlite-locked"],
)
def test_a_transaction_is_run_again_only_once_and_only_after_a_conflict(app, world, resident, orig, runs):
    post = make_post(resident, world.compound_a)
    runs_made = []

    def work():
        runs_made.append(services.add_reply(resident, db.session.get(Post, post.id), "我家也是"))
        db.session.flush()
        raise aborted(orig)

    with app.test_request_context(f"/p/{post.id}/reply", method="POST"), pytest.raises(OperationalError):
        save(ReplyForm(), work)
    db.session.rollback()
    assert len(runs_made) == runs
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reply)) == 0
