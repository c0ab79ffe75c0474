"""Webhooks over real HTTP to a server in the test process (127.0.0.1 only)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from onboarding.adapters.webhooks import HttpWebhooks
from onboarding.services.ports import PermanentDeliveryError, TemporaryDeliveryError


class Receiver(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    received: ClassVar[list[tuple[dict[str, str], dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), json.loads(body)))
        self.send_response(Receiver.answers.pop(0) if Receiver.answers else 204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def url() -> Iterator[str]:
    Receiver.answers, Receiver.received = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/onboarding"
    server.shutdown()
    server.server_close()


def test_posts_json_with_the_idempotency_key(url: str) -> None:
    HttpWebhooks().post(
        url, {"event": "task_ready", "task": "prenotes"}, idempotency_key="webhook:p:t", timeout_seconds=5
    )
    ((headers, body),) = Receiver.received
    assert headers["Idempotency-Key"] == "webhook:p:t" and headers["Content-Type"] == "application/json"
    assert body == {"event": "task_ready", "task": "prenotes"}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (503, TemporaryDeliveryError),
        (429, TemporaryDeliveryError),
        (400, PermanentDeliveryError),
        (404, PermanentDeliveryError),
    ],
)
def test_server_errors_are_temporary_and_client_errors_permanent(url: str, status: int, error: type) -> None:
    Receiver.answers = [status]
    with pytest.raises(error):
        HttpWebhooks().post(url, {}, idempotency_key="k", timeout_seconds=5)


def test_nobody_listening_is_temporary() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TemporaryDeliveryError):
        HttpWebhooks().post(f"http://127.0.0.1:{port}/", {}, idempotency_key="k", timeout_seconds=2)
