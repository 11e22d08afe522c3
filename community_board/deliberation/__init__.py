from flask import Blueprint

bp = Blueprint("deliberation", __name__)

from . import views  # noqa: E402,F401  (registers the routes and commands)

from ..board import versions  # noqa: E402
from .models import Proposal, ProposalNote  # noqa: E402

versions.track(Proposal, ProposalNote)  # the vote and its 补充说明 show on the proposal's post page


def init_app(app) -> None:
    """A 议题's text freezes once someone voted: ballots count against the text they were cast on."""
    from ..board.services import freeze_text_when
    from .services import frozen_reason

    freeze_text_when(app, frozen_reason)
