"""Builders the 私信居委会 and 发帖必响应 tests share: messages through the service, pages scraped."""

from __future__ import annotations

import re
from html import unescape

from board_helpers import signed_in, text_of  # noqa: F401  (re-exported)

from community_board.board.services import PostDraft
from community_board.extensions import db
from community_board.line import services


def write_to_line(
    resident, compound=None, title="隔壁单元疑似群租", body="3号楼2单元601住了十几个人，想私下反映", photos=()
):
    """A committed message to the 居委会, written through the service as the compose page would."""
    message = services.write(resident, compound or resident.compound, PostDraft(title=title, body=body), list(photos))
    db.session.commit()
    return message


def row_titles(response, marker: str) -> list[str]:
    """The titles of the rows a list page shows (rows carry ``marker``: data-message, data-awaiting)."""
    html = text_of(response)
    rows = re.findall(rf"<a [^>]*{marker}[^>]*>(.*?)</a>", html, re.S)
    titles = []
    for row in rows:
        found = re.search(r'class="case-row__title">(.*?)</div>', row, re.S)
        titles.append(unescape(found.group(1)).strip() if found else "")
    return titles
