from flask import Blueprint

bp = Blueprint("cases", __name__)

from . import cli, rules, views  # noqa: E402,F401  (registers the rules, routes and commands)
