"""Local receivers for alert tests: an SMTP server (aiosmtpd) and an HTTP webhook recorder.

Both bind 127.0.0.1 on an ephemeral port and hand each received message to a queue, so a
test waits on ``get(timeout)`` instead of sleeping. aiosmtpd is a dev dependency: imported
only when an SMTP server is started.
"""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import queue
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any


def free_port() -> int:
    """Return a port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 (no AUTH, no TLS) collecting parsed messages."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: queue.Queue[EmailMessage] = queue.Queue()
        self.port = free_port()
        self._controller = Controller(_SmtpHandler(self.messages), hostname="127.0.0.1",
                                      port=self.port)  # fmt: skip

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def url(self, to: str = "ops@example.com", sender: str = "bot@example.com") -> str:
        return f"mailto://127.0.0.1:{self.port}/?to={to}&from={sender}&mode=insecure"


class _SmtpHandler:
    def __init__(self, messages: queue.Queue[EmailMessage]) -> None:
        self._messages = messages

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self._messages.put(parsed)  # type: ignore[arg-type]
        return "250 OK"


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    body: dict[str, Any]


class WebhookServer:
    """An HTTP server on 127.0.0.1 recording JSON POSTs; answers 200 "ok".

    ``fail_first`` requests are answered 500 first, to exercise retries. With a ``gate``,
    every request waits for it to be set before it is answered (a hung channel); each
    request that starts waiting is put on ``waiting``.
    """

    def __init__(self, fail_first: int = 0, gate: threading.Event | None = None) -> None:
        self.requests: queue.Queue[Request] = queue.Queue()
        self.waiting: queue.Queue[str] = queue.Queue()
        self.failures_left = fail_first
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                size = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(size)
                outer.hits += 1
                if gate is not None:
                    outer.waiting.put(self.path)
                    gate.wait(timeout=60)
                if outer.failures_left > 0:
                    outer.failures_left -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                outer.requests.put(Request(self.path, json.loads(raw or b"{}")))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"
