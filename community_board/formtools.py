"""Pieces every feature's forms share."""

from __future__ import annotations

from datetime import date, datetime

from flask_wtf import FlaskForm
from wtforms.validators import Length, ValidationError

CHOOSE_FROM_LIST = "请从列表中选择"


def strip(value):
    """A WTForms filter: people type spaces around names and numbers."""
    return value.strip() if isinstance(value, str) else value


def at_most(limit: int) -> Length:
    return Length(max=limit, message=f"最多{limit}个字")


# The dates a form takes: a browser's date picker accepts the year 1 and 9999, where the step to UTC
# or to the next day leaves what datetime can hold.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def in_calendar(form, field) -> None:
    """A WTForms validator for a date or date-time field: within FIRST_DAY … LAST_DAY."""
    day = field.data.date() if isinstance(field.data, datetime) else field.data
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(f"请选择{FIRST_DAY.year}年至{LAST_DAY.year}年之间的日期")


# C0 controls but tab and line breaks: nobody types them, and PostgreSQL refuses a NUL in any text.
_CONTROL_CHARACTERS = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def _without_control_characters(value):
    return value.translate(_CONTROL_CHARACTERS) if isinstance(value, str) else value


class Form(FlaskForm):
    """Every form of the app: WTForms' own messages in Chinese (WTF_I18N_ENABLED is off), and
    typed text without control characters."""

    class Meta:
        locales = ["zh"]

        def bind_field(self, form, unbound_field, options):
            filters = [_without_control_characters, *unbound_field.kwargs.get("filters", ())]
            return unbound_field.bind(form=form, filters=filters, **options)
