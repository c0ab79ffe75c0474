"""Fault injection: a sweep process killed with SIGKILL at a random point, then rerun at the same instant.

A portfolio of payroll projects launched two months before the sweep day gives a
sweep work in each of its phases: deciding (reading the overdue work, choosing
the nudges; nothing written), recording (nudges, re-forecasts, window-jump alerts
and weekly status emails written with their outbox rows) and delivering (the
outbox, to a Maildir or a real SMTP server). One uninterrupted sweep on a copy
of the portfolio measures when each phase starts and ends and which messages a
sweep sends. Then each trial, on a fresh copy:

1. ``onboarding sweep --as-of DAY --at HH:MM`` runs as a subprocess and is killed
   with SIGKILL after a delay drawn at random inside one of the measured phases;
2. the database tells which phase the kill hit (nothing written: deciding;
   something written but no delivery run begun: recording; else delivering), how
   many claims the dead run left ``sending``, and, on SMTP, which messages the
   server had accepted whose ``sent`` was never committed;
3. the same command runs again, at the same instant, to its end;
4. every message of the uninterrupted sweep must then be delivered (lost: those
   missing, or not recorded sent) and none twice (duplicates, by Message-ID): in a
   Maildir none at all; on SMTP only those the server accepted before the kill
   and the dead run never recorded, each counted.

Used by ``tests/test_crashes.py`` (a small sample) and ``bench/crash_bench.py``
(100 trials or more per transport).
"""

from __future__ import annotations

import email.parser
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import Engine, create_engine, func, select, text, update

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.outbox import runs
from onboarding.adapters.store.sql import SqlProjectStore, events, make_engine, migrate, outbox
from onboarding.core.messages import Person, message_id
from onboarding.services.projects import LaunchRequest, ProjectService

ROOT = Path(__file__).resolve().parents[1]
PAYROLL = str(ROOT / "blueprints" / "payroll-implementation.yaml")
LAUNCHED_ON = date(2026, 10, 1)
SWEEP_DAY = date(2026, 12, 1)  # a past day: sweeps as of a future day may be refused on a real database
SWEEP_AT = "16:00"
DOMAIN = "crash.example"
SECRET = "crash-suite-secret-key-0123456789-abcdefghij"  # noqa: S105 (signs the suite's unsubscribe links)
POSTGRES_ADMIN = os.environ.get("ONBOARDING_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PHASES = ("decision", "recording", "delivery")


def people(i: int) -> dict[str, Person]:
    vendor = {
        role: Person(f"{role.title()} {i % 7}", f"{role}{i % 7}@vendor.example", "America/New_York")
        for role in ("implementation_manager", "csm", "impl_engineer", "payroll_specialist")
    }
    customer = {
        role: Person(f"{role.title()} {i}", f"{role}@customer{i}.example", "America/Chicago")
        for role in ("customer_sponsor", "customer_payroll_admin", "customer_hr_admin")
    }
    return vendor | customer


# -- databases ------------------------------------------------------------------------------------------------


@dataclass
class Database:
    """The portfolio, kept unchanged, and the copies trials run on (SQLite files or PostgreSQL databases)."""

    kind: str
    folder: Path
    prefix: str
    copies: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.url("base")

    def url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.folder / name}.db"
        return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{self.prefix}_{name}"

    def copy(self, name: str) -> str:
        """A fresh copy of the portfolio; its URL."""
        self.copies.append(name)
        if self.kind == "sqlite":
            target = self.folder / f"{name}.db"
            for suffix in ("-wal", "-shm", ""):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(self.folder / "base.db", target)
            return self.url(name)
        with _admin() as admin:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{self.prefix}_{name}" WITH (FORCE)'))
            admin.execute(text(f'CREATE DATABASE "{self.prefix}_{name}" TEMPLATE "{self.prefix}_base"'))
        return self.url(name)

    def drop(self, name: str) -> None:
        if self.kind == "sqlite":
            for suffix in ("-wal", "-shm", ""):
                Path(f"{self.folder / name}.db{suffix}").unlink(missing_ok=True)
            return
        with _admin() as admin:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{self.prefix}_{name}" WITH (FORCE)'))


