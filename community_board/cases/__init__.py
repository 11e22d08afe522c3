from flask import Blueprint

bp = Blueprint("cases", __name__)

from . import (  # noqa: E402,F401  (registers the rules, routes and commands)
    cli,
    rules,
    views,
)
