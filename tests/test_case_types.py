"""Case types belong to a district: its admin edits its own list only, and cases filed there choose
from that list; every new district starts with the defaults."""

import pytest
import sqlalchemy as sa
from cases_helpers import case_type, make_post, signed_in, text_of

from community_board.audit import AuditEntry
from community_board.cases import services
from community_board.cases.models import DEFAULT_CASE_TYPES, Case, CaseType, Priority
from community_board.compounds.models import District, StaffRole
from community_board.errors import ValidationError
from community_board.extensions import db


@pytest.fixture
def jiading(world):
    district = world.new_district("嘉定区", "JD")
    db.session.commit()
    return district


@pytest.fixture
def jiading_admin(world, jiading):
    return world.staff(StaffRole.DISTRICT_ADMIN, jiading, name="吴军")


def names(district) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(CaseType.name).where(CaseType.district_id == district.id).order_by(CaseType.sort_order)
        )
    )


def test_every_district_starts_with_the_defaults(world, jiading):
    assert names(world.district) == names(jiading) == list(DEFAULT_CASE_TYPES)


def test_an_admin_cannot_disable_another_districts_case_type(world, jiading, jiading_admin):
    baoshan_hygiene = case_type("环境卫生", world.district)
    client = signed_in(jiading_admin)

    response = client.post(f"/admin/d/{jiading.id}/case-types/{baoshan_hygiene.id}/disable")
    assert response.status_code == 404
    assert client.post(f"/admin/d/{world.district.id}/case-types/{baoshan_hygiene.id}/disable").status_code == 404
    db.session.refresh(baoshan_hygiene)
    assert baoshan_hygiene.active

    response = client.post(
        f"/admin/d/{jiading.id}/case-types/{case_type('环境卫生', jiading).id}/disable", follow_redirects=True
    )
    assert "已停用" in text_of(response)
    assert not case_type("环境卫生", jiading).active and baoshan_hygiene.active
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                AuditEntry.action == "case_type.disabled", AuditEntry.district_id == jiading.id
            )
        )
        == 1
    )


def test_an_admin_sees_and_adds_to_their_own_list_only(world, jiading, jiading_admin, admin):
    response = signed_in(jiading_admin).post(
        f"/admin/d/{jiading.id}/case-types", data={"name": "高空抛物"}, follow_redirects=True
    )
    assert "已添加类型：高空抛物" in text_of(response)
    assert names(jiading)[-1] == "高空抛物"

    page = text_of(signed_in(admin).get(f"/admin/d/{world.district.id}/case-types"))
    assert "环境卫生" in page and "高空抛物" not in page
    # The same name in another district is another district's business.
    response = signed_in(admin).post(f"/admin/d/{world.district.id}/case-types", data={"name": "高空抛物"})
    assert response.status_code == 302
    response = signed_in(admin).post(f"/admin/d/{world.district.id}/case-types", data={"name": "高空抛物"})
    assert response.status_code == 200 and "已有同名类型" in text_of(response)
    assert names(world.district).count("高空抛物") == 1


def test_filing_offers_the_districts_own_case_types(world, jiading, resident, secretary):
    post = make_post(resident, world.compound_a, title="广场变菜园", body="绿化带被挖")
    client = signed_in(secretary)
    own, foreign = case_type("治安", world.district), case_type("治安", jiading)

    page = client.get(f"/p/{post.id}/case/new").get_data(as_text=True)
    assert f'value="{own.id}"' in page and f'value="{foreign.id}"' not in page

    response = client.post(f"/p/{post.id}/case/new", data={"case_type": foreign.id, "priority": "normal"})
    assert "请从列表中选择" in text_of(response)
    with pytest.raises(ValidationError):
        services.file_case(secretary, post, foreign, Priority.NORMAL)
    db.session.rollback()
    assert db.session.scalar(sa.select(Case.id).where(Case.post_id == post.id)) is None


def test_create_admin_gives_a_new_district_the_defaults(app):
    result = app.test_cli_runner().invoke(
        args=[
            "create-admin",
            "--district",
            "嘉定区",
            "--code",
            "jd",
            "--phone",
            "13600000009",
            "--name",
            "吴军",
            "--password",
            "Start2024",
        ]
    )

    assert result.exit_code == 0, result.output
    district = db.session.scalar(sa.select(District).where(District.name == "嘉定区"))
    assert names(district) == list(DEFAULT_CASE_TYPES)
