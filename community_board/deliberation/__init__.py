from flask import Blueprint

bp = Blueprint("deliberation", __name__)

from . import views  # noqa: E402,F401  (registers the routes and commands)

from ..board import services as board_services  # noqa: E402
from ..board import versions  # noqa: E402
from .models import Proposal, ProposalNote  # noqa: E402
from .services import frozen_reason  # noqa: E402

versions.track(Proposal, ProposalNote)  # the vote and its 补充说明 show on the proposal's post page
board_services.freeze_text_when(frozen_reason)  # ballots count against the text they were cast on
