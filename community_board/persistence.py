"""Service-layer database helpers."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from .errors import ValidationError
from .extensions import db


def insert_unique(obj, message: str, field: str | None = None):
    """Add ``obj`` in a savepoint; a unique-constraint clash (e.g. a race) becomes a form error."""
    try:
        with db.session.begin_nested():
            db.session.add(obj)
    except IntegrityError:
        raise ValidationError(message, field) from None
    return obj
