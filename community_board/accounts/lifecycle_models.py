"""What an account's later life keeps for a while: a password reset code, a pending change of details."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..compounds.models import Compound
from ..enums import enum_column_type
from ..extensions import db
from ..timeutil import utcnow
from .models import Salutation, User


class ResetCode(db.Model):
    """A one-time password reset code the 居委会 handed to a resident; only its keyed hash is kept.

    One per user: issuing another replaces it, using it deletes it."""

    __tablename__ = "reset_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    issued_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class DetailsChange(db.Model):
    """A verified resident's new name or address (in their compound or another), waiting in the
    verification queue of the compound it names. One per user: a new request replaces it."""

    __tablename__ = "details_changes"
    __table_args__ = (sa.Index("ix_details_changes_compound_created", "compound_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    real_name: Mapped[str] = mapped_column(sa.String(40))
    salutation: Mapped[Salutation] = mapped_column(enum_column_type(Salutation))
    building: Mapped[str] = mapped_column(sa.String(8))
    unit: Mapped[str] = mapped_column(sa.String(8), default="")
    room: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    compound: Mapped[Compound] = relationship()

    @property
    def is_move(self) -> bool:
        return self.compound_id != self.user.compound_id

    @property
    def address(self) -> str:
        unit = f"{self.unit}单元" if self.unit else ""
        return f"{self.building}号楼{unit}{self.room}室"
