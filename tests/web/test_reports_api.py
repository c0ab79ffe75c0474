"""``GET /api/v1/reports/ttfv`` and ``/portfolio``: the CLI's options, its JSON document and its very CSV bytes;
a read key; bad options are problem documents."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from onboarding.bootstrap import Application
from onboarding.cli import main
from onboarding.cli.edge import plain
from onboarding.core.lifecycle import Action
from onboarding.core.ttfv import Dimension
from tests.services.test_projects import PAYROLL, PEOPLE
from tests.web.conftest import TODAY, Keys

PROBLEM = "application/problem+json"
AS_OF = "2026-12-07"


@pytest.fixture
def portfolio(application: Application) -> list[str]:
    """Three projects in two segments, one of them with its kickoff milestone done."""
    ids = [
        application.projects.launch(
            PAYROLL,
            customer=f"Customer {n}",
            kickoff_on=TODAY,
            bindings=PEOPLE,
            pay_schedule="biweekly:2026-01-02",
            segment=segment,
            external_id=f"CRM-{n}",
            actor="test",
        ).project.id
        for n, segment in enumerate(["smb", "smb", "enterprise"])
    ]
    for task in ("kickoff_call", "sign_off_scope", "notify_old_provider"):
        application.projects.change_task(ids[0], task, Action.complete, on=TODAY, by="test")
    return ids


def _cli(application: Application, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """What ``onboarding ARGS`` prints over the same database."""
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(application.settings.data_dir))
    if application.settings.database_url:
        monkeypatch.setenv("ONBOARDING_DATABASE_URL", application.settings.database_url)
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "k" * 40)
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.usefixtures("portfolio")
def test_ttfv_as_json_is_the_cli_document(application: Application, client: TestClient, keys: Keys) -> None:
    response = client.get(
        "/api/v1/reports/ttfv", params={"by": ["segment", "blueprint"], "as_of": AS_OF}, headers=keys.read
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    expected = application.reports.ttfv(by=(Dimension.segment, Dimension.blueprint), as_of=TODAY)
    assert body == json.loads(json.dumps(plain(expected)))
    assert body["dimensions"] == ["segment", "blueprint"]
    assert [g["key"] for g in body["groups"]] == [
        ["enterprise", "payroll_implementation"],
        ["smb", "payroll_implementation"],
    ]
    assert body["total"]["projects"] == 3
    default = client.get("/api/v1/reports/ttfv", headers=keys.read).json()
    assert default["dimensions"] == ["blueprint"] and default["as_of"] == TODAY.isoformat()  # the app's clock


@pytest.mark.usefixtures("portfolio")
def test_ttfv_and_portfolio_as_csv_are_the_cli_bytes(
    application: Application, client: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_query = client.get(
        "/api/v1/reports/ttfv",
        params={"by": ["segment", "owner"], "since": "2026-01-01", "as_of": AS_OF, "format": "csv"},
        headers=keys.read,
    )
    assert by_query.status_code == 200
    assert by_query.headers["content-type"].startswith("text/csv")
    cli = _cli(
        application, monkeypatch, "report", "ttfv", "--by", "segment", "--by", "owner", "--since", "2026-01-01",
        "--as-of", AS_OF, "--format", "csv",
    )  # fmt: skip
    assert by_query.text == cli
    assert cli.splitlines()[0].startswith("segment,owner,projects,reached")

    by_accept = client.get(
        "/api/v1/reports/portfolio", params={"as_of": AS_OF, "top": 3}, headers={**keys.read, "Accept": "text/csv"}
    )
    assert by_accept.status_code == 200 and by_accept.headers["content-type"].startswith("text/csv")
    assert "attachment" in by_accept.headers["content-disposition"]
    assert by_accept.text == _cli(
        application, monkeypatch, "report", "portfolio", "--as-of", AS_OF, "--top", "3", "--format", "csv"
    )
    assert by_accept.text.startswith("section,item,measure,value\nportfolio,all,projects,3\n")
    # JSON first in Accept, or format=json, wins over a later text/csv
    both = {**keys.read, "Accept": "application/json, text/csv"}
    assert client.get("/api/v1/reports/portfolio", headers=both).headers["content-type"] == "application/json"
    forced = client.get(
        "/api/v1/reports/portfolio", params={"format": "json"}, headers={**keys.read, "Accept": "text/csv"}
    )
    assert forced.headers["content-type"] == "application/json"


@pytest.mark.usefixtures("portfolio")
def test_portfolio_as_json_is_the_cli_document(application: Application, client: TestClient, keys: Keys) -> None:
    response = client.get("/api/v1/reports/portfolio", params={"as_of": AS_OF, "top": 5}, headers=keys.read)
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(plain(application.reports.portfolio(as_of=TODAY, top=5))))
    assert response.json()["projects"] == 3


def test_portfolio_lists_the_first_projects_at_risk_when_asked_with_their_total(
    application: Application, client: TestClient, keys: Keys, portfolio: list[str]
) -> None:
    for project in portfolio[1:]:  # a blocked task puts a project at risk
        application.projects.change_task(project, "kickoff_call", Action.block, on=TODAY, by="test", reason="x")
    everything = client.get("/api/v1/reports/portfolio", params={"as_of": AS_OF}, headers=keys.read).json()
    assert (len(everything["at_risk"]), everything["at_risk_total"]) == (2, 2)
    first = client.get("/api/v1/reports/portfolio", params={"as_of": AS_OF, "at_risk_limit": 1}, headers=keys.read)
    assert first.status_code == 200
    assert first.json() == json.loads(json.dumps(plain(application.reports.portfolio(as_of=TODAY, at_risk_limit=1))))
    assert first.json()["at_risk"] == everything["at_risk"][:1] and first.json()["at_risk_total"] == 2
    csv = client.get("/api/v1/reports/portfolio", params={"as_of": AS_OF, "at_risk_limit": 1, "format": "csv"},
                     headers=keys.read)  # fmt: skip
    assert sum(line.startswith("at_risk,") for line in csv.text.splitlines()) > 2  # the file lists them all
    assert (
        csv.text
        == client.get("/api/v1/reports/portfolio", params={"as_of": AS_OF, "format": "csv"}, headers=keys.read).text
    )


def test_reports_need_a_read_key(client: TestClient, keys: Keys) -> None:
    for path in ("/api/v1/reports/ttfv", "/api/v1/reports/portfolio"):
        refused = client.get(path)
        assert refused.status_code == 401 and refused.headers["content-type"] == PROBLEM
        assert client.get(path, headers={"Authorization": "Bearer onb_nope"}).status_code == 401
        for scope in (keys.read, keys.write, keys.admin):
            assert client.get(path, headers=scope).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "code", "loc"),
    [
        ("ttfv", {"since": "2027-01-01", "until": "2026-01-01"}, "invalid-period", "since"),
        ("ttfv", {"by": "colour"}, "invalid-request", "query.by[0]"),
        ("ttfv", {"as_of": "2026-02-30"}, "invalid-request", "query.as_of"),
        ("ttfv", {"format": "xml"}, "invalid-request", "query.format"),
        ("portfolio", {"top": "0"}, "invalid-request", "query.top"),
        ("portfolio", {"top": "many"}, "invalid-request", "query.top"),
        ("portfolio", {"at_risk_limit": "-1"}, "invalid-request", "query.at_risk_limit"),
    ],
)
def test_bad_report_options_are_problems(
    client: TestClient, keys: Keys, path: str, params: dict[str, str], code: str, loc: str
) -> None:
    response = client.get(f"/api/v1/reports/{path}", params=params, headers=keys.read)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == code
    assert body["problems"][0]["loc"] == loc
    assert not any("--" in (p["hint"] or "") for p in body["problems"])  # the API's fix names no CLI option


def test_the_reports_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    ttfv = paths["/api/v1/reports/ttfv"]["get"]
    assert {p["name"] for p in ttfv["parameters"]} >= {"by", "since", "until", "as_of", "format"}
    assert "text/csv" in ttfv["responses"]["200"]["content"]
    assert "/api/v1/reports/portfolio" in paths
