"""The one sanitizer for user text and the security headers every response carries.

bleach is in maintenance mode upstream; keeping it behind these two functions lets us swap in
nh3 later without touching callers. The CSP is the second layer if a sanitizer ever misses.
"""

from __future__ import annotations

import html
import re
from functools import partial

import bleach
import markdown
from bleach.linkifier import LinkifyFilter
from flask import Flask, Response, request
from markupsafe import Markup

ALLOWED_TAGS = frozenset({"a", "br", "p", "strong", "em", "ul", "ol", "li", "h3", "h4", "blockquote", "code", "pre"})
ALLOWED_ATTRIBUTES = {"a": ["href", "rel", "target"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "tel"})


def _external_link(attrs, new=False):
    attrs[(None, "rel")] = "nofollow noopener noreferrer"
    attrs[(None, "target")] = "_blank"
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    filters=[partial(LinkifyFilter, callbacks=[_external_link], skip_tags=["pre", "code"])],
)


def sanitize_html(markup: str) -> Markup:
    """Clean HTML (e.g. rendered Markdown) against the allow-list; links get rel=nofollow."""
    return Markup(_cleaner.clean(markup))


def render_plain_text(text: str) -> Markup:
    """Plain user text to safe HTML: everything escaped, line breaks kept, URLs linkified."""
    escaped = html.escape(text.replace("\r\n", "\n"), quote=False)
    return sanitize_html(escaped.replace("\n", "<br>\n"))


def stored_html(markup: str | None) -> Markup:
    """HTML that render_plain_text/sanitize_html produced when the text was written.

    Cleaning happens once, on write; pages only mark the stored result as safe.
    """
    return Markup(markup or "")


def render_markdown(text: str) -> Markup:
    """The small Markdown of 办事指南 (headings, lists, bold, links), then the same allow-list.
    # and ## become h3/h4 so an article never outranks the page's own headings."""
    shifted = re.sub(r"^(#{1,2})(?=\s)", lambda m: "#" * (len(m.group(1)) + 2), text, flags=re.MULTILINE)
    return sanitize_html(_markdown_without_html().reset().convert(shifted))


def _markdown_without_html() -> markdown.Markdown:
    """Markdown that treats any raw HTML as text (the allow-list cleans the output anyway)."""
    renderer = markdown.Markdown(output_format="html")
    renderer.preprocessors.deregister("html_block")
    renderer.inlinePatterns.deregister("html")
    return renderer


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # Pages, JSON and CSV may hold personal data: no cache keeps them. Static files and photos
    # set their own Cache-Control (revalidated: a photo of a post hidden since is refused).
    headers.setdefault("Cache-Control", "no-store")
    return response


# Photos are served only to those who may see their post, which can change (hidden, deleted):
# a browser may keep one but asks again (a cheap 304) before showing it.
PRIVATE_REVALIDATED = "private, no-cache"


def init_app(app: Flask) -> None:
    app.after_request(set_security_headers)
    app.jinja_env.filters["stored_html"] = stored_html