@contextmanager
def _admin() -> Iterator[Any]:
    engine = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@contextmanager
def portfolio(kind: str, folder: Path, *, projects: int) -> Iterator[Database]:
    """A database of ``projects`` payroll projects launched on LAUNCHED_ON, their kickoff emails sent."""
    db = Database(kind, folder, f"onboarding_crash_{os.getpid()}")
    if kind == "postgresql":
        with _admin() as admin:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{db.prefix}_base" WITH (FORCE)'))
            admin.execute(text(f'CREATE DATABASE "{db.prefix}_base"'))
    try:
        engine = make_engine(db.base)
        migrate(engine)
        service = ProjectService(
            store=SqlProjectStore(engine),
            blueprints=FileBlueprints(),
            clock=FixedClock(LAUNCHED_ON),
            sender=Person("Onboarding", "onboarding@vendor.example"),
        )
        service.launch_many(
            [
                LaunchRequest(
                    PAYROLL,
                    customer=f"Customer {i}",
                    kickoff_on=LAUNCHED_ON + timedelta(days=4 + i % 40),
                    bindings=people(i),
                    pay_schedule="biweekly:2026-01-02",
                    external_id=f"CRM-{i}",
                )
                for i in range(projects)
            ],
            actor="crash-suite",
        )
        with engine.begin() as connection:  # the kickoff emails left when the projects were launched
            connection.execute(update(outbox).values(status="sent", sent_at=datetime(2026, 10, 1, 12, 0, tzinfo=UTC)))
        engine.dispose()  # SQLite: the last connection checkpoints the write-ahead log into the file
        yield db
    finally:
        for name in [*db.copies, "base"]:
            db.drop(name)


# -- a real SMTP server ----------------------------------------------------------------------------------------


