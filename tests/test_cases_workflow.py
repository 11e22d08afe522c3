"""The case workflow: the transition table, who may do each step, filing (numbers, once only,
dispatch at once), 增派, resolving, the case card on the post, notifications."""

import itertools

import pytest
import sqlalchemy as sa
from cases_helpers import (
    case_type,
    department_of,
    errors_shown,
    event_count,
    events,
    make_post,
    messages,
    new_case,
    page_version,
    reload,
    signed_in,
    text_of,
    walk,
)

from community_board.cases import services
from community_board.cases.models import Case, CaseStatus, EventKind, Priority
from community_board.compounds.models import DepartmentKind, StaffRole
from community_board.errors import ValidationError
from community_board.extensions import db
from community_board.permissions import Action
from community_board.timeutil import to_local, utcnow

S = CaseStatus
PAIRS = list(itertools.product(CaseStatus, CaseStatus))


# The transition table ---------------------------------------------------------------------


def test_the_table_is_the_workflow_of_the_issue():
    case_steps = {pair for pair in services.TRANSITIONS if isinstance(pair[0], CaseStatus)}
    assert case_steps == {
        (S.FILED, S.DISPATCHED),
        (S.FILED, S.WITHDRAWN),
        (S.DISPATCHED, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.RESOLVED),
        (S.RESOLVED, S.CLOSED),
        (S.RESOLVED, S.IN_PROGRESS),
        # 退单 by the lead department sends the case back; the dispatcher redispatches or withdraws it.
        (S.DISPATCHED, S.RETURNED),
        (S.IN_PROGRESS, S.RETURNED),
        (S.RETURNED, S.DISPATCHED),
        (S.RETURNED, S.WITHDRAWN),
    }


@pytest.mark.parametrize(("start", "to"), PAIRS, ids=[f"{a.value}-{b.value}" for a, b in PAIRS])
def test_every_pair_of_statuses_is_applied_with_one_event_or_refused_by_name(
    world, resident, secretary, dept_staff, start, to
):
    case = new_case(secretary, resident)
    walk(case, start, filer=secretary, worker=dept_staff, department=department_of(dept_staff), reporter=resident)
    before = event_count(case)
    step = services.TRANSITIONS.get((start, to))

    if step is None:
        with pytest.raises(ValidationError) as refused:
            services.transition(secretary, case, to, public="试一试")
        assert start.label in refused.value.message and to.label in refused.value.message
        db.session.rollback()
        assert reload(case).status is start
        assert event_count(case) == before
    else:
        kind, action = step
        actor = {Action.DISPATCH_CASE: secretary, Action.WORK_CASE: dept_staff, Action.RATE_CASE: resident}[action]
        services.transition(actor, case, to, public="按表办理")
        db.session.commit()
        assert reload(case).status is to
        new = events(case)[before:]
        assert len(new) == 1
        assert (new[0].kind, new[0].from_status, new[0].to_status) == (kind, start, to)
        assert new[0].public_note == "按表办理"


# Who may do each step ---------------------------------------------------------------------


@pytest.fixture
def second_department(world):
    return world.department("吴淞街道物业公司", DepartmentKind.PROPERTY, world.street_a)


def dispatchers(world):
    return {
        "secretary": lambda: world.staff(StaffRole.SECRETARY, world.compound_a, name="李秀英"),
        "committee": lambda: world.staff(StaffRole.COMMITTEE, world.compound_a, name="陈敏"),
        "street grid": lambda: world.staff(StaffRole.GRID_STREET, world.street_a, name="赵磊"),
        "district grid": lambda: world.staff(StaffRole.GRID_DISTRICT, world.district, name="钱进"),
    }


