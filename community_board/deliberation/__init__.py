from flask import Blueprint, Flask

bp = Blueprint("deliberation", __name__)

from . import views  # noqa: E402,F401  (registers the routes and commands)

from ..board import services as board_services  # noqa: E402
from .services import frozen_reason  # noqa: E402

board_services.freeze_text_when(frozen_reason)  # ballots count against the text they were cast on


def init_app(app: Flask) -> None:
    from .. import caching
    from .models import Proposal, ProposalNote

    app.register_blueprint(bp)
    # The vote and its 补充说明 show on the proposal's post page.
    caching.depends_on(Proposal, compound=Proposal.compound_id)
    caching.depends_on(ProposalNote, compound=ProposalNote.compound_id)
