"""Questrade's rotating refresh token: redeem, persist durably, hand out access sessions.

Owns the token file (``questrade.token_path``, default ``var/questrade_token.json``) and the
refresh. A refresh token is single-use: each redemption returns the next one, so

* the refresh token is read from the file under an exclusive ``flock`` held across the
  whole redemption, and the new one is written (temp file 0600, rename, fsync of the file
  and the folder) before the lock is released and before the access token is used. Two processes
  therefore never redeem the same token; the kernel drops the lock of a killed process.
* the token is sent in a POST form body, never in a URL, so no HTTP log line carries it.

Tokens live in ``SecretStr`` and never appear in a repr, a log line or an error message.
The one window no client can close: a refresher killed after the login server rotated the
token but before the reply was written to disk leaves a spent token on disk (see
docs/QUESTRADE.md). This module never reads the wall clock: expiry uses the injected Clock.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from pydantic import SecretStr

from quant_agent.core.clock import Clock
from quant_agent.questrade import parsing
from quant_agent.questrade.errors import (
    QuestradeLoginError,
    QuestradeServerError,
    QuestradeTransientError,
)

if TYPE_CHECKING:  # the config module is heavy; refresher processes start faster without it
    from quant_agent.config import QuestradeConfig

DEFAULT_TOKEN_PATH = Path("var/questrade_token.json")
DEFAULT_REFRESH_MARGIN = timedelta(seconds=60)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiSession:
    """An access token and the API base it is valid for, until ``expires_at`` (UTC)."""

    access_token: SecretStr
    api_server: str  # "https://host[:port]/v1/"
    expires_at: datetime

    def is_fresh(self, now: datetime, margin: timedelta = DEFAULT_REFRESH_MARGIN) -> bool:
        return now + margin < self.expires_at


class TokenStore:
    """The refresh token on disk: atomic, durable writes and a cross-process lock."""

    def __init__(self, path: Path | str = DEFAULT_TOKEN_PATH) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r})"

    def load(self) -> SecretStr | None:
        """Return the stored refresh token, or None when there is no token file."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            token = json.loads(raw)["refresh_token"]
        except (ValueError, KeyError, TypeError):
            raise QuestradeLoginError(
                f"token file {self.path} is unreadable; store a new refresh token with "
                "'quant-agent questrade login'"
            ) from None
        if not isinstance(token, str) or not token:
            raise QuestradeLoginError(f"token file {self.path} holds no refresh token")
        return SecretStr(token)

    def save(self, token: SecretStr, *, saved_at: datetime, api_server: str | None = None) -> None:
        """Replace the stored token atomically and durably: write a 0600 temp file, rename
        it over the old one, then fsync the file and the folder before returning.

        Renaming before the fsync keeps the file whole (old or new) if the process is
        killed, and shortens the window in which a kill loses a token the server has
        already rotated; the fsyncs before return make the new token survive power loss
        before anyone uses the access token that came with it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps(
            {
                "refresh_token": token.get_secret_value(),
                "api_server": api_server,
                "saved_at": saved_at.isoformat(),
            }
        ).encode("utf-8")
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
            os.replace(tmp, self.path)
            os.fsync(fd)
        finally:
            os.close(fd)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def acquire(self) -> int:
        """Block until this process holds the exclusive refresh lock; return its descriptor."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        return fd

    @staticmethod
    def release(fd: int) -> None:
        os.close(fd)  # closing the descriptor releases the lock

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the exclusive refresh lock (blocking) for the body of the ``with``."""
        fd = self.acquire()
        try:
            yield
        finally:
            self.release(fd)


def token_endpoint(login_url: str) -> str:
    """``https://login.questrade.com`` → ``https://login.questrade.com/oauth2/token``."""
    base = login_url.strip().rstrip("/")
    return base if base.endswith("/oauth2/token") else base + "/oauth2/token"


