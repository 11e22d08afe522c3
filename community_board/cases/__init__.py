from flask import Blueprint

bp = Blueprint("cases", __name__)

from . import (  # noqa: E402,F401  (registers the rules, routes and commands)
    cli,
    rules,
    views,
)

from ..board import versions  # noqa: E402
from .models import Case  # noqa: E402

versions.track(Case)  # a case's status shows on its post's card and page
