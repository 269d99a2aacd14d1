"""``db backup`` then ``db restore`` gives an identical database (every table's rows and the
Alembic revision), into a fresh database and over a changed one; on SQLite and PostgreSQL.
Also the backup files' names, the CLI, and the refusals that name the fix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from quant_agent.cli import app
from quant_agent.config import DatabaseConfig, DataConfig, LiveTradingConfig
from quant_agent.core.enums import CommandKind
from quant_agent.core.records import CommandRecord
from quant_agent.market.history import HistoryStore
from quant_agent.market.source import load_history
from quant_agent.runner import run_replay
from quant_agent.storage import backup as bk
from quant_agent.storage import migrate
from quant_agent.storage.engine import make_engine
from quant_agent.storage.store import Store

T0 = datetime(2024, 2, 14, 1, 0, tzinfo=UTC)
WINDOW = (date(2024, 2, 8), date(2024, 2, 13))
DATA = DataConfig()  # the demo market: trades in this window


def table_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in primary-key order, plus the Alembic revision."""
    engine = make_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        out: dict[str, list[tuple[Any, ...]]] = {}
        with engine.connect() as conn:
            for name, table in sorted(meta.tables.items()):
                order = list(table.primary_key.columns) or list(table.columns)
                out[name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
        out["__revision__"] = [(migrate.current_revision(engine),)]
    finally:
        engine.dispose()
    return out


@pytest.fixture
def other_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    name = f"qa_restore_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(make_engine(admin).url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@pytest.fixture(scope="module")
def history() -> HistoryStore:
    return load_history(DATA)


@pytest.fixture
def traded(database_url: str, history: HistoryStore) -> str:
    """A database holding a few replayed paper sessions (orders, fills, positions, ...)."""
    config = LiveTradingConfig(data=DATA, database=DatabaseConfig(url=database_url))
    store = Store.open(database_url)
    try:
        summary = run_replay(config, store, history, WINDOW)
    finally:
        store.close()
    assert summary.steps > 0
    return database_url


def test_backup_then_restore_gives_an_identical_database(
    traded: str, other_url: str, tmp_path: Path
) -> None:
    before = table_rows(traded)
    assert before["orders"] and before["fills"] and before["equity_snapshots"]
    path = bk.backup(traded, bk.default_backup_path(traded, tmp_path / "backups", T0))

    bk.restore(other_url, path)
    assert table_rows(other_url) == before

    store = Store.open(traded)  # change the original, then restore over it
    with store.unit_of_work() as uow:
        uow.commands.add(CommandRecord(kind=CommandKind.HALT, created_at=T0))
        uow.system_state.set("trading_state", {"state": "HALTED"}, T0)
    store.close()
    assert table_rows(traded) != before
    bk.restore(traded, path)
    assert table_rows(traded) == before


def test_backup_names_carry_the_time_and_the_newest_is_found(tmp_path: Path) -> None:
    url = "sqlite:///var/quant_agent.db"
    older = bk.default_backup_path(url, tmp_path, T0)
    newer = bk.default_backup_path(url, tmp_path, T0.replace(hour=5))
    for path in (newer, older, tmp_path / "notes.txt"):
        path.write_bytes(b"x")
    assert older.name == "quant_agent-20240214T010000Z.sqlite"
    found = bk.latest_backup(tmp_path, "sqlite")
    assert found is not None and found.path == newer and found.taken_at == T0.replace(hour=5)
    assert bk.latest_backup(tmp_path, "postgresql") is None


def test_restore_refuses_a_missing_or_mismatched_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    with pytest.raises(bk.BackupError, match="does not exist"):
        bk.restore(url, tmp_path / "nope.sqlite")
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"PGDMP not sqlite")
    with pytest.raises(bk.BackupError, match="not a SQLite backup"):
        bk.restore(url, dump)


@pytest.mark.postgres
def test_old_pg_dump_is_refused_with_the_package_to_install(
    pg_admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    for tool in ("pg_dump", "pg_restore"):
        script = fake / tool
        script.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
        script.chmod(0o755)
    url = make_engine(pg_admin_url).url
    found = bk.pg_tools(url)  # the Debian folder of the server's major version wins
    assert found.client_major == found.server_major
    monkeypatch.setenv("PATH", str(fake))  # only a too-old client on PATH
    with pytest.raises(bk.BackupError, match=r"install postgresql-client-\d+"):
        bk.pg_tools(url, search=())


def test_cli_backup_and_restore_round_trip(traded: str, other_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "cli-backups"
    folder.mkdir()
    runner = CliRunner()
    made = runner.invoke(app, ["db", "backup", "--out", str(folder)],
                         env={"QA_DATABASE_URL": traded})  # fmt: skip
    assert made.exit_code == 0, made.output
    (path,) = list(folder.iterdir())
    assert bk.parse_backup_name(path) is not None
    restored = runner.invoke(app, ["db", "restore", str(path)], env={"QA_DATABASE_URL": other_url})
    assert restored.exit_code == 0, restored.output
    assert table_rows(other_url) == table_rows(traded)
    refused = runner.invoke(app, ["db", "restore", str(path)], input="n\n",
                            env={"QA_DATABASE_URL": traded})  # fmt: skip
    assert refused.exit_code != 0 and "replace every table" in refused.output