@pytest.mark.parametrize("who", ["secretary", "committee", "street grid", "district grid"])
def test_compound_staff_and_grid_centres_dispatch_and_withdraw(world, resident, dept_staff, who):
    actor = dispatchers(world)[who]()
    department = department_of(dept_staff)
    to_dispatch = new_case(actor, resident, title="广场变菜园")
    to_withdraw = new_case(actor, resident, title="邻居家装修太吵")
    client = signed_in(actor)

    page = client.get(f"/cases/{to_dispatch.id}")
    assert page.status_code == 200 and "派单" in text_of(page)
    response = client.post(
        f"/cases/{to_dispatch.id}/dispatch", data={"version": page_version(page), "departments": [department.id]}
    )
    assert response.status_code == 302
    assert reload(to_dispatch).status is S.DISPATCHED
    assert reload(to_dispatch).department_ids == {department.id}

    page = client.get(f"/cases/{to_withdraw.id}")
    response = client.post(
        f"/cases/{to_withdraw.id}/withdraw", data={"version": page_version(page), "public_note": "属于家庭内部事务"}
    )
    assert response.status_code == 302
    assert reload(to_withdraw).status is S.WITHDRAWN
    assert events(to_withdraw)[-1].public_note == "属于家庭内部事务"


@pytest.mark.parametrize("who", ["dept_staff", "grid_worker"])
def test_the_dispatched_department_and_grid_staff_accept_and_resolve(
    request, world, resident, secretary, dept_staff, who
):
    actor = request.getfixturevalue(who)
    case = new_case(secretary, resident, departments=[department_of(dept_staff)])
    client = signed_in(actor)

    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and "接单处置" in text_of(page)
    assert (
        client.post(
            f"/cases/{case.id}/accept", data={"version": page_version(page), "public_note": "下午到现场"}
        ).status_code
        == 302
    )
    assert reload(case).status is S.IN_PROGRESS

    page = client.get(f"/cases/{case.id}")
    assert (
        client.post(
            f"/cases/{case.id}/resolve", data={"version": page_version(page), "public_note": "已恢复绿化带"}
        ).status_code
        == 302
    )
    case = reload(case)
    assert case.status is S.RESOLVED and case.resolved_at is not None and case.resolve_minutes is not None


def test_compound_staff_do_not_handle_and_departments_do_not_dispatch(
    world, resident, secretary, dept_staff, second_department
):
    case = new_case(secretary, resident, departments=[department_of(dept_staff)])
    version = str(case.version)

    assert signed_in(secretary).post(f"/cases/{case.id}/accept", data={"version": version}).status_code == 403
    assert (
        signed_in(dept_staff)
        .post(f"/cases/{case.id}/dispatch", data={"version": version, "departments": [second_department.id]})
        .status_code
        == 403
    )
    case = reload(case)
    assert case.status is S.DISPATCHED and case.department_ids == {department_of(dept_staff).id}


def test_a_department_the_case_was_not_dispatched_to_gets_404(
    world, resident, secretary, dept_staff, second_department
):
    outsider = world.staff(StaffRole.DEPARTMENT, second_department, name="孙涛")
    case = new_case(secretary, resident, departments=[department_of(dept_staff)])
    client = signed_in(outsider)

    assert client.get(f"/cases/{case.id}").status_code == 404
    assert client.post(f"/cases/{case.id}/accept", data={"version": str(case.version)}).status_code == 404
    assert reload(case).status is S.DISPATCHED


def test_residents_get_403_on_the_case_page(world, resident, secretary):
    case = new_case(secretary, resident)
    client = signed_in(resident)
    assert client.get(f"/cases/{case.id}").status_code == 403
    assert (
        client.post(
            f"/cases/{case.id}/withdraw", data={"version": str(case.version), "public_note": "不要了"}
        ).status_code
        == 403
    )
    assert reload(case).status is S.FILED


def test_police_file_posts_of_the_police_section_only(world, resident, officer):
    question = make_post(resident, world.compound_a, key="police", title="小区门口有人撬电动车", body="昨晚两点")
    matter = make_post(resident, world.compound_a, key="matters", title="广场变菜园", body="绿化带被挖")
    client = signed_in(officer)
    police_type = case_type("治安")

    assert "立案" in text_of(client.get(f"/p/{question.id}"))
    assert client.get(f"/p/{question.id}/case/new").status_code == 200
    response = client.post(f"/p/{question.id}/case/new", data={"case_type": police_type.id, "priority": "urgent"})
    assert response.status_code == 302
    filed = db.session.scalar(sa.select(Case).where(Case.post_id == question.id))
    assert filed is not None and filed.priority is Priority.URGENT and filed.reporter_id == resident.id

    assert client.get(f"/p/{matter.id}/case/new").status_code == 403
    assert (
        client.post(f"/p/{matter.id}/case/new", data={"case_type": police_type.id, "priority": "normal"}).status_code
        == 403
    )
    assert db.session.scalar(sa.select(Case).where(Case.post_id == matter.id)) is None


