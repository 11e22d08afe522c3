"""How a person is shown on a page: the full name to staff, masked to residents, badges either way.

Template globals (``person``, ``author``, ``name_of``), in Python rather than Jinja macros: a post
page names every reply's author two or three times, and a macro call costs several times a
function call, which on a page nobody has seen yet (most loads in a district) is most of its cost. For the same
reason they build with ``Markup(f"…{escape(x)}…")``: Markup.format's escaping, at a fraction of its cost.
"""

from __future__ import annotations

from markupsafe import Markup, escape

_PARTY_BADGE = Markup('<span class="badge badge_party">党员</span>')


def person(user, full: bool = False) -> Markup:
    name = escape(user.real_name if full else user.masked_name)
    where = f'<span class="person__where"> · {escape(user.building_label)}</span>' if user.building else ""
    badge = _PARTY_BADGE if user.is_party_member else ""
    return Markup(f'<span class="person">{name}{where}{badge}</span>')


def author(user, role, full: bool = False) -> Markup:
    """The author of a post or reply, with the role they wrote in (书记, 民警, 工作人员)."""
    if not role.is_official:
        return person(user, full)
    name = escape(user.real_name if full else role.public_name(user))
    label = f'<span class="badge badge_{role.value}">{role.label}</span>' if full or role.title != role.label else ""
    badge = _PARTY_BADGE if user.is_party_member else ""
    return Markup(f'<span class="person">{name}{label}{badge}</span>')


def name_of(user, role, full: bool = False) -> Markup:
    """Just the name, as text: for "回复 @…"."""
    return escape(user.real_name if full else role.public_name(user))


def init_templates(app) -> None:
    app.jinja_env.globals.update(person=person, author=author, name_of=name_of)
