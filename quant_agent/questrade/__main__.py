"""``python -m quant_agent.questrade``: run the local Questrade until interrupted.

Prints the login URL and a first refresh token, then pushes replayed quotes to any
connected quote socket every second. For trying the client without an account.
"""

from __future__ import annotations

import asyncio
import contextlib

from quant_agent.core.clock import LiveClock
from quant_agent.questrade.sandbox import QuestradeSandbox


async def serve(push_every: float = 1.0) -> None:
    async with QuestradeSandbox(clock=LiveClock()) as sandbox:
        print(f"login URL:     {sandbox.login_url}   (QA_QUESTRADE__LOGIN_URL)")
        print(f"API server:    {sandbox.api_server}")
        print(f"refresh token: {sandbox.issue_refresh_token()}   (a sandbox token, not a secret)")
        print("Ctrl-C stops it.", flush=True)
        while True:
            await asyncio.sleep(push_every)
            await sandbox.push_quotes()


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
