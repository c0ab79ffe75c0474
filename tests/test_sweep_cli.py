"""`onboarding sweep`: a project that cannot be re-planned is named, the rest of the sweep done, exit 1."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sql import projects
from onboarding.bootstrap import database, project_service
from onboarding.cli import main
from onboarding.settings import Settings
from tests.services.test_projects import PAYROLL, PEOPLE


def test_a_project_that_cannot_be_replanned_is_named_and_the_sweep_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "a-secret-key-long-enough-for-the-settings-0123456789")
    engine = database(Settings())
    svc = project_service(Settings(), clock=FixedClock(date(2026, 12, 1)), engine=engine)
    ids = [
        svc.launch(
            PAYROLL, customer=name, kickoff_on=date(2026, 12, 7), bindings=PEOPLE, pay_schedule="biweekly:2026-01-02"
        ).project.id
        for name in ("Acme", "Birch")
    ]
    with engine.begin() as connection:
        connection.execute(update(projects).where(projects.c.id == ids[0]).values(pay_schedule="fortnightly"))
    engine.dispose()
    result = CliRunner().invoke(main, ["sweep", "--as-of", "2026-12-09"])
    assert result.exit_code == 1, result.output
    assert "re-forecast 1 projects" in result.stdout
    assert "1 project(s) could not be re-planned" in result.stderr
    assert f"  {ids[0]}: " in result.stderr and "Traceback" not in result.output
