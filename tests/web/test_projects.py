"""``/api/v1/projects`` in-process, on SQLite and PostgreSQL: launch (and its retries), list, read, task changes,
hold and resume; each with its key scope and its errors as problem+json, and nothing stored by a refused request."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from onboarding.adapters.store.sql import events, projects
from onboarding.bootstrap import Application
from tests.services.test_projects import PAYROLL, PEOPLE
from tests.web.conftest import Keys

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def published(application: Application) -> None:
    """The payroll example, published: the API launches published blueprints only."""
    application.blueprints.publish([PAYROLL], by="test")


def body(**more: Any) -> dict[str, Any]:
    """A launch of the payroll example for Acme, every role bound."""
    return {
        "blueprint": "payroll_implementation",
        "customer": "Acme Manufacturing",
        "kickoff_on": "2026-12-07",
        "pay_schedule": "biweekly:2026-01-02",
        "segment": "mid-market",
        "bindings": {role: {"name": p.name, "email": p.email, "time_zone": p.timezone} for role, p in PEOPLE.items()},
        **more,
    }


def stored(application: Application) -> tuple[int, int]:
    """How many projects and events the database holds."""
    with application.engine.connect() as connection:
        return (
            int(connection.execute(select(func.count()).select_from(projects)).scalar_one()),
            int(connection.execute(select(func.count()).select_from(events)).scalar_one()),
        )


def launched(client: TestClient, keys: Keys, **more: Any) -> dict[str, Any]:
    response = client.post("/api/v1/projects", json=body(**more), headers=keys.write)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


# -- launch --------------------------------------------------------------------------------------------------------


def test_a_launch_answers_the_project_and_its_plan_with_the_go_live_and_why(
    client: TestClient, keys: Keys, application: Application
) -> None:
    response = client.post("/api/v1/projects", json=body(external_id="CRM-1"), headers=keys.write)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["created"] is True
    project = result["project"]
    assert project["customer"] == "Acme Manufacturing" and project["external_id"] == "CRM-1"
    assert project["state"] == "active" and project["version"] == 1
    assert project["go_live"] == {
        "committed_on": "2027-04-09",
        "projected_on": "2027-04-09",
        "in_committed_window": True,
    }
    assert response.headers["location"] == f"/api/v1/projects/{project['id']}"
    go_live = result["plan"]["go_live"]
    assert go_live["chosen_on"] == "2027-04-09" and go_live["reason"]
    assert go_live["rejected"] and all(r["date"] and r["reason"] for r in go_live["rejected"])
    (launch_event,) = application.projects.events(project["id"])
    assert launch_event.kind == "project_launched" and launch_event.actor == "write-key"


def test_a_launch_needs_a_write_key(client: TestClient, keys: Keys, application: Application) -> None:
    assert client.post("/api/v1/projects", json=body()).status_code == 401
    refused = client.post("/api/v1/projects", json=body(), headers=keys.read)
    assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM
    assert stored(application) == (0, 0)


def test_the_same_external_id_answers_the_first_launch_and_another_body_is_a_conflict_naming_the_fields(
    client: TestClient, keys: Keys, application: Application
) -> None:
    first = launched(client, keys, external_id="CRM-7")
    again = client.post("/api/v1/projects", json=body(external_id="CRM-7"), headers=keys.write)
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["project"]["id"] == first["project"]["id"]
    assert again.json()["plan"]["go_live"] == first["plan"]["go_live"]

    other = body(external_id="CRM-7", customer="Acme Ltd", kickoff_on="2026-12-14")
    conflict = client.post("/api/v1/projects", json=other, headers=keys.write)
    assert conflict.status_code == 409 and conflict.headers["content-type"] == PROBLEM
    (problem,) = conflict.json()["problems"]
    assert problem["code"] == "external-id-conflict"
    assert [line.split(":")[0] for line in problem["detail"]] == ["customer", "kickoff"]
    assert stored(application)[0] == 1


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    client: TestClient, keys: Keys, application: Application
) -> None:
    key = {**keys.write, "Idempotency-Key": "launch-0001"}
    first = client.post("/api/v1/projects", json=body(), headers=key)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = client.post("/api/v1/projects", json=body(), headers=key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["project"]["id"] == first.json()["project"]["id"]
    assert again.json()["plan"] == first.json()["plan"]
    assert stored(application)[0] == 1

    changed = body(customer="Acme Two", bindings={**body()["bindings"], "csm": {"email": "other@vendor.example"}})
    conflict = client.post("/api/v1/projects", json=changed, headers=key)
    assert conflict.status_code == 409
    (problem,) = conflict.json()["problems"]
    assert problem["code"] == "idempotency-key-reused" and problem["loc"] == "Idempotency-Key"
    assert [line.split(":")[0] for line in problem["detail"]] == [
        "bindings.csm.email",
        "bindings.csm.name",
        "bindings.csm.time_zone",
        "customer",
    ]
    # keys are per API key: another caller's same key is its own launch
    other = client.post("/api/v1/projects", json=body(), headers={**keys.admin, "Idempotency-Key": "launch-0001"})
    assert other.status_code == 201 and other.json()["project"]["id"] != first.json()["project"]["id"]
    assert stored(application)[0] == 2


def test_a_refused_launch_gives_its_idempotency_key_back(
    client: TestClient, keys: Keys, application: Application
) -> None:
    key = {**keys.write, "Idempotency-Key": "k-2"}
    bad = client.post("/api/v1/projects", json=body(kickoff_on="2026-12-07", pay_schedule="fortnightly"), headers=key)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid-pay-schedule"
    assert client.post("/api/v1/projects", json=body(), headers=key).status_code == 201
    too_long = client.post("/api/v1/projects", json=body(), headers={**keys.write, "Idempotency-Key": "k" * 201})
    assert too_long.status_code == 422
    assert stored(application)[0] == 1


def test_concurrent_retries_with_one_key_launch_once(client: TestClient, keys: Keys, application: Application) -> None:
    key = {**keys.write, "Idempotency-Key": "burst"}
    start = threading.Barrier(6)

    def post(_: int) -> tuple[int, str]:
        start.wait()
        response = client.post("/api/v1/projects", json=body(), headers=key)
        return response.status_code, response.json()["project"]["id"]

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, range(6)))
    assert {status for status, _ in answers} == {201}
    assert len({pid for _, pid in answers}) == 1
    assert stored(application)[0] == 1


def test_concurrent_launches_of_one_external_id_make_one_project(
    client: TestClient, keys: Keys, application: Application
) -> None:
    start = threading.Barrier(6)

    def post(_: int) -> tuple[int, str]:
        start.wait()
        response = client.post("/api/v1/projects", json=body(external_id="CRM-RACE"), headers=keys.write)
        return response.status_code, response.json()["project"]["id"]

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, range(6)))
    assert sorted(status for status, _ in answers) == [200] * 5 + [201]
    assert len({pid for _, pid in answers}) == 1
    assert stored(application)[0] == 1


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"bindings": {"csm": {"name": "Dana", "email": "dana@vendor.example"}}}, 422, "missing-binding"),
        ({"bindings": {**body()["bindings"], "ghost": {"email": "g@x.example"}}}, 422, "invalid-binding"),
        ({"bindings": {**body()["bindings"], "csm": {"email": "not an address"}}}, 422, "invalid-address"),
        ({"bindings": {**body()["bindings"], "csm": {"email": "d@v.example", "time_zone": "Mars/Base"}}}, 422,
         "invalid-time-zone"),
        ({"kickoff_on": "07/12/2026"}, 422, "invalid-request"),
        ({"surprise": 1}, 422, "invalid-request"),
        ({"customer": ""}, 422, "invalid-request"),
        ({"blueprint": "/nowhere/blueprint.yaml"}, 404, "blueprint-not-found"),
        ({"blueprint": PAYROLL}, 404, "blueprint-not-found"),  # a file on the server is never read
    ],
)  # fmt: skip
def test_a_launch_that_cannot_be_made_is_a_coded_problem_and_stores_nothing(
    client: TestClient, keys: Keys, application: Application, change: dict[str, Any], status: int, code: str
) -> None:
    response = client.post("/api/v1/projects", json=body(**change), headers=keys.write)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert code in [p["code"] for p in response.json()["problems"]]
    assert stored(application) == (0, 0)


def test_a_body_that_is_not_json_is_a_problem(client: TestClient, keys: Keys) -> None:
    response = client.post(
        "/api/v1/projects", content=b"{not json", headers={**keys.write, "Content-Type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid-request"


# -- reading -------------------------------------------------------------------------------------------------------


def test_a_project_reads_by_id_or_external_id_with_its_tasks_and_window(
    client: TestClient, keys: Keys, application: Application
) -> None:
    project = launched(client, keys, external_id="CRM-9")["project"]
    by_id = client.get(f"/api/v1/projects/{project['id']}", headers=keys.read)
    assert by_id.status_code == 200
    document = by_id.json()
    assert client.get("/api/v1/projects/CRM-9", headers=keys.read).json() == document
    assert document["as_of"] == "2026-12-07"
    assert document["go_live"]["in_committed_window"] is True
    task = next(t for t in document["tasks"] if t["key"] == "kickoff_call")
    assert task["due_on"] == task["target_due_on"] == "2026-12-07" and task["state"] == "pending"
    assert {m["key"] for m in document["milestones"]} >= {"kickoff"}
    assert document["failed_emails"] == [] and document["waiting_emails"]["pending"] > 0  # the kickoff emails
    # the CLI's status is the same view
    view = application.status.status("CRM-9").as_json()
    assert view.pop("waiting_emails")["pending"] == document.pop("waiting_emails")["pending"]
    assert view == document


def test_reading_needs_a_key_and_an_unknown_project_is_404(client: TestClient, keys: Keys) -> None:
    assert client.get("/api/v1/projects/anything").status_code == 401
    missing = client.get("/api/v1/projects/CRM-404", headers=keys.read)
    assert missing.status_code == 404 and missing.json()["code"] == "project-not-found"
    assert missing.headers["content-type"] == PROBLEM


def test_the_list_filters_and_pages_with_a_cursor(client: TestClient, keys: Keys, application: Application) -> None:
    made = []
    for i in range(7):
        made.append(
            launched(
                client,
                keys,
                customer=f"Customer {i}",
                kickoff_on=f"2026-12-{7 + i % 3:02d}",
                segment="smb" if i % 2 else "enterprise",
            )["project"]
        )
    order = [p["id"] for p in sorted(made, key=lambda p: (p["kickoff_on"], p["id"]))]
    seen: list[str] = []
    url: str | None = "/api/v1/projects?limit=3"
    pages = 0
    while url:
        page = client.get(url, headers=keys.read)
        assert page.status_code == 200
        seen += [p["id"] for p in page.json()["projects"]]
        cursor = page.json()["next_cursor"]
        if cursor:
            link = page.headers["link"]
            assert link.endswith('; rel="next"') and "limit=3" in link
            url = link[1 : link.index(">")]
        else:
            assert "link" not in page.headers
            url = None
        pages += 1
    assert seen == order and pages == 3

    smb = client.get("/api/v1/projects", params={"segment": "smb"}, headers=keys.read).json()["projects"]
    assert sorted(p["customer"] for p in smb) == ["Customer 1", "Customer 3", "Customer 5"]
    named = client.get("/api/v1/projects", params={"customer": "customer 4"}, headers=keys.read).json()
    assert [p["customer"] for p in named["projects"]] == ["Customer 4"]
    assert client.get("/api/v1/projects", params={"state": "completed"}, headers=keys.read).json()["projects"] == []
    bp = client.get("/api/v1/projects", params={"blueprint": "payroll_implementation"}, headers=keys.read)
    assert len(bp.json()["projects"]) == 7


def test_a_customer_name_with_a_control_character_is_refused_and_nothing_stored(
    client: TestClient, keys: Keys, application: Application
) -> None:
    before = stored(application)
    for name in ("CRLF\r\nBcc: victim@x.example", "Null\u0000Co", "Line\u2028Sep", "   "):
        answer = client.post("/api/v1/projects", json=body(customer=name), headers=keys.write)
        assert answer.status_code == 422 and answer.json()["code"] == "invalid-name", answer.text
        assert answer.json()["problems"][0]["loc"] == "customer"
    assert stored(application) == before


def test_the_customer_filter_takes_what_is_typed_literally(client: TestClient, keys: Keys) -> None:
    for name in ("Acme 100% Steel", "Acme_Tools", "Globex"):
        launched(client, keys, customer=name)

    def named(part: str) -> list[str]:
        answer = client.get("/api/v1/projects", params={"customer": part}, headers=keys.read)
        assert answer.status_code == 200, answer.text
        return sorted(p["customer"] for p in answer.json()["projects"])

    assert named("%") == ["Acme 100% Steel"]
    assert named("_") == ["Acme_Tools"]
    assert named("acme%") == [] and named("a_me") == [] and named("\\") == []
    assert named("ACME") == ["Acme 100% Steel", "Acme_Tools"]
    long = client.get("/api/v1/projects", params={"customer": "a" * 60_000}, headers=keys.read)
    assert long.status_code in (414, 422), long.text  # refused as too long, never the database's failure


def test_at_risk_lists_the_projects_the_portfolio_report_counts_at_risk(
    client: TestClient, keys: Keys, application: Application
) -> None:
    quiet = launched(client, keys, customer="Quiet")["project"]["id"]
    held = launched(client, keys, customer="Held")["project"]["id"]
    blocked = launched(client, keys, customer="Blocked")["project"]["id"]
    late = launched(client, keys, customer="Late", kickoff_on="2026-11-02")["project"]["id"]  # customer work overdue
    assert client.post(f"/api/v1/projects/{held}/hold", json={"reason": "budget"}, headers=keys.write).is_success
    assert client.post(f"/api/v1/projects/{blocked}/tasks/kickoff_call/start", headers=keys.write).is_success
    assert client.post(f"/api/v1/projects/{blocked}/tasks/kickoff_call/block", headers=keys.write).is_success
    listed = client.get("/api/v1/projects", params={"at_risk": "true"}, headers=keys.read).json()["projects"]
    assert sorted(p["id"] for p in listed) == sorted([held, blocked, late])
    report = application.reports.portfolio()
    assert sorted(r.project_id for r in report.at_risk) == sorted([held, blocked, late])
    assert quiet not in [p["id"] for p in listed]


def test_a_bad_cursor_or_limit_is_a_problem(client: TestClient, keys: Keys) -> None:
    bad = client.get("/api/v1/projects", params={"cursor": "not-ours"}, headers=keys.read)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid-cursor"
    assert client.get("/api/v1/projects", params={"limit": 501}, headers=keys.read).status_code == 422
    assert client.get("/api/v1/projects", params={"state": "sleeping"}, headers=keys.read).status_code == 422
    assert client.get("/api/v1/projects").status_code == 401


# -- changes -------------------------------------------------------------------------------------------------------


def test_task_actions_change_the_project_under_the_keys_name(
    client: TestClient, keys: Keys, application: Application
) -> None:
    pid = launched(client, keys)["project"]["id"]
    url = f"/api/v1/projects/{pid}/tasks/kickoff_call"
    started = client.post(f"{url}/start", headers=keys.write)
    assert started.status_code == 200, started.text
    assert next(t for t in started.json()["tasks"] if t["key"] == "kickoff_call")["state"] == "in_progress"
    assert started.json()["version"] == 2
    done = client.post(f"{url}/complete", json={"on": "2026-12-07", "by": "Dana"}, headers=keys.write)
    assert done.status_code == 200
    task = next(t for t in done.json()["tasks"] if t["key"] == "kickoff_call")
    assert task["state"] == "done" and task["done_on"] == "2026-12-07"
    assert client.post(f"{url}/reopen", json={"reason": "redo"}, headers=keys.write).status_code == 200
    kinds = [(e.kind, e.actor) for e in application.projects.events(pid) if e.task_key == "kickoff_call"]
    assert kinds == [
        ("task_started", "write-key"),
        ("task_completed", "Dana via write-key"),
        ("task_reopened", "write-key"),
    ]


def test_every_task_action_is_served(client: TestClient, keys: Keys) -> None:
    pid = launched(client, keys)["project"]["id"]
    url = f"/api/v1/projects/{pid}/tasks/kickoff_call"
    for action in ("start", "block", "unblock", "complete", "reopen", "skip"):
        response = client.post(f"{url}/{action}", json={"reason": "because"}, headers=keys.write)
        assert response.status_code == 200, (action, response.text)


def test_a_refused_task_change_is_a_coded_problem_and_changes_nothing(
    client: TestClient, keys: Keys, application: Application
) -> None:
    pid = launched(client, keys)["project"]["id"]
    before = stored(application)
    cases = [
        (f"/api/v1/projects/{pid}/tasks/kickoff_call/complete", {"on": "2027-01-01"}, 409, "date-in-future"),
        (f"/api/v1/projects/{pid}/tasks/kickoff_call/unblock", None, 409, "invalid-transition"),
        (f"/api/v1/projects/{pid}/tasks/first_live_check_date/start", None, 409, "predecessors-not-done"),
        (f"/api/v1/projects/{pid}/tasks/no_such_task/start", None, 404, "unknown-task"),
        (f"/api/v1/projects/{pid}/tasks/kickoff_call/dance", None, 422, "invalid-request"),
        ("/api/v1/projects/CRM-404/tasks/kickoff_call/start", None, 404, "project-not-found"),
        (f"/api/v1/projects/{pid}/tasks/kickoff_call/start", {"on": "yesterday"}, 422, "invalid-request"),
    ]
    for url, payload, status, code in cases:
        response = client.post(url, json=payload, headers=keys.write)
        assert response.headers["content-type"] == PROBLEM, url
        assert (response.status_code, response.json()["code"]) == (status, code), (url, response.text)
    assert client.post(f"/api/v1/projects/{pid}/tasks/kickoff_call/start", headers=keys.read).status_code == 403
    assert stored(application) == before


def test_hold_and_resume(client: TestClient, keys: Keys, application: Application) -> None:
    pid = launched(client, keys, external_id="CRM-H")["project"]["id"]
    held = client.post("/api/v1/projects/CRM-H/hold", json={"reason": "budget freeze"}, headers=keys.write)
    assert held.status_code == 200 and held.json()["state"] == "on_hold"
    again = client.post("/api/v1/projects/CRM-H/hold", headers=keys.write)
    assert again.status_code == 409 and again.json()["code"] == "invalid-transition"
    paused = client.post(f"/api/v1/projects/{pid}/tasks/kickoff_call/start", headers=keys.write)
    assert paused.status_code == 409 and paused.json()["code"] == "project-on-hold"
    resumed = client.post(f"/api/v1/projects/{pid}/resume", json={"by": "Sam"}, headers=keys.write)
    assert resumed.status_code == 200 and resumed.json()["state"] == "active"
    assert [(e.kind, e.actor) for e in application.projects.events(pid)][-2:][0] == ("project_held", "write-key")
    assert client.post(f"/api/v1/projects/{pid}/resume", headers=keys.read).status_code == 403


def test_concurrent_changes_of_one_project_are_each_applied_or_refused(
    client: TestClient, keys: Keys, application: Application
) -> None:
    pid = launched(client, keys)["project"]["id"]
    ready = ["kickoff_call"]
    start = threading.Barrier(8)
    actions = ["start", "block", "unblock", "complete", "reopen", "start", "complete", "reopen"]

    def post(action: str) -> int:
        start.wait()
        response = client.post(
            f"/api/v1/projects/{pid}/tasks/{ready[0]}/{action}", json={"force": True}, headers=keys.write
        )
        return response.status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(post, actions))
    assert set(statuses) <= {200, 409}, statuses
    applied = [e for e in application.projects.events(pid) if e.task_key == ready[0]]
    assert len(applied) == statuses.count(200)
    assert application.projects.get(pid).version == 1 + statuses.count(200)
