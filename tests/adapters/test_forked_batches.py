"""A sweep's batches in forked processes: in order, never more at once than asked, a failure raised in the sweep
once the others end, no connection shared across the fork, and no process left working once its sweep is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from onboarding.adapters.forked_batches import ForkedBatches
from onboarding.adapters.store.sql import make_engine
from onboarding.bootstrap import database, sweep_service
from onboarding.errors import Problem, StoreUnavailable, SweepInterrupted
from onboarding.settings import Settings
from onboarding_flows.stopping import running


class Journal:
    """What each batch did, written to a file by whichever process worked it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def note(self, *fields: object) -> None:
        with self.path.open("a") as lines:
            lines.write(" ".join(map(str, fields)) + "\n")

    def lines(self) -> list[list[str]]:
        return [line.split() for line in self.path.read_text().splitlines()] if self.path.exists() else []


def gone(pids: list[int], *, within: float) -> bool:
    """Whether none of these processes is running any more, waiting at most ``within`` seconds."""
    deadline = time.monotonic() + within
    while any(running(pid) for pid in pids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'batches.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE worked (item INTEGER PRIMARY KEY, pid INTEGER)"))
    return engine


def test_each_batch_is_worked_in_another_process_at_most_so_many_at_once_results_in_order(
    engine: Engine, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal")

    def work(item: int) -> tuple[int, int]:
        journal.note("start", item, os.getpid(), time.monotonic())
        with engine.begin() as connection:  # over a connection of its own process
            connection.execute(text("INSERT INTO worked VALUES (:item, :pid)"), {"item": item, "pid": os.getpid()})
        time.sleep(0.05 * (item % 3))  # later items often end first
        journal.note("end", item, os.getpid(), time.monotonic())
        return item, item * item

    with engine.connect() as connection:  # a connection open in this process before the fork
        connection.execute(text("SELECT 1"))
        assert ForkedBatches(engine)(work, [1, 2, 3, 4, 5], workers=2) == [(i, i * i) for i in range(1, 6)]
    events = sorted(journal.lines(), key=lambda line: float(line[3]))
    workers = {pid for _, _, pid, _ in events}
    assert len(workers) == 2 and str(os.getpid()) not in workers
    at_once = most = 0
    for kind, *_ in events:
        at_once += 1 if kind == "start" else -1
        most = max(most, at_once)
    assert most == 2
    with engine.connect() as connection:  # what they wrote is there, and this process's engine still works
        rows = connection.execute(text("SELECT item, pid FROM worked ORDER BY item")).all()
    assert [item for item, _ in rows] == [1, 2, 3, 4, 5] and {str(pid) for _, pid in rows} == workers
    engine.dispose()


def test_the_first_failure_is_raised_in_the_sweep_as_it_was_raised_and_nothing_starts_after(
    engine: Engine, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal")

    def work(item: int) -> int:
        journal.note("start", item)
        time.sleep(0.05)
        journal.note("end", item)
        if item == 3:
            raise StoreUnavailable("the database", (Problem("database-unreachable", "it went away", hint="retry"),))
        return item

    with pytest.raises(StoreUnavailable) as raised:
        ForkedBatches(engine)(work, list(range(10)), workers=2)
    assert [p.code for p in raised.value.problems] == ["database-unreachable"]
    started = [int(item) for kind, item in journal.lines() if kind == "start"]
    ended = [int(item) for kind, item in journal.lines() if kind == "end"]
    assert sorted(started) == sorted(ended)  # nothing left running
    assert max(started) <= 4  # at most the one beside it, started before its failure was seen
    engine.dispose()


def test_a_batch_process_killed_ends_the_sweep_with_a_problem_leaving_no_batch_running(
    engine: Engine, tmp_path: Path
) -> None:
    """A batch process killed on its own (out of memory, say, or by an operator): the sweep stops with a problem,
    not a traceback; the batch under way beside it is ended, none starts after, and what batches committed stays."""
    journal = Journal(tmp_path / "journal")

    def work(item: int) -> int:
        journal.note("start", item, os.getpid())
        if item == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO worked VALUES (:item, :pid)"), {"item": item, "pid": os.getpid()})
        time.sleep(0.2)
        return item

    with pytest.raises(SweepInterrupted) as raised:
        ForkedBatches(engine)(work, list(range(10)), workers=2)
    assert raised.value.codes == ["sweep-batch-lost"]
    started = journal.lines()
    assert max(int(item) for _, item, _ in started) <= 4  # at most the one beside it, started before the loss
    assert gone([int(pid) for *_, pid in started], within=10)
    with engine.connect() as connection:  # this process's engine still works; a batch that ran to its end stays
        worked = connection.execute(text("SELECT item FROM worked")).scalars().all()
    assert 3 not in worked and set(worked) <= {int(item) for _, item, _ in started}
    engine.dispose()


@pytest.mark.parametrize(("url", "workers", "items"), [("file", 1, [1, 2, 3]), ("file", 4, [7]), ("memory", 2, [1, 2])])
def test_one_worker_one_item_or_a_database_in_memory_is_worked_in_this_process(
    tmp_path: Path, url: str, workers: int, items: list[int]
) -> None:
    """An in-memory SQLite database is this process's alone: its batches go in threads."""
    engine = make_engine("sqlite://" if url == "memory" else f"sqlite:///{tmp_path / 'one.db'}")
    assert ForkedBatches(engine)(lambda item: (item, os.getpid()), items, workers=workers) == [
        (item, os.getpid()) for item in items
    ]
    engine.dispose()


SWEEP_KILLED = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from onboarding.adapters.forked_batches import ForkedBatches
    from onboarding.adapters.store.sql import make_engine

    folder = Path(sys.argv[1])
    engine = make_engine(f"sqlite:///{folder / 'killed.db'}")

    def work(item):
        (folder / f"batch-{os.getpid()}").write_text(str(item))
        time.sleep(600)

    ForkedBatches(engine)(work, [1, 2, 3], workers=2)
    """
)


def test_a_sweep_killed_leaves_no_batch_process_working(tmp_path: Path) -> None:
    sweep = subprocess.Popen([sys.executable, "-c", SWEEP_KILLED, str(tmp_path)])
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("batch-*"))) < 2:
            assert sweep.poll() is None and time.monotonic() < deadline, "the batches never started"
            time.sleep(0.05)
        batches = [int(path.name.removeprefix("batch-")) for path in tmp_path.glob("batch-*")]
        assert all(running(pid) for pid in batches)
        os.kill(sweep.pid, signal.SIGKILL)
        sweep.wait(10)
        assert gone(batches, within=10)
    finally:
        sweep.kill()
        sweep.wait(10)


@pytest.mark.parametrize(("cores", "forked", "workers"), [(2, True, 2), (1, True, 1), (2, False, 1)])
def test_a_sweep_on_sqlite_forks_two_batch_processes_by_default_where_there_are_two_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: int, forked: bool, workers: int
) -> None:
    """``onboarding sweep`` works two batches at once in processes; a Prefect flow run's sweep (threads, which
    share one interpreter and SQLite's one writer) and a machine of one core work one at a time."""
    monkeypatch.delenv("ONBOARDING_SWEEP_WORKERS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    settings = Settings(data_dir=tmp_path)
    engine = database(settings)
    service = sweep_service(settings, engine=engine, deliver=False, forked=forked)
    assert service.workers == workers
    assert isinstance(service._spread, ForkedBatches) is forked
    engine.dispose()
