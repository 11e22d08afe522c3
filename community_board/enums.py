"""Enums that carry their Chinese label, stored in the database by their English value."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from wtforms.fields.choices import SelectChoice


class LabeledEnum(enum.Enum):
    """Members are declared as ``NAME = ("value", "中文标签")``."""

    def __new__(cls, value: str, label: str):
        member = object.__new__(cls)
        member._value_ = value
        member.label = label
        return member

    def __str__(self) -> str:
        return self.label

    @classmethod
    def from_value(cls, value: str | None):
        """The member stored as ``value``, or None for anything else (a filter in a URL)."""
        return cls._value2member_map_.get(value) if isinstance(value, str) else None

    @classmethod
    def choices(cls) -> list[SelectChoice]:
        return [SelectChoice(member.value, member.label) for member in cls]


def enum_column_type(enum_class: type[LabeledEnum]) -> sa.Enum:
    """A portable VARCHAR column (no native PostgreSQL enum) holding the member's value."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        length=24,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
