from flask import Blueprint

bp = Blueprint("accounts", __name__)

from . import lifecycle_views, views  # noqa: E402,F401  (registers the routes)
