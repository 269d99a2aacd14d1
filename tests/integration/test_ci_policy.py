"""Under CI the database tests must fail, not skip, when PostgreSQL cannot be reached."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGET = "tests/integration/storage/test_store.py::test_json_columns_are_jsonb_on_postgresql_and_json_on_sqlite"  # noqa: E501


def run_pytest(ci: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CI": ci,
        # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
        "QA_TEST_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none",
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         f"{TARGET}[postgresql]"],
        cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_unreachable_postgres_fails_under_ci() -> None:
    result = run_pytest("true")
    assert result.returncode == 1, result.stdout
    assert "1 error" in result.stdout and "CI must run the database tests" in result.stdout


def test_unreachable_postgres_skips_outside_ci() -> None:
    result = run_pytest("")
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
