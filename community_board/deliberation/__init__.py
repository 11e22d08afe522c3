from flask import Blueprint

bp = Blueprint("deliberation", __name__)

from . import views  # noqa: E402,F401  (registers the routes and commands)

from ..board import versions  # noqa: E402
from .models import Proposal  # noqa: E402

versions.track(Proposal)  # the vote shows on the proposal's post page
