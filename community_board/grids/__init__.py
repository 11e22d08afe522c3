from flask import Blueprint, Flask

bp = Blueprint("grids", __name__)

from . import views  # noqa: E402,F401  (the routes)


def init_app(app: Flask) -> None:
    """The grid routes and the rule that keeps a grid worker to its own grid. (Its board pages show
    only the 代发 mark, a column of the post the board already declares.)"""
    from ..permissions import register_rules
    from .rules import RULES

    app.register_blueprint(bp)
    register_rules(app, RULES)
