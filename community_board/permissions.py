"""The one place that decides whether a user may do an action on a node of the hierarchy.

Every view, service, template and JSON endpoint asks ``authorize`` (through ``can`` or ``require``).
The answer has three values because users must not learn what lies outside their scope:
out of scope is NOT_FOUND (404), in scope but not allowed is FORBIDDEN (403).

A scope is (district_id, street_id | None, compound_id | None); None means "all below".
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Protocol

from flask import current_app

from .compounds.models import StaffRole
from .timeutil import format_local

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
    # The board; object rules (author, edit window, locks, section rules) live in board/rules.py.
    VIEW_POST = "view_post"
    REPLY = "reply"
    LIKE = "like"
    REPORT = "report"
    EDIT_POST = "edit_post"
    DELETE_POST = "delete_post"
    SET_POST_STATUS = "set_post_status"  # 闲置 在售/已预订/已出, 互助 已解决 and thanks
    MODERATE = "moderate"  # the report queue, hide/restore, pin, lock
    # Cases; object rules (police matters, dispatched departments, the reporter) in cases/rules.py.
    FILE_CASE = "file_case"  # target: a post
    VIEW_CASE = "view_case"  # the staff view: internal notes and names
    READ_CASE_DETAILS = "read_case_details"  # who reported it and what they wrote (a private question's case)
    DISPATCH_CASE = "dispatch_case"  # dispatch, withdraw, correct, release a part, decide on a 延期
    WORK_CASE = "work_case"  # 签收, accept, resolve, 退单, 协办完成, ask for a 延期
    ASSIGN_CASE_OWNER = "assign_case_owner"  # hand a case to another 包案人 of the compound
    ESCALATE_CASE = "escalate_case"
    NOTE_CASE = "note_case"
    RATE_CASE = "rate_case"  # the resident who reported it
    VIEW_DASHBOARD = "view_dashboard"  # target: a compound, street or district
    MANAGE_CASE_TYPES = "manage_case_types"
    MANAGE_CALENDAR = "manage_calendar"  # the district's working-day calendar (holidays, 调休)
    # 议事厅, 警民直通车, 党员
    VOTE = "vote"  # target: a proposal's post
    RECORD_OUTCOME = "record_outcome"
    ANSWER_QUEUE = "answer_queue"  # the officer's unanswered questions
    MARK_HELPFUL = "mark_helpful"  # the asker marks an answer helpful
    READ_PRIVATE_QUESTIONS = "read_private_questions"
    # 网格 and 一户一档; object rules (a grid worker's own grid) in grids/rules.py.
    VIEW_GRIDS = "view_grids"  # target: a district, street, compound or grid (the five-level view)
    MANAGE_GRIDS = "manage_grids"  # divide a compound into grids, 一格三员, the published phone
    VIEW_HOUSEHOLD = "view_household"  # a household file, masked
    REVEAL_HOUSEHOLD = "reveal_household"  # its names and phone in full (logged)
    KEEP_HOUSEHOLD = "keep_household"  # edit the file, record visits (民情日记), raise a case for it (代发)
    MANAGE_CARE_TAGS = "manage_care_tags"  # target: a district
    # 私信居委会 (target: a compound, or a message's post); object rules in line/rules.py.
    WRITE_TO_LINE = "write_to_line"  # a resident writes privately to their compound's 居委会
    READ_PRIVATE_LINE = "read_private_line"  # the shared inbox: every message of the compound
    HANDLE_LINE = "handle_line"  # take a message, close or reopen it
    ASSIGN_LINE = "assign_line"  # give a message to a colleague
    # 发帖必响应: resident posts and messages no staff member has responded to yet (target: a compound)
    VIEW_RESPONSE_QUEUE = "view_response_queue"


class Decision(enum.Enum):
    ALLOW = "allow"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"


_COMPOUND_STAFF = {StaffRole.SECRETARY, StaffRole.COMMITTEE}
_OVERSIGHT = {StaffRole.GRID_STREET, StaffRole.GRID_DISTRICT, StaffRole.DISTRICT_ADMIN}
# A grid worker reads and writes on its compound's board and files cases there as committee staff do,
# but neither moderates, verifies nor dispatches; its household files are its own grid's only.
_GRID = {StaffRole.GRID_WORKER}

# Which staff roles may do what, anywhere their assignment's scope covers the target.
STAFF_RIGHTS: dict[Action, frozenset[StaffRole]] = {
    Action.VIEW_BOARD: frozenset(_COMPOUND_STAFF | _GRID | {StaffRole.POLICE} | _OVERSIGHT),
    Action.POST: frozenset(_COMPOUND_STAFF | _GRID | {StaffRole.POLICE}),
    Action.SEE_FULL_NAMES: frozenset(_COMPOUND_STAFF | _GRID | {StaffRole.POLICE} | _OVERSIGHT),
    Action.VERIFY_RESIDENTS: frozenset(_COMPOUND_STAFF),
    Action.MANAGE_JOIN_CODE: frozenset(_COMPOUND_STAFF),
    Action.CONFIRM_PARTY_BADGE: frozenset({StaffRole.SECRETARY}),
    Action.VIEW_AUDIT_LOG: frozenset(_COMPOUND_STAFF | {StaffRole.DISTRICT_ADMIN}),
    Action.MANAGE_HIERARCHY: frozenset({StaffRole.DISTRICT_ADMIN}),
    Action.VIEW_POST: frozenset(_COMPOUND_STAFF | _GRID | {StaffRole.POLICE} | _OVERSIGHT),
    Action.REPLY: frozenset(_COMPOUND_STAFF | _GRID | {StaffRole.POLICE}),
    Action.LIKE: frozenset(_COMPOUND_STAFF | {StaffRole.POLICE}),
    Action.REPORT: frozenset(),
    Action.EDIT_POST: frozenset(_COMPOUND_STAFF | _GRID | {StaffRole.POLICE}),
    Action.DELETE_POST: frozenset(_COMPOUND_STAFF | _GRID | {StaffRole.POLICE}),
    Action.SET_POST_STATUS: frozenset(_COMPOUND_STAFF | {StaffRole.POLICE}),
    Action.MODERATE: frozenset(_COMPOUND_STAFF),
    Action.FILE_CASE: frozenset(
        _COMPOUND_STAFF | _GRID | {StaffRole.POLICE, StaffRole.GRID_STREET, StaffRole.GRID_DISTRICT}
    ),
    Action.VIEW_CASE: frozenset(_COMPOUND_STAFF | _GRID | {StaffRole.POLICE, StaffRole.DEPARTMENT} | _OVERSIGHT),
    Action.READ_CASE_DETAILS: frozenset(
        _COMPOUND_STAFF | _GRID | {StaffRole.POLICE, StaffRole.DEPARTMENT} | _OVERSIGHT
    ),
    Action.DISPATCH_CASE: frozenset(_COMPOUND_STAFF | {StaffRole.GRID_STREET, StaffRole.GRID_DISTRICT}),
    Action.WORK_CASE: frozenset({StaffRole.DEPARTMENT, StaffRole.GRID_STREET, StaffRole.GRID_DISTRICT}),
    Action.ASSIGN_CASE_OWNER: frozenset({StaffRole.SECRETARY}),
    Action.ESCALATE_CASE: frozenset(_COMPOUND_STAFF | {StaffRole.GRID_STREET}),
    Action.NOTE_CASE: frozenset(
        _COMPOUND_STAFF
        | _GRID
        | {StaffRole.POLICE, StaffRole.DEPARTMENT, StaffRole.GRID_STREET, StaffRole.GRID_DISTRICT}
    ),
    Action.RATE_CASE: frozenset(),
    Action.VIEW_DASHBOARD: frozenset(_COMPOUND_STAFF | {StaffRole.POLICE} | _OVERSIGHT),
    Action.MANAGE_CASE_TYPES: frozenset({StaffRole.DISTRICT_ADMIN}),
    Action.MANAGE_CALENDAR: frozenset({StaffRole.DISTRICT_ADMIN}),
    Action.VOTE: frozenset(),
    Action.RECORD_OUTCOME: frozenset(_COMPOUND_STAFF),
    Action.ANSWER_QUEUE: frozenset({StaffRole.POLICE}),
    Action.MARK_HELPFUL: frozenset(_COMPOUND_STAFF | {StaffRole.POLICE}),
    Action.READ_PRIVATE_QUESTIONS: frozenset({StaffRole.POLICE, StaffRole.SECRETARY}),
    Action.VIEW_GRIDS: frozenset(_COMPOUND_STAFF | _GRID | _OVERSIGHT),
    Action.MANAGE_GRIDS: frozenset(_COMPOUND_STAFF),
    Action.VIEW_HOUSEHOLD: frozenset(_COMPOUND_STAFF | _GRID),
    Action.REVEAL_HOUSEHOLD: frozenset(_COMPOUND_STAFF | _GRID),
    Action.KEEP_HOUSEHOLD: frozenset(_COMPOUND_STAFF | _GRID),
    Action.MANAGE_CARE_TAGS: frozenset({StaffRole.DISTRICT_ADMIN}),
    # Only the compound's 居委会: not the police, not oversight (unless a case is made of it: cases/rules.py).
    Action.WRITE_TO_LINE: frozenset(),
    Action.READ_PRIVATE_LINE: frozenset(_COMPOUND_STAFF),
    Action.HANDLE_LINE: frozenset(_COMPOUND_STAFF),
    Action.ASSIGN_LINE: frozenset({StaffRole.SECRETARY}),
    Action.VIEW_RESPONSE_QUEUE: frozenset(_COMPOUND_STAFF),
}

# Reads refused with a 404 even inside the reader's compound: a household file is never confirmed to
# whoever may not read it (its residents, the police), as if it did not exist.
UNSEEN_UNLESS_ALLOWED = frozenset({Action.VIEW_HOUSEHOLD})

# Reads that reach up: a target's read_scope (a shared 办事指南 article: the street) is read from
# any compound below it.
READ_FROM_BELOW = frozenset({Action.VIEW_POST})

# What a verified resident may do in their own compound.
RESIDENT_RIGHTS = frozenset(
    {
        Action.VIEW_BOARD,
        Action.POST,
        Action.VIEW_POST,
        Action.REPLY,
        Action.LIKE,
        Action.REPORT,
        Action.EDIT_POST,
        Action.DELETE_POST,
        Action.SET_POST_STATUS,
        Action.RATE_CASE,
        Action.VOTE,
        Action.MARK_HELPFUL,
        Action.WRITE_TO_LINE,
    }
)

# What a suspended (禁言) user may not do until it ends: publish or take part. Reading, reporting
# harm to staff and deleting their own posts stay.
SUSPENDED_FROM = frozenset(
    {
        Action.POST,
        Action.EDIT_POST,
        Action.REPLY,
        Action.LIKE,
        Action.VOTE,
        Action.SET_POST_STATUS,
        Action.WRITE_TO_LINE,
    }
)  # its 互助 thanks note is published text

# Rules that look at the object itself (its author, state, section): each feature declares its
# table (action → rule, what its 403 tells the user) in its init_app through ``register_rules``.
# A rule gets (user, target, staff roles over the target's own compound) once the role check passed.
ObjectRule = Callable[[object, object, frozenset[StaffRole]], "Decision"]
_RULES = "object_rules"  # in app.extensions: {action: (rule, why)}


def register_rules(app, rules: dict[Action, tuple[ObjectRule, str]]) -> None:
    """Declare object rules for ``app``; an action has at most one rule, so a second is an error."""
    registered = app.extensions.setdefault(_RULES, {})
    for action, rule_and_reason in rules.items():
        if action in registered:
            raise RuntimeError(f"an object rule for {action} is registered already")
        registered[action] = rule_and_reason


def _object_rule(action: Action) -> tuple[ObjectRule, str] | None:
    return current_app.extensions[_RULES].get(action)


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
    """Whoever may not read an object gets 404 on every action on it: an object that declares its
    read rule (``read_action``: a post's VIEW_POST, a case's VIEW_CASE) is read-checked first."""
    unwrap = getattr(user, "_get_current_object", None)
    if unwrap is not None:  # current_user: a proxy that would look the user up at every attribute
        user = unwrap()
    read_action = getattr(type(target), "read_action", None)
    if read_action not in (None, action) and _decide_unseen(user, read_action, target) is Decision.NOT_FOUND:
        return Decision.NOT_FOUND
    return _decide_unseen(user, action, target)


def _decide_unseen(user, action: Action, target: Scoped) -> Decision:
    decision = _decide(user, action, target)
    if decision is Decision.FORBIDDEN and action in UNSEEN_UNLESS_ALLOWED:
        return Decision.NOT_FOUND
    return decision


def _decide(user, action: Action, target: Scoped) -> Decision:
    if user is None or not getattr(user, "is_authenticated", False):
        return Decision.NOT_FOUND
    wide = action in READ_FROM_BELOW
    own_scope = target.scope
    target_scope = getattr(target, "read_scope", own_scope) if wide else own_scope
    pairs = _user_scopes(user)
    if not any(related(scope, target_scope) for _, scope in pairs):
        return Decision.NOT_FOUND
    if action in SUSPENDED_FROM and user.is_suspended:
        return Decision.FORBIDDEN

    def reaches(scope: Scope) -> bool:
        return covers(scope, target_scope) or (wide and covers(target_scope, scope))

    roles = frozenset(role for role, scope in pairs if role is not None and reaches(scope))
    as_resident = (
        action in RESIDENT_RIGHTS
        and user.is_verified_resident
        and any(role is None and (scope == target_scope or (wide and reaches(scope))) for role, scope in pairs)
    )
    if not (as_resident or roles & STAFF_RIGHTS[action]):
        return Decision.FORBIDDEN
    declared = _object_rule(action)
    if declared is None:
        return Decision.ALLOW
    # Rights over the object itself (moderating it, reading it once deleted) come from roles over its
    # own compound: reading a street-wide article from below grants reading it, nothing more.
    own_roles = frozenset(role for role, scope in pairs if role is not None and covers(scope, own_scope))
    return declared[0](user, target, own_roles)


def can(user, action: Action, target: Scoped) -> bool:
    return authorize(user, action, target) is Decision.ALLOW


def is_staff(user) -> bool:
    return bool(getattr(user, "assignments", None))


class PermissionDenied(Exception):
    """Raised when ``authorize`` says no; the app's error handler answers 404 or 403, a 403 with
    ``reason``: why, in the reader's situation."""

    def __init__(self, decision: Decision, reason: str | None = None):
        super().__init__(decision.value)
        self.decision = decision
        self.reason = reason


