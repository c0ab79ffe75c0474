"""A sweep shared by two Prefect workers: a real server, a process work pool, two workers, shard runs.

README.md's "A sweep shared by several machines" as processes on one machine:
``prefect server start``, projects launched with the CLI (weeks late, so every
plan moves), ``prefect work-pool create``, two ``prefect worker start --limit 1``,
then ``python -m onboarding_flows.sweep --shards 3 --pool NAME``. The shard runs
must each attend the projects of their shard (``core.shards``), together every
project once, and deliver every email once; a second sweep finds nothing to do. A
sweep with no worker online, or a shard count of 0, is refused before it records anything. About a minute
here: the server's start, then a process per shard run.
"""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from onboarding.core.shards import shard_of
from tests.flows.processes import BIN, ROOT, environment, free_port, started, tail, wait_until_healthy

SHARDS = 3
PROJECTS = 7
ROLES = {
    "cs_manager": "Pat Lee <pat@vendor.example>",
    "csm": "Dana Ruiz <dana@vendor.example>",
    "onboarding_specialist": "Ola Nowak <ola@vendor.example>",
    "customer_sponsor": "Alex Brown <alex@acme.example>",
    "customer_champion": "Kim Diaz <kim@acme.example>",
    "customer_admin": "Lee Park <lee@acme.example>",
}
QUICKER_WORKER = {"PREFECT_WORKER_QUERY_SECONDS": "1"}  # how often a worker looks for runs (default 10 s)


def _run(command: list[str], env: dict[str, str], *, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _keys(maildir: Path) -> list[str]:
    return [
        str(email.message_from_bytes(m.as_bytes(), policy=email.policy.default)["X-Onboarding-Key"])
        for m in mailbox.Maildir(maildir, create=False)
    ]


def _summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))  # the flow's summary, printed last


def test_two_workers_share_a_sweep_and_sweep_no_project_twice(tmp_path: Path) -> None:
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = environment(tmp_path, PREFECT_API_URL=api_url, **QUICKER_WORKER)
    maildir = tmp_path / "data" / "maildir"
    server_command = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    kickoff = (datetime.now(UTC).date() - timedelta(days=35)).isoformat()  # weeks late today: every plan moves
    bindings = [arg for role, person in ROLES.items() for arg in ("--bind", f"{role}={person}")]
    launch = [str(BIN / "onboarding"), "launch", str(ROOT / "blueprints" / "saas-onboarding.yaml"), *bindings]
    sweep = [str(BIN / "python"), "-m", "onboarding_flows.sweep", "--shards", str(SHARDS), "--pool", "sweeps"]
    with (
        httpx.Client(base_url=api_url, timeout=10) as api,
        started(server_command, env=environment(tmp_path), log=tmp_path / "server.log") as server,
    ):
        launched = []
        for n in range(PROJECTS):  # while the server starts
            result = _run([*launch, "--customer", f"Customer {n}", "--kickoff", kickoff], environment(tmp_path))
            assert result.returncode == 0, result.stdout + result.stderr
            launched.append(result.stdout.split()[1])  # "launched customer-0-1a2b3c for ..."
        wait_until_healthy(api, server, tmp_path / "server.log")
        created = _run([str(BIN / "prefect"), "work-pool", "create", "sweeps", "--type", "process"], env)
        assert created.returncode == 0, created.stdout + created.stderr

        no_shards = _run([*sweep[:3], "--shards", "0"], env)
        assert no_shards.returncode == 1 and "invalid-shard" in no_shards.stderr, no_shards.stdout + no_shards.stderr
        no_worker = _run(sweep, env)  # deploys sweep-shard, then finds nobody to run it
        assert no_worker.returncode == 1, no_worker.stdout + no_worker.stderr
        assert "no worker is online in work pool 'sweeps'" in no_worker.stderr
        assert _keys(maildir) == [] if maildir.exists() else True  # refused before anything was sent

        worker = [str(BIN / "prefect"), "worker", "start", "--pool", "sweeps", "--limit", "1"]
        with (
            started([*worker, "--name", "one"], env=env, log=tmp_path / "worker-one.log"),
            started([*worker, "--name", "two"], env=env, log=tmp_path / "worker-two.log"),
        ):
            deadline = time.monotonic() + 60
            while len(api.post("/work_pools/sweeps/workers/filter", json={}).json()) < 2:
                assert time.monotonic() < deadline, tail(tmp_path / "worker-one.log")
                time.sleep(0.5)
            # one more, just before the sweep: its kickoff emails, queued this minute, go with this sweep
            result = _run([*launch, "--customer", "Customer last", "--kickoff", kickoff], environment(tmp_path))
            assert result.returncode == 0, result.stdout + result.stderr
            launched.append(result.stdout.split()[1])
            started_at = time.monotonic()
            first = _summary(_run(sweep, env))
            swept_in = time.monotonic() - started_at
            again = _summary(_run(sweep, env))
            logs = "\n".join(tail(tmp_path / f"worker-{name}.log", 5) for name in ("one", "two"))

    shards = first["shards"]
    expected = Counter(shard_of(pid, SHARDS) for pid in launched)
    assert [s["shard"] for s in shards] == list(range(SHARDS))
    assert [s["projects"] for s in shards] == [expected[index] for index in range(SHARDS)], logs
    assert sum(s["reforecast"] for s in shards) == first["reforecast"] == PROJECTS + 1  # each plan moved once
    keys = _keys(maildir)
    assert len(keys) == len(set(keys)) == first["delivered"]["sent"]  # every email once
    assert sum(1 for k in keys if k.startswith("kickoff:")) == (PROJECTS + 1) * len(ROLES)
    assert first["delivered"]["waiting"]["pending"] == 0
    assert (again["reforecast"], again["status_emails"], again["delivered"]["sent"]) == (0, 0, 0)
    assert sum(s["projects"] for s in again["shards"]) == PROJECTS + 1
    assert len(_keys(maildir)) == len(keys)
    print(f"\nsharded sweep of {PROJECTS + 1} projects over two workers: {swept_in:.1f} s")
