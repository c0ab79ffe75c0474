"""The dispatcher's policy on the in-memory twins, time simulated: backoff capped, a horizon counted from when a
message was queued (not attempts), the rest of a batch put back when the server is unavailable, a deadline of
real time, and whatever one message does wrong failing it alone; the same whether the transport delivers each
message at once (SMTP) or settles a batch later (a Maildir), which is recorded sent only once it settled."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.transports import MaildirTransport, RecordingTransport, TemporaryDeliveryError
from onboarding.adapters.store.memory import InMemoryOutbox, InMemoryProjectStore
from onboarding.core.messages import OutgoingMessage, Person
from onboarding.core.status import WeeklyReader, update_to_compose
from onboarding.services.dispatch import LEASE, Dispatcher, backoff
from onboarding.services.ports import QUIET, Unsent
from tests.adapters.email import samples
from tests.adapters.email.test_transports import RENDERER

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EITHER_WAY = pytest.mark.parametrize("settles_later", [False, True], ids=["at-once", "settled-later"])


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


@EITHER_WAY
def test_temporary_failures_retry_until_the_horizon_then_hold_never_fail(settles_later: bool) -> None:
    _, outbox = queue(1)
    clock = FixedClock(START.date(), at=START)
    transport = RecordingTransport(settles_later=settles_later)
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


@EITHER_WAY
def test_an_unavailable_server_is_tried_once_and_the_rest_of_the_batch_waits_untried(settles_later: bool) -> None:
    _, outbox = queue(30)
    clock = FixedClock(START.date(), at=START)
    transport = RecordingTransport(settles_later=settles_later)
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

    def __init__(self, timer: list[float], *, settles_later: bool) -> None:
        super().__init__(settles_later=settles_later)
        self.timer = timer
        self.given: list[float | None] = []

    def deliver(
        self, raw: bytes, *, message_key: str, recipients: Sequence[str], timeout_seconds: float | None = None
    ) -> None:
        self.given.append(timeout_seconds)
        self.timer[0] += 1.0
        super().deliver(raw, message_key=message_key, recipients=recipients, timeout_seconds=timeout_seconds)


@EITHER_WAY
def test_delivery_keeps_to_its_deadline_and_gives_each_message_only_the_time_left(settles_later: bool) -> None:
    _, outbox = queue(10)
    clock = FixedClock(START.date(), at=START)
    timer = [100.0]
    transport = Ticking(timer, settles_later=settles_later)
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


@EITHER_WAY
def test_a_message_the_renderer_or_the_transport_chokes_on_fails_alone(settles_later: bool) -> None:
    store, outbox = queue(6)
    key = next(iter(store.outbox))
    poisoned: OutgoingMessage = store.outbox[key]
    store.outbox[key] = replace(poisoned, to=(poisoned.to[0]._replace(email="josé@acme.example"),))
    clock = FixedClock(START.date(), at=START)
    transport = Choking(settles_later=settles_later)
    transport.fail_next(kind="permanent")  # refused for good by the server
    transport.fail_next()  # deferred (4xx)
    report = Dispatcher(outbox=outbox, renderer=RENDERER, transport=transport, clock=clock).deliver_due()
    assert (report.sent, report.failed, report.retried) == (2, 3, 1)
    assert states(outbox) == {"sent": 2, "failed": 3, "pending": 1}
    errors = sorted(row["last_error"] for row in outbox.state.values() if row["status"] == "failed")
    assert errors[0].startswith("cannot be rendered: AddressInvalid") and "josé@acme.example" in errors[0]
    assert errors[1] == "permanent failure (test)"
    assert errors[2].startswith("the transport failed on it: RuntimeError")


class Watched(RecordingTransport):
    """Settles later; notes, as each batch settles, what the outbox holds."""

    def __init__(self, outbox: InMemoryOutbox) -> None:
        super().__init__(settles_later=True)
        self.outbox = outbox
        self.seen: list[dict[str, int]] = []

    def settle(self) -> None:
        self.seen.append(states(self.outbox))
        super().settle()


class Counted(InMemoryOutbox):
    """Counts the outbox's writes of sent messages: one for each message, or one for a whole batch."""

    each = 0
    batches: list[int]

    def sent(self, message_id: int, *, at: datetime, run: str) -> None:
        self.each += 1
        super().sent(message_id, at=at, run=run)

    def sent_many(self, message_ids: Sequence[int], *, at: datetime, run: str) -> None:
        self.batches.append(len(message_ids))
        for message_id in message_ids:
            super().sent(message_id, at=at, run=run)


