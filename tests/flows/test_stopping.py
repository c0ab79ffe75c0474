"""A stop that always ends (``onboarding_flows.stopping``): a serve whose own stop hangs is gone within its bound,
and the processes of its flow runs with it, even one that ignores SIGTERM.

Real processes: a Python process stands for serve (its SIGTERM handler arms the watchdog, then waits for good,
as Prefect's runner was seen to), with a child that ignores SIGTERM and a grandchild that does not, standing
for a flow run and what it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from onboarding_flows.stopping import descendants, running

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from Linux's /proc")

SERVE = """
import signal, subprocess, sys, threading
from onboarding_flows.stopping import end_within

def stop(*_):
    end_within(float(sys.argv[1]), grace=float(sys.argv[2]))
    threading.Event().wait()  # the runner's stop, waiting for an answer that never comes

signal.signal(signal.SIGTERM, stop)
subprocess.Popen([sys.executable, "-c", sys.argv[3]]).wait()
"""
# a flow run that ignores SIGTERM, with a process of its own that does not
FLOW_RUN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
time.sleep(300)
"""


def _wait_for(pids: int, process: subprocess.Popen[str], seconds: float = 30) -> list[int]:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        found = descendants(process.pid)
        if len(found) >= pids:
            return found
        time.sleep(0.05)
    raise AssertionError(f"the stand-in serve started {descendants(process.pid)}, not {pids} processes")


def test_a_stop_that_hangs_ends_serve_and_its_flow_runs_within_the_bound() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", SERVE, "1.0", "0.5", FLOW_RUN],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    ) as serve:
        try:
            below = _wait_for(2, serve)  # the flow run and what it started
            assert all(running(pid) for pid in below)
            signalled = time.monotonic()
            serve.send_signal(signal.SIGTERM)
            _, stderr = serve.communicate(timeout=20)
            took = time.monotonic() - signalled
        finally:
            if serve.poll() is None:
                serve.kill()
    assert serve.returncode == 1
    assert 1.0 <= took < 10, took  # the bound, then the grace for the run that ignores SIGTERM
    assert "still running 1 s after it was asked to stop: ending 2 process(es)" in stderr, stderr
    ends = time.monotonic() + 5
    while time.monotonic() < ends and any(running(pid) for pid in below):
        time.sleep(0.05)
    assert not [pid for pid in below if running(pid)], "a flow run's process outlived serve"


def test_a_stop_that_ends_in_time_is_left_to_end_by_itself() -> None:
    quick = "import signal, sys, time\nfrom onboarding_flows.stopping import end_within\n"
    quick += "def stop(*_):\n    end_within(30)\n    sys.exit(0)\n"
    quick += "signal.signal(signal.SIGTERM, stop)\nprint('ready', flush=True)\ntime.sleep(60)\n"
    with subprocess.Popen(
        [sys.executable, "-c", quick],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    ) as serve:
        try:
            assert serve.stdout is not None and serve.stdout.readline() == "ready\n"
            serve.send_signal(signal.SIGTERM)
            _, stderr = serve.communicate(timeout=10)
        finally:
            if serve.poll() is None:
                serve.kill()
    assert serve.returncode == 0  # its own exit, not the watchdog's (status 1, 30 s later)
    assert "asked to stop" not in stderr
