"""Migration 0019 on cases filed before it: each gets a 包案人, its departments a 主办 and 协办 parts
signed for as their events show, and the timelines still follow the workflow's table."""

from datetime import datetime, timedelta

import flask_migrate
import sqlalchemy as sa
from invariants import _case_timelines
from test_migrations import _insert, fresh_app  # noqa: F401  (the fixture: an empty database per test)

from community_board.extensions import db

T0 = datetime(2026, 11, 2, 9, 0)  # a Monday


def _world(bind, t):
    """Two departments of a street, their staff, the compound's 书记 and committee member, a grid
    worker and a resident; a post for each case."""
    district = _insert(bind, t["districts"], name="宝山区", code="BS")
    street = _insert(bind, t["streets"], district_id=district, name="吴淞街道")
    compound = _insert(bind, t["compounds"], district_id=district, street_id=street, name="吴淞新城")
    case_type = _insert(bind, t["case_types"], district_id=district, name="市容绿化")
    people = {}
    for n, name in enumerate(("书记", "委员", "城管", "物业", "网格", "居民")):
        people[name] = _insert(bind, t["users"], phone=f"1380000000{n}", real_name=name)
    squad = _insert(bind, t["departments"], district_id=district, street_id=street, name="城管中队", kind="other")
    estate = _insert(bind, t["departments"], district_id=district, street_id=street, name="物业", kind="property")
    for name, role, node in (
        ("书记", "secretary", {"compound_id": compound}),
        ("委员", "committee", {"compound_id": compound}),
        ("城管", "department", {"department_id": squad}),
        ("物业", "department", {"department_id": estate}),
        ("网格", "grid_street", {}),
    ):
        _insert(
            bind,
            t["staff_assignments"],
            user_id=people[name],
            role=role,
            district_id=district,
            street_id=street,
            **node,
        )
    section = bind.execute(sa.text("SELECT min(id) FROM sections")).scalar()

    def case(number, status, events, departments):
        post = _insert(
            bind,
            t["posts"],
            district_id=district,
            street_id=street,
            compound_id=compound,
            section_id=section,
            author_id=people["居民"],
        )
        case_id = _insert(
            bind,
            t["cases"],
            number=number,
            district_id=district,
            street_id=street,
            compound_id=compound,
            post_id=post,
            reporter_id=people["居民"],
            case_type_id=case_type,
            priority="normal",
            status=status,
            level="compound",
            created_at=T0,
            deadline_at=T0 + timedelta(days=3),
            closed_at=T0 + timedelta(days=2),
            resolved_at=T0 + timedelta(days=1),
        )
        for department, hours in departments:
            bind.execute(
                t["case_departments"]
                .insert()
                .values(
                    case_id=case_id,
                    department_id={"城管": squad, "物业": estate}[department],
                    dispatched_at=T0 + timedelta(hours=hours),
                )
            )
        for hours, kind, actor, from_status, to_status in events:
            _insert(
                bind,
                t["case_events"],
                case_id=case_id,
                kind=kind,
                actor_id=people[actor],
                actor_label=actor,
                from_status=from_status,
                to_status=to_status,
                public_note=kind,
                internal_note="",
                created_at=T0 + timedelta(hours=hours),
            )
        return case_id

    return people, squad, estate, case


def test_0019_gives_cases_an_owner_and_their_departments_parts_from_their_events(fresh_app):  # noqa: F811
    with fresh_app.app_context():
        flask_migrate.upgrade(revision="0018")
        with db.engine.begin() as bind:
            tables = sa.MetaData()
            tables.reflect(bind)
            people, squad, estate, case = _world(bind, tables.tables)
            # Filed by the committee member, sent to 城管 then 物业; 物业's staff accepted it (so 物业
            # leads), 城管's staff noted progress: open, both worked on it.
            open_case = case(
                "BS-20261102-0001",
                "in_progress",
                [
                    (0, "filed", "委员", None, "filed"),
                    (1, "dispatched", "委员", "filed", "dispatched"),
                    (2, "accepted", "物业", "dispatched", "in_progress"),
                    (3, "progress", "城管", None, None),
                ],
                [("城管", 1), ("物业", 1)],
            )
            # Filed by the grid centre, accepted and resolved by grid staff, closed: nobody signed.
            closed_case = case(
                "BS-20261102-0002",
                "closed",
                [
                    (0, "filed", "网格", None, "filed"),
                    (1, "dispatched", "网格", "filed", "dispatched"),
                    (2, "accepted", "网格", "dispatched", "in_progress"),
                    (20, "resolved", "网格", "in_progress", "resolved"),
                    (40, "closed", "居民", "resolved", "closed"),
                ],
                [("城管", 1)],
            )

        flask_migrate.upgrade(revision="0019")
        with db.engine.connect() as bind:
            owners = dict(bind.execute(sa.text("SELECT id, owner_id FROM cases")).all())
            parts = {
                (row.case_id, row.department_id): row
                for row in bind.execute(
                    sa.text(
                        "SELECT case_id, department_id, role, status, ack_due_at, acknowledged_at FROM case_departments"
                    )
                )
            }
            marked = bind.execute(
                sa.text(
                    "SELECT kind, department_id, part_status, actor_label, internal_note FROM case_events "
                    "WHERE part_status IS NOT NULL ORDER BY id"
                )
            ).all()
        assert owners == {open_case: people["委员"], closed_case: people["书记"]}
        estate_part, squad_part = parts[(open_case, estate)], parts[(open_case, squad)]
        assert (estate_part.role, estate_part.status) == ("lead", "acknowledged")
        assert str(estate_part.acknowledged_at).startswith(str(T0 + timedelta(hours=2)))
        assert (squad_part.role, squad_part.status) == ("assist", "acknowledged")
        assert (parts[(closed_case, squad)].role, parts[(closed_case, squad)].status) == ("lead", "pending")
        assert all(row.ack_due_at is not None for row in parts.values())
        assert [(kind, department, status) for kind, department, status, _, _ in marked] == [
            ("accepted", estate, "acknowledged"),  # 物业's 接单处置 was its 签收
            ("acknowledged", squad, "acknowledged"),  # 城管 worked on the open case: said so, by the system
        ]
        assert marked[1].actor_label == "系统" and "按升级前的办理记录视为已签收" in marked[1].internal_note
        problems = _case_timelines()
        db.session.remove()  # no transaction left open for the downgrade to wait on
        assert problems == []

        flask_migrate.downgrade(revision="0018")
        with db.engine.connect() as bind:
            columns = {c["name"] for c in sa.inspect(bind).get_columns("case_departments")}
            kinds = bind.execute(sa.text("SELECT kind FROM case_events ORDER BY id")).scalars().all()
            if bind.dialect.name == "sqlite":  # the downgrade turned them off for its rebuilds
                assert bind.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert columns == {"case_id", "department_id", "dispatched_at"}
        assert kinds.count("note") == 1 and "acknowledged" not in kinds
