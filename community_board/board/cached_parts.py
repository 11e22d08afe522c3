"""Lists of the board, memoised per process: post cards (templates/board/_post_card.html), each
rendered once and reused until something it shows changes; and whole lists as a viewer sees them,
reused until the compound's board version moves (board/versions.py)."""
from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from ..fragments import FragmentCache
from ..timeutil import humanize, utcnow

_cards = FragmentCache(4096)


def _card_key(post, pictures, liked: bool, full: bool, show_section: bool, case, when: str) -> tuple:
    """Every value _post_card.html reads: change the template, change this."""
    author, section = post.author, post.section
    return (
        post.id, post.title, post.excerpt, section.key, section.name, post.trade_status, post.aid_kind,
        post.aid_status, post.bulletin_kind, post.is_private, post.hidden_at is not None,
        post.pinned_at is not None, post.price_cents, post.is_free, post.condition, post.reply_count,
        post.like_count, post.author_role, post.created_at, when,
        author.real_name, author.salutation, author.building, author.party_badge,
        tuple(photo.id for photo in pictures), liked, full, show_section,
        (case.status, case.is_overdue) if case else None,
    )


def post_cards(feed, full: bool, show_section: bool, cases: dict) -> list[Markup]:
    post_card = current_app.jinja_env.get_template("board/_post_card.html").module.post_card
    cards = []
    for post in feed.page.items:
        pictures = feed.thumbs.get(post.id, [])
        liked = post.id in feed.liked
        case = cases.get(post.id)
        when = humanize(post.created_at)
        key = _card_key(post, pictures, liked, full, show_section, case, when)
        cards.append(_cards.get(key, lambda: post_card(post, pictures, liked, full, show_section, case, when)))
    return cards


_lists = FragmentCache(1024)


def viewer_list(compound, render: Callable[[], tuple[Markup, object]]) -> tuple[Markup, object]:
    """A page part as this viewer sees it at this URL (a feed page, a post page's body) and what
    ``render`` said about it, reused until the compound's board version moves, the viewer's rights
    change, or the minute turns (times read "3分钟前").

    Forms in the part carry the CSRF token of the session that rendered it; every reuse swaps in
    the token of the session asking, so the same person on two phones gets a form that works."""
    viewer = current_user
    key = (
        request.full_path, compound.id, compound.board_version, utcnow().replace(second=0, microsecond=0),
        viewer.id, viewer.session_version, viewer.resident_status, tuple(a.id for a in viewer.assignments),
    )
    field = current_app.config["WTF_CSRF_FIELD_NAME"]
    html, about, token = _lists.get(key, lambda: (*render(), g.get(field)))
    if token and token in html:
        html = Markup(html.replace(token, generate_csrf()))
    return html, about


_strips = FragmentCache(2048)


def section_strip(compound, current=None) -> Markup:
    """The section strip of a compound's board pages; sections change only with a migration."""

    def render():
        from .queries import sections

        board_nav = current_app.jinja_env.get_template("board/_board_nav.html").module.board_nav
        return board_nav(compound, sections(), current)

    return _strips.get((compound.id, current.key if current else None), render)
