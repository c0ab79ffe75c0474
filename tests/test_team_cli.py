"""`onboarding team` and the launch inputs on the command line: the customer's own calendar, team defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from onboarding.cli import main
from tests.services.test_projects import PAYROLL, PEOPLE

VENDOR = ("implementation_manager", "csm", "impl_engineer", "payroll_specialist")


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "a-secret-key-long-enough-for-the-settings-0123456789")
    return tmp_path


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def launch_args(*more: str, roles: tuple[str, ...] = tuple(PEOPLE)) -> list[str]:
    args = ["launch", PAYROLL, "--customer", "Acme", "--kickoff", "2026-12-07", "--pay-schedule", "biweekly:2026-01-02"]
    for role in roles:
        p = PEOPLE[role]
        args += ["--bind", f"{role}={p.name} <{p.email}>;tz={p.timezone}"]
    return [*args, *more]


def test_team_defaults_cover_the_vendor_roles_of_a_launch(data: Path) -> None:
    assert run("db", "upgrade").exit_code == 0  # type: ignore[attr-defined]
    for role in VENDOR:
        p = PEOPLE[role]
        done = run("team", "set", role, f"{p.name} <{p.email}>", "--tz", p.timezone)
        assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    other = run("team", "set", "csm", "Eve Stone <eve@vendor.example>", "--segment", "enterprise")
    assert other.exit_code == 0 and "csm (enterprise): Eve Stone" in other.output  # type: ignore[attr-defined]
    listed = run("team", "list", "--format", "json")
    rows = json.loads(listed.output)  # type: ignore[attr-defined]
    assert [(r["role"], r["segment"]) for r in rows] == [
        ("csm", "any"),
        ("csm", "enterprise"),
        ("impl_engineer", "any"),
        ("implementation_manager", "any"),
        ("payroll_specialist", "any"),
    ]
    customer_roles = tuple(r for r in PEOPLE if r not in VENDOR)
    launched = run(*launch_args("--segment", "enterprise", "--external-id", "CRM-1", roles=customer_roles))
    assert launched.exit_code == 0, launched.output  # type: ignore[attr-defined]
    assert "from team defaults:" in launched.output and "csm=Eve Stone" in launched.output  # type: ignore[attr-defined]
    status = json.loads(run("status", "CRM-1", "--format", "json").output)  # type: ignore[attr-defined]
    assert {t["owner"] for t in status["tasks"] if t["owner_role"] == "csm"} == {"Eve Stone"}
    # a default for a customer role of a launched blueprint is refused
    refused = run("team", "set", "customer_sponsor", "Pat Doe <pat@vendor.example>")
    assert refused.exit_code == 1 and "[customer-role-default]" in refused.stderr  # type: ignore[attr-defined]
    assert run("team", "unset", "csm", "--segment", "enterprise").exit_code == 0  # type: ignore[attr-defined]
    gone = run("team", "unset", "csm", "--segment", "enterprise")
    assert gone.exit_code == 1 and "[team-default-not-found]" in gone.stderr  # type: ignore[attr-defined]


def test_a_launch_without_defaults_still_names_each_missing_role(data: Path) -> None:
    result = run(*launch_args(roles=("csm",)))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert result.stderr.count("[missing-binding]") == len(PEOPLE) - 1  # type: ignore[attr-defined]
    assert "team default" in result.stderr  # type: ignore[attr-defined]


def test_the_customers_own_calendar_on_the_command_line(data: Path) -> None:
    launched = run(
        *launch_args(
            "--external-id",
            "CRM-2",
            "--customer-country",
            "CA",
            "--customer-subdivision",
            "QC",
            "--customer-closed-day",
            "2026-12-24",
            "--customer-closed-day",
            "2026-12-31",
            "--customer-tz",
            "America/Toronto",
        )
    )
    assert launched.exit_code == 0, launched.output  # type: ignore[attr-defined]
    assert "customer calendar: CA-QC + 2026-12-24, 2026-12-31; America/Toronto" in launched.output  # type: ignore[attr-defined]
    status = json.loads(run("status", "CRM-2", "--format", "json").output)  # type: ignore[attr-defined]
    assert status["customer_calendar"] == {
        "country": "CA",
        "subdivision": "QC",
        "closed_days": ["2026-12-24", "2026-12-31"],
        "time_zone": "America/Toronto",
    }
    table = run("status", "CRM-2")
    assert "customer calendar: CA-QC" in table.output  # type: ignore[attr-defined]
    plan = run(
        "plan", PAYROLL, "--kickoff", "2026-12-07", "--customer-country", "CA", "--customer-subdivision", "QC",
        "--customer-closed-day", "2026-12-24", "--customer-closed-day", "2026-12-31", "--format", "json",
    )  # fmt: skip
    document = json.loads(plan.output)  # type: ignore[attr-defined]
    assert document["calendars"]["customer"]["country"] == "CA"
    planned = {t["key"]: t["due_on"] for t in document["tasks"]}
    # what each task was expected by at launch: the status's own dates move with today once work is late
    assert planned == {t["key"]: t["target_due_on"] for t in status["tasks"]}


def test_bad_customer_calendar_inputs_are_all_said_at_once_and_nothing_is_stored(data: Path) -> None:
    result = run(
        *launch_args(
            "--customer-country", "Canada", "--customer-closed-day", "Dec 24", "--customer-tz", "Canada/Nowhere"
        )
    )
    assert result.exit_code == 1  # type: ignore[attr-defined]
    for code in ("unknown-customer-country", "invalid-customer-closed-day", "invalid-time-zone"):
        assert f"[{code}]" in result.stderr  # type: ignore[attr-defined]
    assert "did you mean 'CA'?" in result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    listed = run("list")
    assert "Acme" not in listed.output  # type: ignore[attr-defined]


def test_team_members_are_added_listed_changed_and_removed(data: Path) -> None:
    assert run("db", "upgrade").exit_code == 0  # type: ignore[attr-defined]
    added = run("team", "add", "Dana Ruiz <Dana@Vendor.example>", "--role", "manager")
    assert added.exit_code == 0, added.output  # type: ignore[attr-defined]
    assert "added Dana Ruiz <dana@vendor.example> as manager" in added.output  # type: ignore[attr-defined]
    assert run("team", "add", "Ivo Petrov <ivo@vendor.example>").exit_code == 0  # type: ignore[attr-defined]
    changed = run("team", "add", "Dana Ruiz <Dana@vendor.example>", "--role", "admin")
    assert "manager -> admin" in changed.output  # type: ignore[attr-defined]
    rows = json.loads(run("team", "members", "--format", "json").output)  # type: ignore[attr-defined]
    assert [(r["name"], r["email"], r["role"]) for r in rows] == [
        ("Dana Ruiz", "dana@vendor.example", "admin"),
        ("Ivo Petrov", "ivo@vendor.example", "member"),
    ]
    table = run("team", "members")
    assert "Dana Ruiz" in table.output and "admin" in table.output  # type: ignore[attr-defined]
    removed = run("team", "remove", "ivo@vendor.example")
    assert removed.exit_code == 0 and "removed Ivo Petrov" in removed.output  # type: ignore[attr-defined]
    rows = json.loads(run("team", "members", "--format", "json").output)  # type: ignore[attr-defined]
    assert [r["email"] for r in rows] == ["dana@vendor.example"]
    everyone = json.loads(run("team", "members", "--all", "--format", "json").output)  # type: ignore[attr-defined]
    assert [r["removed_at"] is not None for r in everyone] == [False, True]
    again = run("team", "add", "Ivo Petrov <ivo@vendor.example>")
    assert "(again)" in again.output  # type: ignore[attr-defined]
    # the defaults of vendor roles are still there beside the members
    assert run("team", "set", "csm", "Dana Ruiz <Dana@vendor.example>").exit_code == 0  # type: ignore[attr-defined]
    defaults = json.loads(run("team", "list", "--format", "json").output)  # type: ignore[attr-defined]
    assert [(d["role"], d["name"]) for d in defaults] == [("csm", "Dana Ruiz")]


def test_bad_team_members_are_refused_with_their_codes(data: Path) -> None:
    assert run("db", "upgrade").exit_code == 0  # type: ignore[attr-defined]
    bad_role = run("team", "add", "Dana Ruiz <dana@vendor.example>", "--role", "owner")
    assert bad_role.exit_code != 0 and "owner" in bad_role.output  # type: ignore[attr-defined]
    bad_address = run("team", "add", "Dana Ruiz <dana@>")
    assert bad_address.exit_code != 0 and "Traceback" not in bad_address.output  # type: ignore[attr-defined]
    missing = run("team", "remove", "nobody@vendor.example")
    assert missing.exit_code != 0 and "team-member-not-found" in missing.output  # type: ignore[attr-defined]
    assert json.loads(run("team", "members", "--format", "json").output) == []  # type: ignore[attr-defined]
