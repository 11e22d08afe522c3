"""Pieces every feature's forms share."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.validators import Length

CHOOSE_FROM_LIST = "请从列表中选择"


def strip(value):
    """A WTForms filter: people type spaces around names and numbers."""
    return value.strip() if isinstance(value, str) else value


def at_most(limit: int) -> Length:
    return Length(max=limit, message=f"最多{limit}个字")


class Form(FlaskForm):
    """Every form of the app: WTForms' own messages in Chinese (WTF_I18N_ENABLED is off)."""

    class Meta:
        locales = ["zh"]
