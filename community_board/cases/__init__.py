from flask import Blueprint, Flask

bp = Blueprint("cases", __name__)

from . import (  # noqa: E402,F401  (the routes and commands)
    cli,
    views,
)


def init_app(app: Flask) -> None:
    """The case routes, the case rules, and what case changes show on board pages."""
    from .. import caching
    from ..permissions import register_rules
    from .models import Case
    from .rules import RULES

    app.register_blueprint(bp)
    register_rules(app, RULES)
    caching.depends_on(Case, compound=Case.compound_id)  # a case's status shows on its post's card and page
