"""Two staff change a case at once: the one who loses is told the case changed, and what they typed
comes back with the case as it is now, not thrown away."""

import re
from html import unescape

from cases_helpers import (
    department_of,
    errors_shown,
    new_case,
    page_version,
    reload,
    signed_in,
    text_of,
)

from community_board.cases.models import CaseStatus
from community_board.compounds.models import StaffRole

PUBLIC, INTERNAL = "已电话联系居民，约明早9点到现场查看", "居民情绪激动，注意沟通方式"


def step_textareas(response, verb: str) -> dict[str, str]:
    """The notes in the form of one step (its textareas, by name) on a case page."""
    found = re.search(rf'<form method="post" action="/cases/\d+/{verb}".*?</form>', text_of(response), re.S)
    assert found, f"no {verb} form on the page"
    return {
        name: unescape(text)
        for name, text in re.findall(r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>', found.group(0), re.S)
    }


def test_the_second_of_two_staff_gets_their_note_back_with_the_case_as_it_is_now(world, resident, secretary, committee):
    case = new_case(secretary, resident)
    first, second = signed_in(secretary), signed_in(committee)
    seen = page_version(second.get(f"/cases/{case.id}"))  # the committee member opens the case…
    assert (
        first.post(
            f"/cases/{case.id}/escalate",  # …the secretary escalates it meanwhile…
            data={"version": page_version(first.get(f"/cases/{case.id}")), "public_note": "需要街道协调"},
        ).status_code
        == 302
    )

    # …and the committee member sends the progress note typed on the old page.
    response = second.post(
        f"/cases/{case.id}/note", data={"version": seen, "public_note": PUBLIC, "internal_note": INTERNAL}
    )

    assert response.status_code == 409
    assert any(message.startswith("该工单已被他人更新") for message in errors_shown(response))
    assert step_textareas(response, "note") == {"public_note": PUBLIC, "internal_note": INTERNAL}
    assert "需要街道协调" in text_of(response)  # the other change is on the page to read first
    assert "已保留在下方" in text_of(response)
    # Sending the kept note again from that page saves it.
    again = second.post(
        f"/cases/{case.id}/note", data={"version": page_version(response), **step_textareas(response, "note")}
    )
    assert again.status_code == 302
    assert PUBLIC in text_of(second.get(f"/cases/{case.id}"))


def test_a_step_no_longer_offered_still_shows_what_was_typed(world, resident, secretary, dept_staff):
    department = department_of(dept_staff)
    colleague = world.staff(StaffRole.DEPARTMENT, department, name="孙涛")
    case = new_case(secretary, resident, departments=[department])
    first, second = signed_in(dept_staff), signed_in(colleague)
    version = page_version(second.get(f"/cases/{case.id}"))
    assert (
        first.post(f"/cases/{case.id}/accept", data={"version": version, "public_note": "周勇下午到场"}).status_code
        == 302
    )

    response = second.post(
        f"/cases/{case.id}/accept", data={"version": version, "public_note": "孙涛明早到场，带上工具"}
    )

    assert response.status_code == 409
    assert reload(case).status is CaseStatus.IN_PROGRESS
    assert f'action="/cases/{case.id}/accept"' not in text_of(response)  # already accepted
    kept = re.search(r"data-kept-note>(.*?)</section>", text_of(response), re.S)
    assert kept and "孙涛明早到场，带上工具" in unescape(kept.group(1))


def test_a_note_refused_for_its_length_comes_back_too(world, resident, secretary):
    case = new_case(secretary, resident)
    client = signed_in(secretary)
    too_long = "说明" * 251
    response = client.post(
        f"/cases/{case.id}/note",
        data={
            "version": page_version(client.get(f"/cases/{case.id}")),
            "public_note": too_long,
            "internal_note": INTERNAL,
        },
    )
    assert response.status_code == 400
    assert "最多500字" in errors_shown(response)
    assert step_textareas(response, "note") == {"public_note": too_long, "internal_note": INTERNAL}
