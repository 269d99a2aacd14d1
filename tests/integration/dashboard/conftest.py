"""Dashboard fixtures: databases seeded by a replayed paper session, and AppTest pages."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from quant_agent.config import LiveTradingConfig
from quant_agent.dashboard import APP_PATH
from quant_agent.market.history import HistoryStore
from quant_agent.market.source import load_history
from quant_agent.runner import run_replay
from quant_agent.storage.store import Store

FULL_WINDOW = (date(2024, 2, 8), date(2024, 3, 8))  # 7 closed trades, 3 open positions
SHORT_WINDOW = (date(2024, 2, 8), date(2024, 2, 14))  # 3 open positions, no trade yet


@dataclass(frozen=True, slots=True)
class Seeded:
    url: str
    store: Store
    config: LiveTradingConfig
    history: HistoryStore

    def replay(self, day: date) -> None:
        """Let the runner trade one more session (it applies pending commands first)."""
        run_replay(self.config, self.store, self.history, (day, day))


def _pg_url(admin: str) -> tuple[str, str]:
    url = sa.make_url(admin)
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    name = f"qa_dash_{uuid.uuid4().hex[:12]}"
    return url.render_as_string(hide_password=False), name


@pytest.fixture(scope="session")
def demo_history() -> HistoryStore:
    return load_history(LiveTradingConfig().data)


@pytest.fixture(scope="session")
def make_seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
    demo_history: HistoryStore,
) -> Iterator[Callable[[str, tuple[date, date]], Seeded]]:  # fmt: skip
    """Build a database of ``backend`` seeded by a replay of ``window``; all dropped at the end."""
    made: list[tuple[Store, str | None, str | None]] = []

    def make(backend: str, window: tuple[date, date]) -> Seeded:
        admin = name = None
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'qa.db'}"
        else:
            admin, name = _pg_url(request.getfixturevalue("pg_admin_url"))
            engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            engine.dispose()
            url = sa.make_url(admin).set(database=name).render_as_string(hide_password=False)
        config = LiveTradingConfig(database={"url": url})
        store = Store.open(url)
        made.append((store, admin, name))
        run_replay(config, store, demo_history, window)
        return Seeded(url=url, store=store, config=config, history=demo_history)

    yield make
    for store, admin, name in made:
        store.close()
        if admin and name:
            engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[Seeded, str], AppTest]:
    """Run the dashboard against ``seeded`` with AppTest and show ``page``."""
    monkeypatch.chdir(tmp_path)  # embedded defaults, no config file
    monkeypatch.setenv("QA_DASHBOARD_REFRESH_SECONDS", "0")
    monkeypatch.delenv("QA_DASHBOARD_PASSWORD", raising=False)
    monkeypatch.delenv("QA_DASHBOARD_HOST", raising=False)

    def show(seeded: Seeded, page: str) -> AppTest:
        monkeypatch.setenv("QA_DATABASE_URL", seeded.url)
        at = AppTest.from_file(str(APP_PATH), default_timeout=60)
        at.run()
        if page != "Overview":
            at.sidebar.radio(key="page").set_value(page).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return show


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r} in {[m.label for m in at.metric]}"
    return str(found[0])
