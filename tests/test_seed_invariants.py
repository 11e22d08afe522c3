"""The seeders write data the app itself could have written: the same invariants (tests/invariants.py)
hold for a small seeded district and for the demo made through the services; and the demo makes
sense to a newcomer who signs in as each role."""

from collections import Counter

import pytest
import sqlalchemy as sa
from invariants import broken_invariants

from community_board.board.models import Post
from community_board.cases.models import Case, CaseEvent, CaseStatus, EventKind
from community_board.compounds.models import DepartmentKind
from community_board.extensions import db
from community_board.notifications.models import Notification
from community_board.search import schema
from community_board.search.models import SearchDocument
from community_board.seeding.demo import logins

AS_OF = "2026-11-20 08:00:00"


def run(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    db.session.commit()
    return result.output


def test_a_small_seeded_district_keeps_the_invariants(app):
    run(app, "seed-district", "--small", "--as-of", AS_OF)

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) > 50
    assert broken_invariants() == []


def test_the_demo_made_through_the_services_keeps_the_invariants(app):
    run(app, "seed-demo")

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) > 10
    assert broken_invariants() == []


@pytest.mark.parametrize(
    "damage, complaint",
    [
        (
            sa.text("UPDATE posts SET reply_count = reply_count + 1 WHERE id = (SELECT MIN(post_id) FROM replies)"),
            "post reply_count",
        ),
        (sa.text("UPDATE compounds SET resident_count = resident_count + 1"), "compound resident_count"),
        (sa.text("UPDATE proposal_options SET vote_count = vote_count + 1"), "proposal option vote_count"),
        (
            sa.text(
                "UPDATE case_events SET to_status = 'closed', from_status = 'filed' "
                "WHERE kind = 'dispatched' AND to_status = 'dispatched'"
            ),
            "not in TRANSITIONS",
        ),
        (sa.text("UPDATE search_documents SET visible = NOT visible WHERE reply_id IS NULL"), "document visible"),
        (
            sa.text(
                "UPDATE search_documents SET created_at = created_at - 1 WHERE id = (SELECT MAX(id) FROM search_documents)"
            ),
            "document scope or time",
        ),
    ],
)
def test_the_invariants_notice_damage(app, damage, complaint):
    run(app, "seed-demo")
    if db.engine.dialect.name == "postgresql" and "created_at - 1" in str(damage):
        damage = sa.text(str(damage).replace("created_at - 1", "created_at - interval '1 day'"))
    elif "created_at - 1" in str(damage):
        damage = sa.text(str(damage).replace("created_at - 1", "datetime(created_at, '-1 day')"))

    db.session.execute(damage)

    assert any(complaint in line for line in broken_invariants())


def test_demo_cases_go_to_the_departments_their_type_and_compound_call_for(app):
    run(app, "seed-demo")

    sent = {
        case.number: (case.case_type.name, {d.department.kind for d in case.departments}, case.compound.name)
        for case in db.session.scalars(sa.select(Case))
    }
    assert len({frozenset(kinds) for _type, kinds, _compound in sent.values()}) >= 4
    for number, (type_name, kinds, _compound) in sent.items():
        if type_name == "治安" and kinds:
            assert kinds == {DepartmentKind.POLICE_STATION}, number
        if type_name == "物业维修":
            assert DepartmentKind.URBAN_MANAGEMENT not in kinds, number
    for case in db.session.scalars(sa.select(Case)):
        for link in case.departments:
            assert link.department.street_id in (None, case.street_id)
            if link.department.kind is DepartmentKind.PROPERTY:
                assert case.compound.name in link.department.name  # the compound's own 物业


def test_demo_case_numbers_carry_the_day_each_case_was_filed(app):
    run(app, "seed-demo")

    days = Counter(case.number.split("-")[1] for case in db.session.scalars(sa.select(Case)))
    assert len(days) > 5
    statuses = set(db.session.scalars(sa.select(Case.status).distinct()))
    assert statuses == set(CaseStatus)
    assert db.session.scalar(sa.select(sa.func.count()).where(CaseEvent.kind == EventKind.ESCALATED)) > 0


def test_search_shows_the_times_the_feed_shows(app):
    run(app, "seed-demo")

    pairs = db.session.execute(
        sa.select(Post.created_at, SearchDocument.created_at).join(
            SearchDocument, SearchDocument.key == sa.literal("p") + sa.cast(Post.id, sa.String)
        )
    ).all()
    assert pairs and all(post == document for post, document in pairs)
    spread = db.session.execute(
        sa.select(sa.func.min(SearchDocument.created_at), sa.func.max(SearchDocument.created_at))
    ).one()
    assert (spread[1] - spread[0]).days >= 20  # a month of posts, not all "刚刚"


def test_a_first_login_shows_a_few_new_messages_not_dozens(app, client):
    run(app, "seed-demo")

    for _role, _compound, phone in logins():
        unread = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .join(Notification.user)
            .where(Notification.read_at.is_(None), sa.text("users.phone = :phone"))
            .params(phone=phone)
        )
        assert unread <= 10, phone


def test_the_full_text_definitions_are_what_the_migrations_made(app):
    if db.engine.dialect.name == "sqlite":
        made = dict(
            db.session.execute(
                sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'search_documents'")
            ).all()
        )
        assert made == schema.FTS_TRIGGERS
    else:
        definition = db.session.scalar(
            sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": schema.GIN_INDEX_NAME}
        )
        assert "USING gin (to_tsvector('simple'::regconfig, words))" in definition