# Filing ------------------------------------------------------------------------------------


def test_filing_numbers_cases_by_day_and_the_post_shows_the_number(world, resident, secretary):
    today = to_local(utcnow()).strftime("%Y%m%d")
    first = new_case(secretary, resident, title="广场变菜园")
    second = new_case(secretary, resident, title="楼道堆物")

    assert first.number == f"BS-{today}-0001"
    assert second.number == f"BS-{today}-0002"
    assert f"工单 BS-{today}-0002" in text_of(signed_in(resident).get(f"/p/{second.post_id}"))


def test_filing_over_http_with_departments_dispatches_at_once(world, resident, secretary, dept_staff):
    post = make_post(resident, world.compound_a, title="广场变菜园", body="绿化带被挖了种菜")
    department = department_of(dept_staff)
    client = signed_in(secretary)

    form = client.get(f"/p/{post.id}/case/new")
    assert form.status_code == 200 and department.name in text_of(form)
    response = client.post(
        f"/p/{post.id}/case/new",
        data={
            "case_type": case_type("市容绿化").id,
            "priority": "normal",
            "departments": [department.id],
            "note": "已电话联系发帖居民",
        },
    )
    assert response.status_code == 302
    case = db.session.scalar(sa.select(Case).where(Case.post_id == post.id))
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    assert case.status is S.DISPATCHED and case.department_ids == {department.id}
    assert [e.kind for e in events(case)] == [EventKind.FILED, EventKind.DISPATCHED]
    assert "已电话联系发帖居民" in events(case)[0].public_note
    assert any("新派单“广场变菜园”" in text for text in messages(dept_staff))


def test_filing_without_departments_leaves_the_case_filed(world, resident, secretary):
    case = new_case(secretary, resident)
    assert case.status is S.FILED and case.departments == []
    assert [(e.kind, e.to_status) for e in events(case)] == [(EventKind.FILED, S.FILED)]


def test_a_post_is_filed_only_once(world, resident, secretary, committee):
    case = new_case(secretary, resident)
    post = case.post

    with pytest.raises(ValidationError) as refused:
        services.file_case(committee, post, case_type("环境卫生"), Priority.URGENT)
    assert refused.value.message == "这条帖子已经立案"
    db.session.rollback()

    client = signed_in(committee)
    again = client.get(f"/p/{post.id}/case/new")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/cases/{case.id}")
    response = client.post(f"/p/{post.id}/case/new", data={"case_type": case_type("环境卫生").id, "priority": "urgent"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.post_id == post.id)) == 1
    assert reload(case).priority is Priority.NORMAL


def test_redispatch_adds_departments(world, resident, secretary, dept_staff, second_department):
    first = department_of(dept_staff)
    second_staff = world.staff(StaffRole.DEPARTMENT, second_department, name="孙涛")
    case = new_case(secretary, resident, departments=[first])
    walk(case, S.IN_PROGRESS, filer=secretary, worker=dept_staff, department=first, reporter=resident)
    before = len(messages(dept_staff))
    client = signed_in(secretary)

    page = client.get(f"/cases/{case.id}")
    assert "增派部门" in text_of(page)
    response = client.post(
        f"/cases/{case.id}/dispatch",
        data={"version": page_version(page), "departments": [second_department.id], "public_note": "需要物业配合"},
    )
    assert response.status_code == 302
    case = reload(case)
    assert case.status is S.IN_PROGRESS
    assert case.department_ids == {first.id, second_department.id}
    last = events(case)[-1]
    assert last.kind is EventKind.DISPATCHED and last.public_note.startswith(f"增派：{second_department.name}")
    assert any("新派单" in text for text in messages(second_staff))
    assert len(messages(dept_staff)) == before  # the first department is not told again

    with pytest.raises(ValidationError) as refused:
        services.dispatch(secretary, case, [first])
    assert refused.value.message == "所选部门都已派过单"


