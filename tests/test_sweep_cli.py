"""`onboarding sweep`: the days it may run as of, its dry run, and a project that cannot be re-planned.

A refused sweep says why with a code and what to do, exits 1 without a traceback
and leaves the database and the Maildir exactly as they were (compared by whole
dumps), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import email.utils
import mailbox
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select, update

from onboarding import bootstrap
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sql import projects
from onboarding.adapters.store.sweep import SqlSweepStore, sweep_days
from onboarding.bootstrap import database, project_service
from onboarding.cli import main
from onboarding.settings import Settings
from tests.dumps import database_dump, folder_dump
from tests.services.test_projects import PAYROLL, PEOPLE
from tests.stores import _fresh_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def configured(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The database the CLI is configured with (SQLite in the data folder, or PostgreSQL), migrated."""
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "a-secret-key-long-enough-for-the-settings-0123456789")
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        _fresh_postgres(url).dispose()
        monkeypatch.setenv("ONBOARDING_DATABASE_URL", url)
    opened: list[Engine] = []

    def kept(settings: Settings, *, create: bool = True) -> Engine:  # the CLI's engines, closed at the end
        opened.append(database(settings, create=create))
        return opened[-1]

    monkeypatch.setattr(bootstrap, "database", kept)
    engine = database(Settings())
    yield engine
    for each in (engine, *opened):
        each.dispose()


def launch(engine: Engine, kickoff_on: date, *names: str) -> list[str]:
    svc = project_service(Settings(), clock=FixedClock(kickoff_on - timedelta(days=6)), engine=engine)
    return [
        svc.launch(
            PAYROLL, customer=name, kickoff_on=kickoff_on, bindings=PEOPLE, pay_schedule="biweekly:2026-01-02"
        ).project.id
        for name in names
    ]


def sweep(*args: str) -> Result:
    return CliRunner().invoke(main, ["sweep", *args])


def refused(result: Result, code: str) -> None:
    assert result.exit_code == 1, result.output
    assert f"[{code}]" in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # exited on purpose, nothing raised


def swept_days(engine: Engine) -> list[date]:
    with engine.connect() as connection:
        return list(connection.execute(select(sweep_days.c.swept_on).order_by(sweep_days.c.swept_on)).scalars())


def test_a_sweep_as_of_a_later_day_is_refused_on_a_real_database_and_changes_nothing(
    configured: Engine, tmp_path: Path, today: date
) -> None:
    launch(configured, today + timedelta(days=3), "Acme")  # kickoff emails queued, not yet delivered
    before = database_dump(configured), folder_dump(tmp_path / "maildir")
    for args in (
        ["--as-of", (today + timedelta(days=19)).isoformat()],
        ["--as-of", (today + timedelta(days=1)).isoformat(), "--at", "00:00"],
        ["--as-of", today.isoformat(), "--at", "23:59"] if datetime.now(UTC).hour < 23 else ["--at", "23:59:00"],
    ):
        result = sweep(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "Traceback" not in result.output
    refused(sweep("--as-of", (today + timedelta(days=19)).isoformat()), "sweep-in-future")
    assert "only a database created as a simulation" in sweep("--as-of", "2099-01-01").stderr
    assert (database_dump(configured), folder_dump(tmp_path / "maildir")) == before


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--as-of", "9999-12-31"], "sweep-day-out-of-range"),
        (["--as-of", "0001-01-01"], "sweep-day-out-of-range"),
        (["--at", "25:00"], "invalid-sweep-time"),
        (["--at", "noon"], "invalid-sweep-time"),
        (["--as-of", "2026-11-02", "--at", "12:60"], "invalid-sweep-time"),
        (["--as-of", "2026-11-02", "--at", "7"], "invalid-sweep-time"),
    ],
)
def test_an_unusable_day_or_time_gets_a_coded_error_and_changes_nothing(
    configured: Engine, tmp_path: Path, args: list[str], code: str, today: date
) -> None:
    launch(configured, today + timedelta(days=3), "Acme")
    before = database_dump(configured), folder_dump(tmp_path / "maildir")
    result = sweep(*args)
    refused(result, code)
    assert "(" in result.stderr  # the hint, after the message
    assert (database_dump(configured), folder_dump(tmp_path / "maildir")) == before


