"""Building many small objects at once (a sweep's decision, a portfolio report, a blueprint loaded and
planned) without the cycle collector.

The objects hold no reference cycles: reference counting frees them. The cycle
collector's passes over a few hundred thousand young objects, each time enough
of them have been made, cost a quarter of such a step and more (1.3 s of 1.4 s
validating a blueprint of 10,000 tasks).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pause:
    """The one pause that blocks in several threads share."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.blocks = 0  # under way, in any thread
        self.resume = False  # whether the collector was on when the first of them began


_PAUSE = _Pause()


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause the cycle collector for the block.

    On the way out, everything made meanwhile joins the oldest generation (``gc.freeze``
    then ``gc.unfreeze``) instead of being walked at once by the first young-generation
    pass after the pause. Blocks in several threads at once (deliveries over parallel
    connections, say) share one pause: the collector resumes when the last of them ends,
    if it was on when the first began. The unfreeze also returns to the collector anything
    the process had frozen itself, which the engine never does.
    """
    with _PAUSE.lock:
        if _PAUSE.blocks == 0:
            _PAUSE.resume = gc.isenabled()
            gc.disable()
        _PAUSE.blocks += 1
    try:
        yield
    finally:
        with _PAUSE.lock:
            _PAUSE.blocks -= 1
            if _PAUSE.blocks == 0 and _PAUSE.resume:
                gc.freeze()
                gc.unfreeze()
                gc.enable()
