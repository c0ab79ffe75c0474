"""Delivering the outbox: claim due messages, render them, hand them to the transport.

Whatever one message does wrong fails that message alone: a message the renderer
cannot build (an address it cannot write, say), one the server refuses for good (an
SMTP 5xx) or one the transport chokes on is marked ``failed`` with its reason, shown
by ``onboarding status`` and ``onboarding outbox list``, and the batch goes on.

A temporary failure (connection refused, a time-out, an SMTP 4xx) is retried with
exponential backoff (1, 2, 4 ... minutes, at most ``backoff_cap``) until the retry
horizon, counted from when the message was queued by the clock passed in; a
temporary failure past the horizon marks it ``held``. Nothing is thrown away:
``onboarding outbox retry`` resends failed and held messages. When the server itself
is unavailable (refused, silent, closing, a login refused), the rest of the claimed
batch is put back untried, for the next sweep, and delivery stops; it also stops at
its deadline (``deadline_seconds`` of real time a run, each message given at most
what is left), so a hanging server cannot stall a sweep.

Customer emails about a project are never delivered to someone who unsubscribed
from it (``onboarding unsubscribe``): they are left out of the recipients, and a
message left with none is suppressed. Delivery is at least once and idempotent by
key: a message whose sender died after handing it over is delivered again, and the
transport recognises it by its key (Maildir) or its Message-ID (the receiving mail
system).

Messages go out batch by batch (``batch`` claimed at a time); the renderer reads
what a batch's emails need from the store (their projects' link keys) at once. A
transport that settles later (a Maildir) stages each message of the batch, then
settles them all at once (one flush to disk for the batch), and only then are they
recorded sent, in one transaction: a crash in between delivers the batch again,
which the transport absorbs by key. When it cannot settle, each staged message
failed for now (retried, or held past the horizon). Over SMTP each message the
server accepted is recorded sent at once, so that a crash sends at most that one
again.

Each ``deliver_due`` is one delivery run: it registers itself with the outbox,
first releases the claims of runs known to be gone (a sweep killed mid-delivery),
so that a rerun, even at the same instant, delivers everything the dead run claimed
but did not send, then claims as itself, and at the end gives back anything it
still holds. A live concurrent run keeps its claims. The lease frees only claims
whose run cannot be told dead.

A status email queued to be composed at delivery (``core.status.reader_to_compose``: a sweep's
weekly update, a change's milestone announcement) is composed as its batch is delivered, the
batch's projects read together (``Composer``), from its project as of then: a weekly update
without news for its reader is left unsent, kept ``suppressed`` as that week's update
(``Outbox.quiet``, ``DispatchReport.quiet``); one no longer its reader's to receive (its role
rebound since, or a weekly update of a project no longer active: ``core.status.not_to_compose``)
is suppressed with why.

Outbound events (messages of kind ``webhook``) share the outbox, its claims, runs,
backoff and horizon, but are never rendered as email: each is POSTed to its
endpoint with the Standard Webhooks headers, signed at the moment it is sent (the
``webhook-id`` from its key, the same on every retry; the timestamp the real time of
the try, so that a receiver's tolerance holds even when the clock is simulated).
A 2xx answer is sent; a network failure, a time-out, a 5xx or 408/409/425/429 is
retried with backoff; any other answer fails it. An endpoint that failed so is not
tried again in the same run: its other messages are put back untried, due with the
one that failed, so that one endpoint that is down or slow costs a run one time-out
and holds back neither email nor other endpoints. A message whose endpoint was removed is
suppressed. Endpoints are read only for a batch that holds webhook messages.

Over SMTP, delivery uses a few connections at once (``ParallelDispatch``): as many
dispatchers, each its own run and connection, claiming batches side by side.

Not here: what to send (sweep, projects, core/webhook_events), rendering and transports (adapters/email),
the HTTP client (adapters/webhook_delivery).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from onboarding.core.messages import OutgoingMessage, WebhookDelivery
from onboarding.core.status import reader_to_compose
from onboarding.core.webhook_events import WebhookEndpoint, signed_headers, webhook_id
from onboarding.services.ports import (
    Clock,
    Composer,
    Outbox,
    PermanentDeliveryError,
    QueuedMessage,
    Renderer,
    TemporaryDeliveryError,
    Transport,
    Unsent,
    Waiting,
    WebhookEndpoints,
    WebhookPoster,
)

LEASE = timedelta(minutes=10)
RETRY_HORIZON = timedelta(days=3)
BACKOFF_CAP = timedelta(hours=1)
DEADLINE_SECONDS = 300.0
WEBHOOK_TIMEOUT_SECONDS = 10.0  # the longest one POST may take to be answered


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0
    retried: int = 0  # tried, failed for now, tried again after a backoff
    failed: int = 0  # refused for good or unsendable: waits for `outbox retry`
    suppressed: int = 0  # every recipient had unsubscribed
    held: int = 0  # temporary failures past the retry horizon: waits for `outbox retry`
    deferred: int = 0  # claimed but not tried (the server was unavailable, or the deadline came): next sweep
    unavailable: str = ""  # why the mail server (or folder) could not be used; empty when it could
    out_of_time: bool = False  # delivery stopped at its deadline with messages left
    released: int = 0  # claims of gone runs made pending again before claiming
    waiting: Waiting = field(default_factory=Waiting)  # what is left after the run, and since when
    quiet: int = 0  # weekly updates composed with no news for their reader: left unsent, as that week's update

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(
            self.sent + other.sent,
            self.retried + other.retried,
            self.failed + other.failed,
            self.suppressed + other.suppressed,
            self.held + other.held,
            self.deferred + other.deferred,
            other.unavailable or self.unavailable,
            self.out_of_time or other.out_of_time,
            self.released + other.released,
            other.waiting,
            self.quiet + other.quiet,
        )


class Delivery(Protocol):
    """What delivers the outbox: one ``Dispatcher``, or several at once (``ParallelDispatch``)."""

    def deliver_due(self, *, max_messages: int | None = None) -> DispatchReport: ...

    def waiting(self, project_id: str | None = None) -> Waiting: ...


class ParallelDispatch:
    """Delivery over several connections at once: each dispatcher runs its own delivery run with its own renderer
    and transport (its own SMTP connection), claiming batches from the one outbox until nothing is due, each in a
    thread. The outbox's claims keep every message to one of them; their reports are added up.

    For a transport that waits on the network (SMTP): one connection spends most of a message waiting for the
    server's replies, and the waits of a few connections overlap. Rendering and the Maildir use the CPU, which
    threads do not share out: one dispatcher does as well there.
    """

    def __init__(self, dispatchers: Sequence[Dispatcher]) -> None:
        if not dispatchers:
            raise ValueError("parallel delivery needs at least one dispatcher")
        self._dispatchers = tuple(dispatchers)

    def deliver_due(self, *, max_messages: int | None = None) -> DispatchReport:
        count = len(self._dispatchers)
        if count == 1:
            return self._dispatchers[0].deliver_due(max_messages=max_messages)
        shares: list[int | None] = (
            [None] * count
            if max_messages is None
            else [max_messages // count + (n < max_messages % count) for n in range(count)]
        )
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="delivery") as pool:
            running = [
                pool.submit(d.deliver_due, max_messages=share)
                for d, share in zip(self._dispatchers, shares, strict=True)
                if share != 0
            ]
        # every run has ended (leaving the pool waits for them all) before the first error, if any, is raised
        total = sum((run.result() for run in running), DispatchReport())
        return replace(total, waiting=self.waiting())

    def waiting(self, project_id: str | None = None) -> Waiting:
        return self._dispatchers[0].waiting(project_id)


def backoff(attempts: int, *, cap: timedelta = BACKOFF_CAP) -> timedelta:
    """1, 2, 4 ... minutes after each failed attempt, at most ``cap``."""
    return min(timedelta(minutes=2 ** min(max(attempts - 1, 0), 30)), cap)


# A message staged by a transport that settles later: nothing to count until its batch settles. One report for
# them all, rather than one made and added up for each message.
STAGED = DispatchReport()


class Dispatcher:
    def __init__(
        self,
        *,
        outbox: Outbox,
        renderer: Renderer,
        transport: Transport,
        clock: Clock,
        batch: int = 200,
        retry_horizon: timedelta = RETRY_HORIZON,
        backoff_cap: timedelta = BACKOFF_CAP,
        deadline_seconds: float | None = DEADLINE_SECONDS,
        timer: Callable[[], float] = time.monotonic,
        webhooks: WebhookPoster | None = None,
        endpoints: WebhookEndpoints | None = None,
        webhook_timeout_seconds: float = WEBHOOK_TIMEOUT_SECONDS,
        signing_time: Callable[[], float] = time.time,
        composer: Composer | None = None,
    ) -> None:
        self._outbox = outbox
        self._composer = composer
        self._renderer = renderer
        self._transport = transport
        self._clock = clock
        self._batch = batch
        self._horizon = retry_horizon
        self._backoff_cap = backoff_cap
        self._deadline_seconds = deadline_seconds
        self._timer = timer  # real elapsed time (the clock may be simulated)
        self._webhooks = webhooks
        self._endpoints = endpoints
        self._webhook_timeout = webhook_timeout_seconds
        self._signing_time = signing_time  # real time, in seconds since the epoch: receivers check it against theirs
        self._endpoints_down: dict[int, tuple[datetime, str]] = {}  # in a run: endpoint -> (tried again at, why)
        self._staged: list[QueuedMessage] = []  # in a batch: handed to a transport that settles later
        self._run = ""  # the delivery run under way: the outcomes it writes are its claims' (``ports.Outbox``)

    def deliver_due(self, *, max_messages: int | None = None) -> DispatchReport:
        """Deliver what is due now, batch by batch, as one delivery run: until nothing is due, the limit, the
        deadline, or the server is found unavailable."""
        run = self._run = self._outbox.begin_run()
        self._endpoints_down = {}
        try:
            report = DispatchReport(released=self._outbox.release_gone(run=run))
            report += self._deliver(run, max_messages)
            if report.out_of_time and report.sent:  # a server that took mail until the deadline came is not down
                report = replace(report, unavailable="")
        finally:
            self._outbox.end_run(run)
            self._renderer.prepare(())  # what was read ahead for the last batch is not kept between runs
            self._transport.close()  # one connection a run: the next sweep opens a fresh one
            if self._webhooks is not None:
                self._webhooks.close()
        return replace(report, waiting=self.waiting())

    def waiting(self, project_id: str | None = None) -> Waiting:
        """What is not handed over yet, and since when."""
        return waiting(self._outbox, project_id=project_id)

    def _deliver(self, run: str, max_messages: int | None) -> DispatchReport:
        ends = None if self._deadline_seconds is None else self._timer() + self._deadline_seconds
        report = DispatchReport()
        delivered = 0
        while max_messages is None or delivered < max_messages:
            if ends is not None and self._timer() >= ends:
                return report + DispatchReport(out_of_time=True)
            limit = self._batch if max_messages is None else min(self._batch, max_messages - delivered)
            claimed = self._outbox.claim(now=self._clock.now(), worker=run, limit=limit, lease=LEASE)
            if not claimed:
                break
            report += self._deliver_batch(claimed, ends=ends)
            if report.unavailable or report.out_of_time or len(claimed) < limit:  # a short batch: all due done
                break
            delivered += len(claimed)
        return report

    def _deliver_batch(self, claimed: Sequence[QueuedMessage], *, ends: float | None) -> DispatchReport:
        """Hand each claimed message over, then settle what the transport staged and record it sent at once."""
        self._staged = []
        claimed, report = self._composed(claimed)
        with contextlib.suppress(Exception):  # reading ahead failed: each render reads its own, as it would have
            self._renderer.prepare([q.message for q in claimed if q.message.webhook is None])
        report += self._hand_over(claimed, ends=ends)
        return report + self._settle()

    def _composed(self, claimed: Sequence[QueuedMessage]) -> tuple[list[QueuedMessage], DispatchReport]:
        """The batch with its status emails to compose composed now (``Composer``), the rest as claimed. A weekly
        update without news for its reader is left unsent (``Outbox.quiet``: it counts as that week's update); one no
        longer its reader's to receive is suppressed, with why; one that cannot be composed fails; when composing
        itself fails (the database, say), they are tried again with backoff, as a temporary failure."""
        waiting = [q for q in claimed if reader_to_compose(q.message) is not None]
        if not waiting:
            return list(claimed), DispatchReport()
        now = self._clock.now()
        report = DispatchReport()
        try:
            if self._composer is None:
                raise RuntimeError("no composer was given to this delivery")
            composed = self._composer.compose([q.message for q in waiting])
        except Exception as exc:
            problem = TemporaryDeliveryError(f"the status email could not be composed: {type(exc).__name__}: {exc}")
            for queued in waiting:
                report += self._temporary(queued, problem, now=now, cut=False)
            return [q for q in claimed if reader_to_compose(q.message) is None], report
        ready: dict[int, QueuedMessage] = {}
        quiet: list[int] = []
        for queued, outcome in zip(waiting, composed, strict=True):
            if not isinstance(outcome, Unsent):
                ready[queued.id] = replace(queued, message=outcome)
            elif outcome.outcome == "quiet":
                quiet.append(queued.id)
            elif outcome.outcome == "suppressed":
                self._outbox.suppressed(queued.id, at=now, reason=outcome.reason, run=self._run)
                report += DispatchReport(suppressed=1)
            else:
                self._outbox.failed(queued.id, error=f"cannot be composed: {outcome.reason}", run=self._run)
                report += DispatchReport(failed=1)
        self._outbox.quiet(quiet, run=self._run)
        report += DispatchReport(quiet=len(quiet))
        unsent = {q.id for q in waiting} - ready.keys()
        return [ready.get(q.id, q) for q in claimed if q.id not in unsent], report

    def _hand_over(self, claimed: Sequence[QueuedMessage], *, ends: float | None) -> DispatchReport:
        report = DispatchReport()
        opted_out = self._outbox.opted_out(
            (q.message.project_id, p.email)
            for q in claimed
            if q.message.customer_facing and q.message.project_id is not None
            for p in (*q.message.to, *q.message.cc)
        )
        hooks = {q.message.webhook.endpoint_id for q in claimed if q.message.webhook is not None}
        endpoints = self._endpoints.by_ids(hooks) if hooks and self._endpoints is not None else {}
        for index, queued in enumerate(claimed):
            left = None if ends is None else ends - self._timer()
            if left is not None and left <= 0:
                rest = claimed[index:]
                self._outbox.defer([q.id for q in rest], at=self._clock.now(), error=None, run=self._run)
                return report + DispatchReport(deferred=len(rest), out_of_time=True)
            message = _without(queued.message, opted_out)
            if message is None:
                self._outbox.suppressed(
                    queued.id, at=self._clock.now(), reason="every recipient unsubscribed", run=self._run
                )
                report += DispatchReport(suppressed=1)
                continue
            if message.webhook is not None:
                outcome = self._post_one(queued, message.webhook, endpoints.get(message.webhook.endpoint_id), ends=ends)
            else:
                outcome = self._deliver_one(queued, message, ends=ends)
            if outcome is STAGED:  # counted when its batch settles
                continue
            report += outcome
            rest = claimed[index + 1 :]
            if outcome.out_of_time:  # the deadline came while it was on its way: the rest waits, due now
                self._outbox.defer([q.id for q in rest], at=self._clock.now(), error=None, run=self._run)
                return report + DispatchReport(deferred=len(rest))
            if outcome.unavailable:
                return report + self._put_back(rest, after=queued, reason=outcome.unavailable)
        return report

    def _deliver_one(self, queued: QueuedMessage, message: OutgoingMessage, *, ends: float | None) -> DispatchReport:
        """Deliver one message within what is left before ``ends`` (a ``timer`` instant); whatever goes wrong with
        it is recorded against it alone."""
        now = self._clock.now()
        timeout_seconds = None if ends is None else ends - self._timer()
        recipients = [p.email for p in (*message.to, *message.cc)]
        try:
            raw = self._renderer.render(message, now=now)
        except Exception as exc:
            self._outbox.failed(queued.id, error=f"cannot be rendered: {type(exc).__name__}: {exc}", run=self._run)
            return DispatchReport(failed=1)
        try:
            self._transport.deliver(
                raw, message_key=message.idempotency_key, recipients=recipients, timeout_seconds=timeout_seconds
            )
        except TemporaryDeliveryError as exc:
            cut = ends is not None and self._timer() >= ends  # the deadline, not only the server, cut it short
            return self._temporary(queued, exc, now=now, cut=cut)
        except PermanentDeliveryError as exc:
            not_reached = tuple(r for r in recipients if r not in exc.accepted) if exc.accepted else ()
            self._outbox.failed(
                queued.id, error=exc.detail, only=not_reached, run=self._run
            )  # never twice to those reached
            return DispatchReport(failed=1)
        except Exception as exc:
            self._outbox.failed(
                queued.id, error=f"the transport failed on it: {type(exc).__name__}: {exc}", run=self._run
            )
            return DispatchReport(failed=1)
        if self._transport.settles_later:  # delivered, and recorded sent, once the batch settles
            self._staged.append(queued)
            return STAGED
        self._outbox.sent(queued.id, at=now, run=self._run)
        return DispatchReport(sent=1)

    def _settle(self) -> DispatchReport:
        """Deliver what the transport staged in this batch, then record it all sent in one transaction; when it
        cannot settle, each staged message failed for now (as a write that failed: retried, or held)."""
        staged, self._staged = self._staged, []
        if not staged:
            return DispatchReport()
        now = self._clock.now()
        try:
            self._transport.settle()
        except TemporaryDeliveryError as exc:
            report = DispatchReport()
            for queued in staged:
                report += self._temporary(queued, exc, now=now, cut=False)
            return report
        self._outbox.sent_many([q.id for q in staged], at=now, run=self._run)
        return DispatchReport(sent=len(staged))

    def _post_one(
        self, queued: QueuedMessage, hook: WebhookDelivery, endpoint: WebhookEndpoint | None, *, ends: float | None
    ) -> DispatchReport:
        """POST one outbound event, signed now, within what is left before ``ends``; recorded against it alone."""
        now = self._clock.now()
        if self._webhooks is None or self._endpoints is None:
            self._outbox.failed(queued.id, error="webhook delivery is not set up in this process", run=self._run)
            return DispatchReport(failed=1)
        if endpoint is None or endpoint.disabled:
            reason = f"webhook endpoint {hook.endpoint_id} was removed"
            self._outbox.suppressed(queued.id, at=now, reason=reason, run=self._run)
            return DispatchReport(suppressed=1)
        down = self._endpoints_down.get(endpoint.id)
        if down is not None:  # it failed earlier in this run: the rest of its messages wait with the one that failed
            at, why = down
            self._outbox.defer(
                [queued.id], at=at, error=f"not tried: webhook endpoint {endpoint.id} failed ({why})", run=self._run
            )
            return DispatchReport(deferred=1)
        timeout = self._webhook_timeout if ends is None else min(self._webhook_timeout, ends - self._timer())
        try:
            body = hook.body.encode("utf-8")
            key = queued.message.idempotency_key
            headers = signed_headers(
                endpoint.secret, message_id=webhook_id(key), timestamp=int(self._signing_time()), body=body
            )
            self._webhooks.post(endpoint.url, body=body, headers=headers, timeout_seconds=timeout)
        except TemporaryDeliveryError as exc:
            cut = ends is not None and self._timer() >= ends
            at = now if cut else now + backoff(queued.attempts, cap=self._backoff_cap)
            self._endpoints_down[endpoint.id] = (at, exc.detail)  # one slow or failing endpoint costs a run one try
            return self._temporary(queued, exc, now=now, cut=cut)
        except PermanentDeliveryError as exc:
            self._outbox.failed(queued.id, error=exc.detail, run=self._run)
            return DispatchReport(failed=1)
        except Exception as exc:
            self._outbox.failed(
                queued.id, error=f"the webhook could not be sent: {type(exc).__name__}: {exc}", run=self._run
            )
            return DispatchReport(failed=1)
        self._outbox.sent(queued.id, at=now, run=self._run)
        return DispatchReport(sent=1)

    def _temporary(
        self, queued: QueuedMessage, exc: TemporaryDeliveryError, *, now: datetime, cut: bool
    ) -> DispatchReport:
        unavailable = exc.detail if exc.unavailable else ""
        if self._past_horizon(queued, now=now):
            self._outbox.held(queued.id, error=self._held_because(queued, exc.detail, now=now), run=self._run)
            return DispatchReport(held=1, unavailable=unavailable, out_of_time=cut)
        only = tuple(exc.retry_recipients) if exc.accepted else ()  # never send twice to those reached
        at = now if cut else now + backoff(queued.attempts, cap=self._backoff_cap)
        self._outbox.retry(queued.id, at=at, error=exc.detail, only=only, run=self._run)
        return DispatchReport(retried=1, unavailable=unavailable, out_of_time=cut)

    def _put_back(self, rest: Sequence[QueuedMessage], *, after: QueuedMessage, reason: str) -> DispatchReport:
        """The rest of a batch whose server is unavailable: untried, due when the failed one is retried (or held
        when past the horizon themselves)."""
        now = self._clock.now()
        over = [q for q in rest if self._past_horizon(q, now=now)]
        for queued in over:
            self._outbox.held(queued.id, error=self._held_because(queued, reason, now=now), run=self._run)
        held = {q.id for q in over}
        waiting = [q.id for q in rest if q.id not in held]
        if waiting:
            at = now + backoff(after.attempts, cap=self._backoff_cap)
            self._outbox.defer(
                waiting, at=at, error=f"not tried: the mail server was unavailable ({reason})", run=self._run
            )
        return DispatchReport(held=len(over), deferred=len(waiting))

    def _past_horizon(self, queued: QueuedMessage, *, now: datetime) -> bool:
        return queued.queued_at is not None and now - queued.queued_at >= self._horizon

    def _held_because(self, queued: QueuedMessage, detail: str, *, now: datetime) -> str:
        since = queued.queued_at or now
        return (
            f"held: still failing {_duration(now - since)} after it was queued ({since:%Y-%m-%d %H:%M} UTC),"
            f" past the retry horizon of {_duration(self._horizon)}; last error: {detail}"
            " (it waits for a resend by hand)"
        )


def _duration(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{round(hours / 24, 1):g} days" if hours >= 48 else f"{round(hours, 1):g} hours"


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
