"""A served schedule really runs: a real Prefect server, ``onboarding serve``, a scheduled sweep and delivery.

The steps of README.md ("Scheduled sweeps with Prefect"), as processes: ``prefect
server start``, a project launched with the CLI (its kickoff emails queued), then
``onboarding serve --interval 5 --deliver-every 1`` (delivery beside the sweep, a run
starting every second). The test waits until the server's scheduler has created a
sweep run, the served runner has run it to Completed, and the kickoff emails are in
the Maildir. Then a SIGTERM to serve's own process (as systemd or ``docker stop``
sends it), while runs keep starting, must end every process of serve within 30
seconds: none is left serving. A SIGTERM that lands while Prefect's runner starts a
run was seen to leave it waiting for good (about one stop in ten); serve's own bound
on a stop (``onboarding_flows.stopping``, 20 s, then its runs killed) ends it then.

Nothing else shows that the server's scheduler works with the libraries installed:
with SQLAlchemy 2.1 the Prefect 3.8.8 scheduler fails every loop ("Can't evaluate
bulk DML statement"), deployments register and no run is ever created. This test
holds the ``sqlalchemy<2.1`` pin in pyproject.toml.

40 to 60 s on this machine (two busy cores): the server's start, ~13 s, with the
launch done meanwhile (``--no-ui`` spares copying the UI into a fresh PREFECT_HOME);
``onboarding serve`` registering its deployments, ~10 s; the next 5-second tick;
the flow run's own process, ~6 s. The server's look for new deployments and the
runner's poll are set to every second (the same code, less waiting). Every
process started is stopped at the end, pass or fail; with nothing run it fails
after two minutes, showing the sweep runs seen and the tails of both logs.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import os
import signal
import subprocess
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.flows.processes import BIN, ROOT, environment, free_port, group_gone, started, tail, wait_until_healthy

SCHEDULED_SWEEP_SECONDS = 120
# How often the server looks for new deployments to schedule (default 5 s), and how often the runner
# looks for runs that are due (default 10 s): the same code, less waiting.
QUICKER_SERVER = {"PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS": "1"}
QUICKER_RUNNER = {"PREFECT_RUNNER_POLL_FREQUENCY": "1"}
PEOPLE = {
    "cs_manager": "Pat Lee <pat@vendor.example>",
    "csm": "Dana Ruiz <dana@vendor.example>",
    "onboarding_specialist": "Ola Nowak <ola@vendor.example>",
    "customer_sponsor": "Alex Brown <alex@acme.example>;tz=America/Chicago",
    "customer_champion": "Kim Diaz <kim@acme.example>;tz=America/Chicago",
    "customer_admin": "Lee Park <lee@acme.example>;tz=America/Chicago",
}


def _today() -> date:
    return datetime.now(UTC).date()


def _kickoff_keys(maildir: Path) -> list[str]:
    if not maildir.exists():
        return []
    keys = (
        str(email.message_from_bytes(m.as_bytes(), policy=email.policy.default)["X-Onboarding-Key"])
        for m in mailbox.Maildir(maildir, create=False)
    )
    return sorted(k for k in keys if k.startswith("kickoff:"))


def _sweep_runs(api: httpx.Client) -> list[dict[str, Any]]:
    """The runs of the served sweep deployment, if it is registered yet."""
    found = api.get("/deployments/name/sweep/sweep")
    if found.status_code == 404:
        return []
    found.raise_for_status()
    body = {"deployments": {"id": {"any_": [found.json()["id"]]}}, "sort": "EXPECTED_START_TIME_ASC", "limit": 200}
    response = api.post("/flow_runs/filter", json=body)
    response.raise_for_status()
    return list(response.json())


def test_a_served_schedule_runs_the_sweep_and_delivers(tmp_path: Path) -> None:
    started_at = time.monotonic()
    first_day = _today()
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    server_log, serve_log = tmp_path / "prefect-server.log", tmp_path / "onboarding-serve.log"
    maildir = tmp_path / "data" / "maildir"

    server_command = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    with (
        httpx.Client(base_url=api_url, timeout=10) as api,
        started(server_command, env=environment(tmp_path, **QUICKER_SERVER), log=server_log) as server,
    ):
        # while the server starts: a project whose kickoff emails wait in the outbox for a sweep to deliver them
        bindings = [arg for role, person in PEOPLE.items() for arg in ("--bind", f"{role}={person}")]
        blueprint = str(ROOT / "blueprints" / "saas-onboarding.yaml")
        kickoff = ["--customer", "Acme Manufacturing", "--kickoff", first_day.isoformat()]
        launched = subprocess.run(
            [str(BIN / "onboarding"), "launch", blueprint, *kickoff, *bindings],
            env=environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert launched.returncode == 0, launched.stdout + launched.stderr
        project_id = launched.stdout.split()[1]  # "launched acme-manufacturing-1a2b3c for ..."
        assert _kickoff_keys(maildir) == []  # nothing delivered yet
        wait_until_healthy(api, server, server_log)
        healthy_at = time.monotonic()
        serve_command = [str(BIN / "onboarding"), "serve", "--interval", "5", "--deliver-every", "1"]
        serve_env = environment(tmp_path, PREFECT_API_URL=api_url, **QUICKER_RUNNER)
        with started(serve_command, env=serve_env, log=serve_log) as serving:
            runs: list[dict[str, Any]] = []
            done: list[dict[str, Any]] = []
            deadline = time.monotonic() + SCHEDULED_SWEEP_SECONDS
            while time.monotonic() < deadline:
                assert serving.poll() is None, f"onboarding serve exited:\n{tail(serve_log)}"
                runs = _sweep_runs(api)
                done = [r for r in runs if r["state_type"] == "COMPLETED"]
                if done and len(_kickoff_keys(maildir)) == len(PEOPLE):
                    break
                time.sleep(1)
            else:
                waiting = sum(1 for r in runs if r["state_type"] == "SCHEDULED")
                seen = [f"{r['name']}: {r['state_name']}" for r in runs if r["state_type"] != "SCHEDULED"]
                states = ", ".join([*seen, f"{waiting} scheduled"]) if runs else "no sweep run at all"
                raise AssertionError(
                    f"no scheduled sweep completed and delivered within {SCHEDULED_SWEEP_SECONDS} s "
                    f"(kickoff emails in the Maildir: {len(_kickoff_keys(maildir))} of {len(PEOPLE)}).\n"
                    f"sweep runs: {states}\n"
                    f"--- prefect server log (tail) ---\n{tail(server_log)}\n"
                    f"--- onboarding serve log (tail) ---\n{tail(serve_log)}"
                )
            # a stop signal to its process alone (systemd, docker stop, kill PID) ends all of serve
            os.kill(serving.pid, signal.SIGTERM)
            assert group_gone(serving, within_seconds=30), f"serve still running after SIGTERM:\n{tail(serve_log)}"
    swept_at = time.monotonic()

    run = done[0]
    assert run["auto_scheduled"] is True  # the server's scheduler made it, not a manual trigger
    days = {first_day.isoformat(), _today().isoformat()}  # a run just after midnight UTC sweeps the new day
    assert run["name"] in {f"sweep-{day}" for day in days}
    assert _kickoff_keys(maildir) == sorted(f"kickoff:{project_id}:{role}" for role in PEOPLE)
    print(
        f"\nserver healthy after {healthy_at - started_at:.1f} s; a scheduled sweep completed and delivered "
        f"{swept_at - healthy_at:.1f} s after serve started; {len(runs)} sweep runs scheduled"
    )
