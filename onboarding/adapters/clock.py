"""Clocks: the system's, and a fixed one for tests and simulations."""

from __future__ import annotations

from datetime import UTC, date, datetime


class SystemClock:
    def today(self) -> date:
        return datetime.now(UTC).date()


class FixedClock:
    def __init__(self, day: date) -> None:
        self.day = day

    def today(self) -> date:
        return self.day
