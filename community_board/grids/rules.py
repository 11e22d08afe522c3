"""Grid object rules for ``permissions.authorize``: a grid worker's rights reach its own grid only.

``RULES`` is the table the grids init_app declares.
"""

from __future__ import annotations

from ..compounds.models import Compound, StaffRole
from ..permissions import STAFF_RIGHTS, Action, Decision, ObjectRule
from .models import Grid


def grid_ids_of(user) -> set[int]:
    """The grids ``user`` works as grid worker (their assignments load with the signed-in user)."""
    return {a.grid_id for a in user.assignments if a.role is StaffRole.GRID_WORKER and a.grid_id}


def _rule(action: Action) -> ObjectRule:
    wider = STAFF_RIGHTS[action] - {StaffRole.GRID_WORKER}

    def within_own_grid(user, target, roles) -> Decision:
        """Whoever holds another role with the right over the compound may; a grid worker only in its
        grid: another grid, or a household in none, does not exist for it; the compound-wide pages
        (its overview, its grid management) are not its to open."""
        if roles & wider:
            return Decision.ALLOW
        if isinstance(target, Compound):
            return Decision.FORBIDDEN
        grid_id = target.id if isinstance(target, Grid) else getattr(target, "grid_id", None)
        return Decision.ALLOW if grid_id in grid_ids_of(user) else Decision.NOT_FOUND

    return within_own_grid


RULES: dict[Action, tuple[ObjectRule, str]] = {
    action: (_rule(action), "这个页面只对本网格的网格员和居委会开放。")
    for action in (Action.VIEW_GRIDS, Action.VIEW_HOUSEHOLD, Action.REVEAL_HOUSEHOLD, Action.KEEP_HOUSEHOLD)
}
