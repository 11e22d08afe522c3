"""Grid and household-file verbs: divide a compound into grids, keep the 一户一档, log 民情日记 visits
and raise a case from one on the resident's behalf (代发).

Each verb asks ``require`` first, then changes rows, writes the audit row (never personal data in its
note) and flushes; the view commits once.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa

from .. import audit
from ..accounts import rules as account_rules
from ..accounts.models import Household, User
from ..accounts.services import find_user_by_phone, household_at
from ..board import services as board
from ..board.models import Section
from ..cases import services as cases
from ..cases.models import Case, CaseType, Priority
from ..compounds.models import Compound, StaffRole
from ..errors import ValidationError
from ..extensions import db
from ..permissions import Action, Decision, PermissionDenied, require
from ..persistence import insert_unique
from ..timeutil import to_local, utcnow
from .models import (
    DEFAULT_CARE_TAGS,
    CareTag,
    Grid,
    GridBuilding,
    GridDuty,
    GridMember,
    HouseholdAccess,
    HouseholdCareTag,
    HouseholdFile,
    HouseholdMember,
    HouseholdRecord,
    Tenure,
    Visit,
    VisitKind,
)

MAX_BUILDINGS = 200  # per request: a compound has dozens
WORK_PHONE = re.compile(r"^[0-9][0-9-]{6,19}$")
VISIT_SECTION = "matters"  # a case raised from a visit is a 身边事 post
OLDEST_VISIT = timedelta(days=366)


def today_local() -> date:
    return to_local(utcnow()).date()


# Grids --------------------------------------------------------------------------------------


def create_grid(actor, compound: Compound, name: str) -> Grid:
    require(actor, Action.MANAGE_GRIDS, compound)
    name = name.strip()
    if not name:
        raise ValidationError("请填写网格名称", "name")
    grid = insert_unique(
        Grid(district_id=compound.district_id, street_id=compound.street_id, compound_id=compound.id, name=name),
        "本小区已有同名网格",
        "name",
    )
    audit.record(actor, "grid.created", grid, compound=compound, note=name)
    return grid


def parse_buildings(text: str) -> list[str]:
    """'1-6, 9 12号楼' → ['1', …, '6', '9', '12']: ranges of numbers, or single building labels."""
    found: list[str] = []
    for token in re.split(r"[\s,，、;；]+", text.replace("号楼", " ").replace("号", " ").strip()):
        if not token:
            continue
        low, dash, high = token.partition("-")
        if dash and low.isascii() and low.isdigit() and high.isascii() and high.isdigit():
            if int(high) < int(low) or int(high) - int(low) >= MAX_BUILDINGS:
                raise ValidationError(f"楼栋范围“{token}”不正确", "buildings")
            found += [str(n) for n in range(int(low), int(high) + 1)]
        elif account_rules.address_part_problem(token, "楼号") is None:
            found.append(token)
        else:
            raise ValidationError(f"楼号“{token}”请填写数字或字母，范围如 1-6", "buildings")
    if not found:
        raise ValidationError("请填写楼号，如 1-6, 9, 12", "buildings")
    if len(found) > MAX_BUILDINGS:
        raise ValidationError(f"一次最多{MAX_BUILDINGS}栋楼", "buildings")
    return list(dict.fromkeys(found))


def assign_buildings(actor, grid: Grid, text: str) -> list[str]:
    """Put buildings into ``grid``; a building already in another grid is refused (one grid each)."""
    require(actor, Action.MANAGE_GRIDS, grid)
    buildings = parse_buildings(text)
    taken = {
        building: (grid_id, name)
        for building, grid_id, name in db.session.execute(
            sa.select(GridBuilding.building, Grid.id, Grid.name)
            .join(Grid, Grid.id == GridBuilding.grid_id)
            .where(GridBuilding.compound_id == grid.compound_id, GridBuilding.building.in_(buildings))
        )
    }
    elsewhere = [b for b in buildings if b in taken and taken[b][0] != grid.id]
    if elsewhere:
        owner = taken[elsewhere[0]][1]
        raise ValidationError(f"{elsewhere[0]}号楼已属于{owner}，请先从{owner}移出", "buildings")
    new = [b for b in buildings if b not in taken]
    for building in new:
        # The key (compound, building) refuses a second grid even when two staff assign at once.
        insert_unique(
            GridBuilding(compound_id=grid.compound_id, building=building, grid_id=grid.id),
            f"{building}号楼已划入其他网格，请刷新",
            "buildings",
        )
    if new:
        audit.record(actor, "grid.buildings_assigned", grid, compound=grid.compound, note=_building_list(new))
    return new


def _building_list(buildings: list[str]) -> str:
    return "、".join(buildings)[:190] + "号楼"


def remove_building(actor, grid: Grid, building: str) -> None:
    require(actor, Action.MANAGE_GRIDS, grid)
    removed = db.session.execute(
        sa.delete(GridBuilding).where(
            GridBuilding.grid_id == grid.id,
            GridBuilding.compound_id == grid.compound_id,
            GridBuilding.building == building,
        )
    )
    if not removed.rowcount:
        raise ValidationError(f"{building}号楼不在{grid.name}")
    audit.record(actor, "grid.building_removed", grid, compound=grid.compound, note=f"{building}号楼")


def set_public_phone(actor, grid: Grid, phone: str) -> None:
    """The work phone residents of the grid see beside their grid worker's name ('' takes it down)."""
    require(actor, Action.MANAGE_GRIDS, grid)
    phone = account_rules.ascii_digits(phone.strip().replace(" ", ""))
    if phone and not WORK_PHONE.match(phone):
        raise ValidationError("请填写工作电话，如 021-56781234 或 11位手机号", "public_phone")
    grid.public_phone = phone or None
    audit.record(actor, "grid.phone_set", grid, compound=grid.compound)


