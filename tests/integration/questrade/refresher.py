"""A refresher process for the SIGKILL tests: redeem the stored token in a loop.

Usage: python refresher.py LOGIN_URL TOKEN_PATH [COUNT]. Prints "ok" after each refresh
(after the new token is on disk); COUNT 0 or absent means until killed.
"""

from __future__ import annotations

import asyncio
import sys

from quant_agent.core.clock import LiveClock
from quant_agent.questrade.auth import Authenticator, TokenStore


async def main(login_url: str, path: str, count: int) -> None:
    auth = Authenticator(login_url=login_url, store=TokenStore(path), clock=LiveClock())
    done = 0
    while count == 0 or done < count:
        await auth.refresh()
        done += 1
        sys.stdout.write("ok\n")
        sys.stdout.flush()
    await auth.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0))
