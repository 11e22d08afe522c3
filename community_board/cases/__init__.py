from flask import Blueprint, Flask

bp = Blueprint("cases", __name__)

from . import (  # noqa: E402,F401  (registers the rules, routes and commands)
    cli,
    rules,
    views,
)


def init_app(app: Flask) -> None:
    from .. import caching
    from .models import Case

    app.register_blueprint(bp)
    caching.depends_on(Case, compound=Case.compound_id)  # a case's status shows on its post's card and page
