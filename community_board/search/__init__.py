from flask import Blueprint

bp = Blueprint("search", __name__)

from . import (  # noqa: E402,F401  (registers the index hook and the routes)
    indexer,
    views,
)
