"""Subscribing endpoints: every problem at once, a secret made and shown once, removal kept and idempotent."""

from __future__ import annotations

from datetime import date

import pytest

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryProjectStore, InMemoryWebhookEndpoints
from onboarding.core.webhook_events import new_secret, secret_key
from onboarding.errors import WebhookInvalid, WebhookNotFound
from onboarding.services.webhooks import WebhookService


def webhooks() -> WebhookService:
    return WebhookService(
        endpoints=InMemoryWebhookEndpoints(InMemoryProjectStore()),
        clock=FixedClock(date(2026, 12, 7)),
        random_bytes=lambda n: b"r" * n,
    )


def test_a_subscription_without_a_secret_gets_one_made_once() -> None:
    svc = webhooks()
    added = svc.add(" https://crm.example/hooks ", events=["task.completed", " project.live", "task.completed", ""])
    assert added.secret_made and secret_key(added.endpoint.secret) == b"r" * 32
    assert added.endpoint.url == "https://crm.example/hooks"
    assert added.endpoint.events == ("task.completed", "project.live")
    given = new_secret(b"g" * 24)
    again = svc.add("https://crm.example/other", events=["project.launched"], secret=given)
    assert not again.secret_made and again.endpoint.secret == given
    assert [e.id for e in svc.list()] == [added.endpoint.id, again.endpoint.id]


def test_every_problem_of_a_subscription_at_once() -> None:
    with pytest.raises(WebhookInvalid) as raised:
        webhooks().add("ftp://x", events=["task.complete"], secret="plain")  # noqa: S106
    assert sorted(raised.value.codes) == ["invalid-webhook-secret", "invalid-webhook-url", "unknown-webhook-event"]
    assert "did you mean 'task.completed'?" in str(raised.value)


def test_removing_keeps_the_endpoint_disabled_and_an_unknown_id_is_not_found() -> None:
    svc = webhooks()
    endpoint = svc.add("https://crm.example/hooks", events=["task.stuck"]).endpoint
    assert svc.remove(endpoint.id).disabled
    assert svc.remove(endpoint.id).disabled  # again: nothing changes
    assert svc.list() == [] and [e.id for e in svc.list(include_removed=True)] == [endpoint.id]
    with pytest.raises(WebhookNotFound) as raised:
        svc.remove(42)
    assert raised.value.codes == ["webhook-not-found"]
