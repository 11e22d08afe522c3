from flask import Blueprint, Flask

bp = Blueprint("line", __name__)

from . import views  # noqa: E402,F401  (registers the routes)


def init_app(app: Flask) -> None:
    """私信居委会: its routes, its rules, and what a reply on a message does to the inbox.
    (Its messages never show on board pages, so no cached part depends on them.)"""
    from ..board.services import follow_replies
    from ..permissions import register_rules
    from .rules import RULES
    from .services import reply_added

    app.register_blueprint(bp)
    register_rules(app, RULES)
    follow_replies(app, reply_added)
