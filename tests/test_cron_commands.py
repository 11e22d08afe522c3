"""The cron jobs in README run as written: `flask cases escalate` and `flask deliberation close-due`
from the repository root, with the venv's flask and no FLASK_APP in the environment (.flaskenv
names the app), against a database of their own."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).parent / "flask"


@pytest.fixture
def job_environment(tmp_path):
    """The environment cron gives the jobs: the app's settings, nothing that names the app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "CB_", "TEST_DATABASE"))}
    env.update(CB_CONFIG="development", CB_INSTANCE_PATH=str(tmp_path))
    test_url = os.environ.get("TEST_DATABASE_URL")
    if not test_url:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cron.db'}"
        yield env
        return
    schema = f"cb_cron_{secrets.token_hex(4)}"
    engine = sa.create_engine(test_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    env["DATABASE_URL"] = f"{test_url}?options=-csearch_path%3D{schema}"
    try:
        yield env
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def run_flask(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(FLASK), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_readme_cron_commands_run_from_the_repository_root(job_environment):
    migrated = run_flask(job_environment, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stderr

    escalate = run_flask(job_environment, "cases", "escalate")
    assert escalate.returncode == 0, escalate.stderr
    assert "Escalated 0 overdue case(s); closed 0 unrated case(s)." in escalate.stdout

    close_due = run_flask(job_environment, "deliberation", "close-due")
    assert close_due.returncode == 0, close_due.stderr
    assert "Closed 0 proposal(s)." in close_due.stdout
