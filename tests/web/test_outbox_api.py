"""``/api/v1/outbox``: list with the CLI's filters, show one, resend a failed one (admin, idempotent); auth and
bad input as problem documents."""

from __future__ import annotations

from typing import get_args

import pytest
from fastapi.testclient import TestClient

from onboarding.bootstrap import Application
from onboarding.services.ports import OUTBOX_STATES
from onboarding.web.api.outbox import OutboxState
from tests.services.test_delivery import poison_first_message
from tests.services.test_projects import PAYROLL, PEOPLE
from tests.web.conftest import TODAY, Keys

PROBLEM = "application/problem+json"
KICKOFFS = len(PEOPLE)


@pytest.fixture
def failed(application: Application) -> tuple[int, str]:
    """Two projects' kickoff emails delivered, but the first message, whose address the renderer refuses: failed."""
    for n in range(2):
        application.projects.launch(
            PAYROLL,
            customer=f"Customer {n}",
            kickoff_on=TODAY,
            bindings=PEOPLE,
            pay_schedule="biweekly:2026-01-02",
            external_id=f"CRM-{n}",
            actor="test",
        )
    message_id, project = poison_first_message(application.engine)
    delivered = application.sweep().deliver()
    assert (delivered.sent, delivered.failed) == (2 * KICKOFFS - 1, 1)
    return message_id, project


def test_list_filters_as_the_cli_does(client: TestClient, keys: Keys, failed: tuple[int, str]) -> None:
    message_id, project = failed
    everything = client.get("/api/v1/outbox", headers=keys.read)
    assert everything.status_code == 200
    body = everything.json()
    assert body["total"] == 2 * KICKOFFS and len(body["messages"]) == 2 * KICKOFFS
    assert [m["id"] for m in body["messages"]] == sorted(m["id"] for m in body["messages"])  # oldest first

    only_failed = client.get("/api/v1/outbox", params={"state": "failed"}, headers=keys.read).json()
    assert only_failed["total"] == 1
    (message,) = only_failed["messages"]
    assert message["id"] == message_id and message["state"] == "failed" and message["project"] == project
    assert "cannot be rendered" in message["last_error"]
    assert message["next_attempt_at"] is None and message["kind"] == "kickoff"

    two_states = client.get("/api/v1/outbox", params=[("state", "failed"), ("state", "sent")], headers=keys.read)
    assert two_states.json()["total"] == 2 * KICKOFFS
    by_external_id = client.get("/api/v1/outbox", params={"project": "CRM-1", "limit": 3}, headers=keys.read).json()
    assert by_external_id["total"] == KICKOFFS and len(by_external_id["messages"]) == 3
    assert client.get("/api/v1/outbox", params={"older_than": "3d"}, headers=keys.read).json()["total"] == 0


def test_show_one(client: TestClient, keys: Keys, failed: tuple[int, str]) -> None:
    message_id, _ = failed
    shown = client.get(f"/api/v1/outbox/{message_id}", headers=keys.read)
    assert shown.status_code == 200
    assert shown.json()["state"] == "failed" and "lée@acme.example" in shown.json()["to"]
    missing = client.get("/api/v1/outbox/999999", headers=keys.read)
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert missing.json()["code"] == "message-not-found"
    assert "GET /api/v1/outbox" in missing.json()["problems"][0]["hint"]
    assert "onboarding " not in missing.json()["problems"][0]["hint"]


