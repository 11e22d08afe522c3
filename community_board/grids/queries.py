"""Grid reads: one grid or household file for a user (404 outside their reach), the figures of the
five levels district → street → compound → grid → building, and the lists of a grid (households,
posts, cases, visits). Each page costs a fixed number of queries; long lists page by keyset."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from .. import caching
from ..accounts.models import Household, ResidentStatus, User
from ..board import visibility
from ..board.models import Post
from ..cases.models import Case
from ..compounds.models import Compound, StaffAssignment, StaffRole, Street
from ..extensions import db
from ..pagination import Page, keyset_page
from ..permissions import Action, Decision, PermissionDenied, require
from ..timeutil import utcnow
from ..web import int_or_none
from .models import (
    CareTag,
    Grid,
    GridBuilding,
    GridMember,
    HouseholdCareTag,
    HouseholdFile,
    HouseholdMember,
    HouseholdRecord,
    Visit,
)

NOT_VISITED_DAYS = 90
LONG_LIST = 500  # lists a page shows whole are bounded anyway (grids of a compound, buildings of a grid)


def get_grid_for(user, grid_id: int, action: Action = Action.VIEW_GRIDS) -> Grid:
    grid = db.session.get(Grid, grid_id, options=[joinedload(Grid.compound)])
    if grid is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    require(user, action, grid)
    return grid


def household_record(household_id: int) -> HouseholdRecord | None:
    """The household with its compound, its grid (by building) and its file, in one query."""
    row = db.session.execute(
        sa.select(Household, Compound, Grid, HouseholdFile)
        .join(Compound, Compound.id == Household.compound_id)
        .outerjoin(
            GridBuilding,
            sa.and_(GridBuilding.compound_id == Household.compound_id, GridBuilding.building == Household.building),
        )
        .outerjoin(Grid, Grid.id == GridBuilding.grid_id)
        .outerjoin(HouseholdFile, HouseholdFile.household_id == Household.id)
        .where(Household.id == household_id)
    ).first()
    return HouseholdRecord(*row) if row else None


def get_household_for(user, household_id: int, action: Action = Action.VIEW_HOUSEHOLD) -> HouseholdRecord:
    record = household_record(household_id)
    if record is None:
        raise PermissionDenied(Decision.NOT_FOUND)
    require(user, action, record)
    return record


# The five levels ------------------------------------------------------------------------------


@dataclass
class Figures:
    """Counts of one node of a level: households, verified residents, households with a care tag."""

    households: int = 0
    residents: int = 0
    cared: int = 0


def _household_figures(group_by, *conditions, joins=()) -> dict:
    """{group: Figures} of households (with their file's care flag) grouped by ``group_by``; the
    ``joins`` are outer (a household in no grid is the group None)."""
    stmt = sa.select(
        group_by,
        sa.func.count(Household.id),
        sa.func.count(HouseholdFile.household_id).filter(HouseholdFile.care_tagged),
    ).select_from(Household)
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    stmt = stmt.outerjoin(HouseholdFile, HouseholdFile.household_id == Household.id).where(*conditions)
    return {
        key: Figures(households, 0, cared) for key, households, cared in db.session.execute(stmt.group_by(group_by))
    }


def _compound_figures(residents: dict[int, int]) -> dict[int, Figures]:
    """{compound id: Figures} of the compounds ``residents`` names (with their resident counters),
    each count read off an index alone (households by compound; files by compound and care flag):
    no row of either table is visited, so a whole district's ~80,000 households cost milliseconds."""
    figures = {compound_id: Figures(residents=count) for compound_id, count in residents.items()}
    ids = list(residents)
    households = sa.select(Household.compound_id, sa.func.count()).where(Household.compound_id.in_(ids))
    for compound_id, count in db.session.execute(households.group_by(Household.compound_id)):
        figures[compound_id].households = count
    cared = sa.select(HouseholdFile.compound_id, sa.func.count()).where(
        HouseholdFile.compound_id.in_(ids), HouseholdFile.care_tagged
    )
    for compound_id, count in db.session.execute(cared.group_by(HouseholdFile.compound_id)):
        figures[compound_id].cared = count
    return figures


_DISTRICT_FIGURES = caching.Key("grid_district_figures")


def district_levels(district) -> tuple[list[Street], dict[int, Figures]]:
    """The district's streets with their figures, the sums of their compounds', kept for a minute:
    ~80,000 households take an index walk of ~15 ms, and nothing on a board versions households."""
    streets = list(db.session.scalars(sa.select(Street).where(Street.district_id == district.id).order_by(Street.id)))

    def count() -> list[tuple[int, int, int, int]]:
        compounds = db.session.execute(
            sa.select(Compound.id, Compound.street_id, Compound.resident_count).where(
                Compound.district_id == district.id
            )
        ).all()
        street_of = {compound_id: street_id for compound_id, street_id, _ in compounds}
        sums: dict[int, Figures] = {}
        for compound_id, counts in _compound_figures({c.id: c.resident_count for c in compounds}).items():
            total = sums.setdefault(street_of[compound_id], Figures())
            total.households += counts.households
            total.residents += counts.residents
            total.cared += counts.cared
        return [(street_id, f.households, f.residents, f.cared) for street_id, f in sums.items()]

    minute = utcnow().replace(second=0, microsecond=0)
    kept = _DISTRICT_FIGURES.get_or_make(_DISTRICT_FIGURES(district.id, minute), count)
    return streets, {street_id: Figures(*counts) for street_id, *counts in kept}


def street_levels(street: Street) -> tuple[list[Compound], dict[int, Figures]]:
    compounds = list(
        db.session.scalars(
            sa.select(Compound).where(Compound.street_id == street.id).order_by(Compound.id).limit(LONG_LIST)
        )
    )
    return compounds, _compound_figures({c.id: c.resident_count for c in compounds})


def _on_grid_building(table):
    return sa.and_(GridBuilding.compound_id == table.compound_id, GridBuilding.building == table.building)


def _resident_counts(group_by, *conditions, joins=()) -> dict:
    stmt = sa.select(group_by, sa.func.count(User.id)).select_from(User)
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    stmt = stmt.where(User.resident_status == ResidentStatus.VERIFIED, *conditions)
    return dict(db.session.execute(stmt.group_by(group_by)).all())


def compound_levels(compound: Compound) -> tuple[list[Grid], dict[int | None, Figures], list[str]]:
    """The compound's grids with their figures (None: households in no grid yet), and the buildings
    that have households but no grid."""
    grids = list(
        db.session.scalars(sa.select(Grid).where(Grid.compound_id == compound.id).order_by(Grid.id).limit(LONG_LIST))
    )
    in_compound = Household.compound_id == compound.id
    figures = _grid_figures(compound)
    unassigned = list(
        db.session.scalars(
            sa.select(Household.building)
            .outerjoin(GridBuilding, _on_grid_building(Household))
            .where(in_compound, GridBuilding.grid_id.is_(None))
            .distinct()
            .order_by(Household.building)
            .limit(LONG_LIST)
        )
    )
    return grids, figures, sorted(unassigned, key=_building_order)


def _grid_figures(compound: Compound) -> dict[int | None, Figures]:
    on_grid = [(GridBuilding, _on_grid_building(Household))]
    figures = _household_figures(GridBuilding.grid_id, Household.compound_id == compound.id, joins=on_grid)
    residents = _resident_counts(
        GridBuilding.grid_id, User.compound_id == compound.id, joins=[(GridBuilding, _on_grid_building(User))]
    )
    for grid_id, count in residents.items():
        figures.setdefault(grid_id, Figures()).residents = count
    return figures


def _building_order(building: str):
    """1, 2, 10 rather than 1, 10, 2; labels with letters after the numbers."""
    return (0, int(building), "") if building.isascii() and building.isdigit() else (1, 0, building)


def grid_buildings(grid: Grid) -> tuple[list[str], dict[str, Figures]]:
    """The grid's buildings (in number order) with their figures."""
    buildings = list(
        db.session.scalars(sa.select(GridBuilding.building).where(GridBuilding.grid_id == grid.id).limit(LONG_LIST))
    )
    figures = _household_figures(
        Household.building, Household.compound_id == grid.compound_id, Household.building.in_(buildings)
    )
    residents = _resident_counts(User.building, User.compound_id == grid.compound_id, User.building.in_(buildings))
    for building, count in residents.items():
        figures.setdefault(building, Figures()).residents = count
    return sorted(buildings, key=_building_order), figures


def in_grid(grid: Grid, building: str) -> bool:
    return bool(
        db.session.scalar(
            sa.select(GridBuilding.grid_id).where(
                GridBuilding.grid_id == grid.id,
                GridBuilding.compound_id == grid.compound_id,
                GridBuilding.building == building,
            )
        )
    )


@dataclass
class HouseholdRow:
    household: Household
    file: HouseholdFile | None
    tags: list[CareTag] = field(default_factory=list)
    accounts: int = 0
    members: int = 0


def _rows(pairs) -> list[HouseholdRow]:
    """Rows with their care tags and member counts, in two more queries for the whole page."""
    rows = [HouseholdRow(household, file) for household, file in pairs]
    ids = [row.household.id for row in rows]
    if not ids:
        return rows
    by_id = {row.household.id: row for row in rows}
    for link in db.session.scalars(
        sa.select(HouseholdCareTag).where(HouseholdCareTag.household_id.in_(ids)).order_by(HouseholdCareTag.care_tag_id)
    ):
        by_id[link.household_id].tags.append(link.care_tag)
    accounts = sa.select(User.household_id.label("id"), sa.literal(1).label("account")).where(
        User.household_id.in_(ids), User.resident_status == ResidentStatus.VERIFIED
    )
    others = sa.select(HouseholdMember.household_id.label("id"), sa.literal(0).label("account")).where(
        HouseholdMember.household_id.in_(ids)
    )
    people = sa.union_all(accounts, others).subquery()
    for household_id, account, count in db.session.execute(
        sa.select(people.c.id, people.c.account, sa.func.count()).group_by(people.c.id, people.c.account)
    ):
        if account:
            by_id[household_id].accounts = count
        else:
            by_id[household_id].members = count
    return rows


def _after(cursor: str | None, keys, stmt_from) -> tuple | None:
    """The sort key of the row named by ``cursor`` (a household id), read with the list's own joins."""
    household_id = int_or_none(cursor)
    if household_id is None:
        return None
    return db.session.execute(stmt_from.with_only_columns(*keys).where(Household.id == household_id)).first()


def _keyset(stmt, keys, cursor: str | None, limit: int) -> Page:
    """Keyset on an arbitrary sort key ending in Household.id; the cursor is the last row's id."""
    position = _after(cursor, keys, stmt)
    if position is not None:
        stmt = stmt.where(sa.tuple_(*keys) > sa.tuple_(*position))
    pairs = db.session.execute(stmt.order_by(*keys).limit(limit + 1)).all()
    more = len(pairs) > limit
    pairs = pairs[:limit]
    return Page(_rows(pairs), str(pairs[-1][0].id) if more and pairs else None)


def households_of_building(grid: Grid, building: str, cursor: str | None, limit: int) -> Page[HouseholdRow]:
    """A building's households by unit and room (2 before 10), a page at a time."""
    stmt = (
        sa.select(Household, HouseholdFile)
        .outerjoin(HouseholdFile, HouseholdFile.household_id == Household.id)
        .where(Household.compound_id == grid.compound_id, Household.building == building)
    )
    keys = (Household.unit, sa.func.length(Household.room), Household.room, Household.id)
    return _keyset(stmt, keys, cursor, limit)


def _grid_households(grid: Grid):
    return (
        sa.select(Household, HouseholdFile)
        .join(GridBuilding, _on_grid_building(Household))
        .outerjoin(HouseholdFile, HouseholdFile.household_id == Household.id)
        .where(GridBuilding.grid_id == grid.id, Household.compound_id == grid.compound_id)
    )


def not_visited(grid: Grid, today: date, cursor: str | None, limit: int) -> Page[HouseholdRow]:
    """Households of the grid nobody visited in 90 days: care-tagged first, then the longest unvisited
    (never visited first)."""
    since = today - timedelta(days=NOT_VISITED_DAYS)
    stmt = _grid_households(grid).where(
        sa.or_(HouseholdFile.last_visit_on.is_(None), HouseholdFile.last_visit_on < since)
    )
    cared_first = sa.case((HouseholdFile.care_tagged.is_(True), 0), else_=1)
    keys = (cared_first, sa.func.coalesce(HouseholdFile.last_visit_on, date(1970, 1, 1)), Household.id)
    return _keyset(stmt, keys, cursor, limit)


# A grid's posts, cases and visits ----------------------------------------------------------------


def _grid_post_condition(grid: Grid):
    """Posts by residents of the grid's buildings, and posts written for its households (代发)."""
    by_residents = sa.exists().where(
        User.id == Post.author_id,
        User.compound_id == grid.compound_id,
        GridBuilding.compound_id == User.compound_id,
        GridBuilding.building == User.building,
        GridBuilding.grid_id == grid.id,
    )
    for_households = Post.id.in_(sa.select(Visit.post_id).where(Visit.grid_id == grid.id, Visit.post_id.is_not(None)))
    return sa.or_(by_residents, for_households)


def grid_posts(viewer, grid: Grid, cursor: str | None, limit: int) -> Page[Post]:
    """What the grid's residents posted on the board, as the viewer may read it (no private post unless theirs)."""
    stmt = (
        sa.select(Post)
        .where(
            Post.compound_id == grid.compound_id,
            visibility.in_circulation_sql(),
            visibility.on_board_sql(),
            visibility.reads_private_sql(viewer, visibility.private_kinds_read(viewer, grid.compound)),
            _grid_post_condition(grid),
        )
        .options(joinedload(Post.author))
    )
    return keyset_page(stmt, Post, cursor, limit)


def grid_cases(viewer, grid: Grid, cursor: str | None, limit: int) -> Page[Case]:
    """Cases on the grid's posts, newest first (no private question unless the viewer reads them)."""
    stmt = (
        sa.select(Case)
        .join(Post, Post.id == Case.post_id)
        .where(
            Case.compound_id == grid.compound_id,
            visibility.in_circulation_sql(),  # as the grid's post list: no case of a hidden or deleted post
            visibility.reads_private_sql(viewer, visibility.private_kinds_read(viewer, grid.compound)),
            _grid_post_condition(grid),
        )
        .options(selectinload(Case.post))
    )
    return keyset_page(stmt, Case, cursor, limit)


def visits_between(grid: Grid, first: date, last: date) -> list[Visit]:
    """The grid's visits in [first, last], newest first, with their households."""
    return list(
        db.session.scalars(
            sa.select(Visit)
            .where(Visit.grid_id == grid.id, Visit.visited_on >= first, Visit.visited_on <= last)
            .options(joinedload(Visit.household), joinedload(Visit.recorded_by))
            .order_by(Visit.visited_on.desc(), Visit.id.desc())
            .limit(LONG_LIST)
        )
    )


def visits_of(household: Household, cursor: str | None, limit: int) -> Page[Visit]:
    stmt = sa.select(Visit).where(Visit.household_id == household.id).options(joinedload(Visit.recorded_by))
    return keyset_page(stmt, Visit, cursor, limit)


def household_of_post(post_id: int) -> Household | None:
    """The household a post was written for on a visit (代发), if it was."""
    return db.session.scalar(
        sa.select(Household).join(Visit, Visit.household_id == Household.id).where(Visit.post_id == post_id)
    )


# One household's file -------------------------------------------------------------------------


@dataclass
class FileView:
    accounts: list[User]
    members: list[HouseholdMember]
    tags: list[CareTag]
    district_tags: list[CareTag]


def file_view(record: HouseholdRecord) -> FileView:
    household = record.household
    accounts = list(
        db.session.scalars(
            sa.select(User)
            .where(User.household_id == household.id, User.resident_status == ResidentStatus.VERIFIED)
            .order_by(User.id)
            .limit(20)
        )
    )
    members = list(
        db.session.scalars(
            sa.select(HouseholdMember)
            .where(HouseholdMember.household_id == household.id)
            .order_by(HouseholdMember.id)
            .limit(20)
        )
    )
    district_tags = list(
        db.session.scalars(
            sa.select(CareTag)
            .where(CareTag.district_id == record.compound.district_id)
            .order_by(CareTag.sort_order, CareTag.id)
        )
    )
    chosen = set(
        db.session.scalars(sa.select(HouseholdCareTag.care_tag_id).where(HouseholdCareTag.household_id == household.id))
    )
    return FileView(accounts, members, [t for t in district_tags if t.id in chosen], district_tags)


# The grid's people ---------------------------------------------------------------------------------


def grid_workers(grid_ids: list[int]) -> dict[int, list[User]]:
    """The active grid workers of each grid, in one query."""
    workers: dict[int, list[User]] = {grid_id: [] for grid_id in grid_ids}
    if not grid_ids:
        return workers
    rows = db.session.execute(
        sa.select(StaffAssignment.grid_id, User)
        .join(User, User.id == StaffAssignment.user_id)
        .where(
            StaffAssignment.role == StaffRole.GRID_WORKER,
            StaffAssignment.grid_id.in_(grid_ids),
            User.active.is_(True),
        )
        .order_by(StaffAssignment.id)
    )
    for grid_id, user in rows:
        workers[grid_id].append(user)
    return workers


def grid_members(grid: Grid) -> list[GridMember]:
    return list(
        db.session.scalars(
            sa.select(GridMember)
            .where(GridMember.grid_id == grid.id)
            .options(joinedload(GridMember.user))
            .order_by(GridMember.duty, GridMember.id)
        )
    )


def grid_of_resident(user) -> Grid | None:
    """The grid of a resident's building (None when it is in no grid yet)."""
    if user.compound_id is None or not user.building:
        return None
    return db.session.scalar(
        sa.select(Grid)
        .join(GridBuilding, GridBuilding.grid_id == Grid.id)
        .where(GridBuilding.compound_id == user.compound_id, GridBuilding.building == user.building)
    )


def month_bounds(today: date) -> tuple[date, date]:
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)