def _member_problem(grid: Grid, duty: GridDuty, user: User | None) -> bool:
    if user is None:
        return True
    if duty is GridDuty.POLICE:
        return not any(a.role is StaffRole.POLICE and a.compound_id == grid.compound_id for a in user.assignments)
    if not user.is_verified_resident or user.compound_id != grid.compound_id:
        return True
    if duty is GridDuty.PARTY_MEMBER:
        return not user.is_party_member
    in_grid = db.session.scalar(
        sa.select(GridBuilding.grid_id).where(
            GridBuilding.compound_id == grid.compound_id, GridBuilding.building == user.building
        )
    )
    return in_grid != grid.id


_DUTY_WHO = {
    GridDuty.POLICE: "本小区的社区民警",
    GridDuty.PARTY_MEMBER: "本小区已确认身份的党员",
    GridDuty.BUILDING_HEAD: "住在本网格楼栋的认证居民",
}


def add_grid_member(actor, grid: Grid, duty: GridDuty, phone: str) -> GridMember:
    """一格三员: the compound's police officer, a party member or a 楼组长, found by their phone."""
    require(actor, Action.MANAGE_GRIDS, grid)
    user = find_user_by_phone(account_rules.normalize_phone(phone))
    if _member_problem(grid, duty, user):
        raise ValidationError(f"请填写{_DUTY_WHO[duty]}的手机号", "phone")
    member = insert_unique(GridMember(grid_id=grid.id, user_id=user.id, duty=duty), "已在名单中", "phone")
    audit.record(actor, "grid.member_added", grid, compound=grid.compound, note=duty.label)
    return member


def remove_grid_member(actor, grid: Grid, member: GridMember) -> None:
    require(actor, Action.MANAGE_GRIDS, grid)
    if member.grid_id != grid.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    audit.record(actor, "grid.member_removed", grid, compound=grid.compound, note=member.duty.label)
    db.session.delete(member)


def grid_of_building(compound_id: int, building: str) -> Grid | None:
    return db.session.scalar(
        sa.select(Grid)
        .join(GridBuilding, GridBuilding.grid_id == Grid.id)
        .where(GridBuilding.compound_id == compound_id, GridBuilding.building == building)
    )


# Households ---------------------------------------------------------------------------------


def add_household(actor, grid: Grid, building: str, unit: str, room: str) -> Household:
    """A household of the grid that nobody registered (an elder without a phone): its address and file."""
    for value, label in ((building, "楼号"), (room, "室号")):
        if problem := account_rules.address_part_problem(value, label):
            raise ValidationError(problem, "building" if label == "楼号" else "room")
    if unit and (problem := account_rules.address_part_problem(unit, "单元")):
        raise ValidationError(problem, "unit")
    if grid_of_building(grid.compound_id, building) != grid:
        raise ValidationError(f"{building}号楼不在{grid.name}", "building")
    prospective = Household(compound_id=grid.compound_id, building=building, unit=unit, room=room)
    require(actor, Action.KEEP_HOUSEHOLD, HouseholdRecord(prospective, grid.compound, grid, None))
    household = household_at(grid.compound, building, unit, room)
    _file_of(household)
    audit.record(actor, "household.added", household, compound=grid.compound)
    return household