def test_retry_puts_a_failed_message_back_once(
    application: Application, client: TestClient, keys: Keys, failed: tuple[int, str]
) -> None:
    message_id, _ = failed
    sent_id = next(m.id for m in application.outbox.list(states=("sent",)).entries)
    for key in (keys.read, keys.write):
        refused = client.post(f"/api/v1/outbox/{message_id}/retry", headers=key)
        assert refused.status_code == 403 and refused.json()["code"] == "not-permitted"
    assert client.post(f"/api/v1/outbox/{message_id}/retry").status_code == 401
    assert application.outbox.show(message_id).state == "failed"  # nothing changed by the refused requests

    first = client.post(f"/api/v1/outbox/{message_id}/retry", headers=keys.admin)
    assert first.status_code == 200
    assert first.json()["requeued"] is True and first.json()["message"]["state"] == "pending"
    again = client.post(f"/api/v1/outbox/{message_id}/retry", headers=keys.admin)
    assert again.status_code == 200
    assert again.json()["requeued"] is False and again.json()["message"]["state"] == "pending"

    sent = client.post(f"/api/v1/outbox/{sent_id}/retry", headers=keys.admin)
    assert sent.status_code == 200 and sent.json() == {**sent.json(), "requeued": False}
    assert sent.json()["message"]["state"] == "sent"  # left as it is
    missing = client.post("/api/v1/outbox/999999/retry", headers=keys.admin)
    assert missing.status_code == 404 and missing.json()["code"] == "message-not-found"


def test_retry_every_failed_message_that_matches(
    application: Application, client: TestClient, keys: Keys, failed: tuple[int, str]
) -> None:
    message_id, project = failed
    assert client.post("/api/v1/outbox/retry", headers=keys.write).status_code == 403
    other = client.post("/api/v1/outbox/retry", json={"project": "CRM-1"}, headers=keys.admin)
    assert other.status_code == 200 and other.json() == {"requeued": []}  # CRM-1's emails all went out
    assert client.post("/api/v1/outbox/retry", json={"states": ["held"]}, headers=keys.admin).json() == {"requeued": []}
    every = client.post("/api/v1/outbox/retry", headers=keys.admin)
    assert every.status_code == 200 and every.json() == {"requeued": [message_id]}
    assert application.outbox.show(message_id).state == "pending"
    assert client.post("/api/v1/outbox/retry", json={"project": project}, headers=keys.admin).json() == {
        "requeued": []
    }  # idempotent


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"states": ["sent"]}, "body.states[0]"),
        ({"states": []}, "body.states"),
        ({"older_than": "soon"}, "body.older_than"),
        ({"ids": [1]}, "body.ids"),
    ],
)
def test_a_bad_retry_filter_is_a_problem_and_resends_nothing(
    application: Application, client: TestClient, keys: Keys, failed: tuple[int, str], body: dict[str, object], loc: str
) -> None:
    response = client.post("/api/v1/outbox/retry", json=body, headers=keys.admin)
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert response.json()["problems"][0]["loc"] == loc
    assert application.outbox.show(failed[0]).state == "failed"


def test_listing_needs_a_read_key(client: TestClient, keys: Keys) -> None:
    assert client.get("/api/v1/outbox").status_code == 401
    assert client.get("/api/v1/outbox/1").status_code == 401
    for key in (keys.read, keys.write, keys.admin):
        assert client.get("/api/v1/outbox", headers=key).json() == {"total": 0, "messages": []}


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "loc"),
    [
        ("/api/v1/outbox", {"state": "lost"}, 422, "invalid-request", "query.state[0]"),
        ("/api/v1/outbox", {"older_than": "3 weeks"}, 422, "invalid-request", "query.older_than"),
        ("/api/v1/outbox", {"older_than": "99999999999d"}, 422, "invalid-request", "query.older_than"),
        ("/api/v1/outbox", {"limit": "0"}, 422, "invalid-request", "query.limit"),
        ("/api/v1/outbox", {"project": "CRM-404"}, 404, "project-not-found", None),
        ("/api/v1/outbox/0", {}, 422, "invalid-request", "path.message_id"),
        ("/api/v1/outbox/99999999999999999999", {}, 422, "invalid-request", "path.message_id"),
        ("/api/v1/outbox/abc", {}, 422, "invalid-request", "path.message_id"),
    ],
)
def test_bad_input_is_a_problem(
    client: TestClient, keys: Keys, path: str, params: dict[str, str], status: int, code: str, loc: str | None
) -> None:
    response = client.get(path, params=params, headers=keys.read)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code
    assert response.json()["problems"][0]["loc"] == loc


def test_the_api_knows_every_state_of_the_outbox() -> None:
    assert get_args(OutboxState) == OUTBOX_STATES
