"""Building many small objects at once (a sweep's decision, a portfolio report) without the cycle collector.

The objects hold no reference cycles: reference counting frees them. The cycle
collector's passes over a few hundred thousand young objects, each time enough
of them have been made, cost a quarter of such a step and more.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause the cycle collector for the block.

    On the way out, everything made meanwhile joins the oldest generation (``gc.freeze``
    then ``gc.unfreeze``) instead of being walked at once by the first young-generation
    pass after the pause. For one thread at a time (a sweep's steps and a report run one
    after the other); the unfreeze also returns to the collector anything the process
    had frozen itself, which the engine never does.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()
