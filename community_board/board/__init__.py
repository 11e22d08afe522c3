from flask import Blueprint

bp = Blueprint("board", __name__)

from . import rules, views  # noqa: E402,F401  (registers the object rules and the routes)
