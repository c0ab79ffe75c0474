"""`onboarding status` and `onboarding sweep` show what the outbox is waiting on, and since when."""

from __future__ import annotations

import json
import mailbox
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.outbox import SqlOutbox, runs
from onboarding.adapters.store.runs import this_process
from onboarding.bootstrap import database, project_service
from onboarding.cli import main
from onboarding.services.dispatch import LEASE
from onboarding.settings import Settings
from tests.services.test_projects import PAYROLL, PEOPLE

LAUNCHED = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
CLAIMED = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def test_status_and_sweep_show_stranded_claims_and_the_sweep_releases_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "a-secret-key-long-enough-for-the-settings-0123456789")
    engine = database(Settings())
    svc = project_service(Settings(), clock=FixedClock(LAUNCHED.date(), at=LAUNCHED), engine=engine)
    pid = svc.launch(
        PAYROLL, customer="Acme", kickoff_on=date(2026, 11, 23), bindings=PEOPLE, pay_schedule="biweekly:2026-01-02"
    ).project.id  # 7 kickoff emails
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a sweep of this machine that died mid-delivery, holding 3 claims
    with engine.begin() as connection:
        run_id = connection.execute(
            insert(runs)
            .values(
                host=this_process().host,
                pid=dead.pid,
                process_started="boot:1",
                started_at=datetime.now(UTC),
                heartbeat_at=datetime.now(UTC),
            )
            .returning(runs.c.id)
        ).scalar_one()
    assert len(SqlOutbox(engine).claim(now=CLAIMED, worker=f"run:{run_id}", limit=3, lease=LEASE)) == 3
    engine.dispose()

    before = CliRunner().invoke(main, ["status", pid, "--format", "json"])
    assert before.exit_code == 0, before.output
    assert json.loads(before.stdout)["waiting_emails"] == {
        "pending": 4,
        "pending_since": LAUNCHED.isoformat(),
        "claimed": 0,
        "claimed_since": None,
        "stranded": 3,
        "stranded_since": CLAIMED.isoformat(),
        "stranded_until": None,  # the next delivery releases them: their run is gone
    }
    table = CliRunner().invoke(main, ["status", pid])
    assert "emails 3 stranded since 2026-11-20 16:00:00 UTC" in table.stdout
    assert "released by the next delivery" in table.stdout

    swept = CliRunner().invoke(main, ["sweep", "--as-of", "2026-11-20", "--at", "16:00"])  # the same instant

    assert swept.exit_code == 0, swept.output
    assert "outbox: 3 emails claimed by runs that are gone were released and taken again" in swept.stdout
    assert "stranded" not in swept.stdout
    kickoff = [m for m in mailbox.Maildir(tmp_path / "maildir", create=False) if "kickoff" in m["X-Onboarding-Key"]]
    assert len(kickoff) == 7
    after = CliRunner().invoke(main, ["status", pid, "--format", "json"])
    assert json.loads(after.stdout)["waiting_emails"]["stranded"] == 0
    assert json.loads(after.stdout)["waiting_emails"]["pending"] == 0
