"""Concurrent changes through a real server: ``onboarding web --workers 4`` on PostgreSQL (and one worker on
SQLite), 200 task changes over 20 projects at once. Each change is applied exactly once or refused with 409,
never lost or written over; no request fails with a 500; each project's event log holds exactly the changes
that were applied, in order, and its version counts them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from onboarding.bootstrap import Application
from onboarding.settings import Settings
from tests.stores import throwaway_postgres
from tests.test_api_key_cli import ROOT, _free_port
from tests.web.test_projects import body

PROJECTS = 20
CHANGES = 200


@contextmanager
def server(env: dict[str, str], *, workers: int) -> Iterator[str]:
    """``onboarding web`` on a free port with these settings; its base URL once it answers."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "onboarding.cli", "web", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=30)
        assert b"Traceback" not in errors, errors.decode()[-3000:]


def _changes(pids: list[str], tasks: list[str]) -> list[tuple[str, str]]:
    """Ten changes per project: eight tasks started once, and two of them started a second time (refused)."""
    per_project = [*tasks[:8], tasks[0], tasks[1]]
    return [(pid, task) for task in per_project for pid in pids]


def hammer(base: str, secret: str) -> list[tuple[str, str, int]]:
    """Launch the projects, make the changes at once, check each answer; (project, task, status) of each."""
    auth = {"Authorization": f"Bearer {secret}"}
    kickoff = date.today() - timedelta(days=14)  # the server's clock is the system's: work on it is dated today
    with httpx.Client(base_url=base, headers=auth, timeout=120) as client:
        pids = []
        for i in range(PROJECTS):
            made = client.post("/api/v1/projects", json=body(customer=f"Load {i}", kickoff_on=kickoff.isoformat()))
            assert made.status_code == 201, made.text
            pids.append(made.json()["project"]["id"])
        tasks = [t["key"] for t in client.get(f"/api/v1/projects/{pids[0]}").json()["tasks"]][1:]
        changes = _changes(pids, tasks)
        assert len(changes) == CHANGES

        def change(item: tuple[str, str]) -> tuple[str, str, int, Any]:
            pid, task = item
            response = client.post(
                f"/api/v1/projects/{pid}/tasks/{task}/start", json={"force": True, "force_date": True}
            )
            return pid, task, response.status_code, response.json()

        with ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(change, changes))

    statuses = Counter(status for *_, status, _ in answers)
    assert set(statuses) <= {200, 409}, [(s, b) for *_, s, b in answers if s not in (200, 409)][:3]
    assert statuses[200] >= PROJECTS * 8 * 0.5, statuses  # most changes get through, the rest are refused
    for *_, status, answer in answers:
        if status == 409:
            assert answer["code"] in ("invalid-transition", "concurrent-change")
    applied = Counter((pid, task) for pid, task, status, _ in answers if status == 200)
    assert all(n == 1 for n in applied.values())  # a second start of one task is never applied
    refused_twice = Counter((pid, task) for pid, task, status, _ in answers if status == 409)
    assert all(applied[k] + refused_twice[k] == n for k, n in Counter(changes).items())
    return [(pid, task, status) for pid, task, status, _ in answers]


def check_the_log(settings: Settings, answers: list[tuple[str, str, int]]) -> None:
    application = Application(settings, create=False)
    try:
        by_project: dict[str, list[tuple[str, int]]] = {}
        for pid, task, status in answers:
            by_project.setdefault(pid, []).append((task, status))
        for pid, asked in by_project.items():
            log = application.projects.events(pid)
            started = Counter(e.task_key for e in log if e.kind == "task_started")
            applied = Counter(task for task, status in asked if status == 200)
            assert started == applied, pid
            assert [e.at for e in log] == sorted(e.at for e in log)
            assert log[0].kind == "project_launched"
            assert application.projects.get(pid).version == 1 + sum(applied.values())
    finally:
        application.close()


def _prepare(env: dict[str, str]) -> str:
    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "onboarding.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    run("db", "upgrade")
    run("blueprint", "publish", str(ROOT / "blueprints" / "payroll-implementation.yaml"))
    return run("api-key", "create", "load", "--scope", "write")


def test_four_workers_on_postgresql_never_lose_a_change(tmp_path: Path) -> None:
    with throwaway_postgres("onboarding_load") as url:
        env = {**os.environ, "ONBOARDING_DATA_DIR": str(tmp_path / "data"), "ONBOARDING_DATABASE_URL": url}
        secret = _prepare(env)
        with server(env, workers=4) as base:
            answers = hammer(base, secret)
        check_the_log(Settings(data_dir=tmp_path / "data", database_url=url), answers)


def test_one_worker_on_sqlite_never_fails_on_a_busy_database(tmp_path: Path) -> None:
    env = {**os.environ, "ONBOARDING_DATA_DIR": str(tmp_path / "data")}
    env.pop("ONBOARDING_DATABASE_URL", None)
    secret = _prepare(env)
    with server(env, workers=1) as base:
        answers = hammer(base, secret)
    check_the_log(Settings(data_dir=tmp_path / "data", database_url=None), answers)
