"""Configuration from the environment, with safe defaults.

Choose a class with CB_CONFIG (development / production / testing); production is the default
so that a deployment that forgets to say gets secure cookies.
"""

from __future__ import annotations

import math
import os
import secrets
import zlib
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask.helpers import get_debug_flag

BASE_DIR = Path(__file__).resolve().parent


def instance_dir() -> Path:
    path = Path(os.environ.get("CB_INSTANCE_PATH", BASE_DIR / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_from_file(name: str) -> str:
    """Read a secret kept in instance/, generating it on first use (never committed)."""
    path = instance_dir() / name
    try:
        # O_EXCL: when several workers start at once, exactly one writes and all read the same key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance_dir() / 'community_board.db'}"
    return normalize_database_url(url)


def normalize_database_url(url: str) -> str:
    """Plain postgres URLs name no driver; we use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    CONFIG_NAME = "production"
    DEBUG = False
    TESTING = False

    def __init__(self) -> None:
        # Read at app creation, not import time, so tests and CLI can set the environment first.
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or _secret_from_file("secret_key")
        self.ID_HASH_KEY = os.environ.get("ID_HASH_KEY") or _secret_from_file("id_hash_key")
        self.SQLALCHEMY_DATABASE_URI = _database_url()
        # hide_parameters: SQL errors in the log must not carry phone numbers or names. PostgreSQL
        # connections are pinged only after sitting idle (extensions.configure_postgresql).
        self.SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        # Rendered board parts (caching.py): Redis when there is one, shared by workers and hosts;
        # else a bounded LRU in each process. Entries under an old board version age out.
        self.CACHE_URL = os.environ.get("CACHE_URL") or self.REDIS_URL or "memory://"
        self.CACHE_SIZE = int(os.environ.get("CACHE_SIZE", "4096"))  # entries per process (memory://)
        self.CACHE_TTL_SECONDS = int(os.environ.get("CACHE_TTL_SECONDS", "86400"))
        self.CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "cb:")
        # Base of the URL printed in QR codes; without it the request's host is used.
        self.PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
        self.TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
        self.BENCH_CEILING = os.environ.get("BENCH_CEILING") == "1"  # `make bench` only
        # Photos live outside static/ and are served by a view that checks the viewer's compound.
        self.UPLOAD_DIR = os.environ.get("UPLOAD_DIR") or str(instance_dir() / "uploads")
        # Time to handle a case by priority: 紧急 answers within 4 hours, as the "12345 工作法" asks;
        # 一般 and 较低 count working days (cases.workdays: weekends, holidays and 调休 days).
        self.CASE_DEADLINES = {
            "urgent": ("hours", int(os.environ.get("CASE_HOURS_URGENT", "4"))),
            "normal": ("workdays", int(os.environ.get("CASE_WORKDAYS_NORMAL", "3"))),
            "low": ("workdays", int(os.environ.get("CASE_WORKDAYS_LOW", "7"))),
        }
        # Time a department has to sign for (签收) a case dispatched to it; past it the case is flagged.
        ack_workdays = int(os.environ.get("CASE_ACK_WORKDAYS", "1"))
        self.CASE_ACK_LIMITS = {
            "urgent": ("hours", int(os.environ.get("CASE_ACK_HOURS_URGENT", "2"))),
            "normal": ("workdays", ack_workdays),
            "low": ("workdays", ack_workdays),
        }
        # Secure cookies unless debugging; COOKIE_SECURE=0 for plain http on loopback (not in production).
        secure = os.environ.get("COOKIE_SECURE", "0" if self.DEBUG else "1") == "1"
        self.SESSION_COOKIE_SECURE = self.REMEMBER_COOKIE_SECURE = secure
        # Host names the site answers to (comma separated); other Host headers get a 400.
        self.TRUSTED_HOSTS = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()] or None
        # Processes that each keep their own memory:// limits: gunicorn.conf.py exports its worker count.
        self.WORKERS = int(os.environ.get("WEB_CONCURRENCY") or "1")
        # Unreachable limit storage raises limits' StorageError (a friendly 503), quickly; never
        # swallowed: with Redis down, logins fail closed rather than go unlimited.
        self.RATELIMIT_STORAGE_OPTIONS = {"wrap_exceptions": True, "socket_connect_timeout": 2, "socket_timeout": 2}
        self._password_policy(os.environ.get("PASSWORD_POLICY", "asvs"))

    def _password_policy(self, policy: str) -> None:
        """ASVS 5.0 by default; "dengbao" for districts graded under 等保 2.0, which also locks an
        account after repeated failures (anyone can then lock a resident out for a while: that
        profile accepts it) and asks for a new password every 90 days."""
        if policy not in ("asvs", "dengbao"):
            raise RuntimeError(f"PASSWORD_POLICY must be asvs or dengbao, not {policy!r}")
        dengbao = policy == "dengbao"
        self.PASSWORD_POLICY = policy
        self.LOGIN_LOCK_AFTER = 5 if dengbao else 0  # failures for one phone; 0: never lock
        self.LOGIN_LOCK_MINUTES = 15
        self.PASSWORD_MAX_AGE_DAYS = 90 if dengbao else 0  # 0: no forced change
        # Idle time after which a session ends. Staff see residents' personal data: minutes, not days.
        self.STAFF_IDLE_TIMEOUT = timedelta(
            minutes=int(os.environ.get("STAFF_IDLE_MINUTES", "15" if dengbao else "30"))
        )
        self.RESIDENT_IDLE_TIMEOUT = timedelta(days=int(os.environ.get("RESIDENT_IDLE_DAYS", "14")))
        # A cookie is signed afresh at least once a minute of use, so these bound idle time too.
        self.PERMANENT_SESSION_LIFETIME = self.REMEMBER_COOKIE_DURATION = self.RESIDENT_IDLE_TIMEOUT

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    WTF_I18N_ENABLED = False  # forms use WTForms' own zh messages (formtools.Form)
    MAX_CONTENT_LENGTH = 95 * 1024 * 1024  # nine photos of up to 10 MB each, plus the form
    PASSWORD_HASH_METHOD = "scrypt"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMITS = "5 per minute;20 per hour"  # failed sign-ins per address
    LOGIN_CHALLENGE_AFTER = 3  # failures for one phone (from any address) before it asks a question
    LOGIN_FAILURE_WINDOW = timedelta(hours=1)  # how long a failure counts towards that
    LOGIN_ACCOUNT_PACE = 10  # seconds: past the question, one password per account per this, from unknown devices
    LOGIN_DEVICE_COOKIE = "device"  # names the accounts that signed in from this browser (keyed digests)
    LOGIN_DEVICE_LIFETIME = timedelta(days=365)
    PASSWORD_CHANGE_LIMITS = "5 per 15 minutes;20 per day"  # wrong current passwords, per user and per address
    JOIN_LIMITS = "10 per minute;30 per hour"  # a committee office may help many elders register
    PAGE_SIZE = 20


class DevelopmentConfig(Config):
    # Served over plain http on loopback, so cookies cannot be Secure.
    CONFIG_NAME = "development"
    DEBUG = True
    PROPAGATE_EXCEPTIONS = False  # show our 500 page, never a traceback
    TEMPLATES_AUTO_RELOAD = True


class ProductionConfig(Config):
    """Checked by check_production before the app starts. The __Host- prefix makes browsers
    accept the cookies only when Secure, from this host, for the whole site."""

    CONFIG_NAME = "production"
    SESSION_COOKIE_NAME = "__Host-session"
    REMEMBER_COOKIE_NAME = "__Host-remember_token"
    LOGIN_DEVICE_COOKIE = "__Host-device"


class BenchConfig(Config):
    """`make bench`: production settings served over plain http on loopback by several workers
    that keep their limits in memory, so the production checks do not apply. Never deploy it."""

    CONFIG_NAME = "bench"

    def __init__(self) -> None:
        super().__init__()
        self.SESSION_COOKIE_SECURE = self.REMEMBER_COOKIE_SECURE = False


class TestingConfig(Config):
    CONFIG_NAME = "testing"
    TESTING = True
    DEBUG = True
    WTF_CSRF_ENABLED = False
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast hashes keep the suite quick

    def __init__(self) -> None:
        super().__init__()
        test_url = os.environ.get("TEST_DATABASE_URL")
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(test_url) if test_url else "sqlite://"
        self.RATELIMIT_STORAGE_URI = "memory://"
        # TEST_CACHE_URL=redis://… runs the suite against the Redis backend, under a prefix of its own.
        self.CACHE_URL = os.environ.get("TEST_CACHE_URL") or "memory://"
        self.CACHE_KEY_PREFIX = f"cb-test-{secrets.token_hex(4)}:"


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
    "bench": BenchConfig,
}


def load(name: str | None = None) -> Config:
    name = name or os.environ.get("CB_CONFIG", "production")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise RuntimeError(f"CB_CONFIG must be one of {sorted(CONFIGS)}, not {name!r}") from None


# Production refuses to start on settings that are unsafe on the internet -----------------------


class UnsafeConfiguration(click.ClickException, RuntimeError):
    """One line per unsafe setting. A ClickException so that `flask` prints just the lines, and a
    RuntimeError so that gunicorn does ("Error: …") and exits 1."""


# Values published in tutorials and samples (shorter ones fail the length check anyway), and
# words no random key contains.
KNOWN_SECRETS = frozenset(
    {
        "192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf",  # Flask's quickstart
        "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",  # FastAPI's JWT tutorial
    }
)
PLACEHOLDER_WORDS = ("secret", "change", "insecure", "example", "password", "replace", "default")
MIN_SECRET_BYTES = 32


MIN_KEY_CHARACTERS = 10  # distinct characters: a random hex key has 16
MIN_KEY_BITS = 128


def _random_key(name: str) -> str:
    return (
        f"set a random one ({name}=$(python -c 'import secrets; print(secrets.token_hex(32))')) "
        f"or unset it to use instance/{name.lower()}"
    )


def _estimated_bits(text: str) -> float:
    """A generous upper bound on the information in ``text``: its characters' Shannon entropy, and
    what zlib cannot squeeze out of it (repeats and runs), whichever is less."""
    counts, length = Counter(text), len(text)
    shannon = -sum(n / length * math.log2(n / length) for n in counts.values()) * length
    compressed = (len(zlib.compress(text.encode(), 9)) - 8) * 8  # less the header and checksum
    return min(shannon, compressed)


def _key_problem(name: str, key: str | bytes | None) -> str | None:
    """SECRET_KEY signs the cookies; ID_HASH_KEY keys the HMAC of ID numbers, which are few enough
    to enumerate: with a guessable key every stored hash gives its number back."""
    raw = key.encode() if isinstance(key, str) else key or b""
    if len(raw) < MIN_SECRET_BYTES:
        return f"{name} has {len(raw)} bytes, needs {MIN_SECRET_BYTES}: {_random_key(name)}"
    text = raw.decode(errors="replace")
    if text.lower() in KNOWN_SECRETS or any(word in text.lower() for word in PLACEHOLDER_WORDS):
        return f"{name} is a published or placeholder value: {_random_key(name)}"
    if len(set(text)) < MIN_KEY_CHARACTERS or _estimated_bits(text) < MIN_KEY_BITS:
        return f"{name} is too regular to be random (repeated or too few different characters): {_random_key(name)}"
    return None


def production_problems(settings: Mapping[str, Any]) -> list[str]:
    """What makes ``settings`` unsafe to serve on the internet, one line each."""
    problems = [
        problem for name in ("SECRET_KEY", "ID_HASH_KEY") if (problem := _key_problem(name, settings.get(name)))
    ]
    if not (settings.get("SESSION_COOKIE_SECURE") and settings.get("REMEMBER_COOKIE_SECURE")):
        problems.append("COOKIE_SECURE=0: production cookies must be Secure; serve the site over https")
    workers = settings.get("WORKERS", 1)
    if str(settings.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://") and workers > 1:
        problems.append(
            f"rate limits kept in memory by each of {workers} workers (WEB_CONCURRENCY): "
            "set REDIS_URL so that all workers share the login limits"
        )
    if not settings.get("TRUSTED_HOSTS"):
        problems.append(
            "TRUSTED_HOSTS is not set: list the host names the site answers to, e.g. TRUSTED_HOSTS=ling.example.cn"
        )
    # `flask run` sets app.debug from FLASK_DEBUG (or --debug) only after create_app returns.
    if settings.get("DEBUG") or get_debug_flag():
        problems.append(
            "debug mode is on (FLASK_DEBUG=1 or --debug): error pages would show code and paths; unset FLASK_DEBUG"
        )
    return problems


def check_production(settings: Mapping[str, Any] | Config) -> None:
    """Raise UnsafeConfiguration when production ``settings`` (a mapping, or a Config) are unsafe."""
    if not isinstance(settings, Mapping):
        settings = {key: getattr(settings, key) for key in dir(settings) if key.isupper()}
    if settings.get("CONFIG_NAME") != "production":
        return
    problems = production_problems(settings)
    if problems:
        raise UnsafeConfiguration("\n".join(problems))
