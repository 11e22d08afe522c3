"""Production refuses to start on unsafe settings, one line each, from create_app, `flask` and gunicorn."""

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import config as config_module
from community_board import ROOT, create_app

VENV_BIN = Path(sys.executable).parent
SETTINGS = (
    "SECRET_KEY",
    "ID_HASH_KEY",
    "COOKIE_SECURE",
    "REDIS_URL",
    "TRUSTED_HOSTS",
    "WEB_CONCURRENCY",
    "FLASK_DEBUG",
    "DATABASE_URL",
    "CB_CONFIG",
)


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    """A safe production environment (the secret key generated into instance/), to spoil one by one."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("TRUSTED_HOSTS", "localhost,ling.example.cn")
    return monkeypatch


def test_a_safe_production_app_starts_with_host_only_secure_cookies(production_env):
    app = create_app("production")
    client = app.test_client()

    response = client.get("/login")  # the CSRF token starts a session

    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    assert app.config["REMEMBER_COOKIE_NAME"].startswith("__Host-")


def test_production_answers_only_its_trusted_hosts(production_env):
    client = create_app("production").test_client()
    assert client.get("/login", headers={"Host": "ling.example.cn"}).status_code == 200
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400


def test_redis_limits_allow_several_workers(production_env):
    production_env.setenv("WEB_CONCURRENCY", "4")
    production_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert create_app("production").config["RATELIMIT_STORAGE_URI"].startswith("redis://")


@pytest.mark.parametrize(
    "name, value, line",
    [
        ("SECRET_KEY", "secret", "SECRET_KEY has 6 bytes, needs 32"),
        ("SECRET_KEY", "please-change-me-to-a-long-random-value", "SECRET_KEY is a published or placeholder value"),
        (
            "SECRET_KEY",
            "192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf",
            "SECRET_KEY is a published or placeholder value",
        ),
        ("SECRET_KEY", "a" * 32, "SECRET_KEY is too regular to be random"),
        ("SECRET_KEY", "abcdefghij" * 4, "SECRET_KEY is too regular to be random"),
        ("ID_HASH_KEY", "1", "ID_HASH_KEY has 1 bytes, needs 32"),
        ("ID_HASH_KEY", "7" * 40, "ID_HASH_KEY is too regular to be random"),
        ("ID_HASH_KEY", "change-me-to-something-long-and-random", "ID_HASH_KEY is a published or placeholder value"),
        ("COOKIE_SECURE", "0", "COOKIE_SECURE=0"),
        ("WEB_CONCURRENCY", "4", "rate limits kept in memory by each of 4 workers"),
        ("TRUSTED_HOSTS", "", "TRUSTED_HOSTS is not set"),
        ("FLASK_DEBUG", "1", "debug mode is on"),
    ],
)
def test_production_refuses_to_start(production_env, name, value, line):
    production_env.setenv(name, value)

    with pytest.raises(config_module.UnsafeConfiguration) as refused:
        create_app("production")

    assert refused.value.message.splitlines() == [refused.value.message]  # one line, this one
    assert line in refused.value.message


def test_debug_set_in_code_is_refused_too(production_env):
    with pytest.raises(config_module.UnsafeConfiguration, match="debug mode is on"):
        create_app("production", DEBUG=True)


@pytest.mark.parametrize("key", [secrets.token_urlsafe(32), secrets.token_hex(32)])
@pytest.mark.parametrize("name", ["SECRET_KEY", "ID_HASH_KEY"])
def test_random_keys_are_accepted(production_env, name, key):
    production_env.setenv(name, key)
    assert create_app("production").config["CONFIG_NAME"] == "production"


def test_random_hex_keys_always_pass_the_regularity_check():
    assert all(config_module._key_problem("SECRET_KEY", secrets.token_hex(32)) is None for _ in range(2000))


def test_other_configs_are_not_checked(production_env):
    production_env.setenv("SECRET_KEY", "secret")
    production_env.delenv("TRUSTED_HOSTS")
    assert create_app("bench").config["SESSION_COOKIE_SECURE"] is False


# What an operator sees ---------------------------------------------------------------------


def unsafe_environment(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    return {
        **env,
        "CB_CONFIG": "production",
        "SECRET_KEY": "secret",
        "CB_INSTANCE_PATH": str(tmp_path),
        "FLASK_APP": "community_board:create_app",
    }


def refusal_lines(result) -> list[str]:
    """The lines the process printed besides gunicorn's own "[INFO] Starting" ones, asserting it
    exited with an error and no traceback."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    return [
        line.removeprefix("Error: ") for line in result.stderr.splitlines() if line.strip() and not line.startswith("[")
    ]


def test_flask_commands_print_the_refusal_without_a_traceback(tmp_path):
    result = subprocess.run(
        [VENV_BIN / "flask", "routes"],
        env=unsafe_environment(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [line.split(":")[0] for line in refusal_lines(result)] == [
        "SECRET_KEY has 6 bytes, needs 32",
        "TRUSTED_HOSTS is not set",
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorn_prints_the_refusal_once_and_exits(tmp_path):
    """Its worker count (-w 2) reaches the check too."""
    result = subprocess.run(
        [
            VENV_BIN / "gunicorn",
            "-c",
            ROOT / "gunicorn.conf.py",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{free_port()}",
            "community_board:create_app()",
        ],
        env=unsafe_environment(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [line.split(":")[0] for line in refusal_lines(result)] == [
        "SECRET_KEY has 6 bytes, needs 32",
        "rate limits kept in memory by each of 2 workers (WEB_CONCURRENCY)",
        "TRUSTED_HOSTS is not set",
    ]


def test_flask_run_with_flask_debug_is_refused_before_the_debugger_starts(tmp_path):
    env = {
        **unsafe_environment(tmp_path),
        "SECRET_KEY": secrets.token_hex(32),
        "TRUSTED_HOSTS": "localhost",
        "FLASK_DEBUG": "1",
    }
    result = subprocess.run(
        [VENV_BIN / "flask", "run", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [line.split(":")[0] for line in refusal_lines(result)] == ["debug mode is on (FLASK_DEBUG=1 or --debug)"]
