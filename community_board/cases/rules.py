"""Case object rules for ``permissions.authorize``."""
from __future__ import annotations

from ..compounds.models import StaffRole
from ..permissions import Action, Decision, object_rule
from .models import Case, CaseStatus

POLICE_SECTION = "police"


def _department_ids(user) -> set[int]:
    return {a.department_id for a in user.assignments if a.role is StaffRole.DEPARTMENT and a.department_id}


@object_rule(Action.FILE_CASE)
def _may_file(user, post, roles) -> Decision:
    if post.is_deleted:
        return Decision.NOT_FOUND
    # Police file police matters only; anyone else with the right may file any post.
    if roles <= {StaffRole.POLICE} and post.section.key != POLICE_SECTION:
        return Decision.FORBIDDEN
    return Decision.ALLOW


@object_rule(Action.VIEW_CASE, Action.WORK_CASE, Action.NOTE_CASE)
def _may_handle(user, case: Case, roles) -> Decision:
    """Department staff reach only the cases dispatched to their department (404 otherwise)."""
    if roles <= {StaffRole.DEPARTMENT} and not (_department_ids(user) & case.department_ids):
        return Decision.NOT_FOUND
    return Decision.ALLOW


@object_rule(Action.RATE_CASE)
def _may_rate(user, case: Case, roles) -> Decision:
    if case.reporter_id != user.id:
        return Decision.FORBIDDEN
    return Decision.ALLOW if case.status is CaseStatus.RESOLVED else Decision.FORBIDDEN
