"""`OutboxService` on the in-memory twin and on SQLite and PostgreSQL: the same answers to list, show and resend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryOutbox, InMemoryProjectStore
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sql import SqlProjectStore
from onboarding.core.messages import Person
from onboarding.errors import MessageNotFound
from onboarding.services.dispatch import LEASE
from onboarding.services.outbox import OutboxService
from tests.adapters.email import samples

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_list_show_and_resend_are_the_same_on_every_store(store: InMemoryProjectStore | SqlProjectStore) -> None:
    base = samples.kickoff_message()
    store.queue([replace(base, idempotency_key=f"k:{n}") for n in range(2)], now=START)
    store.queue([replace(base, idempotency_key=f"k:{n}") for n in range(2, 4)], now=START + timedelta(days=2))
    outbox = InMemoryOutbox(store) if isinstance(store, InMemoryProjectStore) else SqlOutbox(store.engine)
    now = START + timedelta(days=3)
    first, second, third, fourth = outbox.claim(now=now, worker="w", limit=10, lease=LEASE)
    outbox.failed(first.id, error="550 no such user", run="w")
    outbox.held(second.id, error="held: past the horizon", run="w")
    outbox.sent(third.id, at=now, run="w")
    outbox.retry(fourth.id, at=now + timedelta(minutes=1), error="451 later", run="w")
    service = OutboxService(records=outbox, projects=store, clock=FixedClock(now.date(), at=now))

    assert [e.state for e in service.list().entries] == ["failed", "held", "sent", "pending"]
    assert [e.id for e in service.list(states=["failed", "held"]).entries] == [first.id, second.id]
    older = service.list(older_than=timedelta(days=2))
    assert [e.id for e in older.entries] == [first.id, second.id] and older.total == 2
    assert service.list(limit=1).total == 4 and len(service.list(limit=1).entries) == 1
    shown = service.show(first.id)
    assert (shown.state, shown.last_error, shown.queued_at) == ("failed", "550 no such user", START)

    resent = service.retry([first.id, third.id])
    assert resent.requeued == (first.id,) and [e.id for e in resent.left] == [third.id]
    assert service.retry().requeued == (second.id,)
    assert service.retry().requeued == ()
    assert [e.state for e in service.list().entries] == ["pending", "pending", "sent", "pending"]
    # due from when each was queued: the next sweep sends them, even one as of an hour before they were put back
    due = outbox.claim(now=START + timedelta(hours=1), worker="next", limit=10, lease=LEASE)
    assert [m.id for m in due] == [first.id, second.id]
    with pytest.raises(MessageNotFound) as missing:
        service.retry([first.id, 999])
    assert missing.value.codes == ["message-not-found"]
    with pytest.raises(MessageNotFound):
        service.show(999)


def test_an_outcome_is_written_only_by_the_run_that_still_claims_the_message(
    store: InMemoryProjectStore | SqlProjectStore,
) -> None:
    """A run whose claim was taken (its lease ran out) learns late that its try failed: the run that took the
    message over has delivered it, and the late "try again" is not written, so nobody gets it a third time."""
    base = replace(samples.kickoff_message(), cc=(Person("Sam Ortiz", "sam@acme.example", "UTC"),))
    store.queue([replace(base, idempotency_key=f"k:{n}") for n in range(3)], now=START)
    outbox = InMemoryOutbox(store) if isinstance(store, InMemoryProjectStore) else SqlOutbox(store.engine)
    service = OutboxService(records=outbox, projects=store, clock=FixedClock(START.date(), at=START))
    first, second, third = outbox.claim(now=START, worker="slow", limit=3, lease=LEASE)
    later = START + LEASE + timedelta(minutes=1)
    taken = outbox.claim(now=later, worker="quick", limit=3, lease=LEASE)
    assert [q.id for q in taken] == [first.id, second.id, third.id]  # past the lease: taken over
    outbox.sent(first.id, at=later, run="quick")
    outbox.failed(third.id, error="550 no such user", run="quick")

    # the slow run's outcomes, each too late: none is written
    outbox.retry(first.id, at=later, error="451 later", run="slow")
    outbox.failed(first.id, error="550", run="slow")
    outbox.held(first.id, error="held", run="slow")
    outbox.suppressed(first.id, at=later, reason="opted out", run="slow")
    outbox.defer([first.id, second.id], at=later, error="not tried", run="slow")
    outbox.retry(second.id, at=later, error="451 later", run="slow")
    outbox.sent_many([second.id], at=later, run="slow")
    outbox.sent(third.id, at=later, run="slow")
    states = [(e.id, e.state, e.last_error) for e in service.list().entries]
    assert states == [(first.id, "sent", None), (second.id, "sending", None), (third.id, "failed", "550 no such user")]
    assert service.show(first.id).recipients == service.show(second.id).recipients  # nothing narrowed

    # the quick run's own outcome is written
    outbox.retry(second.id, at=later, error="451 later", run="quick")
    assert service.show(second.id).state == "pending"
    # back in the queue unclaimed, what the slow run learned still holds: a retry spares those it reached
    reached = base.to[0].email
    left = [p.email for p in (*base.to, *base.cc) if p.email != reached]
    outbox.retry(second.id, at=later, error="451 try the rest later", run="slow", only=left)
    shown = service.show(second.id)
    assert (shown.state, shown.last_error) == ("pending", "451 try the rest later")
    assert reached not in shown.recipients


def test_queue_counts_the_messages_it_queued_and_queues_a_key_once(
    store: InMemoryProjectStore | SqlProjectStore,
) -> None:
    base = samples.kickoff_message()
    assert store.queue([replace(base, idempotency_key=f"k:{n}") for n in range(3)], now=START) == 3
    assert store.queue([replace(base, idempotency_key=f"k:{n}") for n in range(1, 6)], now=START) == 3
    assert store.queue([replace(base, idempotency_key=f"k:{n}") for n in range(6)], now=START) == 0
    outbox = InMemoryOutbox(store) if isinstance(store, InMemoryProjectStore) else SqlOutbox(store.engine)
    claimed = outbox.claim(now=START, worker="w", limit=10, lease=LEASE)
    assert sorted(q.message.idempotency_key for q in claimed) == [f"k:{n}" for n in range(6)]
