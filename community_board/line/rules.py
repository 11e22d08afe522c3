"""私信居委会 object rules for ``permissions.authorize``; ``RULES`` is the table the line's init_app
declares. Who reads a message is the board's visibility (``PRIVATE_READING``): its read rule,
VIEW_POST, is asked before any of these (404 for everyone else)."""

from __future__ import annotations

from ..board.models import Post, SectionFields
from ..compounds.models import StaffRole
from ..permissions import Action, Decision, ObjectRule

# Who writes on the compound's board as staff (board.services.author_role_in), not as a resident.
_COMPOUND_ROLES = frozenset({StaffRole.SECRETARY, StaffRole.COMMITTEE, StaffRole.POLICE})


def _is_message(user, post, roles) -> Decision:
    """The inbox verbs act on messages to the 居委会, on nothing else of the board."""
    if isinstance(post, Post) and post.section.fields is SectionFields.PRIVATE_LINE:
        return Decision.ALLOW
    return Decision.NOT_FOUND


def _not_staff_here(user, compound, roles) -> Decision:
    """Staff of the compound talk to their colleagues directly: a message is a resident's."""
    return Decision.FORBIDDEN if roles & _COMPOUND_ROLES else Decision.ALLOW


RULES: dict[Action, tuple[ObjectRule, str]] = {
    Action.WRITE_TO_LINE: (_not_staff_here, "您是本小区的工作人员，请直接联系居委会的同事。"),
    Action.HANDLE_LINE: (_is_message, "只有本小区居委会可以处理私信。"),
    Action.ASSIGN_LINE: (_is_message, "只有书记可以把私信交给同事处理。"),
}
