from flask import Blueprint

bp = Blueprint("deliberation", __name__)

from . import views  # noqa: E402,F401  (registers the routes and commands)
