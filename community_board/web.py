"""Small helpers views share: run a service verb in one transaction and tell the user."""
from __future__ import annotations

from collections.abc import Callable

from flask import flash

from .errors import ValidationError
from .extensions import db


def perform(verb: Callable, *args, success: str) -> bool:
    """Call a service verb; commit and flash ``success``, or roll back and flash its error."""
    try:
        verb(*args)
    except ValidationError as error:
        db.session.rollback()
        flash(error.message, "warn")
        return False
    db.session.commit()
    flash(success, "success")
    return True
