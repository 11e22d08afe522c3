"""Board pages (feed, section, post) rendered once per *audience* and change of the board, shared by
every viewer in that audience, in every worker (and every host with Redis: caching.py).

An audience is the answers to every permission question the page's templates ask about the viewer
(may post, sees full names, moderates, may edit this post …): viewers with the same answers see the
same HTML. What differs per viewer never enters a shared entry; the shared HTML carries markers
that ``personalize`` fills in for each request, cheaply:

- ``<!--t:EPOCH-->``: a relative time (刚刚, 3分钟前), computed at each view;
- ``<!--if:FLAG:ID-->…<!--else:FLAG:ID-->…<!--end:FLAG:ID-->``: liked by the viewer, written by
  the viewer, of another household than the viewer;
- ``<!--slot:unread-->``: the unread badge of the tab bar;
- the CSRF token of forms, rendered as ``CSRF_PLACEHOLDER``.

User text is stored cleaned by bleach, which strips HTML comments, so no marker can come from it.
A part that shows something about the viewer beyond that (their ballot on a 议题, the rating form
of the case they reported) calls ``personal()`` while rendering: that page is kept per viewer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache

from flask import current_app, g, request, session, url_for
from flask_login import current_user
from markupsafe import Markup

from .. import caching
from ..permissions import Action, can
from ..timeutil import humanize, utcnow

_PAGES = caching.Key("board_page")
_CARDS = caching.Key("post_card")

CSRF_PLACEHOLDER = "cbcsrfplaceholder"


def _rendering_shared() -> bool:
    return g.get("shared_render", False)


# Markers, written while rendering ------------------------------------------------------------


def shown_time(moment: datetime | None) -> Markup | str:
    """The ``humanize`` filter on board pages: a marker filled in at each view."""
    if moment is None:
        return ""
    return Markup(f"<!--t:{int(moment.replace(tzinfo=UTC).timestamp())}-->")


def viewer_if(flag: str, value) -> Markup:
    return Markup(f"<!--if:{flag}:{value or 0}-->")


def viewer_else(flag: str, value) -> Markup:
    return Markup(f"<!--else:{flag}:{value or 0}-->")


def viewer_end(flag: str, value) -> Markup:
    return Markup(f"<!--end:{flag}:{value or 0}-->")


def personal() -> str:
    """Called while a part renders: it shows this viewer's own data, so the page is kept for them alone."""
    g.page_personal = True
    return ""


def valid_until(moment: datetime | None) -> str:
    """Called while a part renders: what it shows changes by itself at ``moment`` (a vote closes, a
    case becomes overdue), so it must not be reused from then on."""
    if moment is not None:
        earliest = g.get("page_valid_until")
        g.page_valid_until = moment if earliest is None else min(earliest, moment)
    return ""


def answer(user, action: Action, target) -> bool:
    """The templates' ``can``: while a board page renders, each question is answered once (card and
    reply loops ask the same ones again and again, and nothing changes during a render)."""
    answers = g.get("answers")
    if answers is None:
        return can(user, action, target)
    key = (id(user), action, id(target))
    found = answers.get(key)
    if found is None:  # holding user and target keeps their ids from being reused meanwhile
        found = answers[key] = (user, target, can(user, action, target))
    return found[2]


def static_url(filename: str) -> str:
    """``url_for('static', …)`` built once per file (cards and replies show the same icons)."""
    return _static_url(request.script_root, filename)


@lru_cache(maxsize=256)
def _static_url(_root: str, filename: str) -> str:
    return url_for("static", filename=filename)


def post_cards(feed, full: bool, show_section: bool, cases: dict) -> list[Markup]:
    """The cards of a list, each kept under the values its template receives."""
    post_card = current_app.jinja_env.get_template("board/_post_card.html").module.post_card
    cards = []
    for post in feed.page.items:
        pictures = feed.thumbs.get(post.id, [])
        case = cases.get(post.id)
        if case is not None and case.status.is_open and not case.is_overdue:
            valid_until(case.deadline_at)
        key = _CARDS(caching.values_of(post, *pictures, case), case is not None and case.is_overdue, full, show_section)
        cards.append(
            Markup(
                _CARDS.get_or_make(key, lambda: str(post_card(post, pictures, full, show_section, case)))
                if _rendering_shared()
                else post_card(post, pictures, full, show_section, case)
            )
        )
    return cards


# Per request ------------------------------------------------------------------------------------

_MARKER = re.compile(r"<!--(?:t:(\d+)|if:(\w+):(\d+)-->(.*?)<!--else:\2:\3-->(.*?)<!--end:\2:\3)-->", re.S)


_times: dict[tuple[int, datetime], str] = {}


def _time_text(epoch: int, minute: datetime) -> str:
    """humanize, to the minute (as pages kept within a minute were), remembered for this minute."""
    text = _times.get((epoch, minute))
    if text is None:
        if len(_times) > 20000:
            _times.clear()
        text = _times[(epoch, minute)] = humanize(datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None), minute)
    return text


