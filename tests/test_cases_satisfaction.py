"""回访: the reporter rates a resolved case; satisfied closes it, unsatisfied sends it back."""

import pytest
from cases_helpers import department_of, events, messages, new_case, page_version, reload, signed_in, text_of, walk

from community_board.cases import services
from community_board.cases.models import CaseStatus, EventKind, Satisfaction
from community_board.compounds.models import StaffRole
from community_board.errors import ValidationError
from community_board.extensions import db

S = CaseStatus


@pytest.fixture
def people(resident, secretary, dept_staff):
    return dict(filer=secretary, worker=dept_staff, department=department_of(dept_staff), reporter=resident)


def rating_form_shown(client, case) -> bool:
    page = text_of(client.get(f"/p/{case.post_id}"))
    return f'action="/cases/{case.id}/rate"' in page


def test_the_reporter_is_asked_to_rate_only_once_the_case_is_resolved(world, resident, secretary, people):
    case = new_case(secretary, resident)
    client = signed_in(resident)
    for status in (S.FILED, S.DISPATCHED, S.IN_PROGRESS):
        walk(case, status, **people)
        assert not rating_form_shown(client, case), status
    walk(case, S.RESOLVED, **people)
    page = text_of(client.get(f"/p/{case.post_id}"))
    assert rating_form_shown(client, case) and "您满意吗" in page
    assert "满意" in page and "基本满意" in page and "不满意" in page and "未评价" not in page

    walk(case, S.CLOSED, **people)
    page = text_of(client.get(f"/p/{case.post_id}"))
    assert not rating_form_shown(client, case)
    assert "居民评价：满意" in page


@pytest.mark.parametrize("answer", [Satisfaction.SATISFIED, Satisfaction.BASIC], ids=["满意", "基本满意"])
def test_satisfied_and_basically_satisfied_close_the_case(world, resident, secretary, people, answer):
    case = walk(new_case(secretary, resident), S.RESOLVED, **people)
    response = signed_in(resident).post(
        f"/cases/{case.id}/rate", data={"satisfaction": answer.value, "comment": "处理得很快"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/p/{case.post_id}#case")

    case = reload(case)
    assert case.status is S.CLOSED and case.closed_at is not None
    assert case.satisfaction is answer and case.satisfaction_comment == "处理得很快"
    last = events(case)[-1]
    assert (last.kind, last.from_status, last.to_status) == (EventKind.CLOSED, S.RESOLVED, S.CLOSED)
    assert f"居民评价：{answer.label}" in last.public_note
    assert "已结案" in messages(resident)[-1]


def test_unsatisfied_reopens_the_case_tells_the_handlers_and_it_can_be_rated_again(
    world, resident, secretary, dept_staff, people
):
    committee = world.staff(StaffRole.COMMITTEE, world.compound_a, name="陈敏")
    case = walk(new_case(secretary, resident), S.RESOLVED, **people)
    told = {user.id: len(messages(user)) for user in (dept_staff, secretary, committee)}

    response = signed_in(resident).post(
        f"/cases/{case.id}/rate", data={"satisfaction": "unsatisfied", "comment": "菜还在，没有恢复"}
    )
    assert response.status_code == 302
    case = reload(case)
    assert case.status is S.IN_PROGRESS and case.reopen_count == 1
    assert case.closed_at is None and case.resolved_at is None
    last = events(case)[-1]
    assert (last.kind, last.from_status, last.to_status) == (EventKind.REOPENED, S.RESOLVED, S.IN_PROGRESS)
    assert "不满意" in last.public_note and "菜还在" in last.public_note
    for user in (dept_staff, secretary, committee):
        got = messages(user)
        assert len(got) == told[user.id] + 1 and "居民不满意" in got[-1] and case.number in got[-1]

    # The department handles it again; the case page says so, and the resident rates once more.
    worker = signed_in(dept_staff)
    page = worker.get(f"/cases/{case.id}")
    assert "重新处置" in text_of(page)
    assert (
        worker.post(
            f"/cases/{case.id}/resolve", data={"version": page_version(page), "public_note": "已翻土补种草皮"}
        ).status_code
        == 302
    )
    case = reload(case)
    assert case.status is S.RESOLVED and case.resolved_at is not None
    assert rating_form_shown(signed_in(resident), case)
    assert signed_in(resident).post(f"/cases/{case.id}/rate", data={"satisfaction": "basic"}).status_code == 302
    case = reload(case)
    assert case.status is S.CLOSED and case.satisfaction is Satisfaction.BASIC and case.reopen_count == 1


def test_other_residents_cannot_rate(world, resident, secretary, people):
    neighbour = world.resident(world.compound_a, name="吴刚", building="6", room="601")
    case = walk(new_case(secretary, resident), S.RESOLVED, **people)
    client = signed_in(neighbour)

    assert not rating_form_shown(client, case)
    assert client.post(f"/cases/{case.id}/rate", data={"satisfaction": "unsatisfied"}).status_code == 403
    assert signed_in(secretary).post(f"/cases/{case.id}/rate", data={"satisfaction": "satisfied"}).status_code == 403
    case = reload(case)
    assert case.status is S.RESOLVED and case.satisfaction is None


def test_rating_twice_is_refused(world, resident, secretary, people):
    case = walk(new_case(secretary, resident), S.RESOLVED, **people)
    client = signed_in(resident)
    assert client.post(f"/cases/{case.id}/rate", data={"satisfaction": "satisfied"}).status_code == 302
    closed_at = reload(case).closed_at

    assert client.post(f"/cases/{case.id}/rate", data={"satisfaction": "unsatisfied"}).status_code == 403
    case = reload(case)
    assert case.status is S.CLOSED and case.satisfaction is Satisfaction.SATISFIED
    assert case.closed_at == closed_at and case.reopen_count == 0
    assert [e.kind for e in events(case)].count(EventKind.CLOSED) == 1


def test_unrated_is_not_an_answer_a_resident_can_give(world, resident, secretary, people):
    case = walk(new_case(secretary, resident), S.RESOLVED, **people)
    signed_in(resident).post(f"/cases/{case.id}/rate", data={"satisfaction": "unrated"})
    assert reload(case).status is S.RESOLVED and reload(case).satisfaction is None

    with pytest.raises(ValidationError) as refused:
        services.rate(resident, case, Satisfaction.UNRATED)
    assert refused.value.message == "请选择满意度"
    db.session.rollback()
