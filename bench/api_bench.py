"""Benchmark: the project API over HTTP against the same calls made directly on the services, in one run.

For N projects of the payroll example (every role bound, kickoff a week ago), each
path launches every project and then completes its first two tasks, one request or
call at a time:

1. direct: ``Application.launches.launch`` and ``Application.projects.change_task``,
   the calls the HTTP handlers make, in this process, on a fresh database;
2. HTTP: ``POST /api/v1/projects`` and ``POST /api/v1/projects/{id}/tasks/{task}/complete``
   to a real ``onboarding web`` server (one worker) on another fresh database, through
   one keep-alive connection (the standard library's ``http.client``: the lightest
   client there is, so that the figure is the server's cost, not a client library's);
3. ``--rounds`` rounds of both (default 5), in turn first, each on a fresh database; the
   best time of each path is compared (the least disturbed run of each: a shared
   machine's load comes and goes), and the medians are printed beside it.

It prints the requests (calls) per second of each, the CPU time beside the wall time
(this process's, and the server's from /proc), the load average, and last
``ratio=<http/direct time>`` (goal: at most 1.5). ``--database postgresql`` runs
against throw-away PostgreSQL databases.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from scratch import postgres_database, postgres_url

from onboarding.bootstrap import Application
from onboarding.core.lifecycle import Action
from onboarding.core.messages import Person
from onboarding.services.projects import LaunchRequest
from onboarding.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PAYROLL = str(ROOT / "blueprints" / "payroll-implementation.yaml")
TASKS = ("kickoff_call", "sign_off_scope")  # the first two tasks, each completed on a day after kickoff
PEOPLE = {
    "implementation_manager": Person("Sam Okafor", "sam@vendor.example", "America/New_York"),
    "csm": Person("Dana Ruiz", "dana@vendor.example", "America/Los_Angeles"),
    "impl_engineer": Person("Ivo Petrov", "ivo@vendor.example", "Europe/Sofia"),
    "payroll_specialist": Person("Mei Chen", "mei@vendor.example", "America/Chicago"),
    "customer_sponsor": Person("Alex Brown", "alex@acme.example", "America/Chicago"),
    "customer_payroll_admin": Person("Lee Park", "lee@acme.example", "America/Chicago"),
    "customer_hr_admin": Person("Kim Diaz", "kim@acme.example", "America/Chicago"),
}


@contextmanager
def database(kind: str, folder: Path, name: str) -> Iterator[Settings]:
    """Settings for a new, empty database of the kind asked for, with its own data folder."""
    data = folder / name
    data.mkdir()
    if kind == "sqlite":
        yield Settings(data_dir=data, database_url=None, secret_key="b" * 40)
        return
    with postgres_database("onboarding_api_bench") as db:
        yield Settings(data_dir=data, database_url=postgres_url(db), secret_key="b" * 40)


def environment(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "ONBOARDING_DATA_DIR": str(settings.data_dir), "ONBOARDING_SECRET_KEY": "b" * 40}
    env.pop("ONBOARDING_DATABASE_URL", None)
    if settings.database_url:
        env["ONBOARDING_DATABASE_URL"] = settings.database_url
    return env


def launch_body(i: int, kickoff: date) -> dict[str, Any]:
    return {
        "blueprint": "payroll_implementation",
        "customer": f"Customer {i}",
        "kickoff_on": kickoff.isoformat(),
        "pay_schedule": "biweekly:2026-01-02",
        "external_id": f"CRM-{i}",
        "bindings": {r: {"name": p.name, "email": p.email, "time_zone": p.timezone} for r, p in PEOPLE.items()},
    }


def work(
    launch: Callable[[int], str], complete: Callable[[str, str, date], None], indices: range, kickoff: date
) -> None:
    """Launch the projects of ``indices``, then complete the first two tasks of each, one call at a time."""
    ids = [launch(i) for i in indices]
    for n, task in enumerate(TASKS):
        for pid in ids:
            complete(pid, task, kickoff + timedelta(days=n))


def direct(settings: Settings, *, projects: int, warmup: int, kickoff: date) -> tuple[float, float]:
    """(wall, CPU) seconds of the launches and task changes made on the services."""
    app = Application(settings)

    def launch(i: int) -> str:
        body = launch_body(i, kickoff)
        request = LaunchRequest(
            body["blueprint"],
            customer=body["customer"],
            kickoff_on=kickoff,
            bindings=PEOPLE,
            pay_schedule=body["pay_schedule"],
            external_id=body["external_id"],
        )
        return app.launches.launch(request, actor="bench").project.id

    def complete(pid: str, task: str, on: date) -> None:
        app.projects.change_task(pid, task, Action.complete, on=on, by="bench")

    try:
        app.blueprints.publish([PAYROLL], by="bench")  # before the clock starts, as for the server
        work(launch, complete, range(projects, projects + warmup), kickoff)  # warm, as a running server is
        started, cpu = time.perf_counter(), time.process_time()
        work(launch, complete, range(projects), kickoff)
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        app.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class KeptAlive:
    """One keep-alive HTTP/1.1 connection that sends JSON with the bench's key and reads JSON back."""

    def __init__(self, host: str, port: int, secret: str) -> None:
        self._address = (host, port)
        self._headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        self._connection = http.client.HTTPConnection(host, port, timeout=60)

    def reconnect(self) -> None:
        self._connection.close()
        self._connection = http.client.HTTPConnection(*self._address, timeout=60)

    def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        payload = None if body is None else json.dumps(body).encode()
        self._connection.request(method, path, body=payload, headers=self._headers)
        response = self._connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None

    def close(self) -> None:
        self._connection.close()


