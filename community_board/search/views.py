"""The search page, and `flask search reindex`."""

from __future__ import annotations

import heapq
import re

import click
import sqlalchemy as sa
from flask import jsonify, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from ..board import queries as board_queries
from ..board.models import Post, Reply
from ..compounds.models import Compound, District, Street
from ..compounds.services import get_compound_for
from ..extensions import db, write_transactions
from ..permissions import Action, Decision, PermissionDenied, can
from ..web import int_or_none
from . import bp, indexer, services
from .models import SearchDocument

NODES = {"compound": Compound, "street": Street, "district": District}


def _scopes(user) -> list:
    """Where the user may search: a resident their compound; staff each node they are assigned to."""
    nodes = []
    if user.is_verified_resident:
        nodes.append(user.compound)
    for assignment in user.assignments:
        node = assignment.compound or assignment.street or db.session.get(District, assignment.district_id)
        if node not in nodes and can(user, Action.VIEW_BOARD, node):
            nodes.append(node)
    return nodes


def _scope_key(node) -> str:
    return f"{type(node).__name__.lower()}:{node.id}"


def _typed(name: str, limit: int) -> str:
    """What was typed in a search box, control characters (PostgreSQL refuses a NUL in any text) as spaces."""
    return _CONTROL.sub(" ", request.args.get(name) or "").strip()[:limit]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@bp.route("/search")
@login_required
def search():
    scopes = _scopes(current_user)
    if not scopes:
        raise PermissionDenied(Decision.FORBIDDEN, "通过居委会实名审核后即可搜索本小区的帖子。")
    chosen = next((s for s in scopes if _scope_key(s) == request.args.get("scope")), scopes[0])
    text = _typed("q", 50)
    section_id = int_or_none(request.args.get("section"))
    open_cases = request.args.get("open") == "1"
    words, page = ([], None)
    if text:
        words, page = services.search(
            current_user, text, chosen, section_id=section_id, open_cases=open_cases, cursor=request.args.get("after")
        )
    return render_template(
        "search/results.html",
        text=text,
        words=words,
        page=page,
        scopes=scopes,
        chosen=chosen,
        scope_key=_scope_key,
        sections=board_queries.sections(),
        section_id=section_id,
        open_cases=open_cases,
        full_names=isinstance(chosen, Compound) and can(current_user, Action.SEE_FULL_NAMES, chosen),
    )


@bp.route("/c/<int:compound_id>/similar")
@login_required
def similar(compound_id: int):
    """JSON for the compose page: open posts that may be the same problem as the title typed."""
    compound = get_compound_for(current_user, compound_id, Action.POST)
    title = _typed("title", 60)
    posts = services.similar_open_posts(current_user, compound, title) if len(title) >= 2 else []
    return jsonify(
        posts=[
            {
                "id": p.id,
                "title": p.title,
                "url": url_for("board.post", post_id=p.id),
                "me_too_url": url_for("board.me_too", post_id=p.id),
                "affected": p.affected_count,
                "replies": p.reply_count,
            }
            for p in posts
        ]
    )


@bp.app_template_filter("highlight")
def _highlight(text, words):
    return services.highlight(text or "", words)


def _in_write_order(batch: int):
    """Every post and reply, oldest first: each table read by id, the two merged by time, so the new
    documents' ids follow the order the app wrote them in (search lists by id)."""

    def rows(model, *options):
        last_id = 0
        while True:
            chunk = db.session.scalars(
                sa.select(model).where(model.id > last_id).order_by(model.id).limit(batch).options(*options)
            ).all()
            if not chunk:
                return
            yield from chunk
            last_id = chunk[-1].id

    return heapq.merge(rows(Post), rows(Reply, selectinload(Reply.post)), key=lambda row: row.created_at)


@bp.cli.command("reindex")
@click.option("--batch", default=1000, show_default=True)
def reindex_command(batch):
    """Rebuild the search index from every post and reply (after an upgrade or a bulk import)."""
    with write_transactions():
        db.session.execute(sa.delete(SearchDocument))
        total, pending = 0, []
        for row in _in_write_order(batch):
            pending.append(indexer.document_of_post(row) if isinstance(row, Post) else indexer.document_of_reply(row))
            if len(pending) == batch:
                indexer.write(db.session.connection(), pending)
                total, pending = total + len(pending), []
                db.session.expunge_all()  # what is indexed need not stay in memory
        indexer.write(db.session.connection(), pending)
        total += len(pending)
        db.session.commit()
    click.echo(f"Indexed {total} posts and replies.")
