"""The 12345 mechanics of a case: 包案人, 签收 within a limit, 退单 with a reason, 延期 asked and
decided, 主办/协办 parts (the case is resolved only by the lead, with the assisting parts done or
released), corrections after filing, and who may do each of them."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from cases_helpers import (
    case_type,
    department_of,
    errors_shown,
    events,
    make_post,
    messages,
    new_case,
    page_version,
    place,
    reload,
    signed_in,
    text_of,
)

from community_board.cases import services
from community_board.cases.models import (
    CaseExtension,
    CaseStatus,
    EventKind,
    ExtensionStatus,
    PartRole,
    PartStatus,
    Priority,
    ReturnReason,
    Satisfaction,
)
from community_board.compounds.models import DepartmentKind, StaffRole
from community_board.errors import ValidationError
from community_board.extensions import db
from community_board.timeutil import format_local, to_local, utcnow

S, P, X = CaseStatus, PartStatus, ExtensionStatus


@pytest.fixture
def scene(world, resident, secretary, dept_staff):
    """A resident's post filed by the 书记 and dispatched to the 城管中队 (主办) and the compound's 物业 (协办)."""
    squad = department_of(dept_staff)
    property_company = world.department("吴淞新城物业服务中心", DepartmentKind.PROPERTY, world.street_a)
    helper = world.staff(StaffRole.DEPARTMENT, property_company, name="钱红")
    case = new_case(secretary, resident, title="垃圾厢房旁堆满装修垃圾", departments=[squad, property_company])
    return SimpleNamespace(
        case=case,
        squad=squad,
        property=property_company,
        lead=dept_staff,
        helper=helper,
        secretary=secretary,
        resident=resident,
    )


def act(user, case, verb, **data):
    """``user`` takes a step on the case page, as a browser would (the version the page showed)."""
    client = signed_in(user)
    page = client.get(f"/cases/{case.id}")
    version = page_version(page) if page.status_code == 200 else str(case.version)
    return client.post(f"/cases/{case.id}/{verb}", data={"version": version, **data})


def part(case, department):
    return next(p for p in reload(case).departments if p.department_id == department.id)


def commit(action, *args, **kwargs):
    result = action(*args, **kwargs)
    db.session.commit()
    return result


# Every new step of the table, taken by its verb --------------------------------------------------


def _ack(s):
    commit(services.acknowledge, s.helper, s.case)


def _return(s):
    commit(services.return_case, s.helper, s.case, ReturnReason.NOT_OUR_DUTY, "不属物业管理范围")


def _release(s):
    commit(services.release_part, s.secretary, s.case, s.property.id, "城管中队可以独立处置")


def _ask_extension(s):
    commit(services.accept, s.lead, s.case)
    commit(services.request_extension, s.lead, s.case, s.case.deadline_at + timedelta(days=2), "需要联系装修公司")


PART_STEPS = {
    # (from, to): (what brings the 物业 part to ``from``, the step to ``to``)
    (P.PENDING, P.ACKNOWLEDGED): ([], _ack),
    (P.ACKNOWLEDGED, P.DONE): ([_ack], lambda s: commit(services.finish_part, s.helper, s.case, "已清运两车垃圾")),
    (P.PENDING, P.RETURNED): ([], _return),
    (P.ACKNOWLEDGED, P.RETURNED): ([_ack], _return),
    (P.PENDING, P.RELEASED): ([], _release),
    (P.ACKNOWLEDGED, P.RELEASED): ([_ack], _release),
    (P.RETURNED, P.PENDING): ([_return], lambda s: commit(services.dispatch, s.secretary, s.case, [s.property])),
    (P.RELEASED, P.PENDING): ([_release], lambda s: commit(services.dispatch, s.secretary, s.case, [s.property])),
}
EXTENSION_STEPS = {
    (X.PENDING, X.APPROVED): lambda s: commit(services.decide_extension, s.secretary, s.case, True),
    (X.PENDING, X.REFUSED): lambda s: commit(services.decide_extension, s.secretary, s.case, False, "请按期完成"),
}


def test_the_table_holds_the_steps_of_a_part_and_of_a_extension_request():
    steps = {pair for pair in services.TRANSITIONS if not isinstance(pair[0], CaseStatus)}
    assert steps == set(PART_STEPS) | set(EXTENSION_STEPS)


@pytest.mark.parametrize("pair", list(PART_STEPS), ids=[f"{a.value}-{b.value}" for a, b in PART_STEPS])
def test_each_step_of_a_part_moves_it_as_the_table_says_with_its_event(scene, pair):
    before, step = PART_STEPS[pair]
    for setup in before:
        setup(scene)
    assert part(scene.case, scene.property).status is pair[0]

    step(scene)

    kind, _action = services.TRANSITIONS[pair]
    moved = part(scene.case, scene.property)
    assert moved.status is pair[1]
    last = [e for e in events(scene.case) if e.department_id == scene.property.id][-1]
    assert (last.kind, last.part_status) == (kind, pair[1])
    assert reload(scene.case).status is S.DISPATCHED  # an assisting part never moves the case


@pytest.mark.parametrize("pair", list(EXTENSION_STEPS), ids=["approved", "refused"])
def test_each_step_of_an_extension_request_is_in_the_table(scene, pair):
    _ask_extension(scene)
    assert services.pending_extension(scene.case).status is pair[0]

    EXTENSION_STEPS[pair](scene)

    extension = db.session.scalar(sa.select(CaseExtension).where(CaseExtension.case_id == scene.case.id))
    assert extension.status is pair[1] and services.pending_extension(scene.case) is None
    assert events(scene.case)[-1].kind is services.TRANSITIONS[pair][0]


def test_a_step_the_table_does_not_hold_is_refused_by_name(scene):
    _release(scene)
    with pytest.raises(ValidationError) as refused:
        services.release_part(scene.secretary, scene.case, scene.property.id, "再解除一次")
    assert "请选择要解除的协办部门" in refused.value.message  # released: no longer on the case
    db.session.rollback()
    _ack_and_finish = [_ack, lambda s: commit(services.finish_part, s.helper, s.case, "已完成")]
    commit(services.dispatch, scene.secretary, scene.case, [scene.property])
    for setup in _ack_and_finish:
        setup(scene)
    with pytest.raises(ValidationError) as refused:
        services.return_case(scene.helper, scene.case, ReturnReason.OTHER, "做完了又不想做")
    assert refused.value.message == "吴淞新城物业服务中心的协办当前为“已完成”，不能改为“已退单”"


# 签收 ----------------------------------------------------------------------------------------------


def test_the_lead_signs_for_the_case_as_it_starts_work_and_an_assistant_signs_for_its_part(scene):
    page = text_of(signed_in(scene.lead).get(f"/cases/{scene.case.id}"))
    assert "签收并接单处置" in page
    assert act(scene.lead, scene.case, "acknowledge", public_note="今天上午到现场").status_code == 302
    case = reload(scene.case)
    assert case.status is S.IN_PROGRESS and part(case, scene.squad).status is P.ACKNOWLEDGED
    signed = events(case)[-1]
    assert (signed.kind, signed.to_status, signed.part_status) == (EventKind.ACCEPTED, S.IN_PROGRESS, P.ACKNOWLEDGED)

    assert "签收" in text_of(signed_in(scene.helper).get(f"/cases/{case.id}"))
    assert act(scene.helper, case, "acknowledge").status_code == 302
    helper_part = part(case, scene.property)
    assert helper_part.status is P.ACKNOWLEDGED and helper_part.acknowledged_at is not None
    assert events(case)[-1].public_note == "已签收（协办）"


def test_a_department_signs_for_its_part_once(scene):
    _ack(scene)
    response = act(scene.helper, scene.case, "acknowledge")
    assert response.status_code == 400 and "没有待签收的部分" in " ".join(errors_shown(response))


def test_the_signing_limit_follows_the_priority(app, world, resident, secretary, dept_staff):
    squad = department_of(dept_staff)
    urgent = new_case(secretary, resident, title="燃气味很重", priority=Priority.URGENT, departments=[squad])
    limit = urgent.departments[0]
    assert limit.ack_due_at == limit.dispatched_at + timedelta(hours=2)
    normal = new_case(secretary, resident, title="路灯不亮", departments=[squad])
    assert normal.departments[0].ack_due_at - normal.departments[0].dispatched_at >= timedelta(days=1)


def test_a_part_not_signed_for_in_time_is_flagged_once_and_shown_on_the_dispatchers_list(app, scene, committee):
    late = part(scene.case, scene.property)
    late.ack_due_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    commit(services.acknowledge, scene.lead, scene.case)  # the lead signed in time

    result = app.test_cli_runner().invoke(args=["cases", "escalate"])
    assert "Flagged 1 department(s) that did not sign for a case in time." in result.output
    db.session.commit()
    flag = events(scene.case)[-1]
    assert flag.kind is EventKind.ACK_OVERDUE and flag.department_id == scene.property.id and not flag.public_note
    assert any("吴淞新城物业服务中心超过签收时限" in text for text in messages(scene.secretary))
    assert any("签收" in text for text in messages(scene.helper))

    for view in ("open", "unsigned"):
        listed = text_of(signed_in(committee).get(f"/cases?view={view}"))
        assert "签收超时：吴淞新城物业服务中心" in listed, view
    assert "垃圾厢房旁堆满装修垃圾" not in text_of(signed_in(committee).get("/cases?view=overdue"))
    resident_page = text_of(signed_in(scene.resident).get(f"/p/{scene.case.post_id}"))
    assert "签收超时" not in resident_page and "超过签收时限" not in resident_page  # the flag is for staff

    assert services.flag_unacknowledged() == 0  # once
    _ack(scene)
    assert "签收超时：" not in text_of(signed_in(committee).get("/cases?view=open"))
    assert "没有签收超时的工单" in text_of(signed_in(committee).get("/cases?view=unsigned"))


# 退单 ----------------------------------------------------------------------------------------------


def test_a_return_needs_a_reason_and_its_basis(scene):
    before = len(events(scene.case))
    response = act(scene.lead, scene.case, "return", basis="不归我们管")
    assert response.status_code == 400 and "请选择退单原因" in errors_shown(response)
    response = act(scene.lead, scene.case, "return", return_reason="not_our_duty", basis="  ")
    assert response.status_code == 400 and "请写明退单依据（如职责规定、应派的部门）" in errors_shown(response)
    response = act(scene.lead, scene.case, "return", return_reason="because", basis="不归我们管")
    assert response.status_code == 400
    case = reload(scene.case)
    assert case.status is S.DISPATCHED and len(events(case)) == before
    assert part(case, scene.squad).status is P.PENDING


def test_the_leads_return_sends_the_case_back_to_the_dispatcher_who_sends_it_on(scene, world):
    response = act(
        scene.lead, scene.case, "return", return_reason="wrong_department", basis="堆放点在小区红线内，属物业管理"
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/cases")  # off the case now
    case = reload(scene.case)
    assert case.status is S.RETURNED and case.lead is None
    returned = events(case)[-1]
    assert (returned.kind, returned.to_status, returned.part_status) == (EventKind.RETURNED, S.RETURNED, P.RETURNED)
    assert returned.public_note == "吴淞街道城管中队退单：派错部门"
    assert returned.internal_note == "退单依据：堆放点在小区红线内，属物业管理"
    assert any("退单（派错部门），请改派" in text for text in messages(scene.secretary))
    assert signed_in(scene.lead).get(f"/cases/{case.id}").status_code == 404
    assert "垃圾厢房旁堆满装修垃圾" not in text_of(signed_in(scene.lead).get("/cases?view=all"))

    office = text_of(signed_in(scene.secretary).get(f"/cases/{case.id}"))
    assert "已退回" in office and "改派" in office and "堆放点在小区红线内" in office
    grid_centre = world.department("吴淞街道网格化中心", DepartmentKind.GRID_CENTRE, world.street_a)
    response = act(scene.secretary, case, "dispatch", departments=[grid_centre.id], lead=str(scene.property.id))
    assert response.status_code == 302
    case = reload(case)
    assert case.status is S.DISPATCHED and case.lead.department_id == scene.property.id
    assert part(case, grid_centre).role is PartRole.ASSIST
    assert events(case)[-1].public_note.startswith("派单至：吴淞新城物业服务中心（主办）")


def test_an_assistants_return_leaves_the_case_with_the_lead(scene):
    _return(scene)
    case = reload(scene.case)
    assert case.status is S.DISPATCHED and case.department_ids == {scene.squad.id}
    assert events(case)[-1].public_note == "吴淞新城物业服务中心退单：不属于本部门职责"


# 延期 ----------------------------------------------------------------------------------------------


def deadline_field(moment) -> str:
    return to_local(moment).strftime("%Y-%m-%dT%H:%M")


def test_an_approved_extension_moves_the_deadline(scene):
    commit(services.accept, scene.lead, scene.case)
    old = reload(scene.case).deadline_at
    wanted = (old + timedelta(days=2)).replace(second=0, microsecond=0)
    response = act(scene.lead, scene.case, "extend", new_deadline=deadline_field(wanted), basis="装修公司联系不上")
    assert response.status_code == 302
    assert reload(scene.case).deadline_at == old  # not before the dispatcher says so

    office = text_of(signed_in(scene.secretary).get(f"/cases/{scene.case.id}"))
    assert (
        f'申请延期至 <strong class="nowrap">{format_local(wanted)}</strong>' in office and "装修公司联系不上" in office
    )
    assert "延期待批" in text_of(signed_in(scene.secretary).get("/cases"))
    assert act(scene.secretary, scene.case, "approve", public_note="同意").status_code == 302
    case = reload(scene.case)
    assert case.deadline_at == wanted and case.next_escalation_at >= wanted
    approved = events(case)[-1]
    assert approved.kind is EventKind.EXTENSION_APPROVED and f"延至{format_local(wanted)}" in approved.public_note
    assert any("延期申请已同意" in text for text in messages(scene.lead))
    assert f"延至{format_local(wanted)}" in text_of(signed_in(scene.resident).get(f"/p/{case.post_id}"))


def test_an_extension_to_the_year_1_is_told_not_failed(scene):
    commit(services.accept, scene.lead, scene.case)
    response = act(scene.lead, scene.case, "extend", new_deadline="0001-01-01T08:00", basis="装修公司联系不上")
    assert response.status_code == 400
    assert "请选择2000年至2100年之间的日期" in errors_shown(response)
    assert services.pending_extension(reload(scene.case)) is None


def test_a_refused_extension_needs_a_reason_and_leaves_the_deadline(scene):
    _ask_extension(scene)
    old = reload(scene.case).deadline_at
    response = act(scene.secretary, scene.case, "refuse", public_note="")
    assert response.status_code == 400 and "请写明不同意延期的理由" in errors_shown(response)
    assert act(scene.secretary, scene.case, "refuse", public_note="居民等不了，请按期完成").status_code == 302
    case = reload(scene.case)
    assert case.deadline_at == old and services.pending_extension(case) is None
    assert events(case)[-1].internal_note == "不同意吴淞街道城管中队延期：居民等不了，请按期完成"
    assert any("未同意" in text for text in messages(scene.lead))


def test_one_extension_request_waits_at_a_time_and_none_after_the_deadline(scene):
    _ask_extension(scene)
    with pytest.raises(ValidationError) as refused:
        services.request_extension(scene.lead, scene.case, scene.case.deadline_at + timedelta(days=5), "再延一次")
    assert refused.value.message == "已有一个延期申请在等待审批"
    db.session.rollback()
    commit(services.decide_extension, scene.secretary, scene.case, False, "按期完成")

    with pytest.raises(ValidationError) as refused:
        services.request_extension(scene.lead, scene.case, scene.case.deadline_at - timedelta(hours=1), "早一点")
    assert "新的期限须晚于当前期限" in refused.value.message
    db.session.rollback()
    place(scene.case, deadline_at=utcnow() - timedelta(minutes=1))
    response = act(
        scene.lead, scene.case, "extend", new_deadline=deadline_field(utcnow() + timedelta(days=3)), basis="x"
    )
    assert response.status_code == 400 and "已超过处置期限，不能再申请延期" in errors_shown(response)


def test_a_department_asks_for_an_extension_only_once_it_signed(scene):
    with pytest.raises(ValidationError) as refused:
        services.request_extension(scene.helper, scene.case, scene.case.deadline_at + timedelta(days=1), "忙")
    assert refused.value.message == "签收后、办完前才能申请延期"


# 主办/协办 -------------------------------------------------------------------------------------------


def test_the_case_is_resolved_only_by_the_lead_once_the_assisting_parts_are_done(scene):
    commit(services.accept, scene.lead, scene.case)
    response = act(scene.lead, scene.case, "resolve", public_note="已查处倾倒的装修队")
    assert response.status_code == 400
    assert "协办部门尚未完成：吴淞新城物业服务中心。请等协办完成，或由派单人解除协办" in errors_shown(response)
    post_page = text_of(signed_in(scene.resident).get(f"/p/{scene.case.post_id}"))
    assert "您满意吗" not in post_page and "处置中" in post_page
    assert (
        signed_in(scene.resident).post(f"/cases/{scene.case.id}/rate", data={"satisfaction": "satisfied"}).status_code
        == 403
    )

    _ack(scene)
    with pytest.raises(ValidationError) as refused:
        services.resolve(scene.helper, scene.case, "我们办完了")
    assert refused.value.message == "由主办部门办结；协办部门请提交“协办完成”"
    db.session.rollback()
    assert act(scene.helper, scene.case, "finish", public_note="已清运两车装修垃圾").status_code == 302
    assert any("协办部门吴淞新城物业服务中心已完成" in text for text in messages(scene.lead))
    assert act(scene.lead, scene.case, "resolve", public_note="已查处倾倒的装修队").status_code == 302

    case = reload(scene.case)
    assert case.status is S.RESOLVED
    post_page = text_of(signed_in(scene.resident).get(f"/p/{case.post_id}"))
    for shown in ("协办完成", "已清运两车装修垃圾", "已查处倾倒的装修队", "您满意吗"):
        assert shown in post_page, shown
    staff_page = text_of(signed_in(scene.secretary).get(f"/cases/{case.id}"))
    assert "各部门办理情况" in staff_page and "主办" in staff_page and "已完成" in staff_page


def test_the_dispatcher_releases_an_assisting_part_the_case_no_longer_needs(scene):
    commit(services.accept, scene.lead, scene.case)
    response = act(scene.secretary, scene.case, "release", department=str(scene.property.id), public_note="")
    assert response.status_code == 400 and "请写明解除原因，居民会看到它" in errors_shown(response)
    response = act(scene.secretary, scene.case, "release", department=str(scene.squad.id), public_note="不要了")
    assert response.status_code == 400 and "请选择要解除的协办部门" in errors_shown(response)
    assert (
        act(
            scene.secretary, scene.case, "release", department=str(scene.property.id), public_note="城管中队可独立处置"
        ).status_code
        == 302
    )
    assert signed_in(scene.helper).get(f"/cases/{scene.case.id}").status_code == 404
    services.resolve(scene.lead, reload(scene.case), "已清理完毕")
    db.session.commit()
    assert reload(scene.case).status is S.RESOLVED


def test_a_reopened_case_goes_back_to_the_lead(scene):
    for step in (
        lambda: services.accept(scene.lead, scene.case),
        lambda: services.acknowledge(scene.helper, scene.case),
        lambda: services.finish_part(scene.helper, scene.case, "已清运"),
        lambda: services.resolve(scene.lead, scene.case, "已处理"),
        lambda: services.rate(scene.resident, scene.case, Satisfaction.UNSATISFIED, "还有一堆"),
    ):
        step()
        db.session.commit()
    case = reload(scene.case)
    assert case.status is S.IN_PROGRESS and part(case, scene.property).status is P.DONE
    services.resolve(scene.lead, case, "剩下的也清走了")
    db.session.commit()
    assert reload(case).status is S.RESOLVED


# 更正 ----------------------------------------------------------------------------------------------


def test_the_dispatcher_corrects_type_priority_and_departments_each_an_event_old_to_new(scene, world):
    case = scene.case
    grid_centre = world.department("吴淞街道网格化中心", DepartmentKind.GRID_CENTRE, world.street_a)
    environment = case_type("环境卫生")
    response = act(
        scene.secretary,
        case,
        "correct",
        case_type=str(environment.id),
        priority="urgent",
        departments=[scene.squad.id, grid_centre.id],
        lead=str(grid_centre.id),
        public_note="装修垃圾属环境卫生",
    )
    assert response.status_code == 302
    case = reload(case)
    assert case.case_type.name == "环境卫生" and case.priority is Priority.URGENT
    assert case.deadline_at == case.created_at + timedelta(hours=4) == case.next_escalation_at
    assert case.lead.department_id == grid_centre.id and case.department_ids == {scene.squad.id, grid_centre.id}
    assert part(case, scene.squad).role is PartRole.ASSIST
    assert part(case, grid_centre).ack_due_at == part(case, grid_centre).dispatched_at + timedelta(hours=2)
    corrections = [e.public_note for e in events(case) if e.kind is EventKind.CORRECTED]
    assert corrections[0] == "更正案件类型：市容绿化 → 环境卫生。装修垃圾属环境卫生"
    assert corrections[1].startswith("更正紧急程度：一般 → 紧急，处置期限 ")
    assert corrections[2] == (
        "更正承办部门：吴淞街道城管中队（主办）、吴淞新城物业服务中心 → "
        "吴淞街道网格化中心（主办）、吴淞街道城管中队。装修垃圾属环境卫生"
    )
    assert signed_in(scene.helper).get(f"/cases/{case.id}").status_code == 404  # dispatched by mistake: off it
    assert "更正案件类型：市容绿化 → 环境卫生" in text_of(signed_in(scene.resident).get(f"/p/{case.post_id}"))


def test_a_correction_does_not_take_a_case_from_a_department_that_signed_for_it(scene):
    _ack(scene)
    response = act(scene.secretary, scene.case, "correct", departments=[scene.squad.id])
    assert response.status_code == 400
    assert "吴淞新城物业服务中心已签收，不能撤回；不再需要它配合时请“解除协办”" in errors_shown(response)
    response = act(
        scene.secretary,
        scene.case,
        "correct",
        departments=[scene.squad.id, scene.property.id],
        lead=str(scene.squad.id),
    )
    assert response.status_code == 400 and "没有需要更正的内容" in errors_shown(response)
    assert reload(scene.case).department_ids == {scene.squad.id, scene.property.id}


# 包案人 ----------------------------------------------------------------------------------------------


def test_the_filer_owns_the_case_and_the_secretary_owns_what_the_police_files(
    world, resident, secretary, committee, officer
):
    assert new_case(secretary, resident, title="路灯不亮").owner_id == secretary.id
    assert new_case(committee, resident, title="楼道堆物").owner_id == committee.id
    question = make_post(resident, world.compound_a, key="police", title="小区门口有人撬电动车", body="昨晚两点")
    filed = commit(services.file_case, officer, question, case_type("治安"), Priority.URGENT)
    assert filed.owner_id == secretary.id
    assert any(f"工单 {filed.number}：您是包案人" in text for text in messages(secretary))


def test_the_secretary_hands_a_case_to_another_owner_residents_see_the_role(
    world, resident, secretary, committee, dept_staff
):
    case = new_case(secretary, resident, departments=[department_of(dept_staff)])
    page = text_of(signed_in(secretary).get(f"/cases/{case.id}"))
    assert "李秀英（居民区书记）" in page and "更换包案人" in page
    assert "包案：居民区书记" in text_of(signed_in(resident).get(f"/p/{case.post_id}"))

    assert act(committee, case, "owner", owner=str(committee.id)).status_code == 403  # the 书记 decides
    assert act(dept_staff, case, "owner", owner=str(committee.id)).status_code == 403
    response = act(secretary, case, "owner", owner=str(dept_staff.id))
    assert response.status_code == 400
    assert act(secretary, case, "owner", owner=str(committee.id)).status_code == 302

    case = reload(case)
    assert case.owner_id == committee.id
    changed = events(case)[-1]
    assert changed.kind is EventKind.OWNER_CHANGED
    assert changed.public_note == "包案人更换为居委会工作人员" and changed.internal_note == "包案人：李秀英 → 陈敏"
    assert any("您已成为包案人" in text for text in messages(committee))
    post_page = text_of(signed_in(resident).get(f"/p/{case.post_id}"))
    assert "包案：居委会工作人员" in post_page and "陈敏" not in post_page
    assert case.post.title not in text_of(signed_in(secretary).get("/cases?view=mine"))
    assert case.post.title in text_of(signed_in(committee).get("/cases?view=mine"))


# Who may do what -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "verb", ["acknowledge", "return", "finish", "extend", "release", "correct", "approve", "owner"]
)
def test_a_department_not_on_the_case_gets_404_on_every_step(scene, world, verb):
    outsider_department = world.department("罗店镇城管中队", DepartmentKind.URBAN_MANAGEMENT, world.street_b)
    outsider = world.staff(StaffRole.DEPARTMENT, outsider_department, name="顾建军")
    client = signed_in(outsider)
    assert client.get(f"/cases/{scene.case.id}").status_code == 404
    data = {"version": str(scene.case.version), "return_reason": "other", "basis": "x", "public_note": "x"}
    assert client.post(f"/cases/{scene.case.id}/{verb}", data=data).status_code == 404
    assert reload(scene.case).status is S.DISPATCHED


@pytest.mark.parametrize("verb", ["acknowledge", "accept", "return", "extend", "finish"])
def test_a_resident_cannot_sign_for_return_or_report_a_case(scene, verb):
    response = signed_in(scene.resident).post(
        f"/cases/{scene.case.id}/{verb}",
        data={"version": str(scene.case.version), "return_reason": "other", "basis": "x", "public_note": "x"},
    )
    assert response.status_code == 403
    case = reload(scene.case)
    assert case.status is S.DISPATCHED and all(p.status is P.PENDING for p in case.departments)


def test_departments_do_not_dispatch_correct_or_decide_extensions(scene):
    _ask_extension(scene)
    for verb, data in (
        ("approve", {}),
        ("release", {"department": str(scene.property.id), "public_note": "x"}),
        ("correct", {"priority": "urgent"}),
    ):
        assert act(scene.helper, scene.case, verb, **data).status_code == 403, verb
    assert services.pending_extension(scene.case) is not None and reload(scene.case).priority is Priority.NORMAL
