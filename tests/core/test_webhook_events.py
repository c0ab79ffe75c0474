"""Outbound events: the Standard Webhooks signature, which changes make which events, subscriptions' problems."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from onboarding.core.lifecycle import Event, ProjectState, TaskState
from onboarding.core.messages import MessageKind, Person
from onboarding.core.projects import ProjectRecord, TaskRecord
from onboarding.core.webhook_events import (
    EVENT_TYPES,
    WebhookEndpoint,
    new_secret,
    outbound_events,
    secret_key,
    sign,
    signed_headers,
    subscription_problems,
    verify,
    webhook_id,
    webhook_messages,
)

D = date.fromisoformat
AT = datetime(2026, 12, 14, 15, 30, tzinfo=UTC)
LATER = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)

# -- signing ------------------------------------------------------------------------------------------------------

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - the spec's published example
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_is_the_standard_webhooks_example() -> None:
    assert sign(SPEC_SECRET, message_id=SPEC_ID, timestamp=SPEC_TIMESTAMP, body=SPEC_BODY) == SPEC_SIGNATURE
    assert signed_headers(SPEC_SECRET, message_id=SPEC_ID, timestamp=SPEC_TIMESTAMP, body=SPEC_BODY) == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": SPEC_SIGNATURE,
    }


def test_verify_takes_any_of_several_signatures_and_refuses_a_changed_body() -> None:
    other = "v1," + base64.b64encode(b"x" * 32).decode()
    both = f"{other} {SPEC_SIGNATURE}"
    assert verify(SPEC_SECRET, message_id=SPEC_ID, timestamp=SPEC_TIMESTAMP, body=SPEC_BODY, signatures=both)
    changed, good = b'{"test": 2432232315}', SPEC_SIGNATURE
    assert not verify(SPEC_SECRET, message_id=SPEC_ID, timestamp=SPEC_TIMESTAMP, body=changed, signatures=good)
    assert not verify(
        SPEC_SECRET, message_id=SPEC_ID, timestamp=SPEC_TIMESTAMP + 1, body=SPEC_BODY, signatures=SPEC_SIGNATURE
    )


def test_a_new_secret_is_whsec_and_the_base64_of_its_bytes_and_signs_like_hmac_sha256() -> None:
    secret = new_secret(bytes(range(32)))
    assert secret.startswith("whsec_") and secret_key(secret) == bytes(range(32))
    digest = hmac.new(bytes(range(32)), b"msg_1.5.{}", hashlib.sha256).digest()
    assert sign(secret, message_id="msg_1", timestamp=5, body=b"{}") == "v1," + base64.b64encode(digest).decode()


@pytest.mark.parametrize(
    "secret",
    ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode(), "whsec_"],
)
def test_what_is_not_a_secret(secret: str) -> None:
    assert secret_key(secret) is None
    with pytest.raises(ValueError, match="whsec_"):
        sign(secret, message_id="msg_1", timestamp=1, body=b"")


def test_the_webhook_id_is_the_same_for_the_same_message_and_differs_between_messages() -> None:
    assert webhook_id("webhook:1:p:task.completed") == webhook_id("webhook:1:p:task.completed")
    assert webhook_id("webhook:1:p:task.completed") != webhook_id("webhook:2:p:task.completed")
    assert webhook_id("k").startswith("msg_")


# -- which changes make which events ---------------------------------------------------------------------------


def task(key: str, milestone: str, **more: object) -> TaskRecord:
    fields: dict[str, object] = {
        "key": key,
        "position": 0,
        "title": key.title(),
        "milestone_key": milestone,
        "milestone_title": milestone.title(),
        "owner_role": "csm",
        "side": "vendor",
        "calendar": "vendor",
        "kind": "human",
        "duration_business_days": 1,
        "customer_visible": True,
        "first_value": False,
        "launch": False,
        "state": TaskState.pending,
        "started_on": None,
        "done_on": None,
        "start_on": D("2026-12-07"),
        "due_on": D("2026-12-07"),
        "target_due_on": D("2026-12-07"),
        "late_due_on": D("2026-12-07"),
        "slack_business_days": 0,
        "critical": True,
        **more,
    }
    return TaskRecord(**fields)  # type: ignore[arg-type]


PROJECT = ProjectRecord(
    id="acme-1a2b3c",
    external_id="deal-42",
    customer="Acme",
    segment="mid",
    blueprint_key="payroll",
    blueprint_version="1.0",
    blueprint_title="Payroll",
    blueprint_source="payroll.yaml",
    blueprint_text="",
    kickoff_on=D("2026-12-07"),
    pay_schedule=None,
    state=ProjectState.active,
    committed_go_live_on=D("2027-01-15"),
    projected_go_live_on=D("2027-01-15"),
    finish_on=D("2027-01-29"),
    bindings={"csm": Person("Dana Ruiz", "dana@vendor.example")},
    tasks=(
        task("kickoff", "start"),
        task("import", "migration"),
        task("verify", "migration"),
        task("go", "launch", launch=True, due_on=D("2027-01-15")),
    ),
    created_at=AT,
    updated_at=AT,
)


def done(project: ProjectRecord, *keys: str, on: str = "2026-12-14") -> ProjectRecord:
    tasks = tuple(
        t._replace(state=TaskState.done, started_on=D(on), done_on=D(on)) if t.key in keys else t for t in project.tasks
    )
    return replace(project, tasks=tasks, updated_at=LATER)


def completed(key: str, at: datetime = LATER) -> Event:
    return Event("task_completed", at, "dana", key, {"from": "pending", "to": "done", "on": "2026-12-14"})


def types(before: ProjectRecord | None, after: ProjectRecord, new_events: list[Event]) -> list[str]:
    return [e.type for e in outbound_events(before, after, new_events)]


def test_a_launch_is_project_launched_with_the_project_and_nothing_read_from_a_state_before() -> None:
    (event,) = outbound_events(None, PROJECT, [Event("project_launched", AT, "crm", None, {"blueprint": "payroll"})])
    assert event.type == "project.launched"
    assert event.payload() == {
        "type": "project.launched",
        "timestamp": "2026-12-14T15:30:00Z",
        "data": {
            "project": {
                "id": "acme-1a2b3c",
                "external_id": "deal-42",
                "customer": "Acme",
                "segment": "mid",
                "blueprint": "payroll",
                "blueprint_version": "1.0",
                "state": "active",
                "kickoff_on": "2026-12-07",
                "committed_go_live_on": "2027-01-15",
                "projected_go_live_on": "2027-01-15",
            },
            "actor": "crm",
        },
    }


def test_a_task_done_is_task_completed_and_the_last_of_its_milestone_also_milestone_completed() -> None:
    one = done(PROJECT, "import")
    assert types(PROJECT, one, [completed("import")]) == ["task.completed"]
    both = done(one, "verify", on="2026-12-15")
    events = outbound_events(one, both, [completed("verify")])
    assert [e.type for e in events] == ["task.completed", "milestone.completed"]
    task_data, milestone_data = events[0].data, events[1].data
    assert task_data["task"]["key"] == "verify" and task_data["task"]["done_on"] == "2026-12-15"
    assert milestone_data["milestone"] == {
        "key": "migration",
        "title": "Migration",
        "done_on": "2026-12-15",
        "tasks": ["import", "verify"],
    }
    assert events[1].about == "Acme: Migration"


def test_a_milestone_finished_by_a_skip_is_completed_but_a_skipped_task_is_not_task_completed() -> None:
    one = done(PROJECT, "import")
    skipped = replace(
        one, tasks=tuple(t._replace(state=TaskState.skipped) if t.key == "verify" else t for t in one.tasks)
    )
    assert types(one, skipped, [Event("task_skipped", LATER, "dana", "verify", {})]) == ["milestone.completed"]


def test_a_blocked_task_is_task_stuck_with_its_reason() -> None:
    blocked = replace(
        PROJECT, tasks=tuple(t._replace(state=TaskState.blocked) if t.key == "import" else t for t in PROJECT.tasks)
    )
    (event,) = outbound_events(
        PROJECT, blocked, [Event("task_blocked", LATER, "dana", "import", {"reason": "no census file"})]
    )
    assert event.type == "task.stuck" and event.data["reason"] == "no census file"
    assert event.data["task"]["state"] == "blocked"


def test_a_moved_go_live_is_go_live_changed_and_a_jump_also_window_jumped() -> None:
    moved = replace(PROJECT, projected_go_live_on=D("2027-01-29"), updated_at=LATER)
    jump = Event(
        "window_jump",
        LATER,
        "engine",
        None,
        {"committed_on": "2027-01-15", "from": "2027-01-15", "to": "2027-01-29", "causes": [{"task": "import"}]},
    )
    events = outbound_events(PROJECT, moved, [Event("plan_reforecast", LATER, "engine", None, {}), jump])
    assert [e.type for e in events] == ["window.jumped", "go_live.changed"]
    assert events[0].data["window"]["to"] == "2027-01-29"
    assert events[1].data["go_live"] == {"from": "2027-01-15", "to": "2027-01-29", "committed_on": "2027-01-15"}
    assert types(PROJECT, replace(PROJECT, updated_at=LATER), []) == []


def test_the_go_live_task_done_is_project_live_once() -> None:
    live = done(PROJECT, "kickoff", "import", "verify", "go", on="2027-01-15")
    live = replace(live, state=ProjectState.completed)
    events = outbound_events(done(PROJECT, "kickoff", "import", "verify"), live, [completed("go")])
    assert [e.type for e in events] == ["task.completed", "milestone.completed", "project.live"]
    assert events[2].data["live_on"] == "2027-01-15"
    assert "project.live" not in types(live, live, [Event("note", LATER, "dana", None, {})])


def test_a_cancel_is_project_cancelled_by_its_event_name() -> None:
    cancelled = replace(PROJECT, updated_at=LATER)
    (event,) = outbound_events(PROJECT, cancelled, [Event("cancelled", LATER, "dana", None, {"reason": "churned"})])
    assert event.type == "project.cancelled" and event.data["reason"] == "churned"


def test_events_that_are_no_outbound_event_make_none() -> None:
    kinds = ["task_started", "task_unblocked", "task_reopened", "project_held", "project_resumed", "unsubscribed"]
    assert types(PROJECT, replace(PROJECT, updated_at=LATER), [Event(k, LATER, "x", None, {}) for k in kinds]) == []


def test_the_same_type_for_the_same_task_at_another_instant_has_another_key() -> None:
    first = outbound_events(PROJECT, done(PROJECT, "import"), [completed("import")])[0]
    again = outbound_events(PROJECT, done(PROJECT, "import"), [completed("import", at=AT)])[0]
    assert first.key != again.key


# -- messages per endpoint -------------------------------------------------------------------------------------


def endpoint(endpoint_id: int, *events: str, disabled: bool = False) -> WebhookEndpoint:
    return WebhookEndpoint(
        endpoint_id, f"https://hooks.example/{endpoint_id}", events, new_secret(b"k" * 32), AT, disabled=disabled
    )


def test_one_message_per_subscribed_endpoint_and_event_with_the_exact_body() -> None:
    events = outbound_events(done(PROJECT, "import"), done(PROJECT, "import", "verify"), [completed("verify")])
    endpoints = [
        endpoint(1, "task.completed"),
        endpoint(2, "task.completed", "milestone.completed"),
        endpoint(3, *EVENT_TYPES, disabled=True),
        endpoint(4, "project.launched"),
    ]
    messages = webhook_messages(PROJECT, events, endpoints)
    assert [(m.webhook.endpoint_id, json.loads(m.webhook.body)["type"]) for m in messages if m.webhook] == [
        (1, "task.completed"),
        (2, "task.completed"),
        (2, "milestone.completed"),
    ]
    first = messages[0]
    assert first.kind is MessageKind.webhook and not first.customer_facing and first.project_id == PROJECT.id
    assert first.to[0].email == "https://hooks.example/1" and first.subject == "task.completed: Acme: Verify"
    assert first.webhook is not None and json.loads(first.webhook.body) == events[0].payload()
    assert len({m.idempotency_key for m in messages}) == 3


# -- subscriptions -----------------------------------------------------------------------------------------------


def codes(url: str, events: list[str], secret: str | None = None) -> list[str]:
    return [p.code for p in subscription_problems(url, events, secret=secret)]


def test_a_good_subscription_has_no_problem() -> None:
    assert codes("https://crm.example.com/hooks?x=1", ["task.completed"], new_secret(b"s" * 24)) == []
    assert codes("http://127.0.0.1:8080/hook", list(EVENT_TYPES)) == []


@pytest.mark.parametrize(
    "url", ["ftp://x.example/hook", "hooks.example.com/x", "https://", "javascript:alert(1)", "https://u:p@x.example/"]
)
def test_only_http_and_https_urls_with_a_host(url: str) -> None:
    assert codes(url, ["task.completed"]) == ["invalid-webhook-url"]


def test_unknown_event_types_are_named_with_the_closest_and_all_problems_come_at_once() -> None:
    problems = subscription_problems("ftp://x", ["task.complete", "project.live", "zzz"], secret="nope")  # noqa: S106
    assert [p.code for p in problems] == [
        "invalid-webhook-url",
        "unknown-webhook-event",
        "unknown-webhook-event",
        "invalid-webhook-secret",
    ]
    assert problems[1].hint == "did you mean 'task.completed'?" and problems[1].loc == ("events", 0)
    assert "project.launched" in (problems[2].hint or "")
    assert codes("https://x.example", []) == ["no-webhook-events"]
