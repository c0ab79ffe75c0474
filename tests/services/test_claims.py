"""Claims carry the run that made them: a gone run's claims are released at once, a live run keeps its own.

A sweep killed while delivering leaves its claimed rows ``sending``. A rerun, even
at the same instant, must deliver all of them; a concurrent run that is alive must
not lose its claims to it; and a claimant nobody can tell dead is waited for until
the lease runs out.
"""

from __future__ import annotations

import mailbox
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, text, update

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.transports import MaildirTransport, RecordingTransport
from onboarding.adapters.store.memory import InMemoryOutbox, InMemoryProjectStore
from onboarding.adapters.store.outbox import LOCKS, SqlOutbox, runs
from onboarding.adapters.store.runs import Liveness, ProcessIdentity, liveness, process_started, this_process
from onboarding.adapters.store.sql import outbox
from onboarding.services.dispatch import LEASE, Dispatcher
from tests.services.test_delivery import RENDERER, launched
from tests.services.test_sweep import World

ROOT = Path(__file__).parents[2]
NOW = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


def clock() -> FixedClock:
    return FixedClock(NOW.date(), at=NOW)


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


KILLED = """
import sys, time
from datetime import UTC, datetime
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.transports import MaildirTransport
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sql import make_engine
from onboarding.services.dispatch import Dispatcher
from tests.services.test_delivery import RENDERER

class Slow(MaildirTransport):
    def deliver(self, raw, *, message_key, recipients, timeout_seconds=None):
        super().deliver(raw, message_key=message_key, recipients=recipients, timeout_seconds=timeout_seconds)
        time.sleep(0.05)  # between writing the message and recording it sent: where a crash hurts

clock = FixedClock(datetime(2026, 12, 4).date(), at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC))
Dispatcher(outbox=SqlOutbox(make_engine(sys.argv[1])), renderer=RENDERER, transport=Slow(sys.argv[2]),
           clock=clock, batch=40).deliver_due()
"""


def test_a_rerun_at_the_same_instant_delivers_everything_a_killed_run_claimed(engine: Engine, tmp_path: Path) -> None:
    launched(engine, tmp_path, projects=12)  # 84 kickoff emails
    queued = 12 * 7
    maildir = tmp_path / "crash-maildir"
    child = subprocess.Popen([sys.executable, "-c", KILLED, url(engine), str(maildir)], cwd=ROOT, env=child_env())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (maildir / "new").exists() and len(os.listdir(maildir / "new")) >= 10:
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    box = SqlOutbox(engine)
    stranded = box.counts().get("sending", 0)
    assert stranded > 0  # the dead run's batch of 40, less what it recorded sent
    waiting = box.waiting(lease=LEASE)
    assert (waiting.stranded, waiting.claimed, waiting.stranded_until) == (stranded, 0, None)
    assert waiting.stranded_since == NOW

    report = Dispatcher(
        outbox=SqlOutbox(engine), renderer=RENDERER, transport=MaildirTransport(maildir), clock=clock()
    ).deliver_due()  # the same instant: the lease has not run out

    assert report.released == stranded and report.failed == 0
    keys = Counter(m["X-Onboarding-Key"] for m in mailbox.Maildir(maildir, create=False))
    assert len(keys) == queued and set(keys.values()) == {1}
    assert SqlOutbox(engine).counts() == {"sent": queued}
    assert report.waiting.pending == report.waiting.claimed == report.waiting.stranded == 0
    with engine.connect() as connection:
        assert connection.execute(select(runs.c.id)).all() == []  # the gone run's record went with its claims


HOLDER = """
import sys, time
from datetime import UTC, datetime, timedelta
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sql import make_engine

box = SqlOutbox(make_engine(sys.argv[1]))
run = box.begin_run()
claimed = box.claim(now=datetime(2026, 12, 4, 16, 0, tzinfo=UTC), worker=run, limit=10, lease=timedelta(minutes=10))
print(run, len(claimed), flush=True)
time.sleep(120)
"""


@contextmanager
def holder(engine: Engine) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Another process, alive, holding a run with 10 claims."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, url(engine)], cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            run, count = child.stdout.readline().split()
            assert count == "10"
            yield child, run
        finally:
            child.kill()
            child.wait()


def test_a_live_concurrent_run_keeps_its_claims_until_it_dies(engine: Engine, tmp_path: Path) -> None:
    launched(engine, tmp_path, projects=4)  # 28 kickoff emails, 10 of them claimed by the other process
    with holder(engine) as (child, run):
        held_then_killed(engine, child, run)


