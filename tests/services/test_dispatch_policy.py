"""The dispatcher's policy on the in-memory twins, time simulated: backoff capped, a horizon counted from when a
message was queued (not attempts), the rest of a batch put back when the server is unavailable, a deadline of
real time, and whatever one message does wrong failing it alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.transports import RecordingTransport
from onboarding.adapters.store.memory import InMemoryOutbox, InMemoryProjectStore
from onboarding.core.messages import OutgoingMessage
from onboarding.services.dispatch import Dispatcher, backoff
from tests.adapters.email import samples
from tests.adapters.email.test_transports import RENDERER

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def queue(count: int) -> tuple[InMemoryProjectStore, InMemoryOutbox]:
    store = InMemoryProjectStore()
    base = samples.kickoff_message()
    store.queue([replace(base, idempotency_key=f"{base.idempotency_key}:{n}") for n in range(count)], now=START)
    return store, InMemoryOutbox(store)


def states(outbox: InMemoryOutbox) -> dict[str, int]:
    return outbox.counts()


def test_backoff_doubles_from_a_minute_and_stops_at_its_cap() -> None:
    assert [backoff(n) for n in (1, 2, 3, 7)] == [timedelta(minutes=m) for m in (1, 2, 4, 60)]
    assert backoff(10_000) == timedelta(hours=1)  # no overflow however long an outage lasts
    assert backoff(5, cap=timedelta(minutes=10)) == timedelta(minutes=10)


def test_temporary_failures_retry_until_the_horizon_then_hold_never_fail() -> None:
    _, outbox = queue(1)
    clock = FixedClock(START.date(), at=START)
    transport = RecordingTransport()
    dispatcher = Dispatcher(outbox=outbox, renderer=RENDERER, transport=transport, clock=clock)
    tries = 0
    while clock.at < START + timedelta(hours=71, minutes=59):  # every 15 minutes, almost three days
        transport.fail_next()
        tries += dispatcher.deliver_due().retried
        assert states(outbox) == {"pending": 1}
        clock.set(clock.at.date(), at=clock.at + timedelta(minutes=15))
    assert tries > 8  # the old limit of 8 attempts would have failed it within hours
    clock.set(clock.at.date(), at=START + timedelta(hours=72, minutes=30))
    transport.fail_next()
    report = dispatcher.deliver_due()
    assert (report.held, report.failed) == (1, 0)
    assert states(outbox) == {"held": 1}
    (row,) = outbox.state.values()
    assert "past the retry horizon of 3 days" in row["last_error"]


def test_an_unavailable_server_is_tried_once_and_the_rest_of_the_batch_waits_untried() -> None:
    _, outbox = queue(30)
    clock = FixedClock(START.date(), at=START)
    transport = RecordingTransport()
    transport.fail_next(kind="unavailable")
    report = Dispatcher(outbox=outbox, renderer=RENDERER, transport=transport, clock=clock, batch=10).deliver_due()
    assert transport.attempts == 1 and transport.closed == 1
    assert (report.retried, report.deferred, report.sent) == (1, 9, 0)  # the next batches are not even claimed
    assert report.unavailable == "server unavailable (test)"
    assert all(row["attempts"] <= 1 for row in outbox.state.values())  # untried messages count no attempt
    clock.set(clock.day, at=clock.at + timedelta(minutes=1))
    assert Dispatcher(outbox=outbox, renderer=RENDERER, transport=transport, clock=clock).deliver_due().sent == 30


class Ticking(RecordingTransport):
    """Each delivery takes a second of the fake timer; records the time each was given."""

    def __init__(self, timer: list[float]) -> None:
        super().__init__()
        self.timer = timer
        self.given: list[float | None] = []

    def deliver(
        self, raw: bytes, *, message_key: str, recipients: Sequence[str], timeout_seconds: float | None = None
    ) -> None:
        self.given.append(timeout_seconds)
        self.timer[0] += 1.0
        super().deliver(raw, message_key=message_key, recipients=recipients, timeout_seconds=timeout_seconds)


def test_delivery_keeps_to_its_deadline_and_gives_each_message_only_the_time_left() -> None:
    _, outbox = queue(10)
    clock = FixedClock(START.date(), at=START)
    timer = [100.0]
    transport = Ticking(timer)
    dispatcher = Dispatcher(
        outbox=outbox,
        renderer=RENDERER,
        transport=transport,
        clock=clock,
        deadline_seconds=3.5,
        timer=lambda: timer[0],
    )
    report = dispatcher.deliver_due()
    assert (report.sent, report.deferred, report.out_of_time) == (4, 6, True)
    assert transport.given == [3.5, 2.5, 1.5, 0.5]
    assert states(outbox) == {"sent": 4, "pending": 6}
    assert dispatcher.deliver_due().sent == 4  # due at once: the next run goes on where this one stopped


class Choking(RecordingTransport):
    def deliver(
        self, raw: bytes, *, message_key: str, recipients: Sequence[str], timeout_seconds: float | None = None
    ) -> None:
        if message_key.endswith(":3"):
            raise RuntimeError("the transport cannot cope with this one")
        super().deliver(raw, message_key=message_key, recipients=recipients)


def test_a_message_the_renderer_or_the_transport_chokes_on_fails_alone() -> None:
    store, outbox = queue(6)
    key = next(iter(store.outbox))
    poisoned: OutgoingMessage = store.outbox[key]
    store.outbox[key] = replace(poisoned, to=(poisoned.to[0]._replace(email="josé@acme.example"),))
    clock = FixedClock(START.date(), at=START)
    report = Dispatcher(outbox=outbox, renderer=RENDERER, transport=Choking(), clock=clock).deliver_due()
    assert (report.sent, report.failed) == (4, 2)
    errors = sorted(row["last_error"] for row in outbox.state.values() if row["status"] == "failed")
    assert errors[0].startswith("cannot be rendered: AddressInvalid") and "josé@acme.example" in errors[0]
    assert errors[1].startswith("the transport failed on it: RuntimeError")
