"""What must hold for any data, however it was made (the app's services, seed-demo, seed-district):
counters equal the rows they count, every case's timeline follows the workflow's table (the case's
status and each department's part, 主办 resolving only once the 协办 parts are done), the search
index holds exactly the visible posts and replies, as the indexer lays them out, and a resident's
post records its first staff response no later than its first staff reply or its case.

``broken_invariants()`` returns one line per violation (empty when all hold), so a failing test
says what is wrong and where.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from community_board.accounts.models import ResidentStatus, User
from community_board.board import visibility
from community_board.board.models import AidStatus, AuthorRole, Like, MeToo, Post, Reply
from community_board.cases.models import (
    Case,
    CaseDepartment,
    CaseEvent,
    CaseStatus,
    EventKind,
    PartRole,
    PartStatus,
)
from community_board.cases.services import TRANSITIONS
from community_board.compounds.models import Compound
from community_board.deliberation.models import Ballot, Proposal, ProposalOption
from community_board.extensions import db
from community_board.search.indexer import document_words
from community_board.search.models import SearchDocument
from community_board.search.segment import index_words
from community_board.timeutil import to_local

# Events that record something without changing the case's status (增派 is a second DISPATCHED; a
# department's own step — 签收, 退单 of a 协办, 协办完成 — moves its part only).
STATUS_KEEPING = {
    EventKind.PROGRESS,
    EventKind.NOTE,
    EventKind.ESCALATED,
    EventKind.DISPATCHED,
    EventKind.RATED,
    EventKind.ACKNOWLEDGED,
    EventKind.RETURNED,
    EventKind.PART_DONE,
    EventKind.RELEASED,
    EventKind.ACK_OVERDUE,
    EventKind.EXTENSION_REQUESTED,
    EventKind.EXTENSION_APPROVED,
    EventKind.EXTENSION_REFUSED,
    EventKind.OWNER_CHANGED,
    EventKind.CORRECTED,
}
UNFINISHED_PARTS = {PartStatus.PENDING, PartStatus.ACKNOWLEDGED}


def broken_invariants() -> list[str]:
    return [*_counters(), *_case_timelines(), *_search_documents(), *_first_responses()]


def _mismatches(label: str, rows) -> list[str]:
    return [f"{label} {key}: kept {kept}, counted {counted}" for key, kept, counted in rows if kept != counted]


def _count_of(model, column, *where):
    return sa.select(sa.func.count()).where(column, *where).correlate_except(model).scalar_subquery()


def _counters() -> list[str]:
    problems = []
    compound_counts = {
        "resident_count": _count_of(
            User, User.compound_id == Compound.id, User.resident_status == ResidentStatus.VERIFIED
        ),
        "post_count": _count_of(  # messages to the 居委会 count on no banner
            Post, Post.compound_id == Compound.id, Post.deleted_at.is_(None), visibility.on_board_sql()
        ),
        "solved_count": _count_of(Post, Post.compound_id == Compound.id, Post.aid_status == AidStatus.FULFILLED),
    }
    for name, counted in compound_counts.items():
        problems += _mismatches(
            f"compound {name}", db.session.execute(sa.select(Compound.id, getattr(Compound, name), counted))
        )
    for name, model in (("reply_count", Reply), ("like_count", Like), ("affected_count", MeToo)):
        counted = _count_of(model, model.post_id == Post.id)
        problems += _mismatches(
            f"post {name}",
            db.session.execute(sa.select(Post.id, getattr(Post, name), counted).where(getattr(Post, name) != counted)),
        )
    problems += _mismatches(
        "proposal option vote_count",
        db.session.execute(
            sa.select(
                ProposalOption.id, ProposalOption.vote_count, _count_of(Ballot, Ballot.option_id == ProposalOption.id)
            )
        ),
    )
    problems += _mismatches(
        "proposal ballot_count",
        db.session.execute(
            sa.select(Proposal.id, Proposal.ballot_count, _count_of(Ballot, Ballot.proposal_id == Proposal.id))
        ),
    )
    return problems


def _case_timelines() -> list[str]:
    events = defaultdict(list)
    for event in db.session.scalars(sa.select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.id)):
        events[event.case_id].append(event)
    parts = defaultdict(dict)
    for part in db.session.scalars(sa.select(CaseDepartment)):
        parts[part.case_id][part.department_id] = part
    problems = []
    for case in db.session.scalars(sa.select(Case).order_by(Case.id)):
        where = f"case {case.number}"
        problems += _part_moves(where, events[case.id], parts[case.id])
        if f"-{to_local(case.created_at):%Y%m%d}-" not in case.number:
            problems.append(f"{where}: numbered on another day than it was filed ({case.created_at})")
        timeline = events[case.id]
        if not timeline or timeline[0].kind is not EventKind.FILED or timeline[0].to_status is not CaseStatus.FILED:
            problems.append(f"{where}: does not start with a 立案 event")
            continue
        status = CaseStatus.FILED
        for before, event in zip(timeline, timeline[1:], strict=False):
            if event.created_at < before.created_at:
                problems.append(f"{where}: event {event.id} is dated before the one it follows")
            if event.to_status is None:
                if event.kind not in STATUS_KEEPING or event.from_status is not None:
                    problems.append(f"{where}: {event.kind.value} event {event.id} changes no status")
                continue
            step = TRANSITIONS.get((status, event.to_status))
            if event.from_status is not status or step is None or step[0] is not event.kind:
                problems.append(
                    f"{where}: {event.kind.value} {event.from_status} → {event.to_status} "
                    f"while {status.value}, not in TRANSITIONS"
                )
            status = event.to_status
        if status is not case.status:
            problems.append(f"{where}: events end at {status.value}, the case says {case.status.value}")
    return problems


def _part_moves(where: str, timeline: list[CaseEvent], parts: dict[int, CaseDepartment]) -> list[str]:
    """Each department's part starts waiting to be signed for (待签收) and moves only as the table
    says, on an event of the kind the table names (or on the case's own step that carries it: the
    lead's 签收 is its 接单处置); it ends as its row says; the case is 办结 only with its 协办 parts
    done, released or returned."""
    problems, state = [], {}
    for event in timeline:
        if event.kind is EventKind.RESOLVED:
            waiting = [
                department_id
                for department_id, part in parts.items()
                if part.role is PartRole.ASSIST
                and part.dispatched_at <= event.created_at
                and state.get(department_id, PartStatus.PENDING) in UNFINISHED_PARTS
            ]
            if waiting:
                problems.append(f"{where}: resolved by event {event.id} while 协办 {waiting} had not finished")
        if event.part_status is None:
            continue
        before = state.get(event.department_id, PartStatus.PENDING)
        step = TRANSITIONS.get((before, event.part_status))
        carried = event.to_status is not None and TRANSITIONS.get((event.from_status, event.to_status), (None,))[0]
        if step is None or event.kind not in (step[0], carried):
            problems.append(
                f"{where}: {event.kind.value} event {event.id} moves department {event.department_id}'s part "
                f"{before.value} → {event.part_status.value}, not in TRANSITIONS"
            )
        state[event.department_id] = event.part_status
    for department_id, part in parts.items():
        if state.get(department_id, PartStatus.PENDING) is not part.status:
            problems.append(
                f"{where}: department {department_id}'s events end at "
                f"{state.get(department_id, PartStatus.PENDING).value}, its part says {part.status.value}"
            )
    return problems


def _search_documents() -> list[str]:
    """Every post and reply has one document; it is visible exactly when the post (and the reply) is,
    private to the asker of a private question, dated as the post or reply, with the indexer's words;
    ids follow the times (search lists by id as the feed lists by time)."""
    problems = []
    documents = {d.key: d for d in db.session.scalars(sa.select(SearchDocument).order_by(SearchDocument.id))}
    posts = {p.id: p for p in db.session.scalars(sa.select(Post))}
    expected = {}
    for post in posts.values():
        visible = post.hidden_at is None and post.deleted_at is None
        expected[f"p{post.id}"] = (post, visible, post.created_at, f"{post.title}\n{post.body}")
    for reply in db.session.scalars(sa.select(Reply)):
        post = posts[reply.post_id]
        visible = expected[f"p{post.id}"][1] and reply.hidden_at is None and reply.deleted_at is None
        expected[f"r{reply.id}"] = (post, visible, reply.created_at, reply.body)
    for key in documents.keys() - expected.keys():
        problems.append(f"document {key}: of no post or reply")
    for key, (post, visible, created_at, text) in expected.items():
        document = documents.get(key)
        if document is None:
            problems.append(f"{key}: no search document")
            continue
        if document.visible is not visible:
            problems.append(f"{key}: document visible={document.visible}, the post or reply visible={visible}")
        if document.private_to != (post.author_id if post.is_private else None):
            problems.append(f"{key}: document private_to={document.private_to}")
        if (document.compound_id, document.street_id, document.created_at) != (
            post.compound_id,
            post.street_id,
            created_at,
        ):
            problems.append(
                f"{key}: document scope or time {document.compound_id}, {document.created_at} "
                f"differs from {post.compound_id}, {created_at}"
            )
        if document.words != document_words(post.compound_id, post.street_id, index_words(text)):
            problems.append(f"{key}: document words are not the indexer's")
    ordered = list(documents.values())
    for before, document in zip(ordered, ordered[1:], strict=False):
        if document.created_at < before.created_at:
            problems.append(f"document {document.key} (id {document.id}) is older than {before.key} (id {before.id})")
    return problems


def _first_responses() -> list[str]:
    """发帖必响应: a resident's post answered by staff (an official reply) or filed as a case has its
    first response recorded, no later than either, with its minutes; nobody else's post has one."""
    first_reply = (
        sa.select(sa.func.min(Reply.created_at))
        .where(Reply.post_id == Post.id, Reply.author_role != AuthorRole.RESIDENT)
        .scalar_subquery()
    )
    filed = sa.select(Case.created_at).where(Case.post_id == Post.id).scalar_subquery()
    problems = []
    rows = db.session.execute(
        sa.select(
            Post.id,
            Post.author_role,
            Post.created_at,
            Post.first_response_at,
            Post.first_response_minutes,
            first_reply,
            filed,
        )
    )
    for post_id, role, created_at, at, minutes, replied, case_at in rows:
        if role is not AuthorRole.RESIDENT:
            if at is not None:
                problems.append(f"post {post_id}: a {role.value}'s post records a first response")
            continue
        earliest = min((moment for moment in (replied, case_at) if moment is not None), default=None)
        if earliest is not None and (at is None or at > earliest):
            problems.append(f"post {post_id}: first response {at}, answered at {earliest}")
        if at is not None and minutes != int((at - created_at).total_seconds() // 60):
            problems.append(f"post {post_id}: first response after {minutes} minutes, {at - created_at} by the times")
    return problems
