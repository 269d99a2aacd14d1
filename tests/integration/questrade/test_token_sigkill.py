"""Token rotation under SIGKILL: refresher processes killed at seeded random instants.

What a client can guarantee, and what these tests hold it to: the token file is never torn
or missing, the refresh lock never outlives a killed holder, no process ever uses a token
before its successor is on disk, and two processes refreshing at once never burn each
other's token. What no client can guarantee: a kill after the login server rotated the
token but before its reply reached the disk loses the successor (the server has spent the
old one). The test identifies each such case exactly, from the sandbox's record of which
token was minted for which, counts it, and re-seeds as the trader would.
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

from pydantic import SecretStr

from quant_agent.core.clock import SimClock
from quant_agent.questrade.auth import TokenStore, store_initial_token
from quant_agent.questrade.sandbox import QuestradeSandbox

from .conftest import START, history

REFRESHER = Path(__file__).with_name("refresher.py")
LIMIT = 60.0


async def _spawn(
    sandbox: QuestradeSandbox, path: Path, count: int = 0
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, str(REFRESHER), sandbox.login_url, str(path), str(count),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip


def test_100_refreshes_with_the_refresher_sigkilled_at_random_instants(tmp_path: Path) -> None:
    rng = random.Random(20261126)
    path = tmp_path / "var" / "questrade_token.json"

    async def main() -> tuple[int, int, int]:
        async with QuestradeSandbox(clock=SimClock(START), history=history()) as sandbox:
            store = TokenStore(path)
            store_initial_token(store, SecretStr(sandbox.issue_refresh_token()), now=START)
            refreshes = kills = lost = 0
            async with asyncio.timeout(LIMIT):
                while refreshes < 100:
                    proc = await _spawn(sandbox, path)
                    assert proc.stdout is not None
                    for _ in range(rng.randint(1, 12)):
                        assert await proc.stdout.readline() == b"ok\n"
                        refreshes += 1
                    await asyncio.sleep(rng.uniform(0, 0.004))  # the random instant
                    proc.kill()
                    refreshes += (await proc.stdout.read()).count(b"ok\n")
                    await proc.wait()
                    kills += 1
                    token = store.load()  # never torn, never missing
                    assert token is not None
                    value = token.get_secret_value()
                    if sandbox.refresh_token_valid(value):
                        continue
                    # The only acceptable failure: the server had already minted the
                    # successor of the stored token, which was still unused on the way to disk.
                    successor = sandbox.successors.get(value)
                    assert successor is not None and sandbox.refresh_token_valid(successor)
                    lost += 1
                    store_initial_token(store, SecretStr(sandbox.issue_refresh_token()), now=START)
            return refreshes, kills, lost

    refreshes, kills, lost = asyncio.run(main())
    assert refreshes >= 100 and kills >= 10
    print(f"\n{refreshes} refreshes, {kills} kills, {lost} lost in flight")


def test_two_refresher_processes_at_once_never_lock_each_other_out(tmp_path: Path) -> None:
    path = tmp_path / "var" / "questrade_token.json"

    async def main() -> None:
        async with QuestradeSandbox(clock=SimClock(START), history=history()) as sandbox:
            store = TokenStore(path)
            store_initial_token(store, SecretStr(sandbox.issue_refresh_token()), now=START)
            async with asyncio.timeout(LIMIT):
                procs = [await _spawn(sandbox, path, 25) for _ in range(2)]
                outputs = await asyncio.gather(*(p.communicate() for p in procs))
            assert [p.returncode for p in procs] == [0, 0]
            assert [out.count(b"ok\n") for out, _ in outputs] == [25, 25]
            assert sandbox.redemptions == 50
            token = store.load()
            assert token is not None and sandbox.refresh_token_valid(token.get_secret_value())

    asyncio.run(main())
