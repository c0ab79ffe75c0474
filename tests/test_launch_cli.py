"""`onboarding launch --bind`: addresses are read by the engine's one rule; bad ones exit 1, coded, storing nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from onboarding.adapters.store.sql import bindings, projects
from onboarding.bootstrap import database
from onboarding.cli import main
from onboarding.settings import Settings
from tests.services.test_projects import PAYROLL, PEOPLE


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "a-secret-key-long-enough-for-the-settings-0123456789")
    return tmp_path


def launch(*overrides: str) -> list[str]:
    given = {spec.partition("=")[0] for spec in overrides}
    binds = [f"{role}={p.name} <{p.email}>;tz={p.timezone}" for role, p in PEOPLE.items() if role not in given]
    args = ["launch", PAYROLL, "--customer", "Acme", "--kickoff", "2026-12-07", "--pay-schedule", "biweekly:2026-01-02"]
    for spec in [*binds, *overrides]:
        args += ["--bind", spec]
    return args


def stored_projects() -> int:
    engine = database(Settings())
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(projects)).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ("customer_payroll_admin=Jürgen <jürgen@acme.example>", "invalid-address"),  # non-ASCII local part
        ('customer_payroll_admin="a:b"@acme.example', "invalid-address"),  # quoted local part with ':'
        ("customer_payroll_admin=Lee\r\nBcc: x@evil.example <lee@acme.example>", "invalid-address"),
        ("customer_payroll_admin=Lee <lee@acme.example>;tz=Mars/Olympus", "invalid-time-zone"),
    ],
)
def test_a_binding_the_renderer_could_not_send_to_is_refused_at_launch(data: Path, spec: str, code: str) -> None:
    result = CliRunner().invoke(main, launch(spec))
    assert result.exit_code == 1, result.output
    assert f"[{code}]" in result.stderr and "bind.customer_payroll_admin" in result.stderr
    assert "Traceback" not in result.output
    assert stored_projects() == 0


def test_every_bad_binding_is_reported_at_once(data: Path) -> None:
    result = CliRunner().invoke(
        main,
        launch("customer_payroll_admin=jürgen@acme.example", "customer_hr_admin=Kim <kim@acme.example", "nonsense"),
    )
    assert result.exit_code == 1
    assert result.stderr.count("[invalid-address]") == 2 and result.stderr.count("[invalid-binding]") == 1
    assert stored_projects() == 0


def test_a_non_ascii_domain_is_stored_in_its_ascii_form(data: Path) -> None:
    result = CliRunner().invoke(main, launch("customer_payroll_admin=Lee Park <lee@bücher.example>;tz=America/Chicago"))
    assert result.exit_code == 0, result.output
    engine = database(Settings())
    try:
        with engine.connect() as connection:
            email = connection.execute(
                select(bindings.c.email).where(bindings.c.role == "customer_payroll_admin")
            ).scalar_one()
    finally:
        engine.dispose()
    assert email == "lee@xn--bcher-kva.example"


def test_list_shows_the_projects_at_risk(data: Path, today: date) -> None:
    import json

    # the CLI's clock is the system's: a hold is dated today
    for external_id in ("CRM-QUIET", "CRM-HELD"):
        args = launch()
        args[args.index("--kickoff") + 1] = today.isoformat()
        assert CliRunner().invoke(main, [*args, "--external-id", external_id]).exit_code == 0
    assert CliRunner().invoke(main, ["hold", "CRM-HELD", "--reason", "budget"]).exit_code == 0
    listed = CliRunner().invoke(main, ["list", "--at-risk", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [p["external_id"] for p in json.loads(listed.stdout)] == ["CRM-HELD"]
    every = json.loads(CliRunner().invoke(main, ["list", "--format", "json", "--limit", "1"]).stdout)
    assert len(every) == 1


def test_stored_text_is_printed_as_it_is_never_read_as_markup_or_sent_to_the_terminal(data: Path) -> None:
    args = launch()
    args[args.index("--customer") + 1] = "[/bold] Acme [red]"
    launched = CliRunner().invoke(main, [*args, "--external-id", "CRM-1"])
    assert launched.exit_code == 0, launched.output
    listed = CliRunner().invoke(main, ["list"])
    assert listed.exit_code == 0, listed.output
    assert "[/bold] Acme [red]" in listed.output
    noted = CliRunner().invoke(main, ["note", "CRM-1", "x\x1b[2Jy"])
    assert noted.exit_code == 0, noted.output
    history = CliRunner().invoke(main, ["history", "CRM-1"])
    assert history.exit_code == 0 and "\x1b" not in history.output
    assert "\\x1b[2J" in history.output or "x\\x1b" in history.output
    status = CliRunner().invoke(main, ["status", "CRM-1"])
    assert status.exit_code == 0 and "[/bold] Acme [red]" in status.output


@pytest.mark.parametrize("args", [["status", "bad\udcff"], ["list", "--segment", "x\udcfe"], ["note", "P", "a\udcff"]])
def test_an_argument_that_is_not_utf8_is_a_usage_error(data: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "not UTF-8" in result.output, result.output


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--segment", "S" * 65),
        ("--external-id", "E" * 129),
        ("--segment", "a\nb"),
        ("--external-id", " "),
        ("--customer", ""),
    ],
)
def test_a_launch_value_that_cannot_be_kept_is_a_usage_error_and_nothing_is_stored(
    data: Path, option: str, value: str
) -> None:
    args = launch()
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and option in result.output, result.output
    assert stored_projects() == 0


def test_who_acted_is_a_line_of_at_most_200_characters(data: Path) -> None:
    assert CliRunner().invoke(main, [*launch(), "--external-id", "CRM-1"]).exit_code == 0
    for actor in ("x" * 201, "dana\nX-Evil: 1", ""):
        result = CliRunner().invoke(main, ["note", "CRM-1", "hello", "--by", actor])
        assert result.exit_code == 2 and "--by" in result.output, result.output


@pytest.mark.parametrize(
    "extra",
    [
        ["--bind", "csm=Other <other@vendor.example>"],  # csm is bound by launch() already
        ["--bind", "customer_payroll_admin=Lee <lee2@acme.example>;tz=UTC;tz=Europe/Paris"],
    ],
)
def test_a_role_or_a_time_zone_given_twice_is_refused(data: Path, extra: list[str]) -> None:
    args = launch()
    if "customer_payroll_admin" in extra[1]:
        at = next(i for i, a in enumerate(args) if a.startswith("customer_payroll_admin="))
        del args[at - 1 : at + 1]
    result = CliRunner().invoke(main, [*args, *extra])
    assert result.exit_code == 1 and "[invalid-binding]" in result.output, result.output
    assert stored_projects() == 0
