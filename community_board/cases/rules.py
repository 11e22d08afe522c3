"""Case object rules for ``permissions.authorize``; ``RULES`` is the table the cases init_app declares."""

from __future__ import annotations

from ..board.rules import visible
from ..compounds.models import StaffRole
from ..permissions import Action, Decision, ObjectRule
from .models import Case, CaseStatus, Level

POLICE_SECTION = "police"


def _department_ids(user) -> set[int]:
    return {a.department_id for a in user.assignments if a.role is StaffRole.DEPARTMENT and a.department_id}


def _may_file(user, post, roles) -> Decision:
    readable = visible(user, post, roles)  # a private question is filed only by those who may read it
    if readable is not Decision.ALLOW:
        return readable
    if post.is_hidden:
        return Decision.FORBIDDEN
    # Police file police matters only; anyone else with the right may file any post.
    if roles <= {StaffRole.POLICE} and post.section.key != POLICE_SECTION:
        return Decision.FORBIDDEN
    return Decision.ALLOW


def _may_handle(user, case: Case, roles) -> Decision:
    """Department staff reach only the cases dispatched to their department (404 otherwise), and no
    longer once it returned the case (退单) or was released from it."""
    if roles <= {StaffRole.DEPARTMENT} and not (_department_ids(user) & case.department_ids):
        return Decision.NOT_FOUND
    return Decision.ALLOW


def _may_work(user, case: Case, roles) -> Decision:
    """Working on a case (dispatch, progress, notes, escalation) needs knowing what it is about: the
    case of a private question is handled only by those who may read its details. (Asked of a
    compound, DISPATCH_CASE means dispatching while filing: the filer reads the post.)"""
    if not isinstance(case, Case):
        return Decision.ALLOW
    handled = _may_handle(user, case, roles)
    if handled is not Decision.ALLOW:
        return handled
    return _may_read_details(user, case, roles)


def _may_read_details(user, case: Case, roles) -> Decision:
    """The case of a private post (a question to the police, a message to the 居委会) shows who wrote
    and what only to the post's readers and to the levels it reached: the departments it was
    dispatched to, the grid centres it was escalated to."""
    if not case.post.is_private or visible(user, case.post, roles) is Decision.ALLOW:
        return Decision.ALLOW
    if _department_ids(user) & case.department_ids:
        return Decision.ALLOW
    reached = {Level.STREET: {StaffRole.GRID_STREET}, Level.DISTRICT: {StaffRole.GRID_STREET, StaffRole.GRID_DISTRICT}}
    return Decision.ALLOW if roles & reached.get(case.level, set()) else Decision.FORBIDDEN


def _may_rate(user, case: Case, roles) -> Decision:
    if case.reporter_id != user.id:
        return Decision.FORBIDDEN
    return Decision.ALLOW if case.status is CaseStatus.RESOLVED else Decision.FORBIDDEN


def _may_escalate(user, case: Case, roles) -> Decision:
    """Each level passes a case up from its own level only."""
    if case.level is Level.STREET and StaffRole.GRID_STREET not in roles:
        return Decision.FORBIDDEN
    if case.level is Level.DISTRICT:
        return Decision.FORBIDDEN
    return _may_read_details(user, case, roles)


# Declared to permissions.authorize by the cases init_app: action → (rule, what its 403 says).
RULES: dict[Action, tuple[ObjectRule, str]] = {
    Action.FILE_CASE: (_may_file, "民警只能为警民直通车的帖子立案，已隐藏的帖子不能立案。"),
    Action.VIEW_CASE: (_may_handle, "这个工单没有派给您的部门。"),
    **dict.fromkeys(
        (Action.DISPATCH_CASE, Action.WORK_CASE, Action.NOTE_CASE, Action.ASSIGN_CASE_OWNER),
        (_may_work, "这是居民私下反映（私下提问或私信居委会）的工单，只有能看到原问题的工作人员可以办理。"),
    ),
    Action.READ_CASE_DETAILS: (
        _may_read_details,
        "这是居民私下反映的问题，反映人和内容仅能看到原问题的工作人员和承办部门可见。",
    ),
    Action.RATE_CASE: (_may_rate, "只有反映问题的居民可以在办结后评价。"),
    Action.ESCALATE_CASE: (_may_escalate, "只有当前负责这一层级、并能看到原问题的工作人员可以升级工单。"),
}