def held_then_killed(engine: Engine, child: subprocess.Popen[str], run: str) -> None:
    transport = RecordingTransport()
    dispatcher = Dispatcher(outbox=SqlOutbox(engine), renderer=RENDERER, transport=transport, clock=clock())

    first = dispatcher.deliver_due()

    assert (first.sent, first.released) == (18, 0)
    assert (first.waiting.claimed, first.waiting.claimed_since, first.waiting.stranded) == (10, NOW, 0)
    with engine.connect() as connection:
        assert (
            connection.execute(select(outbox.c.claimed_by).where(outbox.c.status == "sending")).scalars().all()
            == [run] * 10
        )

    child.kill()
    child.wait()
    second = dispatcher.deliver_due()  # still the same instant

    assert (second.sent, second.released) == (10, 10)
    keys = [d.key for d in transport.delivered]
    assert len(keys) == 28 and len(set(keys)) == 28


def claimed_by_a_recorded_run(engine: Engine, identity: ProcessIdentity, *, claims: int = 3) -> str:
    """A run recorded as made by ``identity``, holding ``claims`` claims made at NOW."""
    beat = datetime.now(UTC)
    row = {"host": identity.host, "pid": identity.pid, "process_started": identity.started}
    with engine.begin() as connection:
        run_id = connection.execute(
            insert(runs).values(**row, started_at=beat, heartbeat_at=beat).returning(runs.c.id)
        ).scalar_one()
    name = f"run:{run_id}"
    assert len(SqlOutbox(engine).claim(now=NOW, worker=name, limit=claims, lease=LEASE)) == claims
    return name


def deliver(engine: Engine, at: datetime = NOW) -> tuple[int, int]:
    report = Dispatcher(
        outbox=SqlOutbox(engine),
        renderer=RENDERER,
        transport=RecordingTransport(),
        clock=FixedClock(at.date(), at=at),
    ).deliver_due()
    return report.released, report.sent


def test_a_pid_reused_by_another_process_is_not_taken_for_the_run(engine: Engine, tmp_path: Path) -> None:
    launched(engine, tmp_path, projects=1)  # 7 kickoff emails
    me = this_process()
    # this very pid, but a process started at another time (or before a reboot): the run's process is gone
    claimed_by_a_recorded_run(engine, ProcessIdentity(me.host, me.pid, "another-boot:1"))
    assert deliver(engine) == (3, 7)


def test_a_run_of_this_process_is_alive_on_sqlite_and_gone_on_postgresql_without_its_lock(
    engine: Engine, tmp_path: Path
) -> None:
    launched(engine, tmp_path, projects=1)
    claimed_by_a_recorded_run(engine, this_process())  # recorded by hand: on PostgreSQL, nobody holds its lock
    if engine.dialect.name == "sqlite":
        assert deliver(engine) == (0, 4)  # the process lives: its claims are kept
    else:
        assert deliver(engine) == (3, 7)  # its session advisory lock is free: the run is gone


