"""Webhook messages are queued by the change that makes their events, in its transaction, on every store."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from onboarding.adapters.store.memory import InMemoryOutbox, InMemoryProjectStore, InMemoryWebhookEndpoints
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sql import SqlProjectStore
from onboarding.adapters.store.webhooks import SqlWebhookEndpoints
from onboarding.core.lifecycle import Action
from onboarding.core.webhook_events import EVENT_TYPES, new_secret
from onboarding.services.ports import ConcurrentChange, OutboxEntry, OutboxQuery, ProjectChange
from tests.services.test_projects import D, FixedClock, launch, service

Store = InMemoryProjectStore | SqlProjectStore
NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)
LATER = datetime(2026, 12, 31, tzinfo=UTC)
SECRET = new_secret(b"s" * 32)


def endpoints_of(store: Store) -> InMemoryWebhookEndpoints | SqlWebhookEndpoints:
    return (
        InMemoryWebhookEndpoints(store)
        if isinstance(store, InMemoryProjectStore)
        else SqlWebhookEndpoints(store.engine)
    )


def hooks(store: Store) -> list[OutboxEntry]:
    outbox = InMemoryOutbox(store) if isinstance(store, InMemoryProjectStore) else SqlOutbox(store.engine)
    entries, _ = outbox.entries(OutboxQuery())
    return [e for e in entries if e.kind == "webhook"]


def test_a_launch_and_a_task_done_queue_one_message_per_subscribed_endpoint(store: Store) -> None:
    endpoints = endpoints_of(store)
    one = endpoints.add(url="https://a.example/hook", events=["project.launched"], secret=SECRET, created_at=NOW)
    two = endpoints.add(url="https://b.example/hook", events=list(EVENT_TYPES), secret=SECRET, created_at=NOW)
    svc = service(store, FixedClock(D("2026-12-07")))
    project = launch(svc, external_id="CRM-1").project
    assert [(e.recipients, e.subject) for e in hooks(store)] == [
        (("https://a.example/hook",), "project.launched: Acme Manufacturing"),
        (("https://b.example/hook",), "project.launched: Acme Manufacturing"),
    ]
    svc.change_task(project.id, "kickoff_call", Action.complete)
    new = hooks(store)[2:]
    assert {e.subject for e in new} == {"task.completed: Acme Manufacturing: Kickoff call"}
    assert [e.recipients for e in new] == [("https://b.example/hook",)]
    assert all(e.project_id == project.id and e.state == "pending" for e in hooks(store))
    assert {e.id for e in endpoints.endpoints()} == {one.id, two.id}


def test_the_message_keeps_the_body_it_will_sign(store: Store) -> None:
    endpoint = endpoints_of(store).add(
        url="https://a.example/hook", events=["project.launched"], secret=SECRET, created_at=NOW
    )
    launch(service(store, FixedClock(D("2026-12-07"))), external_id="CRM-2")
    outbox = InMemoryOutbox(store) if isinstance(store, InMemoryProjectStore) else SqlOutbox(store.engine)
    queued = [q for q in outbox.claim(now=LATER, worker="w", limit=100, lease=LATER - NOW) if q.message.webhook]
    (message,) = [q.message for q in queued]
    assert message.webhook is not None and message.webhook.endpoint_id == endpoint.id
    body = json.loads(message.webhook.body)
    assert body["type"] == "project.launched" and body["data"]["project"]["external_id"] == "CRM-2"


def test_a_change_that_fails_queues_nothing(store: Store) -> None:
    endpoints_of(store).add(url="https://a.example/hook", events=list(EVENT_TYPES), secret=SECRET, created_at=NOW)
    svc = service(store, FixedClock(D("2026-12-07")))
    project = launch(svc).project
    before = len(hooks(store))
    done = svc.change_task(project.id, "kickoff_call", Action.complete)  # the stored version is now 2
    after_done = len(hooks(store))
    assert after_done > before
    stale = replace(project, version=1)
    with pytest.raises(ConcurrentChange):
        store.save_many([ProjectChange(stale, done, [], [])])
    assert len(hooks(store)) == after_done
    launched = svc.events(project.id)[:1]  # a launch event: it would queue project.launched
    with pytest.raises(
        (ConcurrentChange, IntegrityError)
    ):  # the same id twice: the insert fails, the transaction with it
        store.create_many([(project, launched, [])])
    assert len(hooks(store)) == after_done


def test_an_endpoint_gets_nothing_from_before_it_was_added_nor_after_it_was_removed(store: Store) -> None:
    svc = service(store, FixedClock(D("2026-12-07")))
    project = launch(svc).project
    assert hooks(store) == []
    endpoints = endpoints_of(store)
    endpoint = endpoints.add(url="https://a.example/hook", events=list(EVENT_TYPES), secret=SECRET, created_at=NOW)
    svc.change_task(project.id, "kickoff_call", Action.complete)
    assert [e.subject.split(":")[0] for e in hooks(store)] == ["task.completed"]
    removed = endpoints.disable(endpoint.id)
    assert removed is not None and removed.disabled and endpoints.endpoints() == []
    assert endpoints.by_ids([endpoint.id])[endpoint.id].disabled
    svc.change_task(project.id, "sign_off_scope", Action.complete, force=True)
    assert len(hooks(store)) == 1
    assert endpoints.disable(999) is None


def test_no_endpoint_no_webhook_rows_and_emails_as_before(store: Store) -> None:
    svc = service(store, FixedClock(date(2026, 12, 7)))
    launch(svc)
    assert hooks(store) == []
