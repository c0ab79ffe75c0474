"""Cancel, recommit, rebind, note and the event history over HTTP, on SQLite and PostgreSQL: auth, bad input,
stale changes, and that a refused request changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from onboarding.adapters.clock import FixedClock
from onboarding.bootstrap import Application
from onboarding.core.lifecycle import Action
from tests.services.test_projects import PAYROLL, PEOPLE, D
from tests.web.conftest import Keys

PROBLEM = "application/problem+json"


def launched(application: Application, external_id: str = "CRM-1") -> str:
    return application.projects.launch(
        PAYROLL,
        customer="Acme Manufacturing",
        kickoff_on=D("2026-12-07"),
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02",
        external_id=external_id,
    ).project.id


def test_cancel_by_external_id_records_the_key_as_actor(
    client: TestClient, application: Application, keys: Keys
) -> None:
    pid = launched(application)
    response = client.post("/api/v1/projects/CRM-1/cancel", json={"reason": "Deal lost"}, headers=keys.write)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["state"], body["version"]) == (pid, "cancelled", 2)
    event = application.projects.events(pid)[-1]
    assert (event.kind, event.actor, event.data["reason"]) == ("cancelled", "write-key", "Deal lost")
    again = client.post(f"/api/v1/projects/{pid}/cancel", json={"reason": "again"}, headers=keys.write)
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert again.json()["code"] == "project-cancelled"


def test_changes_need_a_write_key_and_the_history_a_read_key(
    client: TestClient, application: Application, keys: Keys
) -> None:
    pid = launched(application)
    assert client.post(f"/api/v1/projects/{pid}/cancel", json={"reason": "x"}).status_code == 401
    refused = client.post(f"/api/v1/projects/{pid}/notes", json={"text": "x"}, headers=keys.read)
    assert refused.status_code == 403 and refused.json()["code"] == "not-permitted"
    assert client.get(f"/api/v1/projects/{pid}/events").status_code == 401
    assert client.get(f"/api/v1/projects/{pid}/events", headers=keys.read).status_code == 200
    assert [e.kind for e in application.projects.events(pid)] == ["project_launched"]


def test_bad_input_is_a_coded_problem_and_changes_nothing(
    client: TestClient, application: Application, keys: Keys
) -> None:
    pid = launched(application)
    cases = [
        ("post", "/api/v1/projects/nope/cancel", {"reason": "x"}, 404, "project-not-found"),
        ("post", f"/api/v1/projects/{pid}/cancel", {}, 422, "invalid-request"),
        ("post", f"/api/v1/projects/{pid}/cancel", {"reason": "  "}, 409, "reason-required"),
        ("post", f"/api/v1/projects/{pid}/cancel", {"reason": "x", "on": "2026-12-08"}, 409, "date-in-future"),
        ("post", f"/api/v1/projects/{pid}/cancel", {"reason": "x", "extra": 1}, 422, "invalid-request"),
        ("post", f"/api/v1/projects/{pid}/recommit", {"reason": "x"}, 409, "nothing-to-recommit"),
        ("put", f"/api/v1/projects/{pid}/bindings/cms", {"name": "Jo", "email": "jo@x.example"}, 422, "unknown-role"),
        ("put", f"/api/v1/projects/{pid}/bindings/csm", {"name": "Jo", "email": "jo at x"}, 422, "invalid-address"),
        ("post", f"/api/v1/projects/{pid}/notes", {"text": ""}, 422, "empty-note"),
        ("post", f"/api/v1/projects/{pid}/notes", {"text": "x" * 2001}, 422, "text-too-long"),
        ("post", f"/api/v1/projects/{pid}/notes", {"text": "x", "task": "kickof_call"}, 422, "unknown-task"),
    ]
    for method, path, body, status, code in cases:
        response = client.request(method, path, json=body, headers=keys.write)
        assert (response.status_code, response.json()["code"]) == (status, code), (path, body, response.text)
        assert response.headers["content-type"] == PROBLEM
    unknown_role = client.put(
        f"/api/v1/projects/{pid}/bindings/cms", json={"name": "Jo", "email": "jo@x.example"}, headers=keys.write
    )
    assert "did you mean 'csm'?" in unknown_role.json()["problems"][0]["hint"]
    project = application.projects.get(pid)
    assert project.version == 1 and [e.kind for e in application.projects.events(pid)] == ["project_launched"]


def test_rebind_and_notes_then_the_history_filtered_and_paged(
    client: TestClient, application: Application, keys: Keys
) -> None:
    pid = launched(application)
    rebound = client.put(
        f"/api/v1/projects/{pid}/bindings/csm",
        json={"name": "Jo Smith", "email": "jo@vendor.example", "time_zone": "Europe/Berlin", "note": "Dana left"},
        headers=keys.write,
    )
    assert rebound.status_code == 200, rebound.text
    jo = {"name": "Jo Smith", "email": "jo@vendor.example", "time_zone": "Europe/Berlin"}
    assert rebound.json()["bindings"]["csm"] == jo
    assert application.projects.get(pid).bindings["csm"].email == "jo@vendor.example"
    note = client.post(f"/api/v1/projects/{pid}/notes", json={"text": "Kickoff went well"}, headers=keys.write)
    assert note.status_code == 201
    assert note.json()["kind"] == "noted" and note.json()["actor"] == "write-key" and note.json()["seq"] == 3
    application.projects.change_task(pid, "kickoff_call", Action.complete, by="dana")
    client.post(f"/api/v1/projects/{pid}/notes", json={"text": "On time", "task": "kickoff_call"}, headers=keys.write)

    def page(**query: object) -> dict:  # type: ignore[type-arg]
        response = client.get(f"/api/v1/projects/{pid}/events", params=query, headers=keys.read)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    everything = page()
    assert [e["kind"] for e in everything["events"]][:3] == ["project_launched", "rebound", "noted"]
    assert everything["total"] == len(everything["events"]) and everything["next_after"] is None
    notes = page(kind="noted", order="newest")
    assert [e["data"]["text"] for e in notes["events"]] == ["On time", "Kickoff went well"]
    assert [e["kind"] for e in page(task="kickoff_call")["events"]] == ["task_completed", "noted"]
    mine = page(kind=["rebound", "noted"], by="write-key")["events"]
    assert [e["kind"] for e in mine] == ["rebound", "noted", "noted"]
    assert page(since="2026-12-08")["events"] == []
    first = page(limit=2)
    assert [e["seq"] for e in first["events"]] == [1, 2] and first["next_after"] == 2
    rest = page(limit=2, after=first["next_after"])
    assert [e["seq"] for e in rest["events"]] == [3, 4]
    bad = client.get(f"/api/v1/projects/{pid}/events", params={"kind": "notes"}, headers=keys.read)
    assert bad.status_code == 422 and bad.json()["code"] == "unknown-event-kind"
    assert "'noted'" in bad.json()["problems"][0]["hint"]
    assert client.get(f"/api/v1/projects/{pid}/events", params={"limit": 0}, headers=keys.read).status_code == 422


def test_recommit_over_http(client: TestClient, application: Application, keys: Keys) -> None:
    pid = launched(application)
    for key in ("kickoff_call", "sign_off_scope", "notify_old_provider"):
        application.projects.change_task(pid, key, Action.complete)
    application.projects.change_task(pid, "employer_bank_verification", Action.start)
    application.projects._clock = _clock("2027-03-29")  # type: ignore[attr-defined]
    moved = application.projects.reforecast(pid)
    response = client.post(f"/api/v1/projects/{pid}/recommit", json={"reason": "bank slow"}, headers=keys.write)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["committed_go_live_on"] == moved.projected_go_live_on.isoformat()  # type: ignore[union-attr]
    assert body["launch_committed_go_live_on"] == "2027-04-09" and body["recommits"] == 1


def test_a_change_decided_on_a_stale_version_is_409_and_writes_nothing(
    client: TestClient, application: Application, keys: Keys
) -> None:
    pid = launched(application)
    seen = client.post(f"/api/v1/projects/{pid}/notes", json={"text": "mine", "version": 1}, headers=keys.write)
    assert seen.status_code == 201
    # another client, which read version 1 too, cancels: refused, the project stays as the note left it
    stale = client.post(f"/api/v1/projects/{pid}/cancel", json={"reason": "lost", "version": 1}, headers=keys.write)
    assert stale.status_code == 409 and stale.json()["code"] == "concurrent-change"
    assert application.projects.get(pid).state.value == "active"
    fresh = client.post(f"/api/v1/projects/{pid}/cancel", json={"reason": "lost", "version": 2}, headers=keys.write)
    assert fresh.status_code == 200 and fresh.json()["version"] == 3


def _clock(day: str) -> FixedClock:
    d = D(day)
    return FixedClock(d, at=datetime(d.year, d.month, d.day, 9, tzinfo=UTC))
