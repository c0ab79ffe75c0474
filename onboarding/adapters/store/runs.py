"""Which process a delivery run is, and whether it is still alive.

A run is known by its host name, its pid and its process start: on Linux, the boot
id and the start tick of ``/proc/<pid>/stat``, so that a pid reused by a later
process, or the same pid after a reboot, is not taken for the run. Elsewhere the
start is unknown (``""``) and a live pid counts as the run.

Not here: what is done with a gone run's claims (``outbox.py``).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

_PROC = Path("/proc")


class Liveness(StrEnum):
    alive = "alive"
    gone = "gone"
    unknown = "unknown"  # another machine, or no way to tell here: only the lease frees its claims


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    host: str
    pid: int
    started: str  # "<boot id>:<start tick>", "" where unknown


def this_process() -> ProcessIdentity:
    pid = os.getpid()
    return ProcessIdentity(host=socket.gethostname(), pid=pid, started=process_started(pid) or "")


def process_started(pid: int) -> str | None:
    """``<boot id>:<start tick>`` of a live process; None when it does not exist (or is a zombie) or on no /proc."""
    try:
        boot = (_PROC / "sys/kernel/random/boot_id").read_text().strip()
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after its last ")"
    fields = stat[stat.rfind(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):  # a zombie has exited: only its exit status is left
        return None
    return f"{boot}:{fields[19]}"  # field 22 of stat, the start time in clock ticks since boot


def liveness(identity: ProcessIdentity) -> Liveness:
    """Whether the process that made a run is alive, as far as this machine can tell."""
    if identity.host != socket.gethostname():
        return Liveness.unknown
    if _PROC.is_dir():
        started = process_started(identity.pid)
        if started is None:
            return Liveness.gone
        return Liveness.alive if not identity.started or started == identity.started else Liveness.gone
    try:
        os.kill(identity.pid, 0)
    except ProcessLookupError:
        return Liveness.gone
    except PermissionError:
        return Liveness.alive  # a process of another user holds the pid
    return Liveness.alive