def _file_of(household: Household) -> HouseholdFile:
    """The household's file, begun on its first entry."""
    found = db.session.get(HouseholdFile, household.id)
    if found is not None:
        return found
    try:
        return insert_unique(HouseholdFile(household_id=household.id, compound_id=household.compound_id), "")
    except ValidationError:  # begun by someone else at the same moment
        return db.session.get(HouseholdFile, household.id)


def update_household(
    actor, record: HouseholdRecord, tenure: Tenure | None, contact_phone: str | None, *, clear_phone: bool = False
) -> None:
    """Tenure, and the contact phone: a new one replaces it, none keeps it, ``clear_phone`` removes it."""
    require(actor, Action.KEEP_HOUSEHOLD, record)
    phone = account_rules.normalize_phone(contact_phone) if contact_phone and contact_phone.strip() else None
    if phone and (problem := account_rules.phone_problem(phone)):
        raise ValidationError(problem, "contact_phone")
    file = _file_of(record.household)
    file.tenure, file.updated_at = tenure, utcnow()
    if phone or clear_phone:
        file.contact_phone = phone
    audit.record(actor, "household.updated", record.household, compound=record.compound)


def add_member(actor, record: HouseholdRecord, name: str, relation: str) -> HouseholdMember:
    require(actor, Action.KEEP_HOUSEHOLD, record)
    name, relation = name.strip(), relation.strip()
    if not name:
        raise ValidationError("请填写姓名", "name")
    if not relation:
        raise ValidationError("请填写与户主关系，如 本人、配偶、女儿", "relation")
    member = HouseholdMember(household_id=record.household.id, name=name, relation=relation)
    db.session.add(member)
    _file_of(record.household).updated_at = utcnow()
    audit.record(actor, "household.member_added", record.household, compound=record.compound)
    return member


def remove_member(actor, record: HouseholdRecord, member: HouseholdMember) -> None:
    require(actor, Action.KEEP_HOUSEHOLD, record)
    if member.household_id != record.household.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    db.session.delete(member)
    audit.record(actor, "household.member_removed", record.household, compound=record.compound)


def set_care_tags(actor, record: HouseholdRecord, tag_ids: list[int]) -> None:
    """Replace the household's care tags with ``tag_ids`` (the district's, active ones only)."""
    require(actor, Action.KEEP_HOUSEHOLD, record)
    chosen = set(tag_ids)
    allowed = set(
        db.session.scalars(
            sa.select(CareTag.id).where(
                CareTag.district_id == record.compound.district_id, CareTag.active.is_(True), CareTag.id.in_(chosen)
            )
        )
    )
    if chosen - allowed:
        raise ValidationError("请从列表中选择关爱标签", "tags")
    household_id = record.household.id
    db.session.execute(sa.delete(HouseholdCareTag).where(HouseholdCareTag.household_id == household_id))
    db.session.add_all(HouseholdCareTag(household_id=household_id, care_tag_id=tag_id) for tag_id in sorted(chosen))
    file = _file_of(record.household)
    file.care_tagged, file.updated_at = bool(chosen), utcnow()
    audit.record(actor, "household.care_tags_set", record.household, compound=record.compound)


def reveal(actor, record: HouseholdRecord, shown: str) -> None:
    """Staff open the file unmasked: one access-log row saying who, when and what (never the data)."""
    require(actor, Action.REVEAL_HOUSEHOLD, record)
    db.session.add(
        HouseholdAccess(
            household_id=record.household.id, compound_id=record.compound.id, actor_id=actor.id, shown=shown
        )
    )


# 民情日记 ------------------------------------------------------------------------------------


