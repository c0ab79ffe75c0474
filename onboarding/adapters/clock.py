"""Clocks: the system's, a fixed one for tests and simulations, and the later of two."""

from __future__ import annotations

from datetime import UTC, date, datetime

from onboarding.services.ports import Clock


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


class LaterClock:
    """The later of two clocks: what a sweep's emails are sent and dated by. A sweep acting as of a missed day
    (behind the system's clock) sends now; one acting as of a day ahead of it (a test's) sends on that day."""

    def __init__(self, acting: Clock) -> None:
        self._acting = acting
        self._system = SystemClock()

    def today(self) -> date:
        return max(self._acting.today(), self._system.today())

    def now(self) -> datetime:
        return max(self._acting.now(), self._system.now())
