"""The executor trading through QuestradeBroker against the local sandbox in partner mode,
for the reliability tests: arm the sandbox's faults, wait until the store has caught up
with the sandbox's orders, and check that no order reached Questrade twice.

Reuses the integration harness (``broker_harness``: the sandbox and the broker each on
their own loop thread, the notifications stream up) and the partner-mode config.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from quant_agent.engine import Engine, build_engine
from quant_agent.questrade.order_map import OrderMap
from quant_agent.questrade.sandbox_data import OPEN_STATES
from quant_agent.storage.store import Store
from tests.integration.questrade.broker_harness import BrokerHarness, broker_harness
from tests.integration.questrade.conftest import START, history
from tests.integration.questrade.test_partner_loop import CONFIG

TICKERS = tuple(history().tickers[:4])


@dataclass
class QuestradeDesk:
    h: BrokerHarness
    engine: Engine
    store: Store

    def api_orders(self) -> list[dict[str, object]]:
        """The orders placed through the API (not by hand), as Questrade lists them."""
        return [o for _, _, o in self.h.sandbox.desk.orders if o["source"] == "TradingAPI"]

    def caught_up(self) -> bool:
        """Deliver the notifications queued so far; True when every order we placed has the
        sandbox's filled quantity and open-or-closed state in the store."""
        self.h.broker.pump()
        order_map = OrderMap(self.store)
        for o in self.api_orders():
            row = order_map.by_order_id(int(o["id"]))  # type: ignore[call-overload]
            if o["state"] == "Replaced" or row is None:
                continue
            local = self.engine.orders.get_order(row.client_order_id)  # type: ignore[arg-type]
            if local is None or local.filled_quantity != o["filledQuantity"]:
                return False
            if local.is_open != (o["state"] in OPEN_STATES):
                return False
        return True

    def settle(self) -> None:
        self.h.pump_until(self.caught_up, timeout=30)

    def sent_once(self) -> None:
        """Every order chain at Questrade belongs to exactly one of our client ids: an order
        sent twice would be a chain no client id owns."""
        order_map = OrderMap(self.store)
        owners = {}
        for o in self.api_orders():
            row = order_map.by_chain_id(int(o["chainId"]))  # type: ignore[call-overload]
            assert row is not None, f"Questrade order {o['id']} belongs to no client id"
            owners.setdefault(row.client_order_id, set()).add(o["chainId"])
        assert all(len(chains) == 1 for chains in owners.values()), owners


@contextmanager
def questrade_desk(
    tmp_path: Path, store: Store, *, fresh_account: bool = True
) -> Iterator[QuestradeDesk]:
    with broker_harness(tmp_path, store, fresh_account=fresh_account, sim_sleep=True) as h:
        engine = build_engine(CONFIG, store, history(), START, clock=h.clock, venue=h.broker)
        yield QuestradeDesk(h, engine, store)


def arm_sandbox_fault(desk: QuestradeDesk, rng: random.Random) -> str:
    """Arm one of the sandbox's faults for the next step; return what it was."""
    sandbox = desk.h.sandbox
    faults = sandbox.faults
    kind = rng.choice(("lost reply", "5xx", "429", "error 200", "rejected", "duplicates",
                       "duplicate executions", "early fills", "none"))  # fmt: skip
    sandbox.limits.account_per_second = 30
    if kind == "lost reply":
        faults.lost_order_replies = 1
    elif kind == "5xx":
        faults.server_errors = rng.randint(1, 6)
        faults.server_error_status = rng.choice((500, 502, 503))
    elif kind == "429":
        sandbox.limits.account_per_second = rng.randint(1, 3)
    elif kind == "error 200":
        faults.order_error_200 = 1
    elif kind == "rejected":
        sandbox.desk.reject_next = 1
    elif kind == "duplicates":
        faults.duplicate_notifications = rng.randint(1, 5)
    elif kind == "duplicate executions":
        faults.duplicate_executions = not faults.duplicate_executions
    elif kind == "early fills":
        faults.fills_before_acks = not faults.fills_before_acks
    return kind


def disarm(desk: QuestradeDesk) -> None:
    sandbox = desk.h.sandbox
    f = sandbox.faults
    f.lost_order_replies = f.server_errors = f.order_error_200 = f.duplicate_notifications = 0
    f.duplicate_executions = f.fills_before_acks = False
    sandbox.desk.reject_next = 0
    sandbox.limits.account_per_second = 30
