from flask import Blueprint

bp = Blueprint("compounds", __name__)

from . import admin, views  # noqa: E402,F401  (registers the routes)
