"""Batches worked side by side: while one waits on the database, another computes.

A sweep's batches touch disjoint projects, each read, planned and written over its own connection in its own
transaction, so two of them in threads do what they would do one after the other. What the threads share is
the interpreter: the gain is the database's time, not Python's (on SQLite, whose work is this process's own,
there is none to win, and the write lock makes them queue).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def side_by_side(work: Callable[[T], R], items: Sequence[T], *, workers: int) -> list[R]:
    """``work`` of each item, at most ``workers`` at once, the results in the items' order.

    The first failure (in the items' order) is raised once the runs under way have ended; no item is started
    after it is found. With one worker, or one item, the items are worked in turn in this thread."""
    if workers <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch") as pool:
        return in_pool(pool, work, items, workers=workers)


def in_pool(pool: Executor, work: Callable[[T], R], items: Sequence[T], *, workers: int) -> list[R]:
    """``side_by_side``'s order over an executor's threads or processes: ``work`` of each item handed to ``pool``,
    at most ``workers`` at once, the results in the items' order; the first failure raised as it is found (the
    caller's ``with`` of the pool waits for those running), no item handed over after it."""
    results: list[R] = []
    running: deque[Future[R]] = deque()
    for item in items:
        if len(running) == workers:
            results.append(running.popleft().result())
        running.append(pool.submit(work, item))
    while running:
        results.append(running.popleft().result())
    return results
