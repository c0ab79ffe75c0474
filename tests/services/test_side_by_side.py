"""Batches worked side by side: in order, never more at once than asked, a failure raised once the others end."""

from __future__ import annotations

import threading
import time

import pytest

from onboarding.services.side_by_side import side_by_side


class Watch:
    """Counts the items worked at once, and which threads worked them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.threads: set[str] = set()
        self.started: list[int] = []
        self.ended: list[int] = []

    def work(self, item: int) -> int:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.threads.add(threading.current_thread().name)
            self.started.append(item)
        time.sleep(0.01 * (item % 3))  # later items often end first
        with self.lock:
            self.now -= 1
            self.ended.append(item)
        if item == 5:
            raise ValueError("item 5")
        return item * item


@pytest.mark.parametrize("workers", [2, 3])
def test_results_come_in_the_items_order_with_at_most_so_many_at_once(workers: int) -> None:
    watch = Watch()
    assert side_by_side(watch.work, [1, 2, 3, 4], workers=workers) == [1, 4, 9, 16]
    assert watch.most == workers  # they did overlap, and no more than asked
    assert threading.current_thread().name not in watch.threads


def test_the_first_failure_is_raised_once_those_under_way_end_and_nothing_starts_after() -> None:
    watch = Watch()
    with pytest.raises(ValueError, match="item 5"):
        side_by_side(watch.work, list(range(10)), workers=2)
    assert sorted(watch.ended) == sorted(watch.started)  # nothing left running
    assert max(watch.started) <= 6  # at most the one beside it, started before its failure was seen


@pytest.mark.parametrize(("workers", "items"), [(1, [1, 2, 3]), (4, [7])])
def test_one_worker_or_one_item_runs_in_this_thread(workers: int, items: list[int]) -> None:
    watch = Watch()
    assert side_by_side(watch.work, items, workers=workers) == [i * i for i in items]
    assert watch.threads == {threading.current_thread().name}
