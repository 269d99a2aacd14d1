"""Fixtures shared by the whole suite.

The real market data lives in ``../shared/data`` beside the repository (never copied in).
Where that folder is absent, tests that need it are skipped with the reason; under CI
(``CI=true``) it is always present, so its absence is a failure, not a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    override = os.environ.get("QA_SHARED_DATA")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return the folder of real market data, skipping (never under CI) when absent."""
    path = _shared_data_dir()
    if not (path / "daily_ohlcv.parquet").exists():
        message = f"real market data not found at {path} (set QA_SHARED_DATA to its folder)"
        if in_ci():
            pytest.fail(message + "; CI always has it", pytrace=False)
        pytest.skip(message)
    return path


# --- databases ------------------------------------------------------------------------------

DEFAULT_TEST_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The PostgreSQL server for tests (``QA_TEST_DATABASE_URL``); must be reachable in CI."""
    import sqlalchemy as sa

    url = os.environ.get("QA_TEST_DATABASE_URL", DEFAULT_TEST_PG_URL)
    engine = sa.create_engine(_psycopg(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001
        message = f"PostgreSQL not reachable at {sa.make_url(url)!r}: {type(exc).__name__}"
        if in_ci():
            pytest.fail(message + " (CI must run the database tests)", pytrace=False)
        pytest.skip(message)
    finally:
        engine.dispose()
    return url


def _psycopg(url: str) -> str:
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each backend: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'qa.db'}"
        return
    import uuid

    import sqlalchemy as sa

    admin = request.getfixturevalue("pg_admin_url")
    name = f"qa_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(_psycopg(admin), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(_psycopg(admin)).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@pytest.fixture
def store(database_url: str):
    """A migrated ``Store`` on each backend."""
    from quant_agent.storage.store import Store

    opened = Store.open(database_url)
    yield opened
    opened.close()