def test_a_catch_up_sweeps_missed_days_in_order_never_before_the_latest(
    configured: Engine, tmp_path: Path, today: date
) -> None:
    launch(configured, today - timedelta(days=20), "Acme")
    for back in (3, 2, 2, 1):  # oldest missed day first; the same day again is fine
        day = (today - timedelta(days=back)).isoformat()
        result = sweep("--as-of", day)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"sweep {day}:")
    assert swept_days(configured) == [today - timedelta(days=n) for n in (3, 2, 1)]
    before = database_dump(configured), folder_dump(tmp_path / "maildir")
    result = sweep("--as-of", (today - timedelta(days=2)).isoformat())
    refused(result, "sweep-before-last-swept")
    assert f"sweep as of {(today - timedelta(days=1)).isoformat()} or a later day" in result.stderr
    assert (database_dump(configured), folder_dump(tmp_path / "maildir")) == before
    assert sweep().exit_code == 0  # now, by the system clock
    assert swept_days(configured)[-1] == today


def _dates(maildir: Path) -> list[datetime]:
    """The Date header of every message in the Maildir."""
    return [
        email.utils.parsedate_to_datetime(m["Date"])
        for m in mailbox.Maildir(maildir, create=False)  # type: ignore[misc]
    ]


def test_a_catch_up_sweeps_emails_are_dated_when_they_leave(configured: Engine, tmp_path: Path, today: date) -> None:
    """A sweep as of a missed day acts as of that day (its decisions, what it records), but its emails leave now:
    dated a day or more back, they would sort below the customer's newer mail. A simulation keeps its own clock."""
    launch(configured, today - timedelta(days=20), "Acme")
    before = datetime.now(UTC).replace(microsecond=0)
    result = sweep("--as-of", (today - timedelta(days=3)).isoformat(), "--at", "09:00")
    assert result.exit_code == 0, result.output
    dates = _dates(tmp_path / "maildir")
    assert dates and all(before <= d <= datetime.now(UTC) + timedelta(seconds=1) for d in dates), dates


def test_a_simulation_database_may_sweep_as_of_later_days(configured: Engine, tmp_path: Path, today: date) -> None:
    SqlSweepStore(configured).mark_simulation(at=datetime.now(UTC))
    launch(configured, today + timedelta(days=30), "Acme")
    result = sweep("--as-of", (today + timedelta(days=40)).isoformat(), "--at", "16:30")
    assert result.exit_code == 0, result.output
    assert swept_days(configured) == [today + timedelta(days=40)]
    later = datetime.combine(today + timedelta(days=40), time(16, 30), tzinfo=UTC)
    assert set(_dates(tmp_path / "maildir")) == {later}  # the simulated day's emails, dated on it
    refused(sweep("--as-of", (today + timedelta(days=39)).isoformat()), "sweep-before-last-swept")


def test_a_database_in_use_is_never_marked_a_simulation(configured: Engine, today: date) -> None:
    launch(configured, today + timedelta(days=3), "Acme")
    with pytest.raises(RuntimeError):
        SqlSweepStore(configured).mark_simulation(at=datetime.now(UTC))
    assert not SqlSweepStore(configured).sweep_history().simulation


def test_a_project_that_cannot_be_replanned_is_named_and_the_sweep_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "a-secret-key-long-enough-for-the-settings-0123456789")
    engine = database(Settings())
    SqlSweepStore(engine).mark_simulation(at=datetime(2026, 12, 1, tzinfo=UTC))  # it lives through December 2026
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


