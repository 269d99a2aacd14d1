"""The sandbox answers as section 7 of the spec says Questrade does."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Harness, harness


def run(tmp_path: Path, body: Any) -> None:
    async def main() -> None:
        async with harness(tmp_path) as h:
            await body(h)

    asyncio.run(main())


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("nowhere", {}, 404, 1001),
        ("accounts/26598145/orders", {"stateFilter": "Sometimes"}, 400, 1002),
        ("accounts/26598145/orders/999", {}, 404, 1020),
        ("accounts/26598145/executions", {"startTime": "2026-03-03T10:00:00.1234567-05:00"},
         400, 1003),
        ("accounts/26598145/activities", {"startTime": "2026-01-01T00:00:00-05:00",
         "endTime": "2026-03-03T00:00:00-05:00"}, 400, 1003),
        ("accounts/26598145/activities", {}, 400, 1004),
        ("markets/quotes/8049,34658", {}, 400, 1002),
        ("markets/quotes", {"ids": "999999999"}, 404, 1019),
        ("symbols", {"ids": "8049", "names": "AAPL"}, 400, 1002),
        ("markets/candles/8049", {"startTime": "2026-03-02T00:00:00-05:00",
         "endTime": "2026-03-03T00:00:00-05:00", "interval": "OneFortnight"}, 400, 1002),
    ],
)  # fmt: skip
def test_validation_errors(
    tmp_path: Path, path: str, params: dict[str, str], status: int, code: int
) -> None:
    async def body(h: Harness) -> None:
        session = await h.auth.session()
        headers = {"Authorization": f"Bearer {session.access_token.get_secret_value()}"}
        async with httpx.AsyncClient() as http:
            reply = await http.get(session.api_server + path, params=params, headers=headers)
        assert (reply.status_code, reply.json()["code"]) == (status, code)

    run(tmp_path, body)


def test_authorization_header_errors_and_wrong_method(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        session = await h.auth.session()
        url = session.api_server + "accounts"
        token = session.access_token.get_secret_value()
        async with httpx.AsyncClient() as http:
            missing = await http.get(url)
            malformed = await http.get(url, headers={"Authorization": token})
            unknown = await http.get(url, headers={"Authorization": "Bearer nope"})
            wrong = await http.put(url, headers={"Authorization": f"Bearer {token}"})
        assert (missing.status_code, missing.json()["code"]) == (401, 1014)
        assert (malformed.status_code, malformed.json()["code"]) == (400, 1015)
        assert (unknown.status_code, unknown.json()["code"]) == (401, 1017)
        assert (wrong.status_code, wrong.json()["code"]) == (405, 1012)
        assert "X-RateLimit-Remaining" in wrong.headers

    run(tmp_path, body)


def test_login_accepts_get_and_post_and_rejects_reuse_with_a_plain_400(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        first = h.sandbox.issue_refresh_token()
        url = h.sandbox.login_url + "/oauth2/token"
        async with httpx.AsyncClient() as http:
            got = await http.get(
                url, params={"grant_type": "refresh_token", "refresh_token": first}
            )
            second = got.json()["refresh_token"]
            posted = await http.post(
                url, data={"grant_type": "refresh_token", "refresh_token": second}
            )
            reused = await http.get(
                url, params={"grant_type": "refresh_token", "refresh_token": first}
            )
            no_grant = await http.post(url, data={"refresh_token": posted.json()["refresh_token"]})
        assert got.status_code == posted.status_code == 200
        assert "\\/" in got.text  # slashes escaped as Questrade does
        assert (reused.status_code, reused.text) == (400, "Bad Request")
        assert no_grant.status_code == 400

    run(tmp_path, body)


def test_two_concurrent_redemptions_of_one_token_exactly_one_succeeds(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        token = h.sandbox.issue_refresh_token()
        url = h.sandbox.login_url + "/oauth2/token"
        form = {"grant_type": "refresh_token", "refresh_token": token}
        async with httpx.AsyncClient() as http:
            replies = await asyncio.gather(*(http.post(url, data=form) for _ in range(2)))
        assert sorted(r.status_code for r in replies) == [200, 400]

    run(tmp_path, body)


def test_delayed_quotes_after_the_snap_quote_limit(tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(tmp_path, realtime=False, snap_quotes_limit=2) as h:
            delays = [(await h.rest.quotes([8049]))[0].delay for _ in range(3)]
            assert delays == [0, 0, 15]

    asyncio.run(main())


def test_stream_port_is_stable_for_one_url(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        one = await h.rest.quote_stream_port([8049])
        assert await h.rest.quote_stream_port([8049]) == one
        assert await h.rest.quote_stream_port([8049, 27426]) != one
        assert await h.rest.notifications_port() not in (one,)

    run(tmp_path, body)
