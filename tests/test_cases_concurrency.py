"""Two staff changing one case at once: the second is told "该工单已被他人更新，请刷新" and
nothing of theirs is saved (a version column, optimistic locking)."""

import pytest
from cases_helpers import (
    department_of,
    errors_shown,
    event_count,
    events,
    messages,
    new_case,
    page_version,
    reload,
    signed_in,
    walk,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from community_board.cases.forms import CaseStepForm
from community_board.cases.models import Case, CaseStatus, Level
from community_board.compounds.models import StaffRole
from community_board.extensions import db
from community_board.web import STALE_MESSAGE, save

S = CaseStatus


# Over HTTP -----------------------------------------------------------------------------------

SECOND_STEPS = {
    "dispatch": lambda department: {"departments": [department.id], "public_note": "派给城管"},
    "withdraw": lambda department: {"public_note": "不属于公共事务"},
    "note": lambda department: {"public_note": "已电话联系居民", "internal_note": "居民情绪激动"},
    "escalate": lambda department: {"public_note": "需要街道协调"},
}


@pytest.mark.parametrize("verb", list(SECOND_STEPS))
def test_the_second_of_two_staff_acting_on_the_same_version_is_told_to_refresh(
    world, resident, secretary, committee, dept_staff, verb
):
    department = department_of(dept_staff)
    case = new_case(secretary, resident)
    first, second = signed_in(secretary), signed_in(committee)
    seen_by_first = page_version(first.get(f"/cases/{case.id}"))
    seen_by_second = page_version(second.get(f"/cases/{case.id}"))
    assert seen_by_first == seen_by_second

    assert (
        first.post(
            f"/cases/{case.id}/escalate", data={"version": seen_by_first, "public_note": "居民区协调不了"}
        ).status_code
        == 302
    )
    before = event_count(case)

    response = second.post(
        f"/cases/{case.id}/{verb}", data={"version": seen_by_second, **SECOND_STEPS[verb](department)}
    )
    assert response.status_code == 409
    assert STALE_MESSAGE in errors_shown(response)

    case = reload(case)
    assert case.status is S.FILED and case.level is Level.STREET  # the first's step, and only that
    assert case.departments == [] and event_count(case) == before
    assert messages(dept_staff) == []

    # The page the second got back is the case as it is now: sending again from it works, except
    # escalating again, which is the street grid centre's call once the case is at the street level.
    assert page_version(response) == str(case.version) != seen_by_second
    expected = 403 if verb == "escalate" else 302
    assert (
        second.post(
            f"/cases/{case.id}/{verb}", data={"version": page_version(response), **SECOND_STEPS[verb](department)}
        ).status_code
        == expected
    )


@pytest.mark.parametrize("verb", ["accept", "resolve"])
def test_two_handlers_pressing_the_same_step_the_second_is_told_to_refresh(
    world, resident, secretary, dept_staff, verb
):
    department = department_of(dept_staff)
    colleague = world.staff(StaffRole.DEPARTMENT, department, name="孙涛")
    case = new_case(secretary, resident, departments=[department])
    if verb == "resolve":
        walk(case, S.IN_PROGRESS, filer=secretary, worker=dept_staff, department=department, reporter=resident)
    first, second = signed_in(dept_staff), signed_in(colleague)
    version = page_version(first.get(f"/cases/{case.id}"))
    assert page_version(second.get(f"/cases/{case.id}")) == version

    assert (
        first.post(f"/cases/{case.id}/{verb}", data={"version": version, "public_note": "周勇处理"}).status_code == 302
    )
    before = event_count(case)
    response = second.post(f"/cases/{case.id}/{verb}", data={"version": version, "public_note": "孙涛处理"})

    assert response.status_code == 409
    assert STALE_MESSAGE in errors_shown(response)
    assert event_count(case) == before
    assert "孙涛处理" not in [e.public_note for e in events(case)]


# The ORM race ----------------------------------------------------------------------------------


@pytest.fixture
def filed_case(world, resident, secretary):
    case = new_case(secretary, resident)
    return reload(case)


def test_two_sessions_changing_one_case_the_later_commit_raises_stale_data(filed_case):
    # The second session ends its read once it has the case, as a page does between two requests
    # (SQLite cannot turn an old read snapshot into a write at all).
    other = Session(db.engine, expire_on_commit=False)
    try:
        theirs = other.get(Case, filed_case.id)
        other.commit()
        ours = db.session.get(Case, filed_case.id)
        assert ours is not theirs and ours.version == theirs.version == 1

        ours.status = S.WITHDRAWN
        theirs.status = S.DISPATCHED
        db.session.commit()
        with pytest.raises(StaleDataError):
            other.commit()
        other.rollback()
    finally:
        other.close()

    case = reload(filed_case)
    assert case.status is S.WITHDRAWN and case.version == 2


def test_web_save_turns_stale_data_into_the_refresh_message(app, filed_case):
    ours = db.session.get(Case, filed_case.id)
    db.session.expunge(ours)  # loaded in an earlier request
    db.session.commit()
    other = Session(db.engine)
    try:
        theirs = other.get(Case, filed_case.id)
        theirs.level = Level.STREET
        other.commit()
    finally:
        other.close()

    def work():
        db.session.add(ours)
        assert ours.version == 1
        ours.status = S.DISPATCHED

    with app.test_request_context(f"/cases/{filed_case.id}/dispatch", method="POST"):
        form = CaseStepForm()
        ok, result = save(form, work, success="已派单")
        assert (ok, result) == (False, None)
        assert form.form_errors == [STALE_MESSAGE]

    case = reload(filed_case)
    assert case.status is S.FILED and case.level is Level.STREET and case.version == 2
