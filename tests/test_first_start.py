"""First start: many processes at once on an empty database, and read commands where no database is.

Prefect workers start together; each one's first command migrates the schema. The
migrations run under a lock (a PostgreSQL advisory lock, a lock on the SQLite file's
folder) and are skipped when the schema is already at the latest revision, so every
process succeeds. A command that only reads or changes what is stored, run where no
database is, says where it looked instead of making an empty one.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.stores import throwaway_postgres

ROOT = Path(__file__).parents[1]
SAAS = str(ROOT / "blueprints" / "saas-onboarding.yaml")
PEOPLE = {
    "cs_manager": "Sam Okafor <sam@vendor.example>",
    "csm": "Dana Ruiz <dana@vendor.example>",
    "onboarding_specialist": "Ivo Petrov <ivo@vendor.example>",
    "customer_sponsor": "Alex Brown <alex@acme.example>",
    "customer_champion": "Lee Park <lee@acme.example>",
    "customer_admin": "Kim Diaz <kim@acme.example>",
}
PROCESSES = 8

# Each process imports everything first, then waits for the same instant to run its command: the
# migrations of all eight overlap, as they do when workers start together.
_STARTER = """
import sys, time
from onboarding.cli import main
start = float(sys.argv[1])
time.sleep(max(0.0, start - time.time()))
sys.argv = ["onboarding", *sys.argv[2:]]
main()
"""


def command(n: int) -> list[str]:
    binds = [arg for role, who in PEOPLE.items() for arg in ("--bind", f"{role}={who}")]
    return [
        "launch",
        SAAS,
        "--customer",
        f"Customer {n}",
        "--kickoff",
        "2026-12-07",
        "--external-id",
        f"CRM-{n}",
        *binds,
    ]


def run_together(commands: list[list[str]], env: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    start = time.time() + 8  # time enough for every process to import on a busy 2-core machine
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _STARTER, str(start), *args],
            cwd=env["ONBOARDING_DATA_DIR"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    results = []
    for process, args in zip(processes, commands, strict=True):
        out, err = process.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(args, process.returncode, out, err))
    return results


def environment(data: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONBOARDING_")}
    return env | {
        "PYTHONPATH": str(ROOT),
        "ONBOARDING_DATA_DIR": str(data),
        "ONBOARDING_SECRET_KEY": "a-secret-key-long-enough-for-the-settings-0123456789",
        **more,
    }


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A PostgreSQL database of its own, with nothing in it (the session's database has the schema)."""
    with throwaway_postgres("onboarding_first_start") as url:
        yield url


def test_eight_processes_started_together_on_an_empty_postgresql_database_all_succeed(
    empty_postgres: str, tmp_path: Path
) -> None:
    env = environment(tmp_path, ONBOARDING_DATABASE_URL=empty_postgres)
    # half of them launch a project, half only list: reading commands migrate an empty database too
    commands = [command(n) if n % 2 else ["list", "--format", "json"] for n in range(PROCESSES)]
    results = run_together(commands, env)
    assert [r.returncode for r in results] == [0] * PROCESSES, "\n".join(r.stderr for r in results if r.returncode)
    assert all("Traceback" not in r.stderr for r in results)
    engine = create_engine(empty_postgres)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        external_ids = connection.execute(text("SELECT external_id FROM projects ORDER BY external_id")).scalars()
        assert list(external_ids) == [f"CRM-{n}" for n in range(1, PROCESSES, 2)]
    engine.dispose()


def test_eight_processes_started_together_on_a_new_sqlite_folder_all_succeed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = environment(data)
    data.mkdir()
    results = run_together([command(n) for n in range(PROCESSES)], env)
    assert [r.returncode for r in results] == [0] * PROCESSES, "\n".join(r.stderr for r in results if r.returncode)
    listed = subprocess.run(
        [sys.executable, "-m", "onboarding.cli", "list", "--format", "json"],
        cwd=data,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert sorted(p["external_id"] for p in json.loads(listed.stdout)) == sorted(f"CRM-{n}" for n in range(PROCESSES))


_OPEN = """
import sys
from onboarding.adapters.store.sql import open_database
open_database("sqlite:///" + sys.argv[1]).dispose()
"""


def test_a_new_sqlite_file_is_first_opened_by_one_process_at_a_time(tmp_path: Path) -> None:
    """The first connection to a new file turns WAL on, which two processes doing at once can be refused at once
    ("database is locked", seen one run in many with eight processes above): it waits for the folder's lock, and
    a file already written does not."""
    database = tmp_path / "onboarding.db"
    env = environment(tmp_path)
    folder = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)  # as another process opening the new file would hold it
        opening = subprocess.Popen(
            [sys.executable, "-c", _OPEN, str(database)], env=env, stderr=subprocess.PIPE, text=True
        )
        time.sleep(5)  # time enough to import and open on a busy machine
        assert opening.poll() is None, opening.communicate()[1]
        assert not database.exists() or database.stat().st_size == 0
    finally:
        os.close(folder)  # the lock let go: the waiting process opens and migrates the file
    _out, err = opening.communicate(timeout=120)
    assert opening.returncode == 0, err
    assert database.stat().st_size > 0
    again = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(again, fcntl.LOCK_EX)
        subprocess.run([sys.executable, "-c", _OPEN, str(database)], env=env, check=True, timeout=60)
    finally:
        os.close(again)


READ_OR_CHANGE = [["list"], ["report", "portfolio"], ["sweep", "--no-deliver"], ["complete", "CRM-1", "kickoff_call"]]


@pytest.mark.parametrize("args", READ_OR_CHANGE, ids=" ".join)
def test_a_command_run_where_no_database_is_says_where_it_looked_and_makes_none(
    args: list[str], tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = environment(Path("data"))  # the default: data/ under the current folder
    result = subprocess.run(
        [sys.executable, "-m", "onboarding.cli", *args],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[database-not-found]" in result.stderr and "Traceback" not in result.stderr
    assert str(elsewhere / "data" / "onboarding.db") in result.stderr and "ONBOARDING_DATA_DIR" in result.stderr
    assert list(elsewhere.iterdir()) == []  # no data folder, no empty database


def test_reading_commands_take_no_write_lock_once_the_schema_is_up_to_date(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    env = environment(data)
    launched = subprocess.run(
        [sys.executable, "-m", "onboarding.cli", *command(1)],
        cwd=data,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert launched.returncode == 0, launched.stderr
    writer = sqlite3.connect(data / "onboarding.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process writing for a long time (a sweep, say)
        started = time.monotonic()
        listed = subprocess.run(
            [sys.executable, "-m", "onboarding.cli", "list", "--format", "json"],
            cwd=data,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        waited = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert listed.returncode == 0, listed.stderr
    assert [p["external_id"] for p in json.loads(listed.stdout)] == ["CRM-1"]
    assert waited < 25  # the busy timeout is 30 s: a list that waited for the write lock would take that long


def test_a_sqlite_file_of_another_application_is_never_made_the_engines(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    theirs = sqlite3.connect(data / "onboarding.db")
    theirs.execute("CREATE TABLE customers (id INTEGER)")
    theirs.commit()
    theirs.close()
    result = subprocess.run(
        [sys.executable, "-m", "onboarding.cli", "db", "upgrade"],
        env=environment(data),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1 and "[database-not-ours]" in result.stderr, result.stdout + result.stderr
    assert "customers" in result.stderr and "Traceback" not in result.stderr
    tables = sqlite3.connect(data / "onboarding.db").execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("customers",)]
