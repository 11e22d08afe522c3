from flask import Blueprint

bp = Blueprint("cases", __name__)

from . import (  # noqa: E402,F401  (the routes and commands)
    cli,
    views,
)

from ..board import versions  # noqa: E402
from .models import Case  # noqa: E402

versions.track(Case)  # a case's status shows on its post's card and page


def init_app(app) -> None:
    """Declare the case rules to the authorization function."""
    from ..permissions import register_rules
    from .rules import RULES

    register_rules(app, RULES)
