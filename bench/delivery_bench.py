"""Benchmark: delivering 20,000 customer status emails from an outbox to a Maildir, durably, in one process.

1. A fresh database gets ``--projects`` projects of the payroll example (default
   2,000, launched with ``launch_many``; their kickoff emails recorded sent, their
   customer link keys made, as those emails would have) and, queued with the
   store's ``queue``, ``--single`` + N realistic status emails about them (default
   2,000 + 20,000; ``email_bench``'s: 5 to 30 tasks each, split between done, next
   and "what we need from you", one to three recipients, names with and without
   accents).
2. One at a time, as delivery went before (each file and ``new/`` flushed to disk,
   each message recorded sent in its own transaction): the first ``--single``
   messages (0 skips it), to one Maildir.
3. Batched, timed for the goal: ``Dispatcher.deliver_due`` built as
   ``bootstrap.dispatcher`` builds it (its renderer, with the customers' signed
   links, and its transport, a batched Maildir with its flushes on; the SQL
   outbox) delivers the N others to the settings' Maildir: batches of 200 claimed,
   their link keys read together, rendered, written to ``tmp/``, flushed to disk
   once, linked into ``new/``, ``new/`` flushed once, recorded sent in one
   transaction.
4. Rendering alone of ``--single`` messages, 200 at a time (the ceiling).

The renderer and the transport of both runs are wrapped in stopwatches, so that
each run also prints what a message cost in rendering, in Maildir writes, in
settles (the batch's flushes and links) and in the rest (claims, opt-outs,
records). Every message must be in its Maildir once and recorded sent. It prints
wall and CPU time (``time.process_time``) of each, the load average before and
after, messages per second and, last, ``ratio=<messages per second batched /
2000>`` (goal: >= 1). ``--profile`` prints where the batched delivery's time goes
(cProfile, by own time; it slows the run). ``--database postgresql`` uses a
throw-away PostgreSQL database; ``--folder`` puts the Maildirs (and the SQLite
file) on the file system to measure (on a tmpfs the flushes cost nothing; on ext4
without a journal, creating files costs far more in a block group where many were
just deleted).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from email_bench import status_messages
from launch_bench import launch_requests
from scratch import scratch_engine
from sqlalchemy import Engine, update

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.transports import MaildirTransport
from onboarding.adapters.store.customer_links import SqlCustomerLinkKeys
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sql import SqlProjectStore, migrate, outbox
from onboarding.bootstrap import renderer, transport
from onboarding.core.messages import OutgoingMessage, Person
from onboarding.services.dispatch import Dispatcher
from onboarding.services.ports import Renderer, Transport
from onboarding.services.projects import ProjectService
from onboarding.settings import Settings

GOAL_PER_SECOND = 2000
QUEUED_AT = datetime(2026, 2, 2, 6, 0, tzinfo=UTC)
NOW = datetime(2026, 2, 2, 15, 0, tzinfo=UTC)
SECRET = "delivery-bench-secret-key-0123456789-abcdef"  # noqa: S105 (signs the bench's links)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def status_emails(count: int, projects: Sequence[str]) -> list[OutgoingMessage]:
    """``email_bench``'s status emails, spread over the launched projects."""
    emails = []
    for number, message in enumerate(status_messages(count)):
        project = projects[number % len(projects)]
        context = {**message.context, "project": {**message.context["project"], "id": project}}
        key = f"status:{project}:weekly:{message.context['as_of']}:{number}"
        emails.append(replace(message, project_id=project, idempotency_key=key, context=context))
    return emails


@contextmanager
def portfolio(kind: str, folder: Path, *, projects: int) -> Iterator[tuple[Settings, Engine, list[str]]]:
    """A fresh database of launched projects, nothing due in its outbox; settings for Maildirs beside it."""
    with scratch_engine(kind, folder, name="outbox") as engine:
        migrate(engine)
        service = ProjectService(
            store=SqlProjectStore(engine),
            blueprints=FileBlueprints(),
            clock=FixedClock(date(2026, 12, 1)),
            sender=Person("Onboarding", "o@v.example"),
        )
        ids = [r.project.id for r in service.launch_many(launch_requests(projects), actor="bench")]
        with engine.begin() as connection:  # the kickoff emails went out when the projects were launched
            connection.execute(update(outbox).values(status="sent", sent_at=QUEUED_AT))
        keys = SqlCustomerLinkKeys(engine)
        for project in ids:
            keys.ensure_link_key(project, now=QUEUED_AT)
        settings = Settings(
            data_dir=folder,
            database_url=engine.url.render_as_string(hide_password=False),
            secret_key=SECRET,
            sender_name="Vendor Onboarding",
            sender_email="onboarding@vendor.example",
            mail_domain="vendor.example",
            smtp_host=None,
        )
        yield settings, engine, ids


def in_maildir(path: Path, count: int) -> None:
    """Every message once in the Maildir, or the run is void."""
    files = len(os.listdir(path / "new"))
    if files != count:
        raise SystemExit(f"delivery incomplete: {files} files in {path}/new for {count} messages")


class Stopwatch:
    """Wall and CPU seconds spent in what it wraps."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall += time.perf_counter() - started
            self.cpu += time.process_time() - cpu


class TimedRenderer:
    """A renderer, its renders (and reads ahead) timed."""

    def __init__(self, inner: Renderer) -> None:
        self.inner = inner
        self.watch = Stopwatch()

    def render(self, message: OutgoingMessage, *, now: datetime) -> bytes:
        with self.watch.running():
            return self.inner.render(message, now=now)

    def prepare(self, messages: Sequence[OutgoingMessage]) -> None:
        with self.watch.running():
            self.inner.prepare(messages)


class TimedTransport:
    """A transport, its writes and its settles timed apart."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.writes = Stopwatch()
        self.settles = Stopwatch()

    @property
    def settles_later(self) -> bool:
        return self.inner.settles_later

    def deliver(
        self, raw: bytes, *, message_key: str, recipients: Sequence[str], timeout_seconds: float | None = None
    ) -> None:
        with self.writes.running():
            self.inner.deliver(raw, message_key=message_key, recipients=recipients, timeout_seconds=timeout_seconds)

    def settle(self) -> None:
        with self.settles.running():
            self.inner.settle()

    def close(self) -> None:
        self.inner.close()


