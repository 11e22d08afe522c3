"""`flask seed-district`: a synthetic district in bulk, with its counters and search index right,
repeatable from its seed, and never on top of an existing district."""

import hashlib
from datetime import datetime

import sqlalchemy as sa

from community_board.accounts.models import ResidentStatus, User
from community_board.board import visibility
from community_board.board.models import Like, MeToo, Post, Reply, Section
from community_board.board.services import _excerpt
from community_board.cases.models import OPEN_STATUSES, Case, CaseEvent, CaseStatus, EventKind
from community_board.compounds.models import Compound, District
from community_board.deliberation.models import Ballot, Proposal, ProposalOption
from community_board.extensions import db
from community_board.search import indexer
from community_board.search.models import SearchDocument
from community_board.search.segment import index_words
from community_board.search.services import search
from community_board.security import render_markdown, render_plain_text
from community_board.seeding import district as seeding

AS_OF = "2026-11-20 08:00:00"
AS_OF_TIME = datetime.fromisoformat(AS_OF)


def seed(app, *args):
    return app.test_cli_runner().invoke(args=["seed-district", "--small", "--as-of", AS_OF, *args])


def seeded(app):
    result = seed(app)
    assert result.exit_code == 0, result.output
    db.session.commit()
    return db.session.scalar(sa.select(District).where(District.name == seeding.DEFAULT_NAME))


def count(stmt) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))


def test_small_district_has_every_kind_of_content(app):
    district = seeded(app)

    posts = sa.select(Post).where(Post.district_id == district.id, visibility.on_board_sql())
    assert count(posts) == 2000  # and a message to the 居委会 for every 100 of them
    used = set(db.session.scalars(sa.select(Section.key).join(Post, Post.section_id == Section.id).distinct()))
    assert used == set(db.session.scalars(sa.select(Section.key)))
    assert len(db.session.scalars(sa.select(Compound.id).where(Compound.district_id == district.id)).all()) == 6
    residents = db.session.scalars(sa.select(User).where(User.resident_status == ResidentStatus.VERIFIED)).all()
    assert residents and all(u.household_id is not None for u in residents)

    statuses = set(db.session.scalars(sa.select(Case.status).distinct()))
    assert statuses == set(CaseStatus)
    overdue = count(sa.select(Case.id).where(Case.status.in_(OPEN_STATUSES), Case.deadline_at < AS_OF_TIME))
    assert overdue > 0
    assert count(sa.select(Case.id).where(Case.reopen_count > 0)) > 0
    assert count(sa.select(CaseEvent.id).where(CaseEvent.kind == EventKind.REOPENED)) > 0
    oldest, newest = db.session.execute(sa.select(sa.func.min(Case.created_at), sa.func.max(Case.created_at))).one()
    assert (newest - oldest).days > 365  # spread over two years
    for case in db.session.scalars(sa.select(Case)):
        events = db.session.scalars(
            sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        ).all()
        assert events[0].kind is EventKind.FILED
        assert [e.to_status for e in events if e.to_status][-1] is case.status
        assert all(a.created_at <= b.created_at for a, b in zip(events, events[1:], strict=False))
        assert case.number.startswith("BT-")

    assert count(sa.select(Proposal.id)) > 0
    assert count(sa.select(Ballot.id)) > 0
    assert count(sa.select(Proposal.id).where(Proposal.outcome.is_not(None))) > 0


def test_counters_match_the_rows(app):
    district = seeded(app)

    for compound in db.session.scalars(sa.select(Compound).where(Compound.district_id == district.id)):
        assert compound.post_count == count(  # messages to the 居委会 count on no banner
            sa.select(Post.id).where(
                Post.compound_id == compound.id, Post.deleted_at.is_(None), visibility.on_board_sql()
            )
        )
        assert compound.resident_count == count(
            sa.select(User.id).where(User.compound_id == compound.id, User.resident_status == ResidentStatus.VERIFIED)
        )
        assert compound.solved_count == count(
            sa.select(Post.id).where(Post.compound_id == compound.id, Post.aid_status == "fulfilled")
        )
    for column, model in ((Post.reply_count, Reply), (Post.like_count, Like), (Post.affected_count, MeToo)):
        counted = sa.select(sa.func.count()).where(model.post_id == Post.id).scalar_subquery()
        assert count(sa.select(Post.id).where(column != counted)) == 0, column
        assert db.session.scalar(sa.select(sa.func.sum(column))) > 0, column
    assert db.session.scalar(sa.select(sa.func.max(Post.reply_count))) >= 50
    ballots = sa.select(sa.func.count()).where(Ballot.option_id == ProposalOption.id).scalar_subquery()
    assert count(sa.select(ProposalOption.id).where(ProposalOption.vote_count != ballots)) == 0
    ballots = sa.select(sa.func.count()).where(Ballot.proposal_id == Proposal.id).scalar_subquery()
    assert count(sa.select(Proposal.id).where(Proposal.ballot_count != ballots)) == 0


