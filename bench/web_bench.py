"""Benchmark: the customer status page, My tasks and the portfolio page through HTTP, against the services' reads.

Bulk-loads the sweep benchmark's portfolio (default 250,000 projects x 40 tasks, one
blueprint, four people bound per project; ``sweep_bench.load``), binds one consultant
("Dana Ruiz") to the engineer role of some of its projects (``--mine``, default 60) and
adds her to the team. Then, in the same run, for each page:

- HTTP: the page asked of a real ``onboarding web`` server (one worker) over one
  keep-alive connection (``http.client``), rendered in full: the status page at a
  customer's signed link, My tasks in Dana's session, the portfolio's first page and its
  first page filtered (state active, at risk, sorted by go-live);
- direct: the same read made on the services in this process, with nothing rendered:
  ``customer_links.status``, ``team_members.my_tasks``, and ``portfolio.page`` with
  ``portfolio.choices`` (the blueprints and segments its filters offer, which the page shows).

Each is asked ``--repeat`` times (default 30) after two unmeasured warm-up asks; the
median of each is kept (a shared machine's load comes and goes). It prints each page's
medians with the CPU time of the client, the server and the direct calls, the load
average, each page's ratio and, last, ``ratio=<http/direct>`` over the four pages
together (the sum of the HTTP medians over the sum of the direct ones; goal: at most 2).
``--cache DIR`` keeps the loaded SQLite portfolio in DIR (as ``sweep_bench --cache``):
the load of 10M rows takes minutes; each run works on a copy of it.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from api_bench import cpu_seconds, free_port
from sqlalchemy import text
from sweep_bench import cached_sqlite, load

from onboarding.adapters.store.sql import make_engine, migrate
from onboarding.bootstrap import Application
from onboarding.core.lifecycle import ProjectState
from onboarding.core.portfolio_page import PortfolioFilter, PortfolioSort
from onboarding.settings import Settings
from onboarding.web.team.session import COOKIE

CONSULTANT = ("Dana Ruiz", "dana@vendor.example")
SECRET = "w" * 40


def portfolio_file(folder: Path, *, projects: int, tasks: int, cache: Path | None) -> Path:
    """A SQLite file of the portfolio in ``folder``: copied from the cache, or loaded here."""
    path = folder / "onboarding.db"
    if cache is not None:
        engine, _ = cached_sqlite(cache, projects=projects, tasks=tasks)
        source = Path(engine.url.database or "")
        engine.dispose()
        shutil.copyfile(source, path)
        return path
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    load(engine, projects=projects, tasks=tasks)
    engine.dispose()
    return path


def bind_consultant(path: Path, *, mine: int, projects: int) -> None:
    """Dana takes the engineer role of ``mine`` projects spread over the portfolio (her My tasks)."""
    engine = make_engine(f"sqlite:///{path}")
    step = max(1, projects // max(1, mine))
    ids = [f"p{p:07d}" for p in range(0, projects, step)][:mine]
    with engine.begin() as connection:
        for pid in ids:
            connection.execute(
                text("UPDATE bindings SET name = :name, email = :email WHERE project_id = :pid AND role = 'engineer'"),
                {"name": CONSULTANT[0], "email": CONSULTANT[1], "pid": pid},
            )
    engine.dispose()


def customer_of(app: Application) -> tuple[str, str]:
    """A customer admin of an active project with open work: (project id, email)."""
    with app.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT b.project_id, b.email FROM bindings b JOIN tasks t ON t.project_id = b.project_id "
                "WHERE b.role = 'admin' AND t.owner_role = 'admin' AND t.state = 'in_progress' LIMIT 1"
            )
        ).one()
    return str(row[0]), str(row[1])


class Browser:
    """One keep-alive connection asking for pages with the session cookie, as a browser tab would."""

    def __init__(self, port: int, cookie: str) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self._headers = {"Cookie": f"{COOKIE}={cookie}", "Accept": "text/html"}

    def get(self, path: str) -> tuple[int, bytes]:
        self._connection.request("GET", path, headers=self._headers)
        response = self._connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self._connection.close()


def timed(ask: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median wall, total CPU) seconds of ``repeat`` asks after two unmeasured ones."""
    ask(), ask()
    walls = []
    cpu = time.process_time()
    for _ in range(repeat):
        started = time.perf_counter()
        ask()
        walls.append(time.perf_counter() - started)
    return statistics.median(walls), time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=250_000)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--mine", type=int, default=60, help="projects the consultant works on")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--cache", type=Path, help="keep the SQLite portfolio in this folder and reuse it")
    args = parser.parse_args()
    print(f"portfolio: {args.projects:,} projects x {args.tasks} tasks (SQLite); the consultant on {args.mine}")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        started = time.perf_counter()
        path = portfolio_file(data, projects=args.projects, tasks=args.tasks, cache=args.cache)
        bind_consultant(path, mine=args.mine, projects=args.projects)
        print(f"portfolio ready in {time.perf_counter() - started:.1f} s")
        settings = Settings(data_dir=data, secret_key=SECRET)
        app = Application(settings)
        try:
            app.team_members.add(*CONSULTANT, role="manager", by="bench")
            project_id, customer = customer_of(app)
            token = app.customer_links.token_for(project_id, customer)
            link = app.customer_links.link_for(project_id, customer)
            sign_in = app.team_members.request_sign_in(CONSULTANT[1])
            assert sign_in is not None, "the consultant is on the team"
            session = app.team_members.sign_in(sign_in)
            member = app.team_members.signed_in(session.secret)
            assert member is not None
            filtered = PortfolioFilter(state=ProjectState.active, at_risk=True)
            direct: dict[str, Callable[[], object]] = {
                "status page": lambda: app.customer_links.status(token),
                "My tasks": lambda: app.team_members.my_tasks(member),
                "portfolio": lambda: (app.portfolio.page(PortfolioFilter()), app.portfolio.choices()),
                "portfolio filtered": lambda: (
                    app.portfolio.page(filtered, sort=PortfolioSort.go_live),
                    app.portfolio.choices(),
                ),
            }
            pages = {
                "status page": urlsplit(link).path,
                "My tasks": "/team",
                "portfolio": "/team/portfolio",
                "portfolio filtered": "/team/portfolio?state=active&at_risk=1&sort=go_live",
            }
            shown = app.team_members.my_tasks(member)
            listed = len(shown.overdue) + len(shown.today) + len(shown.next)
            print(f"status page of {project_id} for {customer}; My tasks lists {listed} tasks")
            print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            direct_times: dict[str, tuple[float, float]] = {}
            for name, ask in direct.items():
                direct_times[name] = timed(ask, args.repeat)
        finally:
            app.close()
        env = {**os.environ, "ONBOARDING_DATA_DIR": str(data), "ONBOARDING_SECRET_KEY": SECRET}
        env.pop("ONBOARDING_DATABASE_URL", None)
        port = free_port()
        server = subprocess.Popen(  # noqa: S603 - this engine's own command
            [sys.executable, "-m", "onboarding.cli", "web", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        http_times: dict[str, tuple[float, float, float]] = {}
        try:
            browser = _ready(port, session.secret, server)
            try:
                for name, path in pages.items():
                    status, body = browser.get(path)
                    if status != 200:
                        raise SystemExit(f"{name}: {status} {body[:300]!r}")
                    server_cpu = cpu_seconds(server.pid)
                    wall, cpu = timed(lambda path=path: browser.get(path), args.repeat)
                    http_times[name] = (wall, cpu, cpu_seconds(server.pid) - server_cpu)
            finally:
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name in pages:
        wall, client_cpu, server_cpu = http_times[name]
        direct_wall, direct_cpu = direct_times[name]
        print(
            f"{name}: HTTP {wall * 1000:.1f} ms (CPU per ask: client {client_cpu / args.repeat * 1000:.1f} ms, "
            f"server {server_cpu / (args.repeat + 2) * 1000:.1f} ms); direct {direct_wall * 1000:.1f} ms "
            f"(CPU {direct_cpu / args.repeat * 1000:.1f} ms); ratio {wall / direct_wall:.2f}"
        )
    total_http = sum(t[0] for t in http_times.values())
    total_direct = sum(t[0] for t in direct_times.values())
    print(f"all four: HTTP {total_http * 1000:.1f} ms, direct {total_direct * 1000:.1f} ms")
    print(f"ratio={total_http / total_direct:.2f}")


def _ready(port: int, cookie: str, server: subprocess.Popen[bytes]) -> Browser:
    deadline = time.monotonic() + 120
    while True:
        browser = Browser(port, cookie)
        try:
            if browser.get("/api/health")[0] == 200:
                return browser
        except OSError:
            pass
        browser.close()
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("the server did not answer /api/health within 120 s")
        time.sleep(0.3)


if __name__ == "__main__":
    main()
