"""Configuration from the environment, with safe defaults.

Choose a class with CB_CONFIG (development / production / testing); production is the default
so that a deployment that forgets to say gets secure cookies.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

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
            return "postgresql+psycopg://" + url[len(prefix):]
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
        # Base of the URL printed in QR codes; without it the request's host is used.
        self.PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
        self.TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
        self.BENCH_CEILING = os.environ.get("BENCH_CEILING") == "1"  # `make bench` only
        # Photos live outside static/ and are served by a view that checks the viewer's compound.
        self.UPLOAD_DIR = os.environ.get("UPLOAD_DIR") or str(instance_dir() / "uploads")
        # Hours to handle a case by priority: 紧急 answers within 4 hours, as the "12345 工作法" asks.
        self.CASE_DEADLINE_HOURS = {
            "urgent": int(os.environ.get("CASE_HOURS_URGENT", "4")),
            "normal": int(os.environ.get("CASE_HOURS_NORMAL", "72")),
            "low": int(os.environ.get("CASE_HOURS_LOW", "168")),
        }
        # Secure cookies unless debugging; COOKIE_SECURE=0 for plain http on loopback (make bench).
        secure = os.environ.get("COOKIE_SECURE", "0" if self.DEBUG else "1") == "1"
        self.SESSION_COOKIE_SECURE = self.REMEMBER_COOKIE_SECURE = secure
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
        self.STAFF_IDLE_TIMEOUT = timedelta(minutes=int(os.environ.get("STAFF_IDLE_MINUTES", "15" if dengbao else "30")))
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
    CONFIG_NAME = "production"


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


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def load(name: str | None = None) -> Config:
    name = name or os.environ.get("CB_CONFIG", "production")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise RuntimeError(f"CB_CONFIG must be one of {sorted(CONFIGS)}, not {name!r}") from None
