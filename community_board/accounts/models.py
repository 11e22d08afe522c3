"""People: user accounts (residents and staff alike) and households."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from ..compounds.models import Compound, StaffAssignment
from ..enums import LabeledEnum, enum_column_type
from ..extensions import db
from ..privacy import masked_name
from ..timeutil import utcnow

# What a deleted (注销) account is shown as, wherever its posts and replies stay.
DELETED_NAME = "已注销用户"


class ResidentStatus(LabeledEnum):
    PENDING = ("pending", "待审核")
    VERIFIED = ("verified", "已认证")
    REJECTED = ("rejected", "未通过")


class Salutation(LabeledEnum):
    MR = ("mr", "先生")
    MS = ("ms", "女士")


class PartyBadge(LabeledEnum):
    NONE = ("none", "未申请")
    REQUESTED = ("requested", "待书记确认")
    CONFIRMED = ("confirmed", "党员")


class Household(db.Model):
    """One address (户) in a compound; verified residents at that address belong to it."""

    __tablename__ = "households"
    __table_args__ = (sa.UniqueConstraint("compound_id", "building", "unit", "room"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    building: Mapped[str] = mapped_column(sa.String(8))
    unit: Mapped[str] = mapped_column(sa.String(8), default="")
    room: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def address(self) -> str:
        unit = f"{self.unit}单元" if self.unit else ""
        return f"{self.building}号楼{unit}{self.room}室"


class User(UserMixin, db.Model):
    """Anyone who signs in. A resident has a compound and an address; staff have assignments.

    The resident ID number is never stored: only its keyed HMAC and last four digits.
    """

    __tablename__ = "users"
    __table_args__ = (
        # The verification queue and the neighbour list of a compound.
        sa.Index("ix_users_compound_status_created", "compound_id", "resident_status", "created_at", "id"),
        sa.CheckConstraint("compound_id IS NULL OR resident_status IS NOT NULL", name="resident_has_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(sa.String(11), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    real_name: Mapped[str] = mapped_column(sa.String(40))
    salutation: Mapped[Salutation | None] = mapped_column(enum_column_type(Salutation))
    # Filled by the per-request login load (one query for the user and the tab bar's badge).
    unread_messages: Mapped[int | None] = query_expression()

    compound_id: Mapped[int | None] = mapped_column(sa.ForeignKey("compounds.id"))
    building: Mapped[str | None] = mapped_column(sa.String(8))
    unit: Mapped[str | None] = mapped_column(sa.String(8))
    room: Mapped[str | None] = mapped_column(sa.String(8))
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id"), index=True)
    resident_status: Mapped[ResidentStatus | None] = mapped_column(enum_column_type(ResidentStatus))
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(200))
    id_number_hmac: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    id_number_last4: Mapped[str | None] = mapped_column(sa.String(4))
    party_badge: Mapped[PartyBadge] = mapped_column(enum_column_type(PartyBadge), default=PartyBadge.NONE)

    # Bumped by logout, password change and deactivation: every older cookie stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    consented_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    # 禁言 (accounts/lifecycle.py): over by itself once suspended_until passes; no end = until lifted.
    suspended_at: Mapped[datetime | None]
    suspended_until: Mapped[datetime | None]
    suspension_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # 注销: the personal data is gone; what they wrote stays, shown as DELETED_NAME.
    deleted_at: Mapped[datetime | None]

    compound: Mapped[Compound | None] = relationship()
    household: Mapped[Household | None] = relationship()
    # Loaded with the signed-in user (load_user); other users' roles are never needed per row.
    assignments: Mapped[list[StaffAssignment]] = relationship(back_populates="user", order_by=StaffAssignment.id)

    # Flask-Login -------------------------------------------------------------
    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    # Display -----------------------------------------------------------------
    @property
    def is_resident(self) -> bool:
        return self.compound_id is not None

    @property
    def is_verified_resident(self) -> bool:
        return self.resident_status is ResidentStatus.VERIFIED

    @property
    def is_party_member(self) -> bool:
        return self.party_badge is PartyBadge.CONFIRMED

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None and (self.suspended_until is None or utcnow() < self.suspended_until)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def masked_name(self) -> str:
        if self.is_deleted:
            return DELETED_NAME
        return masked_name(self.real_name, self.salutation.label if self.salutation else None)

    @property
    def address(self) -> str:
        if not self.building:
            return ""
        unit = f"{self.unit}单元" if self.unit else ""
        return f"{self.building}号楼{unit}{self.room}室"

    @property
    def building_label(self) -> str:
        return f"{self.building}号楼" if self.building else ""
