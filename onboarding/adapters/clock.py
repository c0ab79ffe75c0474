"""Clocks: the system's, and a fixed one for tests and simulations."""

from __future__ import annotations

from datetime import UTC, date, datetime


class SystemClock:
    def today(self) -> date:
        return datetime.now(UTC).date()

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told: a day, and an instant at noon UTC of that day unless given."""

    def __init__(self, day: date, *, at: datetime | None = None) -> None:
        self.day = day
        self.at = at or datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)

    def today(self) -> date:
        return self.day

    def now(self) -> datetime:
        return self.at

    def set(self, day: date, *, at: datetime | None = None) -> None:
        self.day = day
        self.at = at or datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)
