"""Notify users and read their messages."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..pagination import Page, keyset_page
from ..permissions import Decision, PermissionDenied
from ..timeutil import utcnow
from .models import Notification, NotificationKind


def notify(user_id: int, kind: NotificationKind, text: str, post_id: int | None = None) -> None:
    """Queue a message in the current transaction; nothing is sent if the caller rolls back."""
    db.session.add(Notification(user_id=user_id, kind=kind, text=text[:200], post_id=post_id))


UNREAD_CAP = 100  # the tab shows 99+ beyond this; never count a whole backlog per page view


def unread_count_of(user_id) -> sa.ScalarSelect:
    """The unread count (capped) of ``user_id``, a value or a column such as ``User.id``."""
    unread = (
        sa.select(Notification.id)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .limit(UNREAD_CAP)
        .correlate_except(Notification)
        .subquery()
    )
    return sa.select(sa.func.count()).select_from(unread).scalar_subquery()


def unread_count(user_id: int) -> int:
    return db.session.scalar(sa.select(unread_count_of(user_id)))


def messages_for(user_id: int, cursor: str | None, limit: int) -> Page[Notification]:
    stmt = sa.select(Notification).where(Notification.user_id == user_id)
    return keyset_page(stmt, Notification, cursor, limit)


def open_message(user_id: int, message_id: int) -> Notification:
    """A user's own message, marked read; anyone else's is 404."""
    message = db.session.get(Notification, message_id)
    if message is None or message.user_id != user_id:
        raise PermissionDenied(Decision.NOT_FOUND)
    if message.read_at is None:
        message.read_at = utcnow()
    return message


def mark_all_read(user_id: int) -> int:
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount
