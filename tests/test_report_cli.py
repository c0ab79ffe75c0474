"""``onboarding report ttfv|portfolio`` and ``launch --contract-signed``, run for real in subprocesses."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from onboarding.adapters.clock import FixedClock
from onboarding.bootstrap import project_service
from onboarding.core.lifecycle import Action
from onboarding.core.messages import Person
from onboarding.settings import Settings

ROOT = Path(__file__).parents[1]
SAAS = str(ROOT / "blueprints" / "saas-onboarding.yaml")
DOCUMENT = yaml.safe_load(Path(SAAS).read_text())
ROLES = list(DOCUMENT["roles"])
VALUE_TASK = next(t["key"] for m in DOCUMENT["milestones"] for t in m["tasks"] if t.get("first_value"))


def onboarding(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ONBOARDING_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "onboarding.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three SaaS onboardings: two reached first value (10 and 20 days), one still in flight."""
    folder = tmp_path_factory.mktemp("report-cli")
    clock = FixedClock(date(2026, 1, 2))
    svc = project_service(Settings(data_dir=folder), clock=clock)
    people = {role: Person(role.title(), f"{role}@example.com", "America/New_York") for role in ROLES}
    svc.launch(SAAS, customer="Gamma", kickoff_on=date(2026, 1, 5), bindings=people, segment="smb")  # in flight
    for customer, day in (("Alpha", "2026-01-15"), ("Beta", "2026-01-25")):
        pid = svc.launch(
            SAAS, customer=customer, kickoff_on=date(2026, 1, 5), bindings=people, segment="smb"
        ).project.id
        clock.set(date.fromisoformat(day))
        svc.change_task(pid, VALUE_TASK, Action.complete, on=date.fromisoformat(day), force=True)
    return folder


def test_ttfv_table_json_and_csv(data: Path) -> None:
    table = onboarding(data, "report", "ttfv", "--as-of", "2026-03-01")
    assert table.returncode == 0, table.stderr
    assert "saas_onboarding" in table.stdout or "saas" in table.stdout
    as_json = onboarding(data, "report", "ttfv", "--as-of", "2026-03-01", "--by", "segment", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["dimensions"] == ["segment"]
    (group,) = document["groups"]
    assert group["key"] == ["smb"]
    assert (group["projects"], group["reached"], group["in_flight"]) == (3, 2, 1)
    assert group["calendar_days"]["median"] == 15.0
    assert group["reached_calendar_days"] == [10, 20]
    as_csv = onboarding(data, "report", "ttfv", "--as-of", "2026-03-01", "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0][:4] == ["blueprint", "projects", "reached", "in flight"]
    assert rows[1][1:4] == ["3", "2", "1"]


def test_portfolio_table_json_and_csv(data: Path) -> None:
    table = onboarding(data, "report", "portfolio", "--as-of", "2026-03-01")
    assert table.returncode == 0, table.stderr
    assert "on-time launches" in table.stdout
    document = json.loads(onboarding(data, "report", "portfolio", "--as-of", "2026-03-01", "--format", "json").stdout)
    assert document["projects"] == 3
    rows = list(csv.reader(io.StringIO(onboarding(data, "report", "portfolio", "--format", "csv").stdout)))
    assert rows[0] == ["section", "item", "measure", "value"]
    assert ["portfolio", "all", "projects", "3"] in rows


def test_bad_input_is_refused_clearly(data: Path) -> None:
    unknown = onboarding(data, "report", "ttfv", "--by", "colour")
    assert unknown.returncode == 2
    assert "--by" in unknown.stderr and "Traceback" not in unknown.stderr
    period = onboarding(data, "report", "ttfv", "--since", "2026-02-01", "--until", "2026-01-01")
    assert period.returncode == 1
    assert "[invalid-period]" in period.stderr and "Traceback" not in period.stderr
    bad_day = onboarding(data, "report", "ttfv", "--since", "yesterday")
    assert bad_day.returncode == 2
    fmt = onboarding(data, "report", "portfolio", "--format", "xml")
    assert fmt.returncode == 2


def test_report_without_a_subcommand_shows_the_reports(data: Path) -> None:
    result = onboarding(data, "report")
    assert result.returncode == 0
    assert "ttfv" in result.stdout and "portfolio" in result.stdout


def test_launch_keeps_the_contract_signed_day(tmp_path: Path) -> None:
    binds = [arg for role in ROLES for arg in ("--bind", f"{role}={role.title()} <{role}@example.com>")]
    result = onboarding(
        tmp_path,
        "launch",
        SAAS,
        "--customer",
        "Acme",
        "--kickoff",
        "2026-12-07",
        "--contract-signed",
        "2026-11-20",
        "--external-id",
        "CRM-1",
        *binds,
    )
    assert result.returncode == 0, result.stderr
    events = project_service(Settings(data_dir=tmp_path)).events("CRM-1")
    assert events[0].data["contract_signed_on"] == "2026-11-20"


def test_as_of_before_the_subcommand_is_the_report_day(data: Path) -> None:
    """``report --as-of X ttfv`` reports as of X (it used to report as of today, silently)."""
    before = onboarding(data, "report", "--as-of", "2026-01-20", "ttfv", "--format", "json")
    assert before.returncode == 0, before.stderr
    document = json.loads(before.stdout)
    assert document["as_of"] == "2026-01-20"
    assert (document["total"]["reached"], document["total"]["in_flight"]) == (1, 2)  # Beta reached on the 25th
    after = json.loads(onboarding(data, "report", "ttfv", "--as-of", "2026-01-20", "--format", "json").stdout)
    assert after == document
    same = onboarding(data, "report", "--as-of", "2026-01-20", "ttfv", "--as-of", "2026-01-20", "--format", "json")
    assert json.loads(same.stdout) == document
    portfolio = onboarding(data, "report", "--as-of", "2026-01-20", "portfolio", "--format", "json")
    assert portfolio.returncode == 0, portfolio.stderr
    assert json.loads(portfolio.stdout)["as_of"] == "2026-01-20"


def test_two_different_as_of_days_are_refused(data: Path) -> None:
    for command in ("ttfv", "portfolio"):
        both = onboarding(data, "report", "--as-of", "2026-01-20", command, "--as-of", "2026-03-01")
        assert both.returncode == 1
        assert "[conflicting-as-of]" in both.stderr and "Traceback" not in both.stderr
        assert both.stdout == ""


def test_the_at_risk_table_lists_the_most_at_risk_and_says_how_many_there_are(tmp_path: Path) -> None:
    from onboarding.core.report_view import AT_RISK_SHOWN

    svc = project_service(Settings(data_dir=tmp_path), clock=FixedClock(date(2026, 1, 2)))
    people = {role: Person(role.title(), f"{role}@example.com", "America/New_York") for role in ROLES}
    for n in range(AT_RISK_SHOWN + 3):  # nothing done: every one has overdue customer work by June
        svc.launch(SAAS, customer=f"Late {n:02d}", kickoff_on=date(2026, 1, 5), bindings=people)
    table = onboarding(tmp_path, "report", "portfolio", "--as-of", "2026-06-01")
    assert table.returncode == 0, table.stderr
    listed = [line for line in table.stdout.splitlines() if " Late " in f" {line}"]
    assert len(listed) == AT_RISK_SHOWN, table.stdout
    said = " ".join(table.stdout.split())  # the terminal's width may wrap the sentence
    assert f"The {AT_RISK_SHOWN} most at risk of {AT_RISK_SHOWN + 3}" in said and "--format csv" in said
    rows = list(csv.reader(io.StringIO(onboarding(tmp_path, "report", "portfolio", "--format", "csv").stdout)))
    at_risk = {row[1] for row in rows if row[0] == "at_risk"}
    assert len(at_risk) == AT_RISK_SHOWN + 3  # the export lists them all
