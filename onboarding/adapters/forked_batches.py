"""A sweep's batches worked in forked processes: the planning and composing of one batch on one core while another
batch is worked on another.

Threads (``services.side_by_side``) overlap one batch's waits on the database with another's work, but share one
interpreter: a weekday at 250,000 projects on PostgreSQL spent four fifths of its automated tasks' time in
Python. Each batch is already its own transaction over its own connection, on projects no other batch touches, so
processes can take them in any order, as threads do.

Each process is a fork of the sweep's: it inherits what the sweep has read and parsed (its blueprints, its list of
batches), and gets its batches by number, its results sent back pickled. No database connection crosses the fork:
the engine's pool is emptied first, and each process opens its own. A process whose sweep dies (killed, say) is
ended by the kernel (``PR_SET_PDEATHSIG``), never left working for nobody; a batch it had not committed is rolled
back, and the next sweep finds its work again. A batch process that ends before its batch does (killed on its own,
or out of memory) ends the sweep with ``SweepInterrupted``: the pool ends the batch under way beside it, none starts
after, and what neither had committed is rolled back for the next sweep. An in-memory SQLite database, which no
other process can open, is worked in threads.

Not here: what a batch does (``services.sweep``).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from sqlalchemy import Engine

from onboarding.errors import Problem, SweepInterrupted
from onboarding.services.side_by_side import in_pool, side_by_side

T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when the thread that forked it ends

# What a forked process works on: set in it alone, by ``_adopt``, before its first batch.
_batches: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


class ForkedBatches:
    """``side_by_side`` over processes forked from this one: ``work`` of each item, at most ``workers`` at once,
    the results in the items' order; the first failure raised once the batches under way have ended, no batch
    started after it is found; a batch process lost (``SweepInterrupted``) ends the others. One worker, or one item:
    worked in turn in this process."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __call__(self, work: Callable[[T], R], items: Sequence[T], *, workers: int) -> list[R]:
        if workers <= 1 or len(items) <= 1 or not _shareable(self._engine):
            return side_by_side(work, items, workers=workers)  # in turn in this thread, or threads
        self._engine.dispose()  # no connection crosses the fork: each process opens its own
        try:
            with ProcessPoolExecutor(
                max_workers=min(workers, len(items)),
                mp_context=multiprocessing.get_context("fork"),  # what the sweep holds, inherited rather than pickled
                initializer=_adopt,
                initargs=(work, items, os.getpid()),
            ) as pool:
                return in_pool(pool, _work_on, range(len(items)), workers=workers)
        except BrokenProcessPool:  # a process died: the pool has ended the others and fails every batch not done
            raise SweepInterrupted("sweep", (_LOST,)) from None


_LOST = Problem(
    "sweep-batch-lost",
    "a batch process ended before its batch did (killed, or out of memory): the sweep stopped there; what its "
    "batches had not committed is rolled back",
    hint="sweep again: the next sweep finds the work not done; if a batch process is lost again, give the sweep "
    "more memory, or set ONBOARDING_SWEEP_WORKERS=1 to work one batch at a time",
)


def _shareable(engine: Engine) -> bool:
    """Whether another process can open this database: any but an in-memory SQLite one."""
    return engine.dialect.name != "sqlite" or engine.url.database not in (None, "", ":memory:")


def _adopt(work: Callable[[Any], Any], items: Sequence[Any], parent: int) -> None:
    """In a forked process, before its first batch: end it with the sweep, and keep what it works on."""
    global _batches  # noqa: PLW0603 - this process's own, set once
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the sweep ended before the signal was asked for
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the sweep's to handle: it waits for its batches
    _batches = (work, items)


def _work_on(number: int) -> Any:
    """Batch ``number`` of those the sweep handed this process at its fork."""
    if _batches is None:
        raise RuntimeError("a batch process works only on what its sweep handed it at its fork")
    work, items = _batches
    return work(items[number])