def test_resolving_needs_a_note_of_what_was_done(world, resident, secretary, dept_staff):
    department = department_of(dept_staff)
    case = new_case(secretary, resident, departments=[department])
    walk(case, S.IN_PROGRESS, filer=secretary, worker=dept_staff, department=department, reporter=resident)

    with pytest.raises(ValidationError) as refused:
        services.resolve(dept_staff, case, "   ")
    assert "处置结果" in refused.value.message
    db.session.rollback()

    client = signed_in(dept_staff)
    page = client.get(f"/cases/{case.id}")
    response = client.post(f"/cases/{case.id}/resolve", data={"version": page_version(page), "public_note": ""})
    assert response.status_code == 400
    assert "请写明处置结果，居民会看到它" in errors_shown(response)
    assert reload(case).status is S.IN_PROGRESS
    assert events(case)[-1].kind is EventKind.ACCEPTED


@pytest.mark.parametrize(
    ("verb", "data", "message"),
    [
        ("dispatch", {}, "请至少选择一个部门"),
        ("withdraw", {"public_note": ""}, "请填写不予立案的原因，居民会看到它"),
        ("escalate", {"public_note": ""}, "请填写升级原因"),
    ],
    ids=["dispatch", "withdraw", "escalate"],
)
def test_a_step_missing_what_it_needs_says_why_and_changes_nothing(world, resident, secretary, verb, data, message):
    case = new_case(secretary, resident)
    client = signed_in(secretary)
    before = event_count(case)

    page = client.get(f"/cases/{case.id}")
    response = client.post(f"/cases/{case.id}/{verb}", data={"version": page_version(page), **data})
    assert response.status_code == 400
    assert message in errors_shown(response)
    case = reload(case)
    assert case.status is S.FILED and case.departments == [] and event_count(case) == before


# The case on the post, notifications ------------------------------------------------------


def test_the_post_shows_the_case_card_with_its_status_to_every_resident_of_the_compound(
    world, resident, secretary, dept_staff, other_compound_resident
):
    neighbour = world.resident(world.compound_a, name="吴刚", building="6", room="601")
    case = new_case(secretary, resident)

    for viewer in (resident, neighbour):
        page = text_of(signed_in(viewer).get(f"/p/{case.post_id}"))
        assert f"工单 {case.number}" in page and "已立案" in page and "市容绿化" in page

    services.dispatch(secretary, case, [department_of(dept_staff)])
    db.session.commit()
    page = text_of(signed_in(neighbour).get(f"/p/{case.post_id}"))
    assert "已派单" in page and department_of(dept_staff).name in page

    assert signed_in(other_compound_resident).get(f"/p/{case.post_id}").status_code == 404


def test_the_reporter_is_told_of_every_public_status_change(world, resident, secretary, dept_staff):
    department = department_of(dept_staff)
    case = new_case(secretary, resident)
    expected = [f"已立案，编号 {case.number}"]
    assert len(messages(resident)) == 1 and expected[0] in messages(resident)[0]

    for status, text in [
        (S.DISPATCHED, "已派单"),
        (S.IN_PROGRESS, "正在处置中"),
        (S.RESOLVED, "已办结，请对处理结果进行评价"),
        (S.CLOSED, "已结案"),
    ]:
        walk(case, status, filer=secretary, worker=dept_staff, department=department, reporter=resident)
        got = messages(resident)
        assert len(got) == len(expected) + 1, status
        assert case.number in got[-1] and text in got[-1]
        expected.append(text)

    withdrawn = new_case(secretary, resident, title="邻居家装修太吵")
    walk(withdrawn, S.WITHDRAWN, filer=secretary, worker=dept_staff, department=department, reporter=resident)
    assert "不予立案" in messages(resident)[-1] and withdrawn.number in messages(resident)[-1]


