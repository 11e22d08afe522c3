from flask import Blueprint

bp = Blueprint("board", __name__)

from . import (  # noqa: E402,F401  (the routes and the version hooks)
    versions,
    views,
)


def init_app(app) -> None:
    """Declare the board's object rules to the authorization function."""
    from ..permissions import register_rules
    from .rules import RULES

    register_rules(app, RULES)
