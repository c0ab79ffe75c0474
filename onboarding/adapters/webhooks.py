"""Webhooks over HTTP: a JSON POST with an Idempotency-Key header (the stdlib's urllib, no extra client)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping

from onboarding.services.ports import PermanentDeliveryError, TemporaryDeliveryError


class HttpWebhooks:
    def __init__(self, *, user_agent: str = "onboarding-engine") -> None:
        self.user_agent = user_agent

    def post(self, url: str, payload: Mapping[str, object], *, idempotency_key: str, timeout_seconds: float) -> None:
        body = json.dumps(payload, default=str).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - http(s) URLs only, checked by the blueprint format
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key,
                "User-Agent": self.user_agent,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_seconds) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            detail = f"{url} answered {exc.code} {exc.reason}"
            if exc.code in (408, 425, 429) or exc.code >= 500:
                raise TemporaryDeliveryError(detail, code=exc.code) from None
            raise PermanentDeliveryError(detail, code=exc.code) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise TemporaryDeliveryError(f"{url}: {exc}") from None


class RecordingWebhooks:
    """The in-memory twin: keeps every call; can be told to fail the next calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, object], str]] = []
        self.failures: list[Exception] = []

    def post(self, url: str, payload: Mapping[str, object], *, idempotency_key: str, timeout_seconds: float) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.calls.append((url, dict(payload), idempotency_key))