class Authenticator:
    """Hand out a valid ``ApiSession``, redeeming the stored refresh token when needed.

    ``seed_token`` (``QUESTRADE_REFRESH_TOKEN``) is used only while the store is empty.
    Safe for concurrent callers on one loop (single flight) and across processes (flock).
    """

    def __init__(
        self,
        *,
        login_url: str,
        store: TokenStore,
        clock: Clock,
        http: httpx.AsyncClient | None = None,
        seed_token: SecretStr | None = None,
        refresh_margin: timedelta = DEFAULT_REFRESH_MARGIN,
        timeout: float = 10.0,
    ) -> None:
        self._endpoint = token_endpoint(login_url)
        self._store = store
        self._clock = clock
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None
        self._seed = seed_token
        self._margin = refresh_margin
        self._session: ApiSession | None = None
        self._lock = asyncio.Lock()
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"Authenticator({self._endpoint!r}, {self._store!r})"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    @property
    def current(self) -> ApiSession | None:
        return self._session

    @property
    def refresh_due_at(self) -> datetime | None:
        """From when ``session()`` refreshes the current session (expiry less the margin)."""
        session = self._session
        return None if session is None else session.expires_at - self._margin

    async def session(self) -> ApiSession:
        """Return a session valid beyond the refresh margin, refreshing ahead of expiry."""
        session = self._session
        if session is not None and session.is_fresh(self._clock.now(), self._margin):
            return session
        return await self._refresh(stale=session, force=False)

    async def renew(self, stale: ApiSession) -> ApiSession:
        """Replace ``stale``, the session a 401 came back on, unless another caller already
        did: concurrent 401s then cause one refresh, not one each."""
        return await self._refresh(stale=stale, force=False)

    async def refresh(self) -> ApiSession:
        """Redeem the stored refresh token now."""
        return await self._refresh(stale=None, force=True)

    async def _refresh(self, *, stale: ApiSession | None, force: bool) -> ApiSession:
        async with self._lock:
            current = self._session
            if not force and current is not None and current is not stale:
                if current.is_fresh(self._clock.now(), self._margin):
                    return current
            session = await self._redeem_locked()
            self._session = session
            self.refreshes += 1
            return session

    async def _redeem_locked(self) -> ApiSession:
        pending = asyncio.ensure_future(asyncio.to_thread(self._store.acquire))
        try:
            fd = await asyncio.shield(pending)
        except asyncio.CancelledError:
            pending.add_done_callback(_release_when_acquired)
            raise
        try:
            return await self._redeem()
        finally:
            TokenStore.release(fd)

    async def _redeem(self) -> ApiSession:
        token = self._store.load() or self._seed
        if token is None:
            raise QuestradeLoginError(
                f"no Questrade refresh token in {self._store.path} and none in the environment; "
                "generate one in the Questrade API Centre and run 'quant-agent questrade login'"
            )
        form = {"grant_type": "refresh_token", "refresh_token": token.get_secret_value()}
        try:
            reply = await self._http.post(self._endpoint, data=form)
        except httpx.HTTPError as exc:
            raise QuestradeTransientError(
                f"login server unreachable ({type(exc).__name__})"
            ) from None
        if reply.status_code >= 500:
            raise QuestradeServerError("login server error", status=reply.status_code)
        if reply.status_code != 200:
            raise QuestradeLoginError(
                "the login server refused the refresh token (spent, expired or revoked); "
                "generate a new one in the Questrade API Centre and run "
                "'quant-agent questrade login'",
                status=reply.status_code,
            )
        redeemed = parsing.parse_token(parsing.loads(reply.content, "token"))
        now = self._clock.now()
        await asyncio.to_thread(
            self._store.save, redeemed.refresh_token, saved_at=now, api_server=redeemed.api_server
        )
        return ApiSession(
            access_token=redeemed.access_token,
            api_server=redeemed.api_server,
            expires_at=now + timedelta(seconds=redeemed.expires_in),
        )


def _release_when_acquired(task: asyncio.Future[int]) -> None:
    if not task.cancelled() and task.exception() is None:
        TokenStore.release(task.result())


def store_initial_token(store: TokenStore, token: SecretStr, *, now: datetime) -> None:
    """Store the first refresh token the trader generated (``quant-agent questrade login``)."""
    value = token.get_secret_value().strip()
    if not value:
        raise QuestradeLoginError("an empty refresh token cannot be stored")
    with store.locked():
        store.save(SecretStr(value), saved_at=now)


def authenticator_from_config(
    config: QuestradeConfig, clock: Clock, environ: Mapping[str, str] | None = None
) -> Authenticator:
    """Build the ``Authenticator`` of ``questrade:``; the seed token (used only while the
    store is empty) is ``QA_QUESTRADE__REFRESH_TOKEN`` or ``QUESTRADE_REFRESH_TOKEN``."""
    env = os.environ if environ is None else environ
    seed = config.refresh_token
    if seed is None and env.get("QUESTRADE_REFRESH_TOKEN"):
        seed = SecretStr(env["QUESTRADE_REFRESH_TOKEN"])
    return Authenticator(
        login_url=config.login_url,
        store=TokenStore(config.token_path),
        clock=clock,
        seed_token=seed,
        refresh_margin=timedelta(seconds=config.refresh_margin_s),
        timeout=config.request_timeout_s,
    )