def test_department_staff_are_told_when_a_case_reaches_them_and_only_then(
    world, resident, secretary, dept_staff, second_department
):
    other_staff = world.staff(StaffRole.DEPARTMENT, second_department, name="孙涛")
    case = new_case(secretary, resident)
    assert messages(dept_staff) == []

    services.dispatch(secretary, case, [department_of(dept_staff)])
    db.session.commit()
    assert len(messages(dept_staff)) == 1 and case.number in messages(dept_staff)[0]
    assert messages(other_staff) == []


# The story of the issue, over HTTP ----------------------------------------------------------


def test_the_square_turned_vegetable_garden_story(world, resident, secretary, dept_staff, grid_worker):
    """A resident posts 广场变菜园; the secretary files it and dispatches it to three departments, the
    squad leading; the squad accepts, the property company does its part, the secretary releases the
    grid centre, and the squad resolves it; the resident sees every step, rates 满意, the case closes
    and the street's dashboard counts it."""
    squad = department_of(dept_staff)
    grid_centre = world.department("吴淞街道网格化中心", DepartmentKind.GRID_CENTRE, world.street_a)
    property_company = world.department("吴淞新城物业", DepartmentKind.PROPERTY, world.street_a)
    reporter = signed_in(resident)
    posted = reporter.post(
        f"/c/{world.compound_a.id}/s/matters/new", data={"title": "广场变菜园", "body": "有人把广场的绿化带挖了种菜"}
    )
    assert posted.status_code == 302
    post_id = int(posted.headers["Location"].rsplit("/", 1)[1])

    office = signed_in(secretary)
    assert f'href="/p/{post_id}/case/new"' in text_of(office.get(f"/p/{post_id}"))
    filed = office.post(
        f"/p/{post_id}/case/new",
        data={
            "case_type": case_type("市容绿化").id,
            "priority": "normal",
            "departments": [squad.id, grid_centre.id, property_company.id],
        },
    )
    assert filed.status_code == 302
    case = db.session.scalar(sa.select(Case).where(Case.post_id == post_id))
    assert case.department_ids == {squad.id, grid_centre.id, property_company.id}

    squad_client = signed_in(dept_staff)
    assert "广场变菜园" in text_of(squad_client.get("/cases"))
    page = squad_client.get(f"/cases/{case.id}")
    assert (
        squad_client.post(
            f"/cases/{case.id}/accept", data={"version": page_version(page), "public_note": "明早到现场"}
        ).status_code
        == 302
    )
    # 主办/协办: the squad resolves only once the assisting parts are done or released.
    property_staff = world.staff(StaffRole.DEPARTMENT, property_company, name="钱红")
    property_client = signed_in(property_staff)
    for verb, note in (("acknowledge", ""), ("finish", "已组织保洁清运挖出的泥土")):
        page = property_client.get(f"/cases/{case.id}")
        data = {"version": page_version(page), "public_note": note}
        assert property_client.post(f"/cases/{case.id}/{verb}", data=data).status_code == 302
    page = office.get(f"/cases/{case.id}")
    data = {"version": page_version(page), "department": grid_centre.id, "public_note": "城管和物业已能处理"}
    assert office.post(f"/cases/{case.id}/release", data=data).status_code == 302
    page = squad_client.get(f"/cases/{case.id}")
    assert (
        squad_client.post(
            f"/cases/{case.id}/resolve", data={"version": page_version(page), "public_note": "已清除菜地，恢复绿化"}
        ).status_code
        == 302
    )

    post_page = text_of(reporter.get(f"/p/{post_id}"))
    for step in (
        "立案",
        "派单",
        "接单处置",
        "协办完成",
        "已组织保洁清运挖出的泥土",
        "办结",
        "明早到现场",
        "已清除菜地，恢复绿化",
        "您满意吗",
    ):
        assert step in post_page, step
    assert (
        reporter.post(f"/cases/{case.id}/rate", data={"satisfaction": "satisfied", "comment": "谢谢"}).status_code
        == 302
    )
    assert reload(case).status is S.CLOSED

    dashboard = signed_in(grid_worker).get(f"/dashboard/street/{world.street_a.id}")
    assert 'data-kpi="closure-rate">100.0%<' in text_of(dashboard)
