"""Subscribing endpoints to outbound events (``onboarding webhook add|list|remove``).

A subscription names an http(s) URL, the event types it wants (``core/webhook_events.EVENT_TYPES``)
and the secret its POSTs are signed with: given (``whsec_...``), or made here from 32 random bytes and
shown once. Every problem of a subscription is reported at once (``WebhookInvalid``). Removing an
endpoint keeps it, disabled: nothing more is queued for it, and what is queued is not delivered.

Not here: which changes make which events and queueing them (core, store), delivering them (dispatch).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from onboarding.core.webhook_events import WebhookEndpoint, new_secret, subscription_problems
from onboarding.errors import Problem, WebhookInvalid, WebhookNotFound
from onboarding.services.ports import Clock, WebhookEndpoints

SECRET_BYTES = 32


@dataclass(frozen=True)
class Subscribed:
    endpoint: WebhookEndpoint
    secret_made: bool  # True: the secret was made here, and this is the only time it is shown


class WebhookService:
    def __init__(
        self,
        *,
        endpoints: WebhookEndpoints,
        clock: Clock,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._endpoints = endpoints
        self._clock = clock
        self._random_bytes = random_bytes

    def add(self, url: str, *, events: Sequence[str], secret: str | None = None) -> Subscribed:
        """Subscribe ``url`` to these event types; raises WebhookInvalid with every problem."""
        url = url.strip()
        wanted = list(dict.fromkeys(e.strip() for e in events if e.strip()))
        problems = subscription_problems(url, wanted, secret=secret)
        if problems:
            raise WebhookInvalid("webhook", tuple(problems))
        made = secret is None
        key = new_secret(self._random_bytes(SECRET_BYTES)) if secret is None else secret
        endpoint = self._endpoints.add(url=url, events=wanted, secret=key, created_at=self._clock.now())
        return Subscribed(endpoint, secret_made=made)

    def list(self, *, include_removed: bool = False) -> list[WebhookEndpoint]:
        return self._endpoints.endpoints(include_disabled=include_removed)

    def remove(self, endpoint_id: int) -> WebhookEndpoint:
        """Stop sending to an endpoint (removing one already removed changes nothing); raises WebhookNotFound."""
        removed = self._endpoints.disable(endpoint_id)
        if removed is None:
            raise WebhookNotFound(
                "webhook",
                (
                    Problem(
                        "webhook-not-found",
                        f"no webhook endpoint {endpoint_id}",
                        ("id",),
                        "list the endpoints to see their ids",
                    ),
                ),
            )
        return removed