def deliver_all(
    settings: Settings, engine: Engine, transport: Transport, *, limit: int | None = None, profile: bool = False
) -> tuple[Stopwatch, TimedRenderer, TimedTransport, int]:
    """``deliver_due`` of a dispatcher built as ``bootstrap.dispatcher`` builds it, its renderer and transport
    timed; the whole run's stopwatch and the parts'."""
    clock = FixedClock(NOW.date(), at=NOW)
    timed_renderer = TimedRenderer(renderer(settings, engine=engine, clock=clock))
    timed_transport = TimedTransport(transport)
    deliver = Dispatcher(
        outbox=SqlOutbox(engine),
        renderer=timed_renderer,
        transport=timed_transport,
        clock=clock,
        retry_horizon=timedelta(hours=settings.delivery_retry_horizon_hours),
        backoff_cap=timedelta(minutes=settings.delivery_backoff_cap_minutes),
        deadline_seconds=settings.delivery_deadline_seconds,
    )
    whole = Stopwatch()
    profiler = cProfile.Profile() if profile else None
    with whole.running():
        if profiler is not None:
            profiler.enable()
        report = deliver.deliver_due(max_messages=limit)
        if profiler is not None:
            profiler.disable()
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    if report.failed or report.retried or report.deferred or report.unavailable:
        raise SystemExit(f"delivery did not go cleanly: {report}")
    return whole, timed_renderer, timed_transport, report.sent


def per_message(name: str, watch: Stopwatch, count: int) -> str:
    return f"{name} {watch.wall / count * 1e3:.3f} ms ({watch.cpu / count * 1e3:.3f} CPU)"


def print_run(title: str, whole: Stopwatch, rendering: TimedRenderer, transport: TimedTransport, sent: int) -> None:
    rest = Stopwatch()
    rest.wall = whole.wall - rendering.watch.wall - transport.writes.wall - transport.settles.wall
    rest.cpu = whole.cpu - rendering.watch.cpu - transport.writes.cpu - transport.settles.cpu
    print(
        f"{title}: {sent:,} messages in {whole.wall:.2f} s wall, {whole.cpu:.2f} s CPU,"
        f" {sent / whole.wall:,.0f} messages/s, {whole.wall / sent * 1e3:.3f} ms each"
    )
    parts = [
        per_message("render", rendering.watch, sent),
        per_message("Maildir writes", transport.writes, sent),
        per_message("settles", transport.settles, sent),
        per_message("outbox and the rest", rest, sent),
    ]
    print(f"  a message: {', '.join(parts)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000, help="messages delivered batched (the goal's)")
    parser.add_argument("--single", type=int, default=2_000, help="messages delivered one at a time (0: skip)")
    parser.add_argument("--projects", type=int, default=2_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--folder", type=Path, default=None, help="where the Maildirs go (default: a temporary one)")
    parser.add_argument("--profile", action="store_true", help="profile the batched delivery")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        with portfolio(args.database, folder, projects=args.projects) as (settings, engine, projects):
            emails = status_emails(args.single + args.messages, projects)
            store = SqlProjectStore(engine)
            for start in range(0, len(emails), 2000):
                store.queue(emails[start : start + 2000], now=QUEUED_AT)
            print(
                f"{args.database}: {args.projects:,} projects, {len(emails):,} status emails queued"
                f" ({time.perf_counter() - started:.1f} s); Maildirs under {folder}"
            )
            print(f"load average before: {load()}")
            if args.single:  # the messages queued first: each flushed and recorded by itself
                alone = MaildirTransport(folder / "one-at-a-time")
                whole, rendering, writing, sent = deliver_all(settings, engine, alone, limit=args.single)
                in_maildir(alone.path, args.single)
                print_run("one at a time (two flushes and a transaction each)", whole, rendering, writing, sent)
            batched = transport(settings)  # what the engine delivers with: a batched Maildir
            whole, rendering, writing, sent = deliver_all(settings, engine, batched, profile=args.profile)
            in_maildir(settings.effective_maildir, args.messages)
            if sent != args.messages or set(SqlOutbox(engine).counts()) != {"sent"}:
                raise SystemExit(f"delivered {sent} of {args.messages}: {SqlOutbox(engine).counts()}")
            rate = sent / whole.wall
            print_run("batched (200 a batch, one flush and one transaction each)", whole, rendering, writing, sent)
            if args.single:
                alone_renderer = renderer(settings, engine=engine, clock=FixedClock(NOW.date(), at=NOW))
                sample, watch = emails[: args.single], Stopwatch()
                with watch.running():
                    for start in range(0, len(sample), 200):
                        alone_renderer.prepare(sample[start : start + 200])
                        for message in sample[start : start + 200]:
                            alone_renderer.render(message, now=NOW)
                print(
                    f"rendering alone, 200 at a time: {len(sample):,} messages in {watch.wall:.2f} s wall,"
                    f" {watch.cpu:.2f} s CPU, {len(sample) / watch.wall:,.0f} messages/s,"
                    f" {watch.wall / len(sample) * 1e3:.3f} ms each"
                )
    print(f"load average after: {load()}")
    print(f"ratio={rate / GOAL_PER_SECOND:.2f}")


if __name__ == "__main__":
    main()
