"""What the ``quant-agent questrade`` commands do: login, check, quotes, sandbox.

Each function takes the ``questrade:`` config section, a clock and an ``out`` callable for
lines of text, so ``cli.py`` only parses options and prints. Tokens are never printed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pydantic import SecretStr

from quant_agent.config import QuestradeConfig
from quant_agent.core.clock import Clock
from quant_agent.core.market import Quote
from quant_agent.questrade.auth import TokenStore, authenticator_from_config, store_initial_token
from quant_agent.questrade.broker import PERSONAL_KEY_MESSAGE
from quant_agent.questrade.errors import QuestradeError, QuestradeScopeError
from quant_agent.questrade.rest import QuestradeRest
from quant_agent.questrade.stream import QuoteStream

Out = Callable[[str], None]


@dataclass
class CheckReport:
    """What ``questrade check`` found."""

    accounts: list[str] = field(default_factory=list)
    realtime: bool | None = None
    delay_minutes: int = 0
    can_place_orders: bool = False
    orders_note: str = ""


async def login(
    config: QuestradeConfig, token: SecretStr, clock: Clock, out: Out, *, verify: bool = True
) -> None:
    """Store the trader's first refresh token; with ``verify`` redeem it once (the store
    then holds its successor) and report the API server it gave."""
    store = TokenStore(config.token_path)
    store_initial_token(store, token, now=clock.now())
    out(f"refresh token stored in {config.token_path}")
    if verify:
        auth = authenticator_from_config(config, clock, environ={})
        try:
            session = await auth.session()
        finally:
            await auth.aclose()
        out(f"token accepted by {config.login_url}; API server {session.api_server}")


async def check(
    config: QuestradeConfig, clock: Clock, out: Out, probe: str = "AAPL"
) -> CheckReport:
    """Show the accounts, whether quotes are real-time or delayed and whether orders can be
    placed (with a partner key: an order *impact* call, which places nothing)."""
    report = CheckReport()
    auth = authenticator_from_config(config, clock)
    rest = QuestradeRest(auth, clock=clock, timeout=config.request_timeout_s)
    try:
        accounts = await rest.accounts()
        for a in accounts.accounts:
            report.accounts.append(a.number)
            out(f"account {a.number}: {a.type} {a.status}" + (" (primary)" if a.is_primary else ""))
        symbol = (await rest.resolve([probe]))[probe]
        (quote,) = await rest.quotes([symbol.symbol_id])
        report.delay_minutes = quote.delay
        report.realtime = quote.delay == 0
        out("market data: real-time" if report.realtime else
            f"market data: DELAYED by {quote.delay} min (quotes refused unless "
            "questrade.allow_delayed_quotes: true)")  # fmt: skip
        report.can_place_orders, report.orders_note = await _orders_allowed(
            config, rest, accounts.accounts[0].number if accounts.accounts else "", symbol.symbol_id
        )
        verdict = "can be placed" if report.can_place_orders else "CANNOT be placed"
        out(f"orders: {verdict} — {report.orders_note}")
    finally:
        await rest.aclose()
        await auth.aclose()
    return report


async def _orders_allowed(
    config: QuestradeConfig, rest: QuestradeRest, account: str, symbol_id: int
) -> tuple[bool, str]:
    if config.order_entry != "partner":
        return False, PERSONAL_KEY_MESSAGE
    body = {"accountNumber": account, "symbolId": symbol_id, "quantity": 1,
            "orderType": "Market", "timeInForce": "Day", "action": "Buy",
            "primaryRoute": "AUTO", "secondaryRoute": "AUTO"}  # fmt: skip
    try:
        await rest.order_impact(account, body)
    except QuestradeScopeError:
        return False, "Questrade refused an order dry run (403/1016): this is not a partner key"
    except QuestradeError as exc:
        return False, f"the order dry run failed: {exc}"
    return True, "partner key (an order dry run was accepted)"


def format_quote(q: Quote) -> str:
    return (f"{q.ticker:<8} bid {q.bid} x {q.bid_size}  ask {q.ask} x {q.ask_size}  "
            f"last {q.last}")  # fmt: skip


async def quotes(
    config: QuestradeConfig, tickers: Iterable[str], clock: Clock, out: Out, *,
    stream: bool = False, count: int = 10, give_up_after: float | None = None,
) -> int:  # fmt: skip
    """Print snapshot quotes, or streamed quotes until ``count`` arrived (reconnecting
    through drops on the way). Return how many were printed."""
    names = [t.strip().upper() for t in tickers]
    auth = authenticator_from_config(config, clock)
    rest = QuestradeRest(auth, clock=clock, timeout=config.request_timeout_s)
    printed = 0
    try:
        if not stream:
            symbols = await rest.resolve(names)
            for record in await rest.quotes([symbols[n].symbol_id for n in names]):
                out(f"{record.symbol:<8} bid {record.bid_price} x {record.bid_size}  ask "
                    f"{record.ask_price} x {record.ask_size}  last {record.last_trade_price}"
                    + (f"  (delayed {record.delay} min)" if record.delay else ""))  # fmt: skip
                printed += 1
            return printed
        done = asyncio.Event()

        def on_quote(q: Quote) -> None:
            nonlocal printed
            if printed < count:
                out(format_quote(q))
                printed += 1
            if printed >= count:
                done.set()

        feed = QuoteStream(rest, auth, clock=clock, on_quote=on_quote,
                           allow_delayed=config.allow_delayed_quotes)  # fmt: skip
        await feed.subscribe(names)
        try:
            async with asyncio.timeout(give_up_after):
                await done.wait()
        finally:
            out(f"{printed} quotes, {feed.stats.connects} connection(s)")
            await feed.stop()
        return printed
    finally:
        await rest.aclose()
        await auth.aclose()


async def serve_sandbox(
    out: Out, clock: Clock, *, port: int = 0, partner: bool = False, push_every: float = 1.0,
    ready: Callable[[object], None] | None = None,
) -> None:  # fmt: skip
    """Run the local Questrade until cancelled, pushing replayed quotes every ``push_every``."""
    from quant_agent.questrade.sandbox import QuestradeSandbox

    async with QuestradeSandbox(clock=clock, partner=partner, login_port=port) as sandbox:
        out(f"login URL:     {sandbox.login_url}   (QA_QUESTRADE__LOGIN_URL)")
        out(f"API server:    {sandbox.api_server}")
        mode = "partner (order calls work)" if partner else "retail (order calls refused)"
        out(f"mode:          {mode}")
        out(f"refresh token: {sandbox.issue_refresh_token()}   (a sandbox token, not a secret)")
        if ready is not None:
            ready(sandbox)
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(push_every)
                await sandbox.push_quotes()
                if partner:
                    await sandbox.desk.match()
