"""Customer link keys read together for a batch of emails are the keys read one at a time, on every store."""

from __future__ import annotations

from datetime import UTC, datetime

from onboarding.adapters.store.customer_links import SqlCustomerLinkKeys
from onboarding.adapters.store.memory import InMemoryCustomerLinkKeys, InMemoryProjectStore
from onboarding.adapters.store.sql import SqlProjectStore
from tests.services.test_projects import D, FixedClock, launch, service

NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)


def test_keys_read_together_are_those_read_one_at_a_time_and_missing_ones_are_made(
    store: InMemoryProjectStore | SqlProjectStore,
) -> None:
    svc = service(store, FixedClock(D("2026-12-01")))
    first, second, third = (launch(svc, external_id=f"CRM-{n}").project.id for n in range(3))
    keys = InMemoryCustomerLinkKeys() if isinstance(store, InMemoryProjectStore) else SqlCustomerLinkKeys(store.engine)
    made = keys.ensure_link_key(first, now=NOW)
    together = keys.ensure_link_keys([first, second, second], now=NOW)  # the second's is made on the way
    assert together == {first: made, second: keys.ensure_link_key(second, now=NOW)}
    assert keys.link_key(third) is None and keys.ensure_link_keys([], now=NOW) == {}
    rotated = keys.rotate_link_key(first, now=NOW)
    assert keys.ensure_link_keys([third, first], now=NOW) == {third: keys.link_key(third), first: rotated}
    assert rotated.generation == 2
