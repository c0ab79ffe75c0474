"""POSTing outbound events over HTTP (httpx): one kept-alive client per delivery run, no redirects followed.

The caller signs (``services/dispatch.py`` with ``core/webhook_events.py``); this
module only sends and says how it went: a 2xx answer is delivered; a network
failure, a time-out, a 5xx or a 408, 409, 425 or 429 is worth another try later;
any other answer (a 3xx too: a webhook URL is given exactly, and a redirect would
send a signed body somewhere else) is refused for good. The answer's body is not
read.

Not here: signing, retries and backoff (the dispatcher), which events (core).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

import httpx

from onboarding.services.ports import PermanentDeliveryError, TemporaryDeliveryError

TEMPORARY_STATUSES = frozenset({408, 409, 425, 429})  # besides every 5xx


class HttpWebhookPoster:
    def __init__(self, *, user_agent: str = "onboarding-engine", transport: httpx.BaseTransport | None = None) -> None:
        self.user_agent = user_agent
        self._transport = transport  # httpx.MockTransport in tests
        self._client: httpx.Client | None = None

    def post(self, url: str, *, body: bytes, headers: Mapping[str, str], timeout_seconds: float) -> None:
        if self._client is None:
            self._client = httpx.Client(follow_redirects=False, transport=self._transport)
        sent = {"content-type": "application/json", "user-agent": self.user_agent, **headers}
        try:
            with self._client.stream(
                "POST", url, content=body, headers=sent, timeout=httpx.Timeout(max(timeout_seconds, 0.001))
            ) as response:
                status = response.status_code
        except httpx.TimeoutException as exc:
            raise TemporaryDeliveryError(f"{url}: no answer within {timeout_seconds:.0f} s ({exc!r})") from None
        except httpx.HTTPError as exc:  # connection refused or reset, a name that does not resolve, a broken answer
            raise TemporaryDeliveryError(f"{url}: {type(exc).__name__}: {exc}") from None
        if 200 <= status < 300:
            return
        detail = f"{url} answered {status} {_phrase(status)}".rstrip()
        if status >= 500 or status in TEMPORARY_STATUSES:
            raise TemporaryDeliveryError(detail, code=status)
        if 300 <= status < 400:
            detail += " (redirects are not followed: subscribe the address it points to)"
        raise PermanentDeliveryError(detail, code=status)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class RecordingWebhookPoster:
    """The in-memory twin: keeps every POST (url, body, headers); can be told to fail the next ones."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, bytes, dict[str, str]]] = []
        self.failures: list[Exception] = []

    def post(self, url: str, *, body: bytes, headers: Mapping[str, str], timeout_seconds: float) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.posts.append((url, body, dict(headers)))

    def close(self) -> None:
        pass


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
