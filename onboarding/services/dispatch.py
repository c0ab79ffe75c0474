"""Delivering the outbox: claim due messages, render them, hand them to the transport.

A temporary failure (connection refused, a time-out, an SMTP 4xx) is retried with
exponential backoff; a permanent one (an SMTP 5xx) or too many attempts marks the
message failed, and ``onboarding status`` shows it. Customer emails about a project
are never delivered to someone who unsubscribed from it (``onboarding unsubscribe``):
they are left out of the recipients, and a message left with none is suppressed. Delivery is at least once and
idempotent by key: a message whose sender died after handing it over is delivered
again, and the transport recognises it by its key (Maildir) or its Message-ID (the
receiving mail system).

Each ``deliver_due`` is one delivery run: it registers itself with the outbox,
first releases the claims of runs known to be gone (a sweep killed mid-delivery),
so that a rerun, even at the same instant, delivers everything the dead run claimed
but did not send, then claims as itself, and at the end gives back anything it
still holds. A live concurrent run keeps its claims. The lease frees only claims
whose run cannot be told dead.

Not here: what to send (sweep, projects), rendering and transports (adapters/email).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from onboarding.core.messages import OutgoingMessage
from onboarding.services.ports import (
    Clock,
    Outbox,
    PermanentDeliveryError,
    Renderer,
    TemporaryDeliveryError,
    Transport,
    Waiting,
)

LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    suppressed: int = 0  # every recipient had unsubscribed
    released: int = 0  # claims of gone runs made pending again before claiming
    waiting: Waiting = field(default_factory=Waiting)  # what is left after the run, and since when

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(
            self.sent + other.sent,
            self.retried + other.retried,
            self.failed + other.failed,
            self.suppressed + other.suppressed,
            self.released + other.released,
            other.waiting,
        )


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
        max_attempts: int = 8,
        batch: int = 200,
    ) -> None:
        self._outbox = outbox
        self._renderer = renderer
        self._transport = transport
        self._clock = clock
        self._max_attempts = max_attempts
        self._batch = batch

    def deliver_due(self, *, max_messages: int | None = None) -> DispatchReport:
        """Deliver what is due now, batch by batch, until nothing is due (or the limit), as one delivery run."""
        run = self._outbox.begin_run()
        try:
            report = DispatchReport(released=self._outbox.release_gone(run=run))
            report += self._deliver(run, max_messages)
        finally:
            self._outbox.end_run(run)
        return replace(report, waiting=self.waiting())

    def waiting(self, project_id: str | None = None) -> Waiting:
        """What is not handed over yet, and since when."""
        return waiting(self._outbox, project_id=project_id)

    def _deliver(self, run: str, max_messages: int | None) -> DispatchReport:
        report = DispatchReport()
        delivered = 0
        while max_messages is None or delivered < max_messages:
            limit = self._batch if max_messages is None else min(self._batch, max_messages - delivered)
            claimed = self._outbox.claim(now=self._clock.now(), worker=run, limit=limit, lease=LEASE)
            if not claimed:
                break
            opted_out = self._outbox.opted_out(
                (q.message.project_id, p.email)
                for q in claimed
                if q.message.customer_facing and q.message.project_id is not None
                for p in (*q.message.to, *q.message.cc)
            )
            for queued in claimed:
                message = _without(queued.message, opted_out)
                if message is None:
                    self._outbox.suppressed(queued.id, at=self._clock.now(), reason="every recipient unsubscribed")
                    report += DispatchReport(suppressed=1)
                    continue
                report += self._deliver_one(queued.id, message, queued.attempts)
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


def waiting(outbox: Outbox, *, project_id: str | None = None) -> Waiting:
    """What an outbox has not handed over yet, of every project or one, and since when."""
    return outbox.waiting(lease=LEASE, project_id=project_id)


def _without(message: OutgoingMessage, opted_out: set[tuple[str, str]]) -> OutgoingMessage | None:
    """The message without the recipients who unsubscribed from its project; None when nobody is left."""
    if not opted_out or not message.customer_facing or message.project_id is None:
        return message
    project = message.project_id
    to = tuple(p for p in message.to if (project, p.email) not in opted_out)
    cc = tuple(p for p in message.cc if (project, p.email) not in opted_out)
    if not to and not cc:
        return None
    if len(to) == len(message.to) and len(cc) == len(message.cc):
        return message
    return replace(message, to=to or cc, cc=cc if to else ())
