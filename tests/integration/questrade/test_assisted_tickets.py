"""Assisted mode, the trader's side: every ticket reaches the alert channels (real local SMTP
and webhook servers, through the runner's own alert wiring) with its exact terms, bracket
legs and client order id; ``quant-agent questrade tickets`` and the dashboard's Tickets page
list the open ones, and a ticket leaves the list once the trader's order is matched."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from quant_agent.cli import app
from quant_agent.config import LiveTradingConfig
from quant_agent.core.enums import ExitReason
from quant_agent.core.ids import ClientOrderId
from quant_agent.dashboard import APP_PATH
from quant_agent.engine import attach_assisted, build_engine
from quant_agent.live_runner import LiveRunner
from quant_agent.questrade.assisted import AssistedBroker
from quant_agent.storage.store import Store
from quant_agent.testkit.executor import planned_signal
from quant_agent.testkit.notify_servers import Request, SmtpServer, WebhookServer

from .broker_harness import broker_harness
from .conftest import START, history
from .test_assisted_loop import TICKER, trader_does


def config_for(smtp: SmtpServer, hook: WebhookServer, url: str) -> LiveTradingConfig:
    return LiveTradingConfig.model_validate({
        "broker": {"kind": "questrade-assisted"}, "data": {"source": "questrade"},
        "database": {"url": url},
        "alerts": {"urls": f"{smtp.url()} json://127.0.0.1:{hook.port}/tickets",
                   "rate_limit_count": 1},  # tickets are never held back by the limit
    })  # fmt: skip


def ticket_alerts(smtp: SmtpServer, hook: WebhookServer, count: int) -> list[tuple[str, str]]:
    """The next ``count`` ticket alerts on each channel, as (title, body), email first."""
    mails: list[EmailMessage] = []
    posts: list[Request] = []
    while len(mails) < count:
        mail = smtp.messages.get(timeout=10)
        if "Order ticket" in str(mail["Subject"]):
            mails.append(mail)
    while len(posts) < count:
        post = hook.requests.get(timeout=10)
        if "Order ticket" in str(post.body.get("title")):
            posts.append(post)
    found = [(str(m["Subject"]), _plain(m)) for m in mails]
    return found + [(str(p.body["title"]), str(p.body["message"])) for p in posts]


def _plain(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def listed(url: str) -> list[dict[str, Any]]:
    """``quant-agent questrade tickets --json``."""
    result = CliRunner().invoke(app, ["questrade", "tickets", "--json"],
                                env={"QA_DATABASE_URL": url})  # fmt: skip
    assert result.exit_code == 0, result.output
    tickets: list[dict[str, Any]] = json.loads(result.stdout)
    return tickets


def tickets_page(url: str, monkeypatch: Any, tmp_path: Path) -> AppTest:
    monkeypatch.chdir(tmp_path)
    for name, value in {"QA_DATABASE_URL": url, "QA_DASHBOARD_REFRESH_SECONDS": "0",
                        "QA_BROKER__KIND": "questrade-assisted"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("QA_DASHBOARD_PASSWORD", raising=False)
    at = AppTest.from_file(str(APP_PATH), default_timeout=60)
    at.run()
    at.sidebar.radio(key="page").set_value("Tickets").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_tickets_are_alerted_listed_and_shown_until_the_trader_places_them(
    tmp_path: Path, store: Store, database_url: str, monkeypatch: Any
) -> None:
    with SmtpServer() as smtp, WebhookServer() as hook, broker_harness(
        tmp_path, store, partner=False, fresh_account=True, broker_cls=AssistedBroker
    ) as h:  # fmt: skip
        config = config_for(smtp, hook, database_url)
        broker = h.broker
        engine = build_engine(config, store, history(), START, clock=h.clock, venue=broker)
        attach_assisted(engine, broker)
        runner = LiveRunner(config, store, history(), engine, live_clock=h.clock, venue=broker)
        step: Callable[[], None] = lambda: asyncio.run(runner.step())  # noqa: E731
        step()
        record = h.sandbox.market.quote(h.sandbox.market.by_name[TICKER], h.clock.now())
        ask, bid = float(record["askPrice"]), float(record["bidPrice"])
        entry, stop, target = (Decimal(f"{p:.2f}") for p in (ask * 1.01, bid * 0.9, ask * 1.2))
        signal = planned_signal(TICKER, date(2026, 3, 2), str(entry), str(stop), str(target),
                                10, entry_type="limit")  # fmt: skip
        assert engine.executor.process_signal(signal).action == "entered"

        # 1. The entry ticket: alerted on both channels, listed, shown.
        (ticket,) = listed(database_url)
        coid = ticket["client_order_id"]
        assert (ticket["kind"], ticket["side"], ticket["quantity"], ticket["order_type"]) == (
            "place", "Buy", 10, "Limit")  # fmt: skip
        assert Decimal(ticket["limit_price"]) == entry and ticket["stop_price"] is None
        assert sorted((g["order_type"], Decimal(g["stop_price"] or g["limit_price"]))
                      for g in ticket["legs"]) == [("Limit", target), ("Stop", stop)]  # fmt: skip
        prices = [g["stop_price"] or g["limit_price"] for g in ticket["legs"]]
        assert prices == [format(Decimal(p).normalize(), "f") for p in prices]  # not 99.760000
        for title, body in ticket_alerts(smtp, hook, 1):
            assert f"Order ticket (place): {TICKER}" in title
            assert f"BUY 10 {TICKER} Limit limit {entry}" in body, body
            assert f"stop {stop}" in body and f"limit {target}" in body  # the bracket legs
            assert f"client order id: {coid}" in body and "Place this order" in body
        page = tickets_page(database_url, monkeypatch, tmp_path)
        assert [m.value for m in page.metric if m.label == "Open tickets"] == ["1"]
        assert [c.value for c in page.code] == [ticket["text"]]
        (shown,) = page.dataframe
        assert list(shown.value["client_order_id"]) == [coid]

        # 2. The trader places it: matched, so it leaves the list; the legs are ticketed.
        trader_does(h, ticket)

        def legs_ticketed() -> bool:
            step()
            return len(broker.tickets.list()) == 3

        h.pump_until(legs_ticketed)
        legs = listed(database_url)
        assert sorted(t["order_type"] for t in legs) == ["Limit", "Stop"]
        assert coid not in {t["client_order_id"] for t in legs}
        bodies = [body for _, body in ticket_alerts(smtp, hook, 2)]
        assert all(f"client order id: {t['client_order_id']}" in "".join(bodies) for t in legs)
        for leg in legs:
            trader_does(h, leg)

        def all_placed() -> bool:
            step()
            return listed(database_url) == []

        h.pump_until(all_placed)
        page = tickets_page(database_url, monkeypatch, tmp_path)
        assert [m.value for m in page.metric if m.label == "Open tickets"] == ["0"]

        # 3. An exit: a cancel ticket per protective order and the sell. Cancels close when
        # the orders are canceled; the sell, withdrawn before it was placed, closes too.
        engine.executor.execute_exit(TICKER, ExitReason.MANUAL)
        exits = listed(database_url)
        assert sorted(t["kind"] for t in exits) == ["cancel", "cancel", "place"]
        for ticket in exits:
            if ticket["kind"] == "cancel":
                trader_does(h, ticket)
        (sell,) = [t for t in exits if t["kind"] == "place"]

        def cancels_seen() -> bool:
            step()
            return [t["kind"] for t in listed(database_url)] == ["place"]

        h.pump_until(cancels_seen)
        engine.orders.cancel_order(ClientOrderId(sell["client_order_id"]))
        assert listed(database_url) == []
        assert [t["kind"] for t in broker.tickets.list()][-1] == "withdrawn"
        runner.observers.stopped("test done")
