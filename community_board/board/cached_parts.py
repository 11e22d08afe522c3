"""Board page parts kept per process: post cards (templates/board/_post_card.html), each rendered
once and reused until something it shows changes; the section strip; the body of a feed, section
or post page as one viewer sees it, reused until the compound's board version moves
(board/versions.py); and, for a resident reading their own compound's board, the whole page."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps

from flask import current_app, g, request, session
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


_parts = FragmentCache(1024)


def _earliest(name: str, moment: datetime | None) -> None:
    if moment is not None:
        earliest = g.get(name)
        setattr(g, name, moment if earliest is None else min(earliest, moment))


def valid_until(moment: datetime) -> None:
    """Called while a part renders: what it shows changes by itself at ``moment`` (a vote closes),
    so it must not be reused from then on."""
    _earliest("part_valid_until", moment)


def _viewer_key(now: datetime) -> tuple:
    """Who is looking, at which minute: everything besides the board that decides what a page shows."""
    viewer = current_user
    return (now.replace(second=0, microsecond=0), viewer.id, viewer.session_version, viewer.resident_status,
            viewer.is_suspended, tuple(a.id for a in viewer.assignments))


_signed_tokens = FragmentCache(4096)


def _session_token() -> str:
    """The asking session's signed CSRF token. Signing costs an HMAC per page; with no time limit
    on tokens (config WTF_CSRF_TIME_LIMIT) one signature serves all of a session's pages."""
    config = current_app.config
    name = config["WTF_CSRF_FIELD_NAME"]
    raw = session.get(name)
    if name in g or raw is None or config["WTF_CSRF_TIME_LIMIT"] is not None:
        return generate_csrf()
    signing_key = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    token = _signed_tokens.get((signing_key, raw), generate_csrf)
    setattr(g, name, token)  # as generate_csrf does: the same token for the rest of the request
    return token


def _with_current_token(html: Markup, token: str | None) -> Markup:
    """Forms in kept HTML carry the CSRF token of the session that rendered it; swap in the
    token of the session asking, so the same person on two phones gets a form that works."""
    if token and token in html:
        return Markup(html.replace(token, _session_token()))
    return html


def viewer_part(compound, render: Callable[[], Markup], variant: str) -> Markup:
    """A page part as this viewer sees it at this URL (a feed or section page's body, its next
    cards, a post page's body), reused until the compound's board version moves, the viewer's
    rights change, the minute turns (times read "3分钟前") or a moment the part named passes."""
    now = utcnow()
    key = (variant, request.full_path, compound.id, compound.board_version, *_viewer_key(now))
    kept = _parts.peek(key)
    if kept is None or (kept[2] is not None and now >= kept[2]):
        g.part_valid_until = None
        html = render()
        kept = (html, g.get(current_app.config["WTF_CSRF_FIELD_NAME"]), g.pop("part_valid_until"))
        _parts.put(key, kept)
    html, token, until = kept
    # What the whole page shows (reused_page): this compound's board, until that moment.
    g.setdefault("page_compounds", set()).add(compound.id)
    _earliest("page_valid_until", until)
    return _with_current_token(html, token)


_pages = FragmentCache(512)


def forget_viewer_pages() -> None:
    """Forget every viewer's kept pages and page bodies (post cards stay): `make bench` times
    first views with it."""
    _pages.clear()
    _parts.clear()


def _own_board_page_key(now: datetime) -> tuple | None:
    """The key of this request's whole page when a resident reads their own compound's board, whose
    version came with the signed-in user (no query); None when the page must be built (staff, or a
    message is waiting to be flashed on it)."""
    compound = current_user.compound
    if compound is None or current_user.unread_messages is None or "_flashes" in session:
        return None
    return (request.full_path, request.headers.get("X-Requested-With"), compound.id, compound.board_version,
            current_user.unread_messages, *_viewer_key(now))


def reused_page(view):
    """A board page (feed, section, post) served again whole, without another query, while nothing
    on it can have changed: the same resident, rights, minute, unread count and version of their
    compound's board. Only a page built entirely from that compound's parts (viewer_part) is kept,
    so a post of another compound or a street-wide guide is always built afresh. Put it under
    @login_required."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        now = utcnow()
        key = _own_board_page_key(now)
        kept = _pages.peek(key) if key is not None else None
        if kept is not None and (kept[2] is None or now < kept[2]):
            return _with_current_token(kept[0], kept[1])
        g.page_compounds, g.page_valid_until = set(), None
        page = view(*args, **kwargs)
        if key is not None and isinstance(page, str) and g.page_compounds == {current_user.compound_id}:
            _pages.put(key, (page, g.get(current_app.config["WTF_CSRF_FIELD_NAME"]), g.page_valid_until))
        return page

    return wrapper


_strips = FragmentCache(2048)


def section_strip(compound, current=None) -> Markup:
    """The section strip of a compound's board pages; sections change only with a migration."""

    def render():
        from .queries import sections

        board_nav = current_app.jinja_env.get_template("board/_board_nav.html").module.board_nav
        return board_nav(compound, sections(), current)

    return _strips.get((compound.id, current.key if current else None), render)
