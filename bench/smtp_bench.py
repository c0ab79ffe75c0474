"""Benchmark: delivering status emails over SMTP on one connection, then on several at once.

A mail server answers each message after a wait (``--latency-ms``, default 5 ms: a
relay on the same network; a provider's submission server is often slower), and
one connection spends most of a message waiting for its reply. Over several
connections the waits overlap.

Loads ``delivery_bench``'s portfolio (``--projects``, default 200, launched) and
queues ``--messages`` status emails (default 2,000), then delivers them with the
delivery ``bootstrap.dispatcher`` builds for an SMTP host with
``ONBOARDING_SMTP_CONNECTIONS=1``; queues as many again and delivers them with
``--connections`` (default 4, the setting's default). The server is aiosmtpd in
its own process (so that it takes no CPU from the delivering process), recording
each message's key: every message must arrive once and be recorded sent. It prints
wall and CPU time of each run, messages per second, the load average and, last,
``ratio=<messages per second with --connections / with 1>``.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import replace
from pathlib import Path

from delivery_bench import NOW, QUEUED_AT, load, portfolio, status_emails
from sqlalchemy import Engine

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sql import SqlProjectStore
from onboarding.bootstrap import dispatcher
from onboarding.settings import Settings

SERVER = textwrap.dedent(
    """
    import asyncio, sys, time
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self, latency, log):
            self.latency, self.log = latency, log

        async def handle_DATA(self, server, session, envelope):
            await asyncio.sleep(self.latency)
            key = envelope.original_content.split(b"X-Onboarding-Key: ", 1)[1].split(b"\\r\\n", 1)[0]
            self.log.write(key.decode() + "\\n")
            self.log.flush()
            return "250 OK"

    port, latency, log = int(sys.argv[1]), float(sys.argv[2]), open(sys.argv[3], "a")
    controller = Controller(Handler(latency, log), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(settings: Settings, engine: Engine, *, connections: int, expected: int, log: Path, title: str) -> float:
    """Deliver everything due with ``connections`` connections; messages per second."""
    before = log.read_text().splitlines() if log.exists() else []
    delivery = dispatcher(
        replace_settings(settings, smtp_connections=connections), engine=engine, clock=FixedClock(NOW.date(), at=NOW)
    )
    started, cpu = time.perf_counter(), time.process_time()
    report = delivery.deliver_due()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if report.sent != expected or report.failed or report.retried or report.deferred or report.unavailable:
        raise SystemExit(f"delivery did not go cleanly: {report}")
    time.sleep(0.2)  # the server has answered every message; its log is flushed before each answer
    arrived = log.read_text().splitlines()[len(before) :]
    if len(arrived) != expected or len(set(arrived)) != expected or set(SqlOutbox(engine).counts()) != {"sent"}:
        raise SystemExit(f"{len(arrived)} arrived ({len(set(arrived))} distinct) of {expected}")
    rate = expected / wall
    print(f"{title}: {expected:,} messages in {wall:.2f} s wall, {cpu:.2f} s CPU, {rate:,.0f} messages/s")
    return rate


def replace_settings(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update=changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=5.0, help="the server's wait before it answers a message")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port, log = free_port(), folder / "received.log"
        server = subprocess.Popen(  # noqa: S603 - this interpreter, the script above
            [sys.executable, "-c", SERVER, str(port), str(args.latency_ms / 1000), str(log)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            if server.stdout is None or server.stdout.readline().strip() != "ready":
                raise SystemExit("the SMTP server did not start")
            with portfolio(args.database, folder, projects=args.projects) as (base, engine, projects):
                settings = replace_settings(base, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
                store = SqlProjectStore(engine)
                emails = status_emails(2 * args.messages, projects)
                print(
                    f"{args.database}: {args.projects:,} projects; SMTP server on 127.0.0.1:{port} answering after "
                    f"{args.latency_ms:g} ms; load average before: {load()}"
                )
                store.queue(emails[: args.messages], now=QUEUED_AT)
                one = run(settings, engine, connections=1, expected=args.messages, log=log, title="1 connection")
                store.queue(
                    [replace(m, idempotency_key=m.idempotency_key + ":again") for m in emails[args.messages :]],
                    now=QUEUED_AT,
                )
                many = run(
                    settings,
                    engine,
                    connections=args.connections,
                    expected=args.messages,
                    log=log,
                    title=f"{args.connections} connections",
                )
        finally:
            server.kill()
            server.wait()
    print(f"load average after: {load()}")
    print(f"ratio={many / one:.2f}")


if __name__ == "__main__":
    main()
