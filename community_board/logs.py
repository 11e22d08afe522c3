"""Logging without personal data.

Query strings carry staff searches for phones and names, and /join/<token> a compound's join
secret, so logs name a request by its route: ids and fixed words are shown, any other part of the
path stays a placeholder (/join/<token>), the query string is left out. gunicorn's access log reads
the same path from the WSGI environ (gunicorn.conf.py).
"""

from __future__ import annotations

import logging
import re

from flask import Flask, request

ENVIRON_KEY = "cb.log_path"  # gunicorn.conf.py: %({cb.log_path}e)s

_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_SHOWN_CONVERTERS = frozenset({"int", "any"})  # ids and words from a fixed list
_QUERY_STRING = re.compile(r"\?[^ \"]*")


def loggable_path() -> str:
    """The request's route with its ids filled in: /c/12/s/<key>, /join/<token>."""
    rule = request.url_rule
    if rule is None:
        return request.path
    values = request.view_args or {}

    def argument(match: re.Match) -> str:
        converter, name = match.groups()
        return str(values[name]) if converter in _SHOWN_CONVERTERS and name in values else f"<{name}>"

    return _ARGUMENT.sub(argument, rule.rule)


def _note_log_path() -> None:
    request.environ[ENVIRON_KEY] = loggable_path()


def _without_query_string(record: logging.LogRecord) -> bool:
    """The development server's request lines ('"GET /search?q=… HTTP/1.1" 200'), cut."""
    record.msg = _QUERY_STRING.sub("", record.getMessage())
    record.args = ()
    return True


def init_app(app: Flask) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("community_board").setLevel(logging.INFO)
    # Flask-Limiter logs each breached limit with its key at INFO, and login keys hold the phone.
    logging.getLogger("flask-limiter").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").addFilter(_without_query_string)
    app.before_request(_note_log_path)
