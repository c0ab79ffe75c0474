"""Task verbs, hold and resume on the command line: a day the rules refuse exits 1, coded, and changes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from onboarding.bootstrap import database, project_service
from onboarding.cli import main
from onboarding.settings import Settings
from tests.services.test_projects import PAYROLL, PEOPLE


def test_days_the_rules_refuse_exit_1_with_their_code_and_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, today: date
) -> None:
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "a-secret-key-long-enough-for-the-settings-0123456789")
    kickoff = today - timedelta(days=21)  # the command line runs on the real clock
    engine = database(Settings())
    svc = project_service(Settings(), engine=engine)
    pid = svc.launch(
        PAYROLL, customer="Acme", kickoff_on=kickoff, bindings=PEOPLE, pay_schedule="biweekly:2026-01-02"
    ).project.id
    before = svc.events(pid)
    runner = CliRunner()
    for args, code in [
        (["complete", pid, "kickoff_call", "--on", "9999-12-31"], "date-in-future"),
        (["complete", pid, "kickoff_call", "--on", "9999-12-31", "--force-date"], "date-in-future"),
        (["start", pid, "kickoff_call", "--on", "1900-01-01"], "date-too-early"),
        (["complete", pid, "kickoff_call", "--on", (kickoff - timedelta(days=1)).isoformat()], "date-before-kickoff"),
        (["hold", pid, "--on", (today + timedelta(days=1)).isoformat()], "date-in-future"),
    ]:
        result = runner.invoke(main, args)
        assert result.exit_code == 1, result.output
        assert f"[{code}]" in result.stderr and "Traceback" not in result.output
    assert svc.events(pid) == before

    earlier = (kickoff - timedelta(days=1)).isoformat()
    result = runner.invoke(main, ["complete", pid, "kickoff_call", "--on", earlier, "--force-date"])
    assert result.exit_code == 0, result.output
    event = next(e for e in reversed(svc.events(pid)) if e.task_key == "kickoff_call")
    assert event.data["date_forced"] == ["date-before-kickoff"]
    held_on = (kickoff + timedelta(days=7)).isoformat()
    assert runner.invoke(main, ["hold", pid, "--on", held_on]).exit_code == 0
    result = runner.invoke(main, ["resume", pid, "--on", (kickoff + timedelta(days=6)).isoformat()])
    assert result.exit_code == 1 and "[date-before-hold]" in result.stderr
    assert runner.invoke(main, ["resume", pid, "--on", held_on]).exit_code == 0
    engine.dispose()
