"""Builders the grid tests share: grids with buildings and grid workers, household files and visits,
all through the services, committed."""

from __future__ import annotations

from datetime import timedelta

from community_board.compounds.models import StaffAssignment, StaffRole
from community_board.extensions import db
from community_board.grids import queries, services
from community_board.grids.models import Grid, VisitKind


def make_grid(secretary, compound, name: str = "第1网格", buildings: str = "1-6") -> Grid:
    grid = services.create_grid(secretary, compound, name)
    services.assign_buildings(secretary, grid, buildings)
    db.session.commit()
    return grid


def make_grid_worker(world, grid: Grid, name: str = "王晓燕"):
    """A 网格员 of ``grid``, as the district admin assigns one."""
    user = world.user(name)
    db.session.add(
        StaffAssignment(
            user=user,
            role=StaffRole.GRID_WORKER,
            district_id=grid.district_id,
            street_id=grid.street_id,
            compound_id=grid.compound_id,
            grid_id=grid.id,
        )
    )
    db.session.flush()
    db.session.refresh(user, ["assignments"])
    db.session.commit()
    return user


def record_of(household_id: int):
    return queries.household_record(household_id)


def add_household(actor, grid: Grid, building: str, room: str, unit: str = "1"):
    household = services.add_household(actor, grid, building, unit, room)
    db.session.commit()
    return household


def add_visit(actor, household, days_ago: int = 0, kind=VisitKind.VISIT, raised="楼道灯坏了", met="本人"):
    visit = services.record_visit(
        actor,
        record_of(household.id),
        services.today_local() - timedelta(days=days_ago),
        kind,
        met,
        raised,
    )
    db.session.commit()
    return visit
