"""The days the flow tests sweep and launch: today (UTC) and three days on.

A launch queues its welcome emails now, by the real clock; a sweep as of a fixed
past day acts at 17:00 UTC of that day, before they were queued, and would find
nothing due. Swept as of today, the sweep acts now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SWEEP_DAY = datetime.now(UTC).date()
KICKOFF = SWEEP_DAY + timedelta(days=3)