def over_http(settings: Settings, *, projects: int, warmup: int, kickoff: date) -> tuple[float, float, float]:
    """(wall, client CPU, server CPU) seconds of the same launches and changes through a real server."""
    env = environment(settings)

    def onboarding(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - this engine's own command
            [sys.executable, "-m", "onboarding.cli", *args], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    onboarding("db", "upgrade")
    onboarding("blueprint", "publish", PAYROLL)
    secret = onboarding("api-key", "create", "bench", "--scope", "write")
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - this engine's own command
        [sys.executable, "-m", "onboarding.cli", "web", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = KeptAlive("127.0.0.1", port, secret)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.call("GET", "/api/health")[0] == 200:
                        break
                except OSError:
                    client.reconnect()
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not answer /api/health within 60 s")
                time.sleep(0.2)
            if client.call("GET", "/api/v1/projects")[0] != 200:  # the worker's database and key checked once
                raise SystemExit("the server refused the bench's key")

            def launch(i: int) -> str:
                status, made = client.call("POST", "/api/v1/projects", launch_body(i, kickoff))
                if status != 201:
                    raise SystemExit(f"launch failed: {status} {made!r:.500}")
                return str(made["project"]["id"])

            def complete(pid: str, task: str, on: date) -> None:
                path = f"/api/v1/projects/{pid}/tasks/{task}/complete"
                status, done = client.call("POST", path, {"on": on.isoformat()})
                if status != 200:
                    raise SystemExit(f"complete failed: {status} {done!r:.500}")

            work(launch, complete, range(projects, projects + warmup), kickoff)  # the same warm-up as direct
            server_cpu = cpu_seconds(server.pid)
            started, cpu = time.perf_counter(), time.process_time()
            work(launch, complete, range(projects), kickoff)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            return wall, cpu, cpu_seconds(server.pid) - server_cpu
        finally:
            client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--warmup", type=int, default=10, help="projects launched and worked before the clock starts")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of both paths; the best of each is compared")
    args = parser.parse_args()
    kickoff = date.today() - timedelta(days=7)
    requests = args.projects * (1 + len(TASKS))
    print(f"database: {args.database}; {args.projects} launches and {args.projects * len(TASKS)} task completions")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    directs: list[float] = []
    https: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in range(1, args.rounds + 1):
            # Each round runs both paths, in turn first, each on its own fresh database.
            for path in ("direct", "http") if n % 2 else ("http", "direct"):
                with database(args.database, folder, f"{path}-{n}") as settings:
                    if path == "direct":
                        wall, cpu = direct(settings, projects=args.projects, warmup=args.warmup, kickoff=kickoff)
                        directs.append(wall)
                        print(f"round {n} direct: {wall:.2f} s wall, {cpu:.2f} s CPU, {requests / wall:,.0f} calls/s")
                    else:
                        wall, client_cpu, server_cpu = over_http(
                            settings, projects=args.projects, warmup=args.warmup, kickoff=kickoff
                        )
                        https.append(wall)
                        print(
                            f"round {n} HTTP: {wall:.2f} s wall, {client_cpu:.2f} s CPU in the client, "
                            f"{server_cpu:.2f} s CPU in the server, {requests / wall:,.0f} requests/s"
                        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"direct: best {min(directs):.2f} s ({requests / min(directs):,.0f} calls/s), median "
        f"{statistics.median(directs):.2f} s; HTTP: best {min(https):.2f} s "
        f"({requests / min(https):,.0f} requests/s), median {statistics.median(https):.2f} s"
    )
    print(f"median ratio: {statistics.median(https) / statistics.median(directs):.2f}")
    print(f"ratio={min(https) / min(directs):.2f}")


if __name__ == "__main__":
    main()
