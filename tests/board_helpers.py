"""Builders the board tests share: sections, posts and replies through the services, images, page scraping."""

from __future__ import annotations

import re
import secrets
from html import unescape
from io import BytesIO

import sqlalchemy as sa
from conftest import PASSWORD
from flask import current_app
from PIL import Image

from community_board.accounts.models import Salutation
from community_board.board import services
from community_board.board.models import Section
from community_board.board.photos import StoredPhoto
from community_board.extensions import db


def section(key: str) -> Section:
    return db.session.scalar(sa.select(Section).where(Section.key == key))


def make_post(
    author, compound, key="matters", title="楼道灯坏了", body="5号楼2单元三楼的灯不亮了", photos=(), **fields
):
    """A committed post written through the service, as the compose page would."""
    draft = services.PostDraft(title=title, body=body, **fields)
    post = services.create_post(author, compound, section(key), draft, list(photos))
    db.session.commit()
    return post


def make_reply(author, post, body="我也发现了", reply_to=None):
    reply = services.add_reply(author, post, body, reply_to)
    db.session.commit()
    return reply


def fake_photos(count: int) -> list[StoredPhoto]:
    """Photo rows without files behind them: enough for pages that only link to thumbnails."""
    names = [secrets.token_hex(8) for _ in range(count)]
    return [StoredPhoto(f"{n}.jpg", f"{n}_t.jpg", 800, 600) for n in names]


def neighbour(world, name="吴刚", room="601", salutation=Salutation.MR, compound=None):
    """Another verified resident of compound A (or ``compound``), at an address of their own."""
    return world.resident(compound or world.compound_a, name=name, salutation=salutation, building="6", room=room)


def signed_in(user):
    """A fresh test client signed in as ``user`` (a signed-in client cannot switch users: /login
    just redirects), so one test can act as several people."""
    client = current_app.test_client()
    response = client.post("/login", data={"phone": user.phone, "password": PASSWORD})
    assert response.status_code == 302, "login failed"
    return client


# Images ------------------------------------------------------------------------------------


def image_bytes(fmt="JPEG", size=(64, 48), color=(200, 30, 30), mode="RGB", **save_args) -> bytes:
    buffer = BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def upload(*files):
    """Multipart values for the ``photos`` field: upload(("a.jpg", data), …)."""
    return [(BytesIO(data), name) for name, data in files]


# Pages -------------------------------------------------------------------------------------


def text_of(response) -> str:
    return response.get_data(as_text=True)


def field_error(response, field: str) -> str | None:
    """The message shown next to a form field, or None."""
    found = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', text_of(response))
    return unescape(found.group(1)) if found else None


def flashes(response) -> list[str]:
    return [unescape(m) for m in re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', text_of(response))]


def card_titles(response) -> list[str]:
    """Post titles in the order the cards show them."""
    return [unescape(t) for t in re.findall(r'<h3 class="post-card__title">([^<]*)</h3>', text_of(response))]


def load_more_href(response) -> str | None:
    found = re.search(r'<a [^>]*data-load-more href="([^"]+)"', text_of(response))
    return unescape(found.group(1)) if found else None
