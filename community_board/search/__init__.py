from flask import Blueprint

bp = Blueprint("search", __name__)

from . import indexer, views  # noqa: E402,F401  (registers the index hook and the routes)
