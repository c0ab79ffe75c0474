"""A deliberately naive re-implementation of DESIGN §3, for checking the planner.

It walks calendar days one by one and asks the holidays package directly, sharing
no code with onboarding.core.calendars or planning.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays

ONE = timedelta(days=1)


class NaiveCalendar:
    def __init__(
        self,
        country: str,
        subdivision: str | None = None,
        market: str | None = None,
        closed: frozenset[date] = frozenset(),
    ) -> None:
        self.table = (
            holidays.financial_holidays(market) if market else holidays.country_holidays(country, subdiv=subdivision)
        )
        self.closed = closed

    def open(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.table and day not in self.closed

    def nth_after(self, day: date, n: int) -> date:
        """n>0: the n-th business day strictly after; 0: the day; n<0: the |n|-th strictly before."""
        step = ONE if n > 0 else -ONE
        left = abs(n)
        while left:
            day += step
            if self.open(day):
                left -= 1
        return day

    def on_or_after(self, day: date) -> date:
        while not self.open(day):
            day += ONE
        return day

    def on_or_before(self, day: date) -> date:
        while not self.open(day):
            day -= ONE
        return day

    def from_last_open(self, day: date, n: int) -> date:
        """Count n business days from the last business day on or before ``day``."""
        return self.nth_after(self.on_or_before(day), n)

    def business_days_from(self, start: date, d: int) -> date:
        """Due date of a d-day task starting on business day ``start``."""
        return self.nth_after(start, d - 1)


def naive_forward(
    tasks: list[dict], cal: dict[str, NaiveCalendar], kickoff: date, pins: dict[str, date] | None = None
) -> dict[str, tuple[date, date]]:
    """tasks: dicts with key, calendar, duration, deps [(pred, type, lag)], in topological order."""
    pins = pins or {}
    out: dict[str, tuple[date, date]] = {}
    for t in tasks:
        c = cal[t["calendar"]]
        floor = c.on_or_after(kickoff)
        d = t["duration"]
        if d == 0:
            reached = [
                c.from_last_open(out[p][1] if typ in ("FS", "FF") else out[p][0], lag) for p, typ, lag in t["deps"]
            ]
            day = max([floor, *reached])
            day = pins.get(t["key"], day)
            out[t["key"]] = (day, day)
            continue
        starts = [floor]
        dues = []
        for p, typ, lag in t["deps"]:
            ps, pd = out[p]
            if typ == "FS":
                starts.append(c.nth_after(pd, 1 + lag))
            elif typ == "SS":
                starts.append(c.nth_after(ps, lag))
            elif typ == "FF":
                dues.append(c.nth_after(pd, lag))
            else:
                dues.append(c.nth_after(ps, lag))
        start = c.on_or_after(max(starts))
        due = c.business_days_from(start, d)
        if dues and max(dues) > due:
            due = c.on_or_after(max(dues))
            start = c.nth_after(due, -(d - 1))
        if t["key"] in pins:
            due = pins[t["key"]]
            start = c.nth_after(due, -(d - 1))
        out[t["key"]] = (start, due)
    return out
