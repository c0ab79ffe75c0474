"""`onboarding cancel | recommit | rebind | note | history` on the CLI's own SQLite database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from onboarding.adapters.clock import FixedClock
from onboarding.bootstrap import database, project_service
from onboarding.cli import main
from onboarding.settings import Settings
from tests.services.test_projects import PAYROLL, PEOPLE


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A project launched in the CLI's own database (a fresh data folder); its id."""
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "a-secret-key-long-enough-for-the-settings-0123456789")
    engine: Engine = database(Settings())
    # kicked off on the next Monday of the wall clock's: the commands run on it, and a project late by then would
    # have news of its own (a go-live moved) beside what they do
    today = date.today()
    kickoff_on = today + timedelta(days=7 - today.weekday())
    svc = project_service(Settings(), clock=FixedClock(today), engine=engine)
    launched = svc.launch(
        PAYROLL,
        customer="Acme",
        kickoff_on=kickoff_on,
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02",
        external_id="CRM-7",
    )
    yield launched.project.id
    engine.dispose()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_note_rebind_cancel_then_the_history(project: str) -> None:
    assert run("note", "CRM-7", "Customer asked for weekly calls", "--by", "dana")[0] == 0
    code, out, err = run("note", project, "Done early", "--task", "kickoff_call", "--by", "dana")
    assert code == 0, err
    code, out, err = run(
        "rebind", project, "csm", "Jo Smith <jo@vendor.example>", "--tz", "Europe/Berlin", "--note", "Dana left"
    )
    assert code == 0, err
    assert "csm is now Jo Smith <jo@vendor.example> (Europe/Berlin)" in out
    code, out, err = run("cancel", project, "--reason", "Deal lost", "--by", "sam")
    assert code == 0, err
    assert f"{project} is cancelled" in out
    code, out, err = run("history", project, "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    kinds = [e["kind"] for e in document["events"]]
    assert kinds == ["project_launched", "noted", "noted", "rebound", "cancelled"]
    assert document["events"][-1]["actor"] == "sam" and document["events"][-1]["data"]["reason"] == "Deal lost"
    code, out, _err = run("history", project, "--kind", "noted", "--newest-first", "--limit", "1")
    assert code == 0 and "Done early" in out and "weekly calls" not in out and "1 of 2 events" in out
    code, out, _err = run("history", project, "--by", "dana", "--task", "kickoff_call")
    assert code == 0 and "Done early" in out and "1 events" in out


def test_refusals_are_coded_and_change_nothing(project: str) -> None:
    cases = [
        (("cancel", project, "--reason", " "), "reason-required"),
        (("recommit", project, "--reason", "later"), "nothing-to-recommit"),
        (("rebind", project, "cms", "Jo <jo@vendor.example>"), "unknown-role"),
        (("rebind", project, "csm", "Jo <jo at vendor>"), "invalid-address"),
        (("rebind", project, "csm", "Jo <jo@vendor.example>", "--tz", "Mars/Base"), "invalid-time-zone"),
        (("note", project, "x", "--task", "kickof_call"), "unknown-task"),
        (("history", project, "--kind", "notes"), "unknown-event-kind"),
        (("cancel", "nope", "--reason", "x"), "project-not-found"),
    ]
    for args, code in cases:
        exit_code, _out, err = run(*args)
        assert exit_code == 1 and f"[{code}]" in err and "Traceback" not in err, (args, err)
    assert "did you mean 'csm'?" in run("rebind", project, "cms", "Jo <jo@vendor.example>")[2]
    assert run("history", project, "--limit", "0")[0] == 2  # bad usage
    code, out, _err = run("history", project, "--format", "json")
    assert [e["kind"] for e in json.loads(out)["events"]] == ["project_launched"]
    assert run("cancel", project, "--reason", "lost")[0] == 0
    again = run("cancel", project, "--reason", "lost")
    assert again[0] == 1 and "[project-cancelled]" in again[2]
