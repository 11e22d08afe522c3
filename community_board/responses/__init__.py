from flask import Blueprint, Flask

bp = Blueprint("responses", __name__)

from . import views  # noqa: E402,F401  (registers the routes)


def init_app(app: Flask) -> None:
    """发帖必响应's queue page. (Its column lives on the post, so board pages need no new dependency.)"""
    app.register_blueprint(bp)
