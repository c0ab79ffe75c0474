"""`OutboxService` on the in-memory twin and on SQLite and PostgreSQL: the same answers to list, show and resend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryOutbox, InMemoryProjectStore
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sql import SqlProjectStore
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
    outbox.failed(first.id, error="550 no such user")
    outbox.held(second.id, error="held: past the horizon")
    outbox.sent(third.id, at=now)
    outbox.retry(fourth.id, at=now + timedelta(minutes=1), error="451 later")
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
    with pytest.raises(MessageNotFound) as missing:
        service.retry([first.id, 999])
    assert missing.value.codes == ["message-not-found"]
    with pytest.raises(MessageNotFound):
        service.show(999)
