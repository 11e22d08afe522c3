"""Sign-in throttling: guessing is slowed per address and per account, the owner is never refused.

Per address (an IPv6 /64 counts as one address): LOGIN_LIMITS failures, then 429.

Per account, failures are counted from every address. Past LOGIN_CHALLENGE_AFTER of them, a browser
the account has signed in from before (it carries a device cookie naming the account: OWASP's
"device cookies") signs in as usual. Any other browser is asked a small sum in Chinese, one answer
per question, and at most one password per LOGIN_ACCOUNT_PACE seconds is checked for the account:
an attempt inside that window is told to wait a few seconds, its password is not looked at and it
is not a failure. A script guessing from many addresses gets one guess per window; the owner on a
new device waits seconds at most. Only the 等保 profile locks the account (LOGIN_LOCK_AFTER), as that
standard requires.

Counters live in the rate limiter's storage (Redis when REDIS_URL is set), so every worker sees
them; keys carry a keyed digest of the phone, never the number itself. The device cookie carries
keyed digests of user ids, never a phone or name.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from dataclasses import dataclass

from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadData, URLSafeTimedSerializer

from ..extensions import limiter
from .rules import ascii_digits

CHALLENGE_SECONDS = 600
DEVICE_ACCOUNTS = 5  # accounts one browser is remembered for (a family's shared tablet)
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


def forget(phone: str) -> None:
    """The owner proved who they are another way (a reset code from the 居委会): start afresh."""
    for kind in ("failures", "lock", "pace"):
        limiter.storage.clear(_key(kind, phone))


def locked(phone: str) -> bool:
    return bool(_config("LOGIN_LOCK_AFTER")) and limiter.storage.get(_key("lock", phone)) > 0


def challenge_needed(phone: str) -> bool:
    return failures(phone) >= _config("LOGIN_CHALLENGE_AFTER")


# Addresses -----------------------------------------------------------------------------------


def client_address() -> str:
    """The address per-address limits count: one IPv6 subscriber holds a whole /64 and picks any
    address in it, so the /64 counts as one."""
    address = get_remote_address()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


# Pacing: one password per account per LOGIN_ACCOUNT_PACE seconds from unknown devices ---------


def _wait(key: str) -> int:
    return max(1, math.ceil(limiter.storage.get_expiry(key) - time.time()))


def pace_wait(phone: str) -> int:
    """Seconds until a password for this phone may be checked again (0: now). Looks, takes nothing."""
    key = _key("pace", phone)
    return _wait(key) if limiter.storage.get(key) else 0


def take_pace(phone: str) -> int:
    """Take this window's one check for the phone: 0 if taken, else the seconds to wait (another
    request took it first)."""
    key = _key("pace", phone)
    if limiter.storage.incr(key, _config("LOGIN_ACCOUNT_PACE")) == 1:
        return 0
    return _wait(key)


def wait_message(seconds: int) -> str:
    return f"为保护您的账号，请稍等{seconds}秒再试"


# Device cookies ------------------------------------------------------------------------------


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="login-device")


def _device() -> dict | None:
    raw = request.cookies.get(_config("LOGIN_DEVICE_COOKIE"))
    if not raw:
        return None
    try:
        claims = _device_serializer().loads(raw, max_age=int(_config("LOGIN_DEVICE_LIFETIME").total_seconds()))
    except BadData:
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("a"), list):
        return None
    return claims


def _device_failures_key(device: dict) -> str:
    return f"login-device-failures:{_digest('login-device-nonce', str(device.get('n')))}"


def trusted_device(user_id: int | None) -> bool:
    """This browser has signed in to the account before, and has not since failed
    LOGIN_CHALLENGE_AFTER times (a stolen cookie does not lift the pacing for long)."""
    device = _device()
    if user_id is None or device is None or _digest("login-device", str(user_id)) not in device["a"]:
        return False
    return limiter.storage.get(_device_failures_key(device)) < _config("LOGIN_CHALLENGE_AFTER")


def record_device_failure() -> None:
    if device := _device():
        limiter.storage.incr(_device_failures_key(device), int(_config("LOGIN_FAILURE_WINDOW").total_seconds()))


def remember_device(response, user_id: int) -> None:
    """Name the account in this browser's device cookie (a new cookie when there is none)."""
    device = _device() or {"n": secrets.token_urlsafe(12), "a": []}
    account = _digest("login-device", str(user_id))
    accounts = [account, *(a for a in device["a"] if a != account)][:DEVICE_ACCOUNTS]
    lifetime = _config("LOGIN_DEVICE_LIFETIME")
    response.set_cookie(
        _config("LOGIN_DEVICE_COOKIE"),
        _device_serializer().dumps({"n": device["n"], "a": accounts}),
        max_age=int(lifetime.total_seconds()),
        path="/",
        secure=_config("SESSION_COOKIE_SECURE"),
        httponly=True,
        samesite="Lax",
    )


# Counting only wrong passwords ----------------------------------------------------------------


def note_wrong_password() -> None:
    g.wrong_password = True


def wrong_password_given(_response) -> bool:
    """For a limit's deduct_when: the request was refused for a wrong password (not for a weak new
    one, a typo in another field, or an outage)."""
    return g.get("wrong_password", False)


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


def _question(nonce: str) -> str:
    first, second = _terms(nonce)
    return f"{_chinese(first)}加{_chinese(second)}等于几？"


def new_challenge(phone: str) -> Challenge:
    nonce = secrets.token_urlsafe(12)
    token = _serializer().dumps({"n": nonce, "p": _digest("login-phone", phone)})
    return Challenge(_question(nonce), token)


def same_challenge(phone: str, token: str | None) -> Challenge:
    """The question the form already asked (still unanswered: told to wait, the person need not
    answer a new one), or a new one."""
    try:
        claims = _serializer().loads(token or "", max_age=CHALLENGE_SECONDS)
    except BadData:
        return new_challenge(phone)
    if not isinstance(claims, dict) or claims.get("p") != _digest("login-phone", phone):
        return new_challenge(phone)
    return Challenge(_question(str(claims.get("n"))), token)


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