def test_a_batch_is_settled_once_then_recorded_sent_in_one_write() -> None:
    store, _ = queue(25)
    outbox = Counted(store)
    outbox.batches = []
    transport = Watched(outbox)
    clock = FixedClock(START.date(), at=START)
    report = Dispatcher(outbox=outbox, renderer=RENDERER, transport=transport, clock=clock, batch=10).deliver_due()
    assert report.sent == 25 and states(outbox) == {"sent": 25}
    assert transport.settles == 3 and outbox.batches == [10, 10, 5] and outbox.each == 0
    # nothing of a batch is recorded sent before the transport settled it
    assert transport.seen == [
        {"sending": 10, "pending": 15},
        {"sent": 10, "sending": 10, "pending": 5},
        {"sent": 20, "sending": 5},
    ]


def test_a_batch_that_cannot_settle_is_retried_whole_and_delivery_stops() -> None:
    _, outbox = queue(30)
    clock = FixedClock(START.date(), at=START)
    transport = RecordingTransport(settles_later=True)
    transport.fail_settle()
    dispatcher = Dispatcher(outbox=outbox, renderer=RENDERER, transport=transport, clock=clock, batch=10)
    report = dispatcher.deliver_due()
    assert (report.sent, report.retried, report.deferred) == (0, 10, 0)  # each was tried, none delivered
    assert report.unavailable == "cannot flush (test)"  # the folder, not the messages: the next batches wait
    assert transport.keys == [] and states(outbox) == {"pending": 30}
    tried = [row for row in outbox.state.values() if row["attempts"]]
    assert len(tried) == 10 and {row["next_attempt_at"] for row in tried} == {START + timedelta(minutes=1)}
    clock.set(clock.day, at=clock.at + timedelta(minutes=1))
    assert dispatcher.deliver_due().sent == 30
    assert sorted(transport.keys) == sorted(set(transport.keys)) and len(transport.keys) == 30


class Failing(InMemoryOutbox):
    """An outbox whose write of a batch sent fails while ``broken``."""

    broken = True

    def sent_many(self, message_ids: Sequence[int], *, at: datetime, run: str) -> None:
        if self.broken:
            raise RuntimeError("the database went away")
        super().sent_many(message_ids, at=at, run=run)


def test_a_settled_batch_whose_sent_was_not_recorded_is_delivered_again_by_the_next_run(tmp_path: Path) -> None:
    store, _ = queue(5)
    outbox = Failing(store)
    clock = FixedClock(START.date(), at=START)
    maildir = tmp_path / "maildir"
    with pytest.raises(RuntimeError):
        Dispatcher(
            outbox=outbox, renderer=RENDERER, transport=MaildirTransport(maildir, batched=True), clock=clock
        ).deliver_due()
    assert states(outbox) == {"pending": 5}  # the run gave its claims back
    delivered = {entry.name: entry.stat().st_ino for entry in (maildir / "new").iterdir()}
    assert len(delivered) == 5
    outbox.broken = False
    report = Dispatcher(
        outbox=outbox, renderer=RENDERER, transport=MaildirTransport(maildir, batched=True), clock=clock
    ).deliver_due()
    assert report.sent == 5 and states(outbox) == {"sent": 5}
    # delivered again: the Maildir found each by its key and wrote none twice
    assert {entry.name: entry.stat().st_ino for entry in (maildir / "new").iterdir()} == delivered


class ReadingAhead:
    """The test renderer, noting what each batch had read ahead; failing to, when told."""

    def __init__(self, *, failing: bool) -> None:
        self.failing = failing
        self.prepared: list[int] = []

    def render(self, message: OutgoingMessage, *, now: datetime) -> bytes:
        return RENDERER.render(message, now=now)

    def prepare(self, messages: Sequence[OutgoingMessage]) -> None:
        self.prepared.append(len(messages))
        if self.failing and messages:
            raise RuntimeError("the database went away")


@pytest.mark.parametrize("failing", [False, True], ids=["read-ahead", "read-ahead-failed"])
def test_each_batch_is_read_ahead_together_and_a_read_ahead_that_fails_changes_nothing(failing: bool) -> None:
    _, outbox = queue(25)
    renderer = ReadingAhead(failing=failing)
    clock = FixedClock(START.date(), at=START)
    transport = RecordingTransport(settles_later=True)
    report = Dispatcher(outbox=outbox, renderer=renderer, transport=transport, clock=clock, batch=10).deliver_due()
    assert report.sent == 25 and report.failed == 0  # each message rendered by itself when it could not be
    assert renderer.prepared == [10, 10, 5, 0]  # then forgotten when the run ends


class Stalling(RecordingTransport):
    """A server that hangs on the first message past the claim's lease, while another run takes the message over
    and delivers it, then answers "try again later"."""

    def __init__(self, meanwhile: Callable[[], object]) -> None:
        super().__init__()
        self.meanwhile = meanwhile

    def deliver(
        self, raw: bytes, *, message_key: str, recipients: Sequence[str], timeout_seconds: float | None = None
    ) -> None:
        self.meanwhile()
        raise TemporaryDeliveryError("451 try again later (test)", reason="injected-temporary")


