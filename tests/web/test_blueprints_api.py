"""The registry over HTTP: listing and reading published blueprints, and plan previews; auth and bad inputs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from onboarding.bootstrap import Application
from onboarding.core.plan_view import plan_document
from tests.web.conftest import Keys

ROOT = Path(__file__).parents[2]
PAYROLL = str(ROOT / "blueprints" / "payroll-implementation.yaml")
SAAS = str(ROOT / "blueprints" / "saas-onboarding.yaml")
PROBLEM = "application/problem+json"


@pytest.fixture
def published(application: Application) -> Application:
    application.blueprints.publish([PAYROLL, SAAS], by="setup")
    return application


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/blueprints"), ("GET", "/api/v1/blueprints/saas_onboarding"), ("POST", "/api/v1/plans")],
)
def test_no_key_is_refused_with_a_problem(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM


def test_the_list_names_each_key_its_latest_and_its_versions(
    client: TestClient, keys: Keys, application: Application
) -> None:
    assert client.get("/api/v1/blueprints", headers=keys.read).json() == {"blueprints": []}
    application.blueprints.publish([PAYROLL, SAAS], by="dana")
    body = client.get("/api/v1/blueprints", headers=keys.read).json()
    assert [b["key"] for b in body["blueprints"]] == ["payroll_implementation", "saas_onboarding"]
    payroll = body["blueprints"][0]
    assert payroll["latest"] == payroll["versions"][-1]["version"]
    assert payroll["versions"][0]["published_by"] == "dana"


def test_one_blueprint_latest_or_a_given_version(client: TestClient, keys: Keys, published: Application) -> None:
    latest = client.get("/api/v1/blueprints/payroll_implementation", headers=keys.read)
    assert latest.status_code == 200
    body = latest.json()
    assert body["latest"] is True and body["text"] == Path(PAYROLL).read_text()
    assert body["blueprint"]["key"] == "payroll_implementation"
    version = body["version"]
    again = client.get(f"/api/v1/blueprints/payroll_implementation?version={version}", headers=keys.read).json()
    assert again == body


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/blueprints/payroll_implementaton",
        "/api/v1/blueprints/payroll_implementation?version=9.9.9",
        "/api/v1/blueprints/Not%20A%20Key",
    ],
)
def test_what_is_not_published_is_404(client: TestClient, keys: Keys, published: Application, path: str) -> None:
    response = client.get(path, headers=keys.read)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "blueprint-not-found"


def test_a_plan_preview_is_the_plan_the_command_prints_and_stores_nothing(
    client: TestClient, keys: Keys, published: Application
) -> None:
    body = {"blueprint": "payroll_implementation", "kickoff_on": "2026-12-07", "pay_schedule": "biweekly:2026-01-02"}
    response = client.post("/api/v1/plans", json=body, headers=keys.read)
    assert response.status_code == 200
    preview = response.json()
    expected = plan_document(
        published.planning.plan(PAYROLL, kickoff_on=date(2026, 12, 7), pay_schedule="biweekly:2026-01-02")
    )
    assert preview == json.loads(json.dumps(expected))
    assert preview["go_live"]["chosen_on"] == "2027-04-09" and preview["go_live"]["reason"]
    with published.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM projects")).scalar_one() == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"blueprint": "payroll_implementation"}, 422, "invalid-request"),
        ({"blueprint": "payroll_implementation", "kickoff_on": "07/12/2026"}, 422, "invalid-request"),
        ({"blueprint": "payroll_implementation", "kickoff_on": "2026-12-07", "extra": 1}, 422, "invalid-request"),
        (
            {"blueprint": "payroll_implementation", "kickoff_on": "2026-12-07", "pay_schedule": "fortnightly"},
            422,
            "invalid-pay-schedule",
        ),
        (
            {"blueprint": "payroll_implementation", "version": "0.0.9", "kickoff_on": "2026-12-07"},
            404,
            "blueprint-not-found",
        ),
        ({"blueprint": PAYROLL, "kickoff_on": "2026-12-07"}, 404, "blueprint-not-found"),  # never a file
    ],
)
def test_bad_plan_requests_are_problems(
    client: TestClient, keys: Keys, published: Application, body: dict[str, object], status: int, code: str
) -> None:
    response = client.post("/api/v1/plans", json=body, headers=keys.read)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert code in [p["code"] for p in response.json()["problems"]]
