"""Delivering the outbox: claim due messages, render them, hand them to the transport.

A temporary failure (connection refused, a time-out, an SMTP 4xx) is retried with
exponential backoff; a permanent one (an SMTP 5xx) or too many attempts marks the
message failed, and ``onboarding status`` shows it. Delivery is at least once and
idempotent by key: a message whose sender died after handing it over is claimed
again once its lease runs out, and the transport recognises it by its key
(Maildir) or its Message-ID (the receiving mail system).

Not here: what to send (sweep, projects), rendering and transports (adapters/email).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import timedelta

from onboarding.core.messages import OutgoingMessage
from onboarding.services.ports import (
    Clock,
    Outbox,
    PermanentDeliveryError,
    Renderer,
    TemporaryDeliveryError,
    Transport,
)

LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(self.sent + other.sent, self.retried + other.retried, self.failed + other.failed)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after each failed attempt, at most 6 hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), timedelta(hours=6))


class Dispatcher:
    def __init__(
        self,
        *,
        outbox: Outbox,
        renderer: Renderer,
        transport: Transport,
        clock: Clock,
        worker: str | None = None,
        max_attempts: int = 8,
        batch: int = 200,
    ) -> None:
        self._outbox = outbox
        self._renderer = renderer
        self._transport = transport
        self._clock = clock
        self._worker = worker or f"{socket.gethostname()}"
        self._max_attempts = max_attempts
        self._batch = batch

    def deliver_due(self, *, max_messages: int | None = None) -> DispatchReport:
        """Deliver what is due now, batch by batch, until nothing is due (or the limit)."""
        report = DispatchReport()
        delivered = 0
        while max_messages is None or delivered < max_messages:
            limit = self._batch if max_messages is None else min(self._batch, max_messages - delivered)
            claimed = self._outbox.claim(now=self._clock.now(), worker=self._worker, limit=limit, lease=LEASE)
            if not claimed:
                break
            for queued in claimed:
                report += self._deliver_one(queued.id, queued.message, queued.attempts)
            delivered += len(claimed)
        return report

    def _deliver_one(self, message_id: int, message: OutgoingMessage, attempts: int) -> DispatchReport:
        now = self._clock.now()
        recipients = [p.email for p in (*message.to, *message.cc)]
        try:
            raw = self._renderer.render(message, now=now)
            self._transport.deliver(raw, message_key=message.idempotency_key, recipients=recipients)
        except TemporaryDeliveryError as exc:
            if attempts >= self._max_attempts:
                self._outbox.failed(message_id, error=f"gave up after {attempts} attempts: {exc.detail}")
                return DispatchReport(failed=1)
            only = tuple(exc.retry_recipients) if exc.accepted else ()  # never send twice to those reached
            self._outbox.retry(message_id, at=now + backoff(attempts), error=exc.detail, only=only)
            return DispatchReport(retried=1)
        except PermanentDeliveryError as exc:
            self._outbox.failed(message_id, error=exc.detail)
            return DispatchReport(failed=1)
        self._outbox.sent(message_id, at=now)
        return DispatchReport(sent=1)
