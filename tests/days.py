"""Today by the real clock (UTC), for tests that run the CLI or a flow by the system clock.

A test that reads the date once and then sweeps "now" must not see the day change
under it: near midnight, today is waited for until the new day has begun. (A launch
queues its welcome emails now; a sweep as of a fixed past day acts at 17:00 UTC of
that day, before they were queued, and would find nothing due. Swept as of today,
the sweep acts now.)
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

MARGIN = timedelta(minutes=3)  # longer than any one test that reads the day runs


def utc_today(margin: timedelta = MARGIN) -> date:
    """Today (UTC), at least ``margin`` before the day ends: waits out midnight when it is nearer."""
    now = datetime.now(UTC)
    left = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC) - now
    if left < margin:
        time.sleep(left.total_seconds() + 1)
    return datetime.now(UTC).date()


@pytest.fixture
def today() -> date:
    return utc_today()
