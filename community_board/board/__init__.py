from flask import Blueprint

bp = Blueprint("board", __name__)

from . import (  # noqa: E402,F401  (registers the object rules and the routes)
    rules,
    versions,
    views,
)
