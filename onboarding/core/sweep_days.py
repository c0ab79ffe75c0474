"""When a sweep may run: the day and instant it acts as of, and the rule that keeps it out of the future.

A sweep acts as of an instant: it re-plans from that instant's day, nudges the work
overdue on it, and delivers its emails at once. So, on a real database, a sweep
runs as of now or an earlier instant (a catch-up after an outage), never a later
one: nudges dated 21 December must not leave on 2 December, nor plans be re-forecast
from a day that has not come. Only a database created as a simulation (the demo's)
may move its clock forward. Whatever the database, sweeps go in order: never as of
a day before the latest day already swept (the same day again is fine, a sweep is
idempotent), so a catch-up sweeps each missed day oldest first.

Pure: the real now and what the database says it swept are passed in. Not here:
where the days swept are stored (``adapters/store/sweep.py``), reading the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from onboarding.core.planning import MAX_KICKOFF_YEAR, MIN_KICKOFF_YEAR
from onboarding.errors import Problem, SweepRefused

# The time of day (UTC) of a sweep as of an earlier day when none is given: 09:00 on the US west coast.
DEFAULT_SWEEP_TIME = time(17, 0)


@dataclass(frozen=True, slots=True)
class SweepHistory:
    """What the database says about its sweeps: the latest day swept, and whether it is a simulation."""

    latest_swept_on: date | None = None
    simulation: bool = False


def sweep_time(text: str) -> time:
    """``HH:MM`` (24-hour, UTC) -> a time of day; anything else is refused (``invalid-sweep-time``)."""
    hours, sep, minutes = text.strip().partition(":")
    if sep and text.isascii() and hours.isdigit() and minutes.isdigit() and len(hours) <= 2 and len(minutes) == 2:
        hour, minute = int(hours), int(minutes)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise SweepRefused(
        "sweep",
        (
            Problem(
                "invalid-sweep-time",
                f"{text!r} is not a time of day",
                ("at",),
                "write HH:MM in 24-hour UTC, from 00:00 to 23:59, e.g. 17:00",
            ),
        ),
    )


def sweep_instant(as_of: date | None, at: str | None, *, now: datetime) -> datetime:
    """The instant a sweep acts as of (aware, UTC).

    No day and no time: now. A time alone: today at that time. A day alone: now when
    it is today, else 17:00 UTC of that day. Both: that day at that time. A day
    outside the calendars' years and an unreadable time are refused, both at once.
    """
    problems: list[Problem] = []
    if as_of is not None and not MIN_KICKOFF_YEAR <= as_of.year <= MAX_KICKOFF_YEAR:
        problems.append(
            Problem(
                "sweep-day-out-of-range",
                f"{as_of.isoformat()} is outside the years the calendars cover",
                ("as_of",),
                "sweep as of today or an earlier day, or give no day to sweep now",
            )
        )
    of_day: time | None = None
    if at is not None:
        try:
            of_day = sweep_time(at)
        except SweepRefused as error:
            problems += error.problems
    if problems:
        raise SweepRefused("sweep", tuple(problems))
    now = now.astimezone(UTC)
    if as_of is None and of_day is None:
        return now
    day = as_of if as_of is not None else now.date()
    if of_day is None:
        if day == now.date():
            return now
        of_day = DEFAULT_SWEEP_TIME
    return datetime.combine(day, of_day, tzinfo=UTC)


def check_sweep(at: datetime, *, now: datetime, history: SweepHistory) -> None:
    """Refuse a sweep as of ``at`` that the rule does not allow (every reason at once, coded, with a hint)."""
    at, now = at.astimezone(UTC), now.astimezone(UTC)
    problems: list[Problem] = []
    if at > now and not history.simulation:
        later_day = at.date() > now.date()
        problems.append(
            Problem(
                "sweep-in-future",
                f"a sweep as of {at:%Y-%m-%d %H:%M} UTC is later than now ({now:%Y-%m-%d %H:%M} UTC): it would "
                "send that day's emails now and re-plan from a day that has not come",
                ("as_of",) if later_day else ("at",),
                "sweep as of today or an earlier day, or give no day to sweep now"
                if later_day
                else "give a time before now, or no time to sweep now",
                detail=("only a database created as a simulation, such as the demo's, may move its clock forward",),
            )
        )
    latest = history.latest_swept_on
    if latest is not None and at.date() < latest:
        problems.append(
            Problem(
                "sweep-before-last-swept",
                f"{at.date().isoformat()} is before {latest.isoformat()}, the latest day already swept",
                ("as_of",),
                f"sweep as of {latest.isoformat()} or a later day: sweeps go in order, a catch-up sweeps each "
                "missed day oldest first",
            )
        )
    if problems:
        raise SweepRefused("sweep", tuple(problems))