def test_a_run_on_another_machine_waits_out_the_lease_on_sqlite(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL a run is judged by its advisory lock and heartbeat, wherever it runs")
    launched(engine, tmp_path, projects=1)
    claimed_by_a_recorded_run(engine, ProcessIdentity("another-machine.example", 4242, "boot:1"))
    waiting = SqlOutbox(engine).waiting(lease=LEASE)
    assert (waiting.stranded, waiting.stranded_since, waiting.stranded_until) == (3, NOW, NOW + LEASE)
    assert deliver(engine) == (0, 4)  # it cannot be told dead from here
    assert deliver(engine, NOW + LEASE + timedelta(seconds=1)) == (0, 3)  # the lease, the last resort


@pytest.fixture
def lock_session(engine: Engine) -> Iterator[object]:
    """A PostgreSQL session of its own (another machine's run, say) that can hold a run's advisory lock."""
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    connection = engine.connect()
    try:
        yield connection
    finally:
        connection.invalidate()
        connection.close()


def hold_lock(connection: object, run: str) -> None:
    from sqlalchemy import Connection

    assert isinstance(connection, Connection)
    with connection.begin():
        connection.execute(
            text("SELECT pg_advisory_lock(CAST(:a AS integer), CAST(:b AS integer))"),
            {"a": LOCKS, "b": int(run.removeprefix("run:"))},
        )


def test_on_postgresql_a_run_elsewhere_is_alive_while_it_holds_its_lock_and_beats(
    engine: Engine, tmp_path: Path, lock_session: object
) -> None:
    launched(engine, tmp_path, projects=1)
    elsewhere = ProcessIdentity("another-machine.example", 4242, "boot:1")
    run = claimed_by_a_recorded_run(engine, elsewhere)
    hold_lock(lock_session, run)
    assert deliver(engine) == (0, 4)  # lock held, heartbeat fresh: alive
    stopped = datetime.now(UTC) - timedelta(minutes=5)
    with engine.begin() as connection:  # its machine froze: the session lingers, the heartbeat stopped
        connection.execute(update(runs).where(runs.c.id == int(run.removeprefix("run:"))).values(heartbeat_at=stopped))
    assert deliver(engine) == (3, 3)


def test_a_run_beats_its_heartbeat_and_leaves_no_trace_when_it_ends(engine: Engine, tmp_path: Path) -> None:
    launched(engine, tmp_path, projects=1)
    box = SqlOutbox(engine)
    run = box.begin_run()
    with engine.connect() as connection:
        (row,) = connection.execute(select(runs)).all()
    me = this_process()
    assert (row.host, row.pid, row.process_started) == (me.host, me.pid, me.started)
    assert len(box.claim(now=NOW, worker=run, limit=5, lease=LEASE)) == 5
    assert deliver(engine) == (0, 2)  # a live run of this very process keeps its claims
    box.end_run(run)  # ended without recording them: they are given back
    assert box.counts() == {"pending": 5, "sent": 2}
    with engine.connect() as connection:
        assert connection.execute(select(runs.c.id)).all() == []


def test_a_process_is_known_by_its_start_and_a_dead_one_is_gone() -> None:
    me = this_process()
    assert me.started and me.host == socket.gethostname()
    assert liveness(me) is Liveness.alive
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # exited and reaped: its pid is free
    assert process_started(child.pid) is None
    assert liveness(ProcessIdentity(me.host, child.pid, "boot:1")) is Liveness.gone
    assert liveness(ProcessIdentity("another-machine.example", me.pid, me.started)) is Liveness.unknown


def test_the_in_memory_outbox_releases_a_killed_runs_claims_too(tmp_path: Path) -> None:
    store = InMemoryProjectStore()
    box = InMemoryOutbox(store)
    world = World((store, box, None), tmp_path)
    world.launch()
    dead = box.begin_run()
    assert len(box.claim(now=NOW, worker=dead, limit=4, lease=LEASE)) == 4
    box.kill(dead)
    assert box.waiting(lease=LEASE).stranded == 4
    report = Dispatcher(outbox=box, renderer=RENDERER, transport=RecordingTransport(), clock=clock()).deliver_due()
    assert (report.released, report.sent) == (4, 7)


def test_a_live_run_keeps_its_claims_whatever_day_another_run_acts_as_of(engine: Engine, tmp_path: Path) -> None:
    """A catch-up run claims as of a past day; a sweep acting as of now must not take its claims for stale."""
    launched(engine, tmp_path, projects=1)  # 7 kickoff emails
    box = SqlOutbox(engine)
    catching_up = box.begin_run()
    try:
        mine = box.claim(now=NOW, worker=catching_up, limit=100, lease=LEASE)
        current = box.begin_run()
        try:
            theirs = box.claim(now=NOW + timedelta(hours=17), worker=current, limit=100, lease=LEASE)
        finally:
            box.end_run(current)
        assert len(mine) == 7 and theirs == []
    finally:
        box.end_run(catching_up)


def test_on_postgresql_a_run_whose_session_is_lost_takes_its_lock_again_and_beats_on(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's session can be lost while it delivers (the server restarted, a proxy dropped it): its lock goes
    with it and the run looks gone, so another run would take its claims. Its heartbeat takes the lock again on a
    new session at its next beat, and beats on through a statement that fails."""
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks and the heartbeat thread are PostgreSQL's")
    import onboarding.adapters.store.outbox as outbox_module

    monkeypatch.setattr(outbox_module, "HEARTBEAT", timedelta(seconds=0.1))
    launched(engine, tmp_path, projects=1)
    box = SqlOutbox(engine)
    run = box.begin_run()
    try:
        assert len(box.claim(now=NOW, worker=run, limit=5, lease=LEASE)) == 5
        key = int(run.removeprefix("run:"))
        with engine.begin() as connection:
            (killed,) = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND classid = CAST(:a AS oid) AND objid = CAST(:b AS oid) AND granted"
                ),
                {"a": LOCKS, "b": key},
            ).scalars()
        assert killed

        def beaten_since(instant: datetime) -> bool:
            with engine.connect() as connection:
                beat = connection.execute(select(runs.c.heartbeat_at).where(runs.c.id == key)).scalar_one()
                return beat > instant and box._run_states(connection).get(run) is Liveness.alive

        deadline = time.monotonic() + 10
        since = datetime.now(UTC)
        while time.monotonic() < deadline and not beaten_since(since):
            time.sleep(0.05)
        assert beaten_since(since)  # its lock held again, its heart beating
        assert deliver(engine) == (0, 2)  # so its claims are its own still
    finally:
        box.end_run(run)
    assert box.counts() == {"pending": 5, "sent": 2}

    def held() -> int:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                        " AND classid = CAST(:a AS oid) AND objid = CAST(:b AS oid)"
                    ),
                    {"a": LOCKS, "b": key},
                ).scalar_one()
            )

    # the new session went with the run: its lock is free once the server has ended that session's backend,
    # which it does as it reads the session's goodbye (a moment after the client closed it, on a busy machine)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and held():
        time.sleep(0.05)
    assert held() == 0
