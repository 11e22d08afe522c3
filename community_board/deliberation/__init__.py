from flask import Blueprint, Flask

bp = Blueprint("deliberation", __name__)

from . import views  # noqa: E402,F401  (registers the routes and commands)


def init_app(app: Flask) -> None:
    """议事厅's routes; its text freeze (ballots count against the text they were cast on); what its
    changes show on the proposal's post page (the vote and its 补充说明)."""
    from .. import caching
    from ..board.services import freeze_text_when
    from .models import Proposal, ProposalNote
    from .services import frozen_reason

    app.register_blueprint(bp)
    freeze_text_when(app, frozen_reason)
    caching.depends_on(Proposal, compound=Proposal.compound_id)
    caching.depends_on(ProposalNote, compound=ProposalNote.compound_id)
