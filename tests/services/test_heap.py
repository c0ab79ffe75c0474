"""The cycle collector's pause, shared by blocks in several threads at once (deliveries over parallel connections)."""

from __future__ import annotations

import gc
import threading

from onboarding.services.heap import cycle_collector_paused


def test_pauses_that_overlap_in_threads_are_one_pause_and_the_collector_resumes_after_the_last() -> None:
    assert gc.isenabled()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with cycle_collector_paused():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second() -> None:
        first_in.wait(10)
        with cycle_collector_paused():
            second_in.set()
            first_out.wait(10)
            seen.append(gc.isenabled())  # the first block ended: this one's pause holds

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_turned_off_before_a_pause_stays_off() -> None:
    gc.disable()
    try:
        with cycle_collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
