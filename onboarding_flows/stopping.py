"""A stop that always ends: ``onboarding serve`` is gone within a bound of SIGTERM, its flow runs with it.

Prefect's runner stops on SIGTERM by asking its event loop's thread to stop, from the signal handler, and
waiting for the answer with no time limit; a SIGTERM that lands while the runner is starting a flow run
was seen to leave serve waiting for good (about one stop in ten with delivery every second). systemd or
``docker stop`` would then kill it without the runner's own clean-up, and a supervisor that waits for
nothing would be left with a serve that no longer serves.

``end_within`` arms a watchdog when the stop begins: if the process is still there that many seconds later,
the processes below it (its flow runs: each runs in its own process) are sent SIGTERM, then SIGKILL after
a grace, and it exits with status 1, saying so on stderr. A stop that goes as it should ends well before
the watchdog wakes. The runs it ended are marked Crashed, their slots set free, when serve starts again
(``serve.release_orphans``).

Not here: what is served (``serve``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prefect.runner import Runner

STOP_SECONDS = 20.0  # the longest a stop may take: docker stop waits 10 s by default, systemd 90 s
GRACE_SECONDS = 5.0  # between the SIGTERM and the SIGKILL to the flow runs of a stop that did not end


class StoppingRunner(Runner):
    """Prefect's runner, whose stop on SIGTERM ends within ``STOP_SECONDS`` whatever it waits for."""

    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        end_within(STOP_SECONDS)
        super().handle_sigterm(*args, **kwargs)


def end_within(seconds: float, *, grace: float = GRACE_SECONDS) -> None:
    """Arm a watchdog: ``seconds`` from now, if this process still runs, the processes below it are sent SIGTERM,
    then SIGKILL after ``grace`` seconds (those still there), and the process exits with status 1."""

    def watch() -> None:
        time.sleep(seconds)
        below = descendants(os.getpid())
        print(
            f"onboarding serve: still running {seconds:g} s after it was asked to stop: ending "
            f"{len(below)} process(es) of its flow runs, then itself",
            file=sys.stderr,
            flush=True,
        )
        _signal(below, signal.SIGTERM)
        ends = time.monotonic() + grace
        while time.monotonic() < ends and any(running(pid) for pid in below):
            time.sleep(0.1)
        _signal([pid for pid in below if running(pid)], signal.SIGKILL)
        os._exit(1)

    threading.Thread(target=watch, name="stop-watchdog", daemon=True).start()


def descendants(pid: int) -> list[int]:
    """The processes below ``pid``, each before its own (read from Linux's /proc; none where there is none)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _fields(stat)
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    waiting = [pid]
    while waiting:
        below = children.get(waiting.pop(), [])
        found += below
        waiting += below
    return found


def running(pid: int) -> bool:
    """Whether the process is there and not a zombie (a child ended but not waited for counts as ended)."""
    fields = _fields(Path(f"/proc/{pid}/stat"))
    return fields is not None and fields[0] != "Z"


def _fields(stat: Path) -> list[str] | None:
    """A process's /proc stat line after its name (``pid (name) state ppid ...``: the name may hold spaces and
    parentheses), from its state on; None once it has ended."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields if len(fields) > 1 else None


def _signal(pids: Iterable[int], number: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # ended meanwhile
            os.kill(pid, number)
