"""The store: one entry point to the database, and units of work over it.

``with store.unit_of_work() as uow:`` opens one transaction; everything written through
``uow``'s repositories commits together when the block ends, or not at all when it raises
(a crash in the middle leaves nothing half-written).

``on_commit`` registers a callback run after every unit of work that wrote something has
committed: the ``commit`` crash point (``quant_agent/crashpoints.py``) of the restart
tests. Without one, a unit of work pays a single attribute check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import URL

from quant_agent.config import mask_url
from quant_agent.storage import migrate
from quant_agent.storage.engine import make_engine
from quant_agent.storage.repositories import (
    CommandRepository,
    EquityRepository,
    FillRepository,
    OrderEventRepository,
    OrderRepository,
    PositionRepository,
    RiskEventRepository,
    ScanRunRepository,
    SignalRepository,
    SystemStateRepository,
    TradeRepository,
)

_WROTE = "quant_agent.wrote"  # set on a connection's info by a statement that writes
_READS = ("SELECT", "PRAGMA", "SHOW", "SAVEPOINT", "RELEASE", "ROLLBACK")


class UnitOfWork:
    """The repositories of one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.connection = conn
        self.orders = OrderRepository(conn)
        self.order_events = OrderEventRepository(conn)
        self.fills = FillRepository(conn)
        self.positions = PositionRepository(conn)
        self.scan_runs = ScanRunRepository(conn)
        self.signals = SignalRepository(conn)
        self.trades = TradeRepository(conn)
        self.risk_events = RiskEventRepository(conn)
        self.equity = EquityRepository(conn)
        self.commands = CommandRepository(conn)
        self.system_state = SystemStateRepository(conn)


class Store:
    """The database behind quant-agent (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._after_commit: Callable[[], None] | None = None

    @classmethod
    def open(cls, url: str | URL, *, upgrade: bool = True) -> Store:
        """Connect to ``url`` and, unless told not to, bring the schema up to date."""
        store = cls(make_engine(url))
        if upgrade:
            store.upgrade()
        return store

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self) -> None:
        migrate.upgrade(self.engine)

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """Run the block in one transaction: commit on success, roll back on any error."""
        with self.engine.begin() as conn:
            hooked = self._after_commit is not None
            if hooked:
                conn.info.pop(_WROTE, None)  # left over by a block that raised
            yield UnitOfWork(conn)
            wrote = hooked and conn.info.pop(_WROTE, False)
        if wrote and self._after_commit is not None:
            self._after_commit()

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after each unit of work that wrote something has committed."""
        if self._after_commit is None:
            event.listen(self.engine, "before_cursor_execute", _note_write)
        self._after_commit = callback

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({mask_url(str(self.engine.url))})"


def _note_write(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    if not statement.lstrip().upper().startswith(_READS):
        conn.info[_WROTE] = True