def test_a_run_that_lost_its_claim_does_not_put_a_delivered_message_back_in_line() -> None:
    _, outbox = queue(1)
    later = FixedClock(START.date(), at=START + LEASE + timedelta(minutes=1))
    quick = RecordingTransport()
    taking_over = Dispatcher(outbox=outbox, renderer=RENDERER, transport=quick, clock=later)
    reports = []
    slow = Stalling(lambda: reports.append(taking_over.deliver_due()))
    stalled = Dispatcher(outbox=outbox, renderer=RENDERER, transport=slow, clock=FixedClock(START.date(), at=START))
    late = stalled.deliver_due()
    assert [r.sent for r in reports] == [1] and late.retried == 1  # the slow run saw its try fail
    assert states(outbox) == {"sent": 1}  # ... and wrote nothing over the delivery it lost
    later.set(later.day, at=later.at + timedelta(hours=1))
    assert taking_over.deliver_due().sent == 0 and len(quick.delivered) == 1  # delivered once, never again


class Composing:
    """A composer that composes each weekly update as ``outcome`` says: a message, Unsent, or an error raised."""

    def __init__(self) -> None:
        self.outcome: Callable[[OutgoingMessage], OutgoingMessage | Unsent] = lambda m: samples.kickoff_message()
        self.asked: list[list[str]] = []

    def compose(self, messages: Sequence[OutgoingMessage]) -> list[OutgoingMessage | Unsent]:
        self.asked.append([m.idempotency_key for m in messages])
        return [self.outcome(m) for m in messages]


def weekly_updates(count: int) -> tuple[InMemoryProjectStore, InMemoryOutbox]:
    """``count`` weekly updates queued to be composed at delivery, between two messages composed already."""
    store = InMemoryProjectStore()
    reader = WeeklyReader(Person("Kim", "kim@acme.example", "UTC"), "customer_admin", START.date(), START.date())
    updates = [
        update_to_compose(project_id=f"p{n}", customer="Acme", reader=reader, reply_to="Dana <dana@vendor.example>")
        for n in range(count)
    ]
    base = samples.kickoff_message()
    store.queue([replace(base, idempotency_key="before"), *updates, replace(base, idempotency_key="after")], now=START)
    return store, InMemoryOutbox(store)


def test_weekly_updates_are_composed_in_one_call_a_batch_and_a_quiet_one_leaves_the_outbox() -> None:
    store, outbox = weekly_updates(3)
    composer = Composing()
    composer.outcome = lambda m: (
        Unsent("no news", "quiet")
        if m.project_id == "p1"
        else replace(samples.kickoff_message(), idempotency_key=m.idempotency_key)
    )
    transport = RecordingTransport()
    clock = FixedClock(START.date(), at=START)
    report = Dispatcher(
        outbox=outbox, renderer=RENDERER, transport=transport, clock=clock, composer=composer
    ).deliver_due()
    assert (report.sent, report.quiet, report.failed) == (4, 1, 0)
    assert composer.asked == [[f"status:p{n}:kim@acme.example:weekly:{START.date()}" for n in range(3)]]
    assert [k for k in store.outbox if ":p1:" in k] == []  # its key freed: news that week may still send it
    (quiet,) = [row for row in outbox.state.values() if row["status"] == "suppressed"]
    assert store.outbox[f"quiet:{quiet['id']}"].project_id == "p1" and quiet["last_error"] == QUIET
    assert states(outbox) == {"sent": 4, "suppressed": 1}


def test_a_weekly_update_that_cannot_be_composed_fails_alone_and_one_not_composed_now_waits() -> None:
    _, outbox = weekly_updates(2)
    composer = Composing()
    composer.outcome = lambda m: Unsent("its project is gone", "failed")
    clock = FixedClock(START.date(), at=START)
    report = Dispatcher(
        outbox=outbox, renderer=RENDERER, transport=RecordingTransport(), clock=clock, composer=composer
    ).deliver_due()
    assert (report.sent, report.failed) == (2, 2)  # the messages composed already go out
    assert {row["last_error"] for row in outbox.state.values() if row["status"] == "failed"} == {
        "cannot be composed: its project is gone"
    }

    _, outbox = weekly_updates(2)

    def broken(message: OutgoingMessage) -> OutgoingMessage | Unsent:
        raise OSError("database unavailable")

    composer.outcome = broken
    for composing in (composer, None):  # composing failed, or no composer in this process: tried again later
        report = Dispatcher(
            outbox=outbox, renderer=RENDERER, transport=RecordingTransport(), clock=clock, composer=composing
        ).deliver_due()
        assert report.retried == 2 and states(outbox)["pending"] == 2
        assert all(
            "could not be composed" in (row["last_error"] or "")
            for row in outbox.state.values()
            if row["status"] == "pending"
        )
        clock.set(clock.day, at=clock.at + timedelta(hours=1))
