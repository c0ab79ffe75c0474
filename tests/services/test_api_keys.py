"""API keys as a request sees them: a key found valid is remembered for a second, never longer, and never a refusal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.keys import InMemoryApiKeyStore
from onboarding.errors import NotAuthenticated, NotPermitted
from onboarding.services.keys import RECHECK_SECONDS, ApiKey, ApiKeyService, Scope


class Stopwatch:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


class CountingStore(InMemoryApiKeyStore):
    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def by_hash(self, key_hash: str) -> ApiKey | None:
        self.lookups += 1
        return super().by_hash(key_hash)


@pytest.fixture
def parts() -> tuple[CountingStore, Stopwatch, ApiKeyService, ApiKeyService]:
    """One store, and two services on it: this process's and another process's (the CLI that revokes)."""
    store, watch = CountingStore(), Stopwatch()
    clock = FixedClock(datetime(2026, 12, 7, 9, tzinfo=UTC))
    return (
        store,
        watch,
        ApiKeyService(store=store, clock=clock, monotonic=watch),
        ApiKeyService(store=store, clock=clock),
    )


def test_a_valid_key_costs_the_store_one_look_up_a_second(
    parts: tuple[CountingStore, Stopwatch, ApiKeyService, ApiKeyService],
) -> None:
    store, watch, server, _cli = parts
    secret = server.create("crm", scope=Scope.write).secret
    for _ in range(50):
        assert server.authenticate(secret, needs=Scope.read).name == "crm"
        watch.seconds += 0.01
    assert store.lookups == 1
    watch.seconds += RECHECK_SECONDS
    server.authenticate(secret, needs=Scope.write)
    assert store.lookups == 2


def test_a_key_revoked_elsewhere_is_refused_within_the_second(
    parts: tuple[CountingStore, Stopwatch, ApiKeyService, ApiKeyService],
) -> None:
    _store, watch, server, cli = parts
    secret = server.create("crm", scope=Scope.write).secret
    server.authenticate(secret, needs=Scope.write)
    cli.revoke("crm")
    watch.seconds += RECHECK_SECONDS - 0.001
    assert server.remembered(secret, needs=Scope.write) is not None  # still inside the second
    watch.seconds += 0.001
    assert server.remembered(secret, needs=Scope.write) is None
    with pytest.raises(NotAuthenticated, match="revoked"):
        server.authenticate(secret, needs=Scope.write)


def test_a_key_revoked_here_is_refused_at_once(
    parts: tuple[CountingStore, Stopwatch, ApiKeyService, ApiKeyService],
) -> None:
    _store, _watch, server, _cli = parts
    secret = server.create("crm", scope=Scope.write).secret
    server.authenticate(secret, needs=Scope.write)
    server.revoke("crm")
    with pytest.raises(NotAuthenticated, match="revoked"):
        server.authenticate(secret, needs=Scope.write)


def test_refusals_are_never_remembered(parts: tuple[CountingStore, Stopwatch, ApiKeyService, ApiKeyService]) -> None:
    store, _watch, server, _cli = parts
    reader = server.create("reader", scope=Scope.read).secret
    with pytest.raises(NotPermitted):
        server.authenticate(reader, needs=Scope.write)  # the key is valid; its scope is not enough, every time
    with pytest.raises(NotPermitted):
        server.authenticate(reader, needs=Scope.write)
    altered = reader[:-1] + ("A" if reader[-1] != "A" else "B")
    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            server.authenticate(altered, needs=Scope.read)
    assert server.remembered(altered, needs=Scope.read) is None
    before = store.lookups
    with pytest.raises(NotAuthenticated):
        server.authenticate("onb_" + "x" * 43, needs=Scope.read)
    assert store.lookups == before + 1