def personalize(html: str, liked: set[int]) -> str:
    """Fill the markers of shared HTML in for the asking viewer."""
    viewer, minute = current_user._get_current_object(), utcnow().replace(second=0, microsecond=0)
    household = viewer.household_id
    flags: dict[str, Callable[[int], bool]] = {
        "liked": liked.__contains__,
        "mine": viewer.id.__eq__,
        "other_household": lambda household_id: bool(household) and household != household_id,
    }

    def fill(match: re.Match) -> str:
        epoch = match.group(1)
        if epoch is not None:
            return _time_text(int(epoch), minute)
        return match.group(4) if flags[match.group(2)](int(match.group(3))) else match.group(5)

    html = _MARKER.sub(fill, html)
    if CSRF_PLACEHOLDER in html:
        from flask_wtf.csrf import generate_csrf

        html = html.replace(CSRF_PLACEHOLDER, generate_csrf())
    if "<!--slot:unread-->" in html:
        from ..notifications.services import unread_count

        count = current_user.unread_messages
        html = html.replace("<!--slot:unread-->", unread_badge(unread_count(viewer.id) if count is None else count), 1)
    return html


def unread_badge(count: int | None) -> str:
    if not count:
        return ""
    return Markup('<span class="weui-badge tabbar__badge" aria-label="{0}条未读">{1}</span>').format(
        count, count if count < 100 else "99+"
    )


# Whole pages -------------------------------------------------------------------------------------


def audience(compound, targets: Iterable = ()) -> tuple:
    """What decides the answers to the permission questions a page asks about the viewer: on the
    compound, their roles (with scopes) and whether they are a verified resident of it and not
    suspended (permissions.authorize decides from nothing else); on each of ``targets``, (action,
    object) pairs whose rules also look at the object (its author, its age), the answer itself."""
    viewer = current_user
    g.answers = {}  # the render that follows asks these questions again
    return (
        viewer.is_suspended,
        viewer.is_verified_resident and viewer.compound_id == compound.id,
        tuple(sorted((a.role.value, a.scope) for a in viewer.assignments)),
        *(answer(viewer, action, target) for action, target in targets),
    )


def board_page(compound, audience_key: tuple, render: Callable[[], str]) -> str:
    """The page ``render`` builds, shared by every viewer of this ``audience_key`` at this URL
    while ``compound``'s board version stands (read before anything the page shows, so an entry is
    never older than its version), then filled in for the viewer."""
    html, post_ids = _kept_page(compound, audience_key, render)
    from .queries import liked_by

    return personalize(html, liked_by(current_user, post_ids) if post_ids else set())


def unshared_page(render: Callable[[], str]) -> str:
    """A board page built for this request alone (a form sent back with its errors and typed text)."""
    entry = _render(render)
    from .queries import liked_by

    return personalize(entry["html"], liked_by(current_user, entry["posts"]) if entry["posts"] else set())


def unread_slot(count: int | None) -> str:
    """The tab bar's unread badge (base.html): a marker on a shared page."""
    return Markup("<!--slot:unread-->") if _rendering_shared() else unread_badge(count)


def time_filter(moment: datetime | None) -> str:
    """The ``humanize`` filter: a marker on a shared page, the text elsewhere."""
    return shown_time(moment) if _rendering_shared() else humanize(moment)


def _kept_page(compound, audience_key: tuple, render: Callable[[], str]) -> tuple[str, list[int]]:
    if "_flashes" in session or current_user.is_suspended:  # a message for this viewer alone
        entry = _render(render)
        return entry["html"], entry["posts"]
    shared = key = _PAGES(
        request.full_path, request.headers.get("X-Requested-With"), compound.id, compound.board_version, audience_key
    )
    now = utcnow().timestamp()
    entry = _PAGES.get(key)
    if entry is not None and entry.get("personal"):
        key = _PAGES(shared, current_user.id)
        entry = _PAGES.get(key)
    if entry is None or (entry["until"] is not None and now >= entry["until"]):
        entry = _render(render)
        if entry["personal"]:  # the shared key only says so; the viewer's copy is keyed from it, once
            _PAGES.set(shared, {"personal": True})
            key = _PAGES(shared, current_user.id)
        _PAGES.set(key, entry)
    return entry["html"], entry["posts"]


def _render(render: Callable[[], str]) -> dict:
    name = current_app.config["WTF_CSRF_FIELD_NAME"]
    token = g.pop(name, None)
    g.shared_render, g.page_personal, g.page_valid_until, g.page_posts = True, False, None, []
    g.setdefault("answers", {})
    setattr(g, name, CSRF_PLACEHOLDER)
    try:
        html = str(render())
    finally:
        g.shared_render = False
        g.pop("answers")
        g.pop(name)
        if token is not None:
            setattr(g, name, token)
    until = g.pop("page_valid_until")
    return {
        "html": html,
        "personal": g.pop("page_personal"),
        "posts": g.pop("page_posts"),
        "until": until.replace(tzinfo=UTC).timestamp() if until else None,
    }


def shows_posts(post_ids: Iterable[int]) -> None:
    """While rendering: the page shows these posts (the viewer's likes of them are looked up)."""
    g.page_posts.extend(post_ids)
