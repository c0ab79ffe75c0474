"""Real Prefect processes for the flow tests: a server, workers, flows run as commands, each in its own process
group and stopped with its whole group, pass or fail."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent  # `prefect` and `onboarding` as installed beside this Python
SERVER_START_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(tmp_path: Path, **more: str) -> dict[str, str]:
    """This checkout's code, a throw-away Prefect home and data folder, offline and quiet; nothing inherited
    from the caller's PREFECT_* or ONBOARDING_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ONBOARDING_"))}
    env.update(
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        ONBOARDING_DATA_DIR=str(tmp_path / "data"),
    )
    env.update(more)
    return env


@contextmanager
def started(command: list[str], *, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` in its own process group, output to ``log``; stop the whole group on the way out."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield process
        finally:
            stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to every process of the group, SIGKILL to any left after a grace period."""
    for sig, grace_seconds in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        if group_gone(process, within_seconds=grace_seconds):
            return


def group_gone(process: subprocess.Popen[bytes], *, within_seconds: float) -> bool:
    """Whether every process of the group has ended (not only its leader: a child may go on serving)."""
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        process.poll()  # reap the leader, or it stays in the group as a zombie
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def tail(log: Path, lines: int = 25) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else "(no output)"
    return "\n".join(text.splitlines()[-lines:])


def wait_until_healthy(api: httpx.Client, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"prefect server exited with {server.returncode}:\n{tail(log)}")
        try:
            if api.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"prefect server not healthy after {SERVER_START_SECONDS} s:\n{tail(log)}")
