"""The administrative hierarchy: district → street/town → compound, departments and staff roles."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..enums import LabeledEnum, enum_column_type
from ..extensions import db
from ..timeutil import utcnow

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..grids.models import Grid


class StreetKind(LabeledEnum):
    STREET = ("street", "街道")
    TOWN = ("town", "镇")


class CompoundKind(LabeledEnum):
    NEIGHBOURHOOD = ("neighbourhood", "居民区")
    VILLAGE = ("village", "村")


class DepartmentKind(LabeledEnum):
    URBAN_MANAGEMENT = ("urban_management", "城管")
    PROPERTY = ("property", "物业")
    GRID_CENTRE = ("grid_centre", "网格化中心")
    POLICE_STATION = ("police_station", "派出所")
    HOUSING = ("housing", "房管")
    HEALTH = ("health", "卫生")
    OTHER = ("other", "其他")


class StaffRole(LabeledEnum):
    SECRETARY = ("secretary", "居民区书记")
    COMMITTEE = ("committee", "居委会工作人员")
    POLICE = ("police", "社区民警")
    GRID_STREET = ("grid_street", "街镇网格化中心")
    GRID_DISTRICT = ("grid_district", "区网格化中心")
    DEPARTMENT = ("department", "部门工作人员")
    DISTRICT_ADMIN = ("district_admin", "区管理员")
    GRID_WORKER = ("grid_worker", "网格员")  # one grid of a compound (grids/)

    @property
    def scope_level(self) -> str:
        """Which node a role is assigned to: compound, street, district, department or grid."""
        return _ROLE_SCOPE_LEVEL[self]


_ROLE_SCOPE_LEVEL = {
    StaffRole.SECRETARY: "compound",
    StaffRole.COMMITTEE: "compound",
    StaffRole.POLICE: "compound",
    StaffRole.GRID_STREET: "street",
    StaffRole.GRID_DISTRICT: "district",
    StaffRole.DEPARTMENT: "department",
    StaffRole.DISTRICT_ADMIN: "district",
    StaffRole.GRID_WORKER: "grid",
}


class District(db.Model):
    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    # Short code used in readable numbers (e.g. case BS-20261122-0007).
    code: Mapped[str] = mapped_column(sa.String(8), unique=True)

    streets: Mapped[list[Street]] = relationship(back_populates="district", order_by="Street.id")

    @property
    def scope(self) -> tuple[int, None, None]:
        return (self.id, None, None)


class Street(db.Model):
    __tablename__ = "streets"
    __table_args__ = (sa.UniqueConstraint("district_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[StreetKind] = mapped_column(enum_column_type(StreetKind), default=StreetKind.STREET)

    district: Mapped[District] = relationship(back_populates="streets")
    compounds: Mapped[list[Compound]] = relationship(back_populates="street", order_by="Compound.id")

    @property
    def scope(self) -> tuple[int, int, None]:
        return (self.district_id, self.id, None)


class Compound(db.Model):
    __tablename__ = "compounds"
    __table_args__ = (sa.UniqueConstraint("street_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # district_id repeats street.district_id so scope checks need no join.
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    street_id: Mapped[int] = mapped_column(sa.ForeignKey("streets.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[CompoundKind] = mapped_column(enum_column_type(CompoundKind), default=CompoundKind.NEIGHBOURHOOD)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Figures on the board's banner, kept on the row and changed with the event (no COUNT per view).
    resident_count: Mapped[int] = mapped_column(default=0, server_default="0")
    post_count: Mapped[int] = mapped_column(default=0, server_default="0")
    solved_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Moves with every change to what the board shows (caching.py); keys cached lists.
    board_version: Mapped[int] = mapped_column(default=0, server_default="0")

    street: Mapped[Street] = relationship(back_populates="compounds")

    @property
    def scope(self) -> tuple[int, int, int]:
        return (self.district_id, self.street_id, self.id)


class JoinCode(db.Model):
    """The token in a compound's QR code. Rotating revokes the old row, so its QR says 'expired'."""

    __tablename__ = "join_codes"
    __table_args__ = (sa.Index("ix_join_codes_compound_active", "compound_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    compound: Mapped[Compound] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Department(db.Model):
    """A unit that receives dispatched cases, attached to a street or (street_id NULL) the district."""

    __tablename__ = "departments"
    __table_args__ = (sa.UniqueConstraint("district_id", "street_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    street_id: Mapped[int | None] = mapped_column(sa.ForeignKey("streets.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    kind: Mapped[DepartmentKind] = mapped_column(enum_column_type(DepartmentKind))

    street: Mapped[Street | None] = relationship()

    @property
    def scope(self) -> tuple[int, int | None, None]:
        return (self.district_id, self.street_id, None)


class StaffAssignment(db.Model):
    """A staff role with its scope. The scope columns are filled down from the assigned node,
    so 'does this assignment cover that compound' is a comparison of three ids. A grid worker's
    scope is the grid's compound; ``grid_id`` narrows it (grids/rules.py)."""

    __tablename__ = "staff_assignments"
    __table_args__ = (
        sa.CheckConstraint("compound_id IS NULL OR street_id IS NOT NULL", name="compound_within_street"),
        sa.CheckConstraint("grid_id IS NULL OR compound_id IS NOT NULL", name="grid_within_compound"),
        sa.Index("ix_staff_assignments_compound_role", "compound_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    role: Mapped[StaffRole] = mapped_column(enum_column_type(StaffRole))
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"))
    street_id: Mapped[int | None] = mapped_column(sa.ForeignKey("streets.id"))
    compound_id: Mapped[int | None] = mapped_column(sa.ForeignKey("compounds.id"))
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    grid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grids.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="assignments")
    compound: Mapped[Compound | None] = relationship()
    street: Mapped[Street | None] = relationship()
    department: Mapped[Department | None] = relationship()
    grid: Mapped[Grid | None] = relationship()

    @property
    def scope(self) -> tuple[int, int | None, int | None]:
        return (self.district_id, self.street_id, self.compound_id)

    @property
    def scope_label(self) -> str:
        if self.department is not None:
            return self.department.name
        if self.grid is not None:
            return f"{self.compound.name} · {self.grid.name}"
        if self.compound is not None:
            return self.compound.name
        if self.street is not None:
            return self.street.name
        return "全区"