class Recorder:
    """An aiosmtpd handler that records the Message-ID of each message it accepts, before it replies."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = email.parser.BytesHeaderParser().parsebytes(bytes(envelope.original_content))
        with self.lock:
            self.ids.append(str(headers["Message-ID"]))
        return "250 OK"

    def taken(self) -> list[str]:
        with self.lock:
            ids, self.ids = self.ids, []
        return ids


@contextmanager
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, ready_timeout=10.0)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


# -- one sweep ------------------------------------------------------------------------------------------------


@dataclass
class Target:
    """Where a sweep process runs: its database, its Maildir, its SMTP server."""

    url: str
    data_dir: Path
    smtp_port: int | None = None

    @property
    def maildir(self) -> Path:
        return self.data_dir / "maildir"

    def env(self) -> dict[str, str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "ONBOARDING_DATA_DIR": str(self.data_dir),
            "ONBOARDING_DATABASE_URL": self.url,
            "ONBOARDING_SECRET_KEY": SECRET,
            "ONBOARDING_MAIL_DOMAIN": DOMAIN,
        }
        if self.smtp_port is not None:
            env |= {
                "ONBOARDING_SMTP_HOST": "127.0.0.1",
                "ONBOARDING_SMTP_PORT": str(self.smtp_port),
                "ONBOARDING_SMTP_STARTTLS": "false",
            }
        return env


SWEEP = [sys.executable, "-m", "onboarding.cli", "sweep", "--as-of", SWEEP_DAY.isoformat(), "--at", SWEEP_AT]


def sweep(
    target: Target,
    *,
    kill: Callable[[float, int], bool] | None = None,
    watch: Callable[[float, int], None] | None = None,
) -> tuple[float, bool]:
    """Run the sweep to its end, or until ``kill`` (asked every few milliseconds with the seconds since the
    start and the process's pid) says to kill it with SIGKILL; how long it ran and whether it was killed.
    ``watch`` sees the same while it runs."""
    started = time.monotonic()
    with subprocess.Popen(
        SWEEP, cwd=ROOT, env=target.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as child:
        while child.poll() is None:
            elapsed = time.monotonic() - started
            if kill is not None and kill(elapsed, child.pid):
                child.send_signal(signal.SIGKILL)
                child.wait()
                return elapsed, True
            if watch is not None:
                watch(elapsed, child.pid)
            time.sleep(0.002 if kill is not None else 0.01)
        assert child.stderr is not None
        error = child.stderr.read().decode()
        if child.returncode != 0:
            raise RuntimeError(f"the sweep failed ({child.returncode}): {error}")
    return time.monotonic() - started, False


WATCHER = "crash-suite"  # the application name of this module's own PostgreSQL sessions


def watching(url: str) -> Engine:
    """An engine to watch a sweep's database with, its sessions told apart from the sweep's own."""
    return make_engine(url if url.startswith("sqlite") else f"{url}?application_name={WATCHER}")


def opened(engine: Engine, url: str, pid: int) -> bool:
    """Whether the sweep process has its database open: it is past its imports and deciding."""
    if url.startswith("sqlite"):
        database = os.path.realpath(url.removeprefix("sqlite:///"))
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            return False
        return database in links
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name <> :watcher AND pid <> pg_backend_pid()"
                ),
                {"watcher": WATCHER},
            ).scalar_one()
        )


@dataclass(frozen=True)
class State:
    events: int
    outbox: int
    statuses: dict[str, int]
    runs: int

    def phase(self, before: State) -> str:
        """Which phase of the sweep had been reached, from what it wrote."""
        if self.runs or self.statuses.get("sending") or self.statuses.get("sent", 0) > before.statuses.get("sent", 0):
            return "delivery"
        if self.events > before.events or self.outbox > before.outbox:
            return "recording"
        return "decision"


def state(engine: Engine) -> State:
    with engine.connect() as connection:
        statuses = {
            s: int(n) for s, n in connection.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
        }
        return State(
            events=int(connection.execute(select(func.count()).select_from(events)).scalar_one()),
            outbox=sum(statuses.values()),
            statuses=statuses,
            runs=int(connection.execute(select(func.count()).select_from(runs)).scalar_one()),
        )


def delivered_ids(target: Target, recorder: Recorder | None) -> list[str]:
    """The Message-IDs that reached the Maildir (one per file) or the SMTP server (one per message accepted)."""
    if recorder is not None:
        return recorder.taken()
    parser = email.parser.BytesHeaderParser()
    ids = []
    for folder in ("new", "cur"):
        path = target.maildir / folder
        for name in os.listdir(path) if path.exists() else []:
            with open(path / name, "rb") as file:
                ids.append(str(parser.parse(file)["Message-ID"]))
    return ids


def unsent_ids(engine: Engine) -> set[str]:
    """Message-IDs of the outbox rows not recorded sent."""
    with engine.connect() as connection:
        keys = connection.execute(select(outbox.c.idempotency_key).where(outbox.c.status != "sent")).scalars()
        return {message_id(key, domain=DOMAIN) for key in keys}


# -- calibration and trials --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phases:
    """When each phase of an uninterrupted sweep ran, in seconds from the process's start."""

    started: float  # the process is seen with its database open (past its imports)
    recording: float  # first write seen
    delivery: float  # first delivery run or claim seen
    ended: float
    expected: frozenset[str]  # the Message-IDs the sweep delivers

    def length(self, phase: str) -> float:
        return {
            "decision": self.recording - self.started,
            "recording": self.delivery - self.recording,
            "delivery": self.ended - self.delivery,
        }[phase]


class Aim:
    """When to kill a sweep aimed at a phase.

    Deciding: a random delay over the phase's measured span, from when the process
    is seen to have its database open (past its imports). Recording: a random delay over its measured length
    after its first write is seen. Delivering: once a random number of the sweep's
    messages (from none to all but one) is handed over, after its delivery run is
    seen: recorded sent or, for a Maildir, written in it (a batch is written whole,
    then recorded sent at once). The machine's load varies, so the phase a kill hit
    is read from the database afterwards, not assumed.
    """

    def __init__(
        self,
        phase: str,
        phases: Phases,
        engine: Engine,
        url: str,
        before: State,
        rng: random.Random,
        *,
        maildir: Path | None = None,
    ) -> None:
        self.phase = phase
        self.phases = phases
        self.engine = engine
        self.url = url
        self.before = before
        self.maildir = maildir
        self.extra = rng.uniform(0, max(phases.length(phase), 0.01))
        self.sent = rng.randrange(max(len(phases.expected), 1))  # delivery: how many are sent at the kill
        self.began: float | None = None
        self.last = 0.0

    def __call__(self, elapsed: float, pid: int) -> bool:
        if self.began is not None and self.phase != "delivery":
            return elapsed >= self.began + self.extra
        if elapsed - self.last < 0.003:
            return False
        self.last = elapsed
        if self.phase == "decision":
            if opened(self.engine, self.url, pid):
                self.began = elapsed
            return False
        now = state(self.engine)
        if self.began is None and PHASES.index(now.phase(self.before)) >= PHASES.index(self.phase):
            self.began = elapsed
            return self.phase != "delivery" and self.extra == 0
        sent = now.statuses.get("sent", 0) - self.before.statuses.get("sent", 0)
        return self.began is not None and max(sent, written(self.maildir)) >= self.sent


def written(maildir: Path | None) -> int:
    """How many message files a Maildir holds, delivered (new/) or being written (tmp/) (a trial's starts empty)."""
    if maildir is None:
        return 0
    folders = [maildir / "tmp", maildir / "new"]
    return sum(len(os.listdir(folder)) for folder in folders if folder.exists())


def calibrate(db: Database, folder: Path, smtp: tuple[Recorder, int] | None) -> Phases:
    """One uninterrupted sweep on a copy, watched: its phases and the messages it delivers."""
    target = Target(db.copy("calibration"), folder / "calibration", smtp[1] if smtp else None)
    engine = watching(target.url)
    before = state(engine)
    seen: dict[str, float] = {}
    last = [0.0]

    def watch(elapsed: float, pid: int) -> None:
        if elapsed - last[0] < 0.01:
            return
        last[0] = elapsed
        if "started" not in seen:
            if opened(engine, target.url, pid):
                seen["started"] = elapsed
            return
        phase = state(engine).phase(before)
        if phase != "decision" and "recording" not in seen:
            seen["recording"] = elapsed
        if phase == "delivery" and "delivery" not in seen:
            seen["delivery"] = elapsed

    ended, _ = sweep(target, watch=watch)
    expected = delivered_ids(target, smtp[0] if smtp else None)
    counts = Counter(expected)
    assert unsent_ids(engine) == set() and set(counts.values()) == {1}, "the uninterrupted sweep must deliver all once"
    engine.dispose()
    db.drop("calibration")
    started = seen.get("started", 0.0)
    recording = seen.get("recording", started)
    delivery = seen.get("delivery", recording)
    return Phases(started, recording, delivery, ended, frozenset(expected))


@dataclass(frozen=True)
class Trial:
    aimed: str  # the phase the delay was drawn in
    delay: float
    hit: str  # the phase the database shows was reached ("finished": the sweep ended before the kill)
    stranded: int  # claims the dead run left ``sending``
    released: int  # ... that the rerun released at once
    window: int  # on SMTP: accepted by the server, never recorded sent by the dead run
    lost: int  # expected and not delivered, or not recorded sent
    duplicates: int  # delivered more than once (each extra copy counted)
    unexplained: int  # duplicates outside the window (must be 0)
    unexpected: int  # delivered and not sent by the uninterrupted sweep
    after: dict[str, int]  # the outbox by status after the kill


def trial(
    number: int,
    db: Database,
    folder: Path,
    phases: Phases,
    smtp: tuple[Recorder, int] | None,
    rng: random.Random,
    aimed: str,
) -> Trial:
    recorder = smtp[0] if smtp else None
    name = f"trial{number}"
    target = Target(db.copy(name), folder / name, smtp[1] if smtp else None)
    engine = watching(target.url)
    try:
        before = state(engine)
        aim = Aim(aimed, phases, engine, target.url, before, rng, maildir=None if smtp else target.maildir)
        if recorder is not None:
            recorder.taken()
        delay, killed = sweep(target, kill=aim)
        after = state(engine)
        first = delivered_ids(target, recorder) if recorder is not None else []
        window = set(first) & unsent_ids(engine)  # accepted by the server, not recorded sent: sent again
        rerun_output = _rerun(target)
        released = _released(rerun_output)
        final = first + delivered_ids(target, recorder)
        counts = Counter(final)
        duplicates = {i: n - 1 for i, n in counts.items() if n > 1}
        lost = (phases.expected - set(counts)) | (unsent_ids(engine) & phases.expected)
        return Trial(
            aimed=aimed,
            delay=delay,
            hit=after.phase(before) if killed else "finished",
            stranded=after.statuses.get("sending", 0),
            after=after.statuses,
            released=released,
            window=len(window),
            lost=len(lost),
            duplicates=sum(duplicates.values()),
            unexplained=sum(n for i, n in duplicates.items() if i not in window or n > 1),
            unexpected=len(set(counts) - phases.expected),
        )
    finally:
        engine.dispose()
        db.drop(name)
        shutil.rmtree(target.data_dir, ignore_errors=True)


def _rerun(target: Target) -> str:
    done = subprocess.run(SWEEP, cwd=ROOT, env=target.env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the rerun failed ({done.returncode}): {done.stderr}")
    return done.stdout


def _released(output: str) -> int:
    for line in output.splitlines():
        if line.startswith("outbox: ") and "gone were released" in line:
            return int(line.split()[1])
    return 0


@dataclass
class Summary:
    transport: str
    database: str
    trials: list[Trial]
    phases: Phases

    def figures(self) -> dict[str, Any]:
        t = self.trials
        return {
            "trials": len(t),
            "hit": {p: sum(1 for x in t if x.hit == p) for p in (*PHASES, "finished")},
            "stranded_claims": sum(x.stranded for x in t),
            "trials_with_stranded_claims": sum(1 for x in t if x.stranded),
            "released_at_once": sum(x.released for x in t),
            "lost": sum(x.lost for x in t),
            "duplicates": sum(x.duplicates for x in t),
            "kills_between_reply_and_commit": sum(x.window for x in t),
            "unexplained_duplicates": sum(x.unexplained for x in t),
            "unexpected": sum(x.unexpected for x in t),
        }


def run_trials(
    *,
    database: str,
    transport: str,
    trials: int,
    projects: int,
    folder: Path,
    seed: int = 0,
    aims: list[str] | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> Summary:
    """Build a portfolio, measure its sweep, then run ``trials`` kill-and-rerun trials."""
    rng = random.Random(seed)  # noqa: S311 (when to kill, not a secret)
    with portfolio(database, folder, projects=projects) as db, _server(transport) as smtp:
        phases = calibrate(db, folder, smtp)
        log(
            f"{database}/{transport}: {projects} projects, {len(phases.expected)} messages; phases (s from start): "
            f"imports {phases.started:.2f}, deciding to {phases.recording:.2f}, recording to "
            f"{phases.delivery:.2f}, delivering to {phases.ended:.2f}"
        )
        done = []
        for number in range(trials):
            aimed = aims[number % len(aims)] if aims else PHASES[number % len(PHASES)]
            result = trial(number, db, folder, phases, smtp, rng, aimed)
            done.append(result)
            log(
                f"  trial {number + 1}: aimed {aimed}, killed at {result.delay:.2f}s, hit {result.hit} {result.after}, "
                f"stranded {result.stranded}, released {result.released}, lost {result.lost}, "
                f"duplicates {result.duplicates} (reply-to-commit window {result.window})"
            )
        return Summary(transport, database, done, phases)


@contextmanager
def _server(transport: str) -> Iterator[tuple[Recorder, int] | None]:
    if transport == "maildir":
        yield None
        return
    with smtp_server() as server:
        yield server
