"""Per-account sign-in throttling: repeated failures for a phone make its form ask a question.

Guessing from one address is refused by the per-address limit (LOGIN_LIMITS). Failures for one
phone, from any address, never refuse the owner: past LOGIN_CHALLENGE_AFTER the form asks a small
sum in Chinese, one answer per question, and the right password with the right answer signs in from
anywhere. Only the 等保 profile locks the account (LOGIN_LOCK_AFTER), as that standard requires.

Counters live in the rate limiter's storage (Redis when REDIS_URL is set), so every worker sees
them; keys carry a keyed digest of the phone, never the number itself.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from ..extensions import limiter
from .rules import ascii_digits

CHALLENGE_SECONDS = 600
_NUMERALS = "零一二三四五六七八九"


def _digest(purpose: str, value: str) -> str:
    key = current_app.secret_key.encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:24]


def _key(kind: str, phone: str) -> str:
    return f"login-{kind}:{_digest('login-phone', phone)}"


def _config(name: str):
    return current_app.config[name]


# Failures and the 等保 lock ------------------------------------------------------------------

def failures(phone: str) -> int:
    return limiter.storage.get(_key("failures", phone))


def record_failure(phone: str) -> None:
    count = limiter.storage.incr(_key("failures", phone), int(_config("LOGIN_FAILURE_WINDOW").total_seconds()))
    lock_after = _config("LOGIN_LOCK_AFTER")
    if lock_after and count >= lock_after:
        limiter.storage.incr(_key("lock", phone), _config("LOGIN_LOCK_MINUTES") * 60)
        limiter.storage.clear(_key("failures", phone))


def record_success(phone: str) -> None:
    limiter.storage.clear(_key("failures", phone))


def locked(phone: str) -> bool:
    return bool(_config("LOGIN_LOCK_AFTER")) and limiter.storage.get(_key("lock", phone)) > 0


def challenge_needed(phone: str) -> bool:
    return failures(phone) >= _config("LOGIN_CHALLENGE_AFTER")


# The question -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Challenge:
    question: str
    token: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="login-challenge")


def _terms(nonce: str) -> tuple[int, int]:
    """The two numbers follow from the nonce and the secret key: the token does not carry them."""
    digest = bytes.fromhex(_digest("login-challenge", nonce))
    return 2 + digest[0] % 8, 1 + digest[1] % 9


def _chinese(number: int) -> str:
    tens, ones = divmod(number, 10)
    if not tens:
        return _NUMERALS[ones]
    return ("十" if tens == 1 else _NUMERALS[tens] + "十") + (_NUMERALS[ones] if ones else "")


def new_challenge(phone: str) -> Challenge:
    nonce = secrets.token_urlsafe(12)
    first, second = _terms(nonce)
    token = _serializer().dumps({"n": nonce, "p": _digest("login-phone", phone)})
    return Challenge(f"{_chinese(first)}加{_chinese(second)}等于几？", token)


def _answer_value(answer: str) -> int | None:
    answer = ascii_digits(answer or "").strip()
    if answer.isascii() and answer.isdigit():
        return int(answer)
    spoken = {_chinese(n): n for n in range(1, 20)}
    return spoken.get(answer)


def passed(phone: str, token: str | None, answer: str | None) -> bool:
    """The answer to a question asked for this phone, within ten minutes; each question counts once."""
    if not token:
        return False
    try:
        claims = _serializer().loads(token, max_age=CHALLENGE_SECONDS)
    except BadData:
        return False
    if not isinstance(claims, dict) or claims.get("p") != _digest("login-phone", phone):
        return False
    nonce = str(claims.get("n"))
    if limiter.storage.incr(f"login-challenge-used:{_digest('nonce', nonce)}", CHALLENGE_SECONDS) != 1:
        return False
    return _answer_value(answer) == sum(_terms(nonce))
