"""The rotating refresh token against the sandbox's login server."""

from __future__ import annotations

import asyncio
import logging
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from quant_agent.config import QuestradeConfig
from quant_agent.questrade.auth import (
    Authenticator,
    TokenStore,
    authenticator_from_config,
    store_initial_token,
)
from quant_agent.questrade.errors import QuestradeLoginError, QuestradeServerError

from .conftest import START, Harness, harness


def run(tmp_path: Path, body: Any, **kwargs: Any) -> None:
    async def main() -> None:
        async with harness(tmp_path, **kwargs) as h:
            await body(h)

    asyncio.run(main())


def stored(h: Harness) -> str:
    token = h.store.load()
    assert token is not None
    return token.get_secret_value()


def test_new_refresh_token_is_stored_0600_and_the_old_one_is_spent(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        seed = h.auth._seed.get_secret_value()  # type: ignore[union-attr]
        session = await h.auth.session()
        assert session.api_server == h.sandbox.api_server + "v1/"  # escaped slashes undone
        assert session.expires_at == START + timedelta(seconds=1800)
        assert h.sandbox.refresh_token_valid(stored(h))
        assert not h.sandbox.refresh_token_valid(seed)
        assert stat.S_IMODE(h.store.path.stat().st_mode) == 0o600
        assert list(h.store.path.parent.glob("*.tmp")) == []

    run(tmp_path, body)


def test_seed_token_is_used_only_while_the_store_is_empty(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        await h.auth.session()
        spent_seed = h.auth._seed
        other = h.authenticator(seed_token=spent_seed)
        await other.refresh()  # reads the store, not the spent seed
        assert h.sandbox.redemptions == 2
        await other.aclose()

    run(tmp_path, body)


def test_a_spent_token_is_a_login_error_that_never_shows_the_token(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        await h.auth.session()
        spent = h.auth._seed
        assert spent is not None
        fresh_store = TokenStore(tmp_path / "other.json")
        again = Authenticator(
            login_url=h.sandbox.login_url, store=fresh_store, clock=h.clock, seed_token=spent
        )
        with pytest.raises(QuestradeLoginError, match="refused the refresh token") as err:
            await again.session()
        assert spent.get_secret_value() not in str(err.value) + repr(err.value)
        await again.aclose()

    run(tmp_path, body)


def test_refresh_token_unused_for_more_than_7_days_is_refused(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        h.clock.advance(timedelta(days=7, seconds=1))
        with pytest.raises(QuestradeLoginError):
            await h.auth.session()

    run(tmp_path, body)


def test_login_server_500_is_transient_and_keeps_the_stored_token(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        await h.auth.session()
        before = stored(h)
        h.sandbox.faults.login_errors = 1
        with pytest.raises(QuestradeServerError):
            await h.auth.refresh()
        assert stored(h) == before and h.sandbox.refresh_token_valid(before)
        await h.auth.refresh()
        assert h.sandbox.refresh_token_valid(stored(h))

    run(tmp_path, body)


def test_concurrent_refreshers_sharing_the_store_never_lock_out(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        await h.auth.session()
        others = [h.authenticator() for _ in range(3)]

        async def hammer(auth: Authenticator) -> None:
            for _ in range(10):
                await auth.refresh()

        await asyncio.gather(*(hammer(a) for a in others))
        assert h.sandbox.redemptions == 31
        assert h.sandbox.refresh_token_valid(stored(h))
        for a in others:
            await a.aclose()

    run(tmp_path, body)


def test_concurrent_401s_in_one_process_cause_one_refresh(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        stale = await h.auth.session()
        await asyncio.gather(*(h.auth.renew(stale) for _ in range(5)))
        assert h.sandbox.redemptions == 2

    run(tmp_path, body)


def test_tokens_never_appear_in_reprs_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def body(h: Harness) -> None:
        seed = h.auth._seed.get_secret_value()  # type: ignore[union-attr]
        session = await h.auth.session()
        await h.rest.accounts()
        secrets = [seed, stored(h), session.access_token.get_secret_value()]
        shown = " ".join([repr(session), repr(h.auth), repr(h.store), repr(h.rest), caplog.text])
        assert not any(s in shown for s in secrets)

    run(tmp_path, body)


def test_store_initial_token_and_config_factory(tmp_path: Path) -> None:
    path = tmp_path / "var" / "token.json"
    config = QuestradeConfig(token_path=path, login_url="http://127.0.0.1:9/")
    auth = authenticator_from_config(
        config, clock=_clock(), environ={"QUESTRADE_REFRESH_TOKEN": "abc"}
    )
    assert auth._seed is not None and auth._seed.get_secret_value() == "abc"
    assert auth._endpoint == "http://127.0.0.1:9/oauth2/token"
    store_initial_token(TokenStore(path), SecretStr("  first-token \n"), now=START)
    assert TokenStore(path).load() == SecretStr("first-token")
    with pytest.raises(QuestradeLoginError):
        store_initial_token(TokenStore(path), SecretStr(" "), now=START)


def test_an_unreadable_token_file_is_a_login_error(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    path.write_text("{not json")
    with pytest.raises(QuestradeLoginError, match="unreadable"):
        TokenStore(path).load()
    assert TokenStore(tmp_path / "absent.json").load() is None


def _clock() -> Any:
    from quant_agent.core.clock import SimClock

    return SimClock(START)