def record_visit(
    actor, record: HouseholdRecord, visited_on: date, kind: VisitKind, met: str, raised: str, follow_up: str = ""
) -> Visit:
    require(actor, Action.KEEP_HOUSEHOLD, record)
    today = today_local()
    if visited_on > today:
        raise ValidationError("走访日期不能晚于今天", "visited_on")
    if visited_on < today - OLDEST_VISIT:
        raise ValidationError("只能补记一年内的走访", "visited_on")
    if not raised.strip():
        raise ValidationError("请填写居民反映的情况，没有也请写“无”", "raised")
    visit = Visit(
        household_id=record.household.id,
        compound_id=record.compound.id,
        grid_id=record.grid_id,
        visited_on=visited_on,
        kind=kind,
        met=met.strip()[:20],
        raised=raised.strip()[:500],
        follow_up=follow_up.strip()[:500],
        recorded_by_id=actor.id,
    )
    db.session.add(visit)
    file = _file_of(record.household)
    if file.last_visit_on is None or visited_on > file.last_visit_on:
        file.last_visit_on = visited_on
    audit.record(actor, "visit.recorded", record.household, compound=record.compound, note=kind.label)
    return visit


def account_members(household: Household) -> list[User]:
    """The household's verified accounts: a case raised for them is theirs (我的工单, 回访)."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.household_id == household.id, User.deleted_at.is_(None))
            .order_by(User.id)
            .limit(20)
        )
    )


def on_behalf_label(actor, compound: Compound) -> str:
    """How a 代发 post and case say who wrote them: 网格员代发 or 居委会代发."""
    roles = {a.role for a in actor.assignments if a.compound_id == compound.id}
    return "网格员代发" if StaffRole.GRID_WORKER in roles else "居委会代发"


def raise_case(
    actor,
    record: HouseholdRecord,
    visit: Visit,
    draft: board.PostDraft,
    case_type: CaseType,
    priority: Priority,
    *,
    consent: bool,
    resident: User | None = None,
) -> Case:
    """代发: the problem raised on ``visit`` becomes a 身边事 post and a case, written by ``actor`` for
    the household — shown under ``resident``'s name when they have an account (then it is their case
    to follow and rate), else under the actor's — only with the resident's consent, recorded here."""
    require(actor, Action.KEEP_HOUSEHOLD, record)
    if visit.household_id != record.household.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    if not consent:
        raise ValidationError("请先征得居民同意，并勾选“居民已同意”", "consent")
    if visit.post_id is not None:
        raise ValidationError("这次走访已经代发过工单")
    if resident is not None and resident.id not in {u.id for u in account_members(record.household)}:
        raise ValidationError("请选择这户的成员", "resident")
    section = db.session.scalar(sa.select(Section).where(Section.key == VISIT_SECTION))
    label = on_behalf_label(actor, record.compound)
    post = board.create_post(actor, record.compound, section, draft, on_behalf_of=resident, on_behalf_label=label)
    case = cases.file_case(actor, post, case_type, priority, note=f"{label}，居民已同意")
    visit.post_id, visit.consent_by_id, visit.consent_at = post.id, actor.id, utcnow()
    audit.record(actor, "visit.case_raised", record.household, compound=record.compound, note=case.number)
    return case


# Care tags (district admin) -------------------------------------------------------------------


def add_default_care_tags(district) -> None:
    """Give a new district the default list (cli new_district, seeders, the tests' world)."""
    db.session.add_all(
        CareTag(district_id=district.id, name=name, sort_order=order)
        for order, name in enumerate(DEFAULT_CARE_TAGS, start=1)
    )
    db.session.flush()


def add_care_tag(actor, district, name: str) -> CareTag:
    require(actor, Action.MANAGE_CARE_TAGS, district)
    name = name.strip()
    if not name:
        raise ValidationError("请填写标签名称", "name")
    in_district = CareTag.district_id == district.id
    order = (db.session.scalar(sa.select(sa.func.max(CareTag.sort_order)).where(in_district)) or 0) + 1
    tag = insert_unique(CareTag(district_id=district.id, name=name, sort_order=order), "已有同名标签", "name")
    audit.record(actor, "care_tag.created", tag, district_id=district.id, note=name)
    return tag


def set_care_tag_active(actor, district, tag: CareTag, active: bool) -> None:
    require(actor, Action.MANAGE_CARE_TAGS, district)
    if tag.district_id != district.id:
        raise PermissionDenied(Decision.NOT_FOUND)
    tag.active = active
    audit.record(
        actor, "care_tag.enabled" if active else "care_tag.disabled", tag, district_id=district.id, note=tag.name
    )
