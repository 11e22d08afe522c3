"""`flask cases escalate`: the clock of the case workflow, meant for cron (every few minutes)."""

from __future__ import annotations

import click

from ..extensions import db, write_transactions
from . import bp, services

bp.cli.short_help = "Case workflow jobs."


@bp.cli.command("escalate")
def escalate_command():
    """Escalate overdue cases one level, flag parts not signed for in time (签收超时) and close cases
    left unrated for 7 days."""
    with write_transactions():
        escalated = services.escalate_overdue()
        flagged = services.flag_unacknowledged()
        closed = services.close_unrated()
        db.session.commit()
    click.echo(
        f"Escalated {escalated} overdue case(s); closed {closed} unrated case(s). "
        f"Flagged {flagged} department(s) that did not sign for a case in time."
    )