def test_every_post_and_reply_is_indexed_as_the_hook_would(app):
    seeded(app)

    documents = {d.key: d for d in db.session.scalars(sa.select(SearchDocument))}
    posts = db.session.scalars(sa.select(Post).order_by(Post.id)).all()
    replies = db.session.scalars(sa.select(Reply.id)).all()
    assert len(documents) == len(posts) + len(replies)
    for post in posts:
        document = documents[f"p{post.id}"]
        assert document.visible is (post.hidden_at is None and post.deleted_at is None)
        assert document.private_to == (post.author_id if post.is_private else None)
    assert sum(d.visible for d in documents.values() if d.reply_id is None) == count(
        sa.select(Post.id).where(Post.hidden_at.is_(None), Post.deleted_at.is_(None))
    )
    # Each document as the indexer's hook would write it for its post or reply (a sample): words,
    # text, scope, visibility, time; text rendered as the services render it.
    for document in list(documents.values())[::25]:
        if document.reply_id is None:
            expected = indexer.document_of_post(db.session.get(Post, document.post_id))
        else:
            expected = indexer.document_of_reply(db.session.get(Reply, document.reply_id))
        assert {name: getattr(document, name) for name in expected} == expected
        assert document.words.split()[2:] == index_words(document.text)
    for post in posts[::10]:
        rendered = render_markdown(post.body) if post.section.key == "guide" else render_plain_text(post.body)
        assert post.body_html == str(rendered)
        assert post.excerpt == _excerpt(post.body.replace("#", "").replace("*", ""))
    if db.engine.dialect.name == "sqlite":
        triggers = set(
            db.session.scalars(
                sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'search_documents'")
            )
        )
        assert triggers == {"search_documents_ai", "search_documents_ad", "search_documents_au"}
    else:
        assert db.session.scalar(
            sa.text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_search_documents_words'")
        )


def _all_hits(viewer, text, compound):
    keys, cursor = [], None
    while True:
        _words, page = search(viewer, text, compound, cursor=cursor)
        keys += [hit.document.key for hit in page.items]
        cursor = page.next_cursor
        if not cursor:
            return keys


def test_search_finds_a_known_phrase_exactly(app):
    seeded(app)
    compound = db.session.scalar(sa.select(Compound).order_by(Compound.post_count.desc()).limit(1))
    viewer = db.session.scalar(
        sa.select(User).where(User.compound_id == compound.id, User.resident_status == ResidentStatus.VERIFIED).limit(1)
    )

    for text in ("广场变菜园", "停水", "电梯维修", "噪音", "水", "号楼"):
        expected = [
            d.key
            for d in db.session.scalars(
                sa.select(SearchDocument)
                .where(
                    SearchDocument.compound_id == compound.id,
                    SearchDocument.visible.is_(True),
                    sa.or_(SearchDocument.private_to.is_(None), SearchDocument.private_to == viewer.id),
                )
                .order_by(SearchDocument.id.desc())
            )
            if text.lower() in d.text
        ]
        assert expected, text
        assert _all_hits(viewer, text, compound) == expected, text


def test_a_second_run_with_the_same_name_is_refused(app):
    seeded(app)
    posts = count(sa.select(Post.id))
    db.session.commit()

    again = seed(app)

    assert again.exit_code != 0
    assert "宝山区（压测）”已经存在" in again.output
    assert "--district-name" in again.output
    db.session.commit()
    assert count(sa.select(Post.id)) == posts


def _dry_run(seed_value: int):
    """The generator without a database: (hash of every row, post titles in id order)."""
    plan = seeding.make_plan(seeding.DEFAULT_NAME, seeding.DEFAULT_CODE, None, None, None, seed_value, True, AS_OF_TIME)
    with db.engine.connect() as connection:
        base = seeding.read_base(connection, "hash")
    generator = seeding.DistrictGenerator(plan, base)
    digest, titles = hashlib.sha256(), []
    for table, rows in [*generator.structure(), *generator.content()]:
        if table == "progress":
            continue
        digest.update(repr((table, rows)).encode())
        if table == "posts":
            titles += [row["title"] for row in rows]
    return digest.hexdigest(), titles


def test_the_same_seed_gives_the_same_rows(app):
    first, titles = _dry_run(1)
    second, titles_again = _dry_run(1)
    other, other_titles = _dry_run(2)

    assert first == second and titles == titles_again
    assert other != first and other_titles != titles
    seeded(app)  # the command writes what the generator makes
    assert db.session.scalars(sa.select(Post.title).order_by(Post.id)).all() == titles