STAFF_ONLY = "这个页面只对本小区的工作人员开放。"


def forbidden_reason(user, action: Action, target: Scoped) -> str:
    """Why ``authorize`` said FORBIDDEN, told to this user: a resident awaiting verification is told
    to wait, not that the page is for staff."""
    if action in SUSPENDED_FROM and user.is_suspended:
        until = f"至{format_local(user.suspended_until)}" if user.suspended_until else "（长期）"
        return f"您已被居委会禁言{until}，原因：{user.suspension_reason}。期间可以浏览，不能发帖、回复、点赞或投票。"
    if action in RESIDENT_RIGHTS and not is_staff(user) and user.compound is not None:
        status = getattr(user.resident_status, "value", None)
        if status == "pending":
            return "您的实名认证正在等待居委会审核，审核通过后即可发帖、回复和投票。"
        if status == "rejected":
            return "您的实名认证未通过，请在“我的”页面按居委会的说明修改资料后重新提交。"
    roles = {role for role, scope in _user_scopes(user) if role is not None and covers(scope, target.scope)}
    declared = _object_rule(action)
    if declared and (roles & STAFF_RIGHTS[action] or (action in RESIDENT_RIGHTS and user.is_verified_resident)):
        return declared[1]  # the role allowed it; the object's own rule said no
    return STAFF_ONLY


def require(user, action: Action, target: Scoped) -> None:
    """Raise PermissionDenied unless allowed; views and services both call this."""
    decision = authorize(user, action, target)
    if decision is Decision.FORBIDDEN:
        raise PermissionDenied(decision, forbidden_reason(user, action, target))
    if decision is not Decision.ALLOW:
        raise PermissionDenied(decision)
