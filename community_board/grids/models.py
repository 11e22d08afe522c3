"""网格 and 一户一档: grids of buildings in a compound, the household file kept by staff (members,
tenure, contact phone, care tags, 民情日记 visits) and the log of who saw it unmasked.

A household is ``accounts.models.Household`` (an address); its file here is one optional row
(``HouseholdFile``) plus rows of members, tags and visits. Which grid a household is in follows from
its building (``GridBuilding``), so moving a building moves its households with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Household
from ..compounds.models import Compound
from ..enums import LabeledEnum, enum_column_type
from ..extensions import db
from ..permissions import Action
from ..timeutil import utcnow

# What every district starts with (services.add_default_care_tags, migration 0016); the district
# admin adds its own.
DEFAULT_CARE_TAGS = ("独居老人", "高龄", "低保", "残疾", "优抚", "留守儿童")


class Grid(db.Model):
    """A 网格: some buildings of one compound, with its grid worker(s) (staff assignments with its id)."""

    __tablename__ = "grids"
    __table_args__ = (sa.UniqueConstraint("compound_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"))
    street_id: Mapped[int] = mapped_column(sa.ForeignKey("streets.id"))
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    name: Mapped[str] = mapped_column(sa.String(20))
    # The work phone staff chose to publish to the grid's residents (never a personal number).
    public_phone: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    compound: Mapped[Compound] = relationship()

    read_action: ClassVar[Action] = Action.VIEW_GRIDS

    @property
    def scope(self) -> tuple[int, int, int]:
        return (self.district_id, self.street_id, self.compound_id)


class GridBuilding(db.Model):
    """A building (号楼) of a compound in a grid; the key makes it belong to one grid at most."""

    __tablename__ = "grid_buildings"

    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"), primary_key=True)
    building: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    grid_id: Mapped[int] = mapped_column(sa.ForeignKey("grids.id"), index=True)


class GridDuty(LabeledEnum):
    """一格三员 besides the grid worker."""

    POLICE = ("police", "社区民警")
    PARTY_MEMBER = ("party_member", "党员")
    BUILDING_HEAD = ("building_head", "楼组长")


class GridMember(db.Model):
    __tablename__ = "grid_members"
    __table_args__ = (sa.UniqueConstraint("grid_id", "user_id", "duty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(sa.ForeignKey("grids.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    duty: Mapped[GridDuty] = mapped_column(enum_column_type(GridDuty))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user = relationship("User")


class CareTag(db.Model):
    """独居老人, 低保 …: each district's own list, extended by its district admin."""

    __tablename__ = "care_tags"
    __table_args__ = (sa.UniqueConstraint("district_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"))
    name: Mapped[str] = mapped_column(sa.String(20))
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Tenure(LabeledEnum):
    OWNER = ("owner", "业主")
    TENANT = ("tenant", "租户")
    LODGER = ("lodger", "借住")


class HouseholdFile(db.Model):
    """一户一档: what staff keep about a household beyond its address. Staff only, never residents."""

    __tablename__ = "household_files"
    __table_args__ = (sa.Index("ix_household_files_compound_care", "compound_id", "care_tagged"),)

    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), primary_key=True)
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    tenure: Mapped[Tenure | None] = mapped_column(enum_column_type(Tenure))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(11))  # shown masked unless revealed
    # Kept with the tags and the visits, so the 90-day list and the counts need no aggregate.
    care_tagged: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    last_visit_on: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class HouseholdMember(db.Model):
    """Someone living there without an account (an elder without a phone, a child)."""

    __tablename__ = "household_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(20))
    relation: Mapped[str] = mapped_column(sa.String(10))  # 户主, 配偶, 女儿 …
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HouseholdCareTag(db.Model):
    __tablename__ = "household_care_tags"

    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), primary_key=True)
    care_tag_id: Mapped[int] = mapped_column(sa.ForeignKey("care_tags.id"), primary_key=True, index=True)

    care_tag: Mapped[CareTag] = relationship(lazy="joined", innerjoin=True)


class VisitKind(LabeledEnum):
    VISIT = ("visit", "走访")
    PHONE = ("phone", "电话")


class Visit(db.Model):
    """民情日记: a visit or phone call to a household and what was raised. A case raised from it on
    the resident's behalf (代发) is the post ``post_id``, filed with the resident's consent."""

    __tablename__ = "visits"
    __table_args__ = (
        sa.Index("ix_visits_household_visited", "household_id", "visited_on", "id"),
        sa.Index("ix_visits_grid_visited", "grid_id", "visited_on", "id"),
        sa.CheckConstraint(
            "post_id IS NULL OR (consent_by_id IS NOT NULL AND consent_at IS NOT NULL)", name="on_behalf_has_consent"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"))
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    grid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grids.id"))  # the household's grid then
    visited_on: Mapped[date]
    kind: Mapped[VisitKind] = mapped_column(enum_column_type(VisitKind))
    met: Mapped[str] = mapped_column(sa.String(20), default="")  # who was met: 本人, 女儿 …
    raised: Mapped[str] = mapped_column(sa.String(500))
    follow_up: Mapped[str] = mapped_column(sa.String(500), default="")
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("posts.id"), unique=True)
    consent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # who ticked the consent
    consent_at: Mapped[datetime | None]

    household: Mapped[Household] = relationship()
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])


class HouseholdAccess(db.Model):
    """Who saw a household file unmasked, when, and what (labels, never the data): a later issue
    shows it to the household."""

    __tablename__ = "household_access_log"
    __table_args__ = (sa.Index("ix_household_access_household_created", "household_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"))
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    shown: Mapped[str] = mapped_column(sa.String(60))  # 成员姓名、联系电话
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class HouseholdRecord:
    """A household as the authorization function sees it: its compound, and its grid by building."""

    household: Household
    compound: Compound
    grid: Grid | None
    file: HouseholdFile | None

    read_action: ClassVar[Action] = Action.VIEW_HOUSEHOLD

    @property
    def scope(self) -> tuple[int, int, int]:
        return self.compound.scope

    @property
    def grid_id(self) -> int | None:
        return self.grid.id if self.grid else None