def counted(out: str, words: str) -> int:
    """The number in a line such as ``would queue 9 email(s):``."""
    line = next(line for line in out.splitlines() if line.startswith(words))
    return int(line.removeprefix(words).split()[0])


def test_a_dry_run_prints_what_a_sweep_would_do_and_writes_nothing(configured: Engine, tmp_path: Path) -> None:
    ids = launch(configured, date(2026, 10, 26), "Acme", "Birch")  # kickoff emails queued, work long overdue
    before = database_dump(configured), folder_dump(tmp_path / "maildir")
    dry = sweep("--as-of", "2026-11-18", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert (database_dump(configured), folder_dump(tmp_path / "maildir")) == before  # not even the day swept
    out = dry.stdout
    assert counted(out, "would re-forecast") == 2
    assert all(any(line.startswith(f"  {pid} ") and "go-live" in line for line in out.splitlines()) for pid in ids)
    assert "  lee@acme.example:" in out or any(
        line.startswith("  ") and line.endswith(":") for line in out.splitlines()
    )
    assert counted(out, "would deliver") == counted(out, "would queue") + 2 * len(PEOPLE)  # the kickoff emails
    assert counted(out, "would queue") > 0 and "nudge_digest to " in out and "kickoff to " in out

    real = sweep("--as-of", "2026-11-18")  # the sweep itself does what the dry run said
    assert real.exit_code == 0, real.output
    nudges = sum(1 for line in out.splitlines() if line.startswith("    "))
    assert f"re-forecast {counted(out, 'would re-forecast')} projects" in real.stdout
    assert f"{nudges} nudges in " in real.stdout
    assert f"delivered {counted(out, 'would deliver')}," in real.stdout
    assert len(folder_dump(tmp_path / "maildir")) == counted(out, "would deliver")

    after = database_dump(configured), folder_dump(tmp_path / "maildir")
    again = sweep("--as-of", "2026-11-18", "--dry-run")
    assert counted(again.stdout, "would deliver") == 0 and counted(again.stdout, "would queue") == 0
    assert (database_dump(configured), folder_dump(tmp_path / "maildir")) == after


def test_a_dry_run_is_refused_as_the_sweep_would_be(configured: Engine, tmp_path: Path, today: date) -> None:
    launch(configured, today + timedelta(days=3), "Acme")
    before = database_dump(configured), folder_dump(tmp_path / "maildir")
    refused(sweep("--as-of", (today + timedelta(days=19)).isoformat(), "--dry-run"), "sweep-in-future")
    refused(sweep("--at", "noon", "--dry-run"), "invalid-sweep-time")
    assert (database_dump(configured), folder_dump(tmp_path / "maildir")) == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--shards", "4"], "--shards needs --pool"),
        (["--shards", "0", "--pool", "sweeps"], "Invalid value for '--shards'"),
        (["--cron", "* * * * *", "--interval", "5"], "not both"),
        (["--deliver-every", "-1"], "Invalid value for '--deliver-every'"),
    ],
)
def test_serve_refuses_a_share_of_sweeps_it_cannot_hand_out(
    args: list[str], says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused before ``serve`` turns into Prefect's runner: nothing registered, nothing started."""
    monkeypatch.setattr("os.execv", lambda *a: pytest.fail(f"serve started with {a}"))
    result = CliRunner().invoke(main, ["serve", *args])
    assert result.exit_code == 2 and says in result.output, result.output


def test_serve_hands_its_shards_and_pool_to_the_flows(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr("os.execv", lambda _python, argv: started.append(argv))
    result = CliRunner().invoke(main, ["serve", "--shards", "32", "--pool", "sweeps"])
    assert result.exit_code == 0, result.output
    assert started[0][1:] == [
        "-m", "onboarding_flows.serve", "--cron", "*/15 * * * *", "--shards", "32", "--pool", "sweeps",
        "--deliver-every", "60", "--report-cron", "0 7 * * 1",
    ]  # fmt: skip
