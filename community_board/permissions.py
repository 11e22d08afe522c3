"""The one place that decides whether a user may do an action on a node of the hierarchy.

Every view, service, template and JSON endpoint asks ``authorize`` (through ``can`` or ``require``).
The answer has three values because users must not learn what lies outside their scope:
out of scope is NOT_FOUND (404), in scope but not allowed is FORBIDDEN (403).

A scope is (district_id, street_id | None, compound_id | None); None means "all below".
"""
from __future__ import annotations

import enum
from typing import Protocol

from .compounds.models import StaffRole

Scope = tuple[int, int | None, int | None]


class Scoped(Protocol):
    @property
    def scope(self) -> Scope: ...


class Action(enum.Enum):
    VIEW_BOARD = "view_board"  # read the compound's board and neighbour list
    POST = "post"  # write on the compound's board
    SEE_FULL_NAMES = "see_full_names"  # staff see real names; residents see masks
    VERIFY_RESIDENTS = "verify_residents"
    MANAGE_JOIN_CODE = "manage_join_code"
    CONFIRM_PARTY_BADGE = "confirm_party_badge"
    VIEW_AUDIT_LOG = "view_audit_log"
    MANAGE_HIERARCHY = "manage_hierarchy"  # streets, compounds, departments, staff roles


class Decision(enum.Enum):
    ALLOW = "allow"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"


_COMPOUND_STAFF = {StaffRole.SECRETARY, StaffRole.COMMITTEE}
_OVERSIGHT = {StaffRole.GRID_STREET, StaffRole.GRID_DISTRICT, StaffRole.DISTRICT_ADMIN}

# Which staff roles may do what, anywhere their assignment's scope covers the target.
STAFF_RIGHTS: dict[Action, frozenset[StaffRole]] = {
    Action.VIEW_BOARD: frozenset(_COMPOUND_STAFF | {StaffRole.POLICE} | _OVERSIGHT),
    Action.POST: frozenset(_COMPOUND_STAFF | {StaffRole.POLICE}),
    Action.SEE_FULL_NAMES: frozenset(_COMPOUND_STAFF | {StaffRole.POLICE} | _OVERSIGHT),
    Action.VERIFY_RESIDENTS: frozenset(_COMPOUND_STAFF),
    Action.MANAGE_JOIN_CODE: frozenset(_COMPOUND_STAFF),
    Action.CONFIRM_PARTY_BADGE: frozenset({StaffRole.SECRETARY}),
    Action.VIEW_AUDIT_LOG: frozenset(_COMPOUND_STAFF | {StaffRole.DISTRICT_ADMIN}),
    Action.MANAGE_HIERARCHY: frozenset({StaffRole.DISTRICT_ADMIN}),
}

# What a verified resident may do in their own compound.
RESIDENT_RIGHTS = frozenset({Action.VIEW_BOARD, Action.POST})


def covers(outer: Scope, inner: Scope) -> bool:
    """True when ``inner`` lies within ``outer`` (a node covers itself)."""
    return (
        outer[0] == inner[0]
        and (outer[1] is None or outer[1] == inner[1])
        and (outer[2] is None or outer[2] == inner[2])
    )


def related(a: Scope, b: Scope) -> bool:
    """True when one scope lies within the other: the node is visible to the user at all."""
    return covers(a, b) or covers(b, a)


def _user_scopes(user) -> list[tuple[StaffRole | None, Scope]]:
    """(role, scope) pairs; a resident contributes (None, their compound's scope)."""
    pairs: list[tuple[StaffRole | None, Scope]] = [(a.role, a.scope) for a in user.assignments]
    if user.compound is not None:
        pairs.append((None, user.compound.scope))
    return pairs


def authorize(user, action: Action, target: Scoped) -> Decision:
    if user is None or not getattr(user, "is_authenticated", False):
        return Decision.NOT_FOUND
    target_scope = target.scope
    pairs = _user_scopes(user)
    if not any(related(scope, target_scope) for _, scope in pairs):
        return Decision.NOT_FOUND
    for role, scope in pairs:
        if role is None:
            if (
                action in RESIDENT_RIGHTS
                and user.is_verified_resident
                and scope == target_scope
            ):
                return Decision.ALLOW
        elif role in STAFF_RIGHTS[action] and covers(scope, target_scope):
            return Decision.ALLOW
    return Decision.FORBIDDEN


def can(user, action: Action, target: Scoped) -> bool:
    return authorize(user, action, target) is Decision.ALLOW


def is_staff(user) -> bool:
    return bool(getattr(user, "assignments", None))


class PermissionDenied(Exception):
    """Raised when ``authorize`` says no; the app's error handler answers 404 or 403."""

    def __init__(self, decision: Decision):
        super().__init__(decision.value)
        self.decision = decision


def require(user, action: Action, target: Scoped) -> None:
    """Raise PermissionDenied unless allowed; views and services both call this."""
    decision = authorize(user, action, target)
    if decision is not Decision.ALLOW:
        raise PermissionDenied(decision)
