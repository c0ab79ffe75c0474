"""Business calendars: which days count, and arithmetic in business days.

A calendar is weekends plus public holidays (the ``holidays`` package, by country
and subdivision, or a financial market such as the Federal Reserve's ``XFED``)
plus extra closed days. Office calendars (vendor, customer) use public holidays
with their observed days; the settlement calendar uses the bank's holidays.

The arithmetic follows DESIGN §3. ``add(d, n)`` moves n business days from a
business day; ``step(x, n)`` is "n business days after x" for any date x: the n-th
business day strictly after x for n > 0, x itself for n = 0, the |n|-th business
day strictly before x for n < 0. ``count_from(x, n)`` counts from the last business
day on or before x (the checkpoint rule). Both have exact inverses used by the
backward pass.

Not here: which calendar a task uses (planning), pay dates (payroll).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays as holidays_lib

HolidaySource = Callable[[int], Mapping[date, str]]

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Settlement markets used when a settlement calendar names only a country.
DEFAULT_MARKET_BY_COUNTRY = {"US": "XFED"}

_ONE_DAY = timedelta(days=1)
_NO_SPAN: tuple[int, int, int, int] = (0, -1, 0, -1)  # a calendar's span before anything was asked of it


class BusinessCalendar:
    """The business days of one place, with O(1) business-day arithmetic.

    Business days are numbered over a span of years that grows on demand; the
    numbering is a cache, so a calendar behaves as an immutable value. A business
    day's number never changes once given (the span grows backwards with numbers
    below the first ones), and each lookup table is replaced whole, never changed
    in place: threads sharing a calendar (the web server's) read consistent answers
    while another grows it, and growing is done by one thread at a time.
    """

    __slots__ = (
        "_by_number",
        "_floor",
        "_growing",
        "_holidays",
        "_index",
        "_span",
        "closed_days",
        "name",
        "weekend",
    )

    def __init__(
        self,
        *,
        name: str,
        holidays: HolidaySource,
        weekend: Iterable[int] = (5, 6),
        closed_days: Mapping[date, str] | None = None,
    ) -> None:
        self.name = name
        self.weekend = frozenset(weekend)
        self.closed_days: Mapping[date, str] = dict(closed_days or {})
        self._holidays = holidays
        self._growing = threading.Lock()
        # (first year, last year, number of the first business day, of the last) of the span
        self._span: tuple[int, int, int, int] = _NO_SPAN
        self._index: dict[date, int] = {}  # business day -> its number
        self._by_number: dict[int, date] = {}  # number -> business day
        self._floor: dict[date, int] = {}  # any day of the span -> number of the last business day on or before it

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r})"

    # -- what a day is -------------------------------------------------------

    def closure_reason(self, day: date) -> str | None:
        """Why ``day`` is not a business day, or None when it is one."""
        if day.weekday() in self.weekend:
            return WEEKDAY_NAMES[day.weekday()].capitalize() + " (weekend)"
        if day in self.closed_days:
            return self.closed_days[day] or "closed day"
        name = self._holidays(day.year).get(day)
        return name

    def is_business_day(self, day: date) -> bool:
        if day not in self._floor:
            self._cover(day)
        return day in self._index

    # -- moving in business days --------------------------------------------
    #
    # Hot paths: each looks the day up in the span's dictionaries and falls back to
    # growing the span only when the day or the answer lies outside it. A number read
    # from one table stays right in the tables that replace it (numbers never change),
    # and the tables are published number first, floor last: whoever finds a day in
    # ``_floor`` finds its business days in ``_index`` and ``_by_number``.

    def index(self, day: date) -> int:
        """Number of a business day in this calendar's sequence of business days."""
        try:
            return self._index[day]
        except KeyError:
            if day in self._floor:
                if day in self._index:  # published by another thread since the first look
                    return self._index[day]
                raise ValueError(f"{day} is not a business day of {self.name}") from None
        self._cover(day)
        return self.index(day)

    def prev_on_or_before(self, day: date) -> date:
        number = self._position(day)  # may grow the span: read the table after it
        return self._by_number[number]

    def next_on_or_after(self, day: date) -> date:
        if day in self._index or self.is_business_day(day):
            return day
        return self._at(day, 1)

    def add(self, day: date, n: int) -> date:
        """The business day n business days from business day ``day`` (n may be negative)."""
        try:
            number = self._index[day] + n
        except KeyError:
            number = self.index(day) + n
        found = self._by_number.get(number)
        if found is not None:
            return found
        return self._at(day, n)

    def step(self, day: date, n: int) -> date:
        """n business days after any date: n>0 strictly after, 0 the day itself, n<0 strictly before."""
        if n == 0:
            return day
        if n < 0 and not self.is_business_day(day):
            n += 1  # counting back from a closed day: its floor is already the 1st day before it
        return self._at(day, n)

    def count_from(self, day: date, n: int) -> date:
        """n business days from the last business day on or before ``day`` (the checkpoint rule)."""
        return self._at(day, n)

    def _position(self, day: date) -> int:
        """Number of the last business day on or before ``day``, growing the span as needed."""
        try:
            number = self._floor[day]
        except KeyError:
            self._cover(day)
            number = self._floor[day]
        while number not in self._by_number:  # before the span's first business day: grow it back
            span = self._span
            self._extend(span[0] - 2, span[1])
        return number

    def _at(self, anchor: date, offset: int) -> date:
        """The business day ``offset`` places from the last business day on or before ``anchor``."""
        number = self._position(anchor) + offset
        while (found := self._by_number.get(number)) is None:
            span = self._span
            years = abs(offset) // 200 + 2
            if number < span[2]:
                self._extend(span[0] - years, span[1])
            else:
                self._extend(span[0], span[1] + years)
        return found

    def business_days_between(self, start: date, end: date) -> int:
        """Business days from business day ``start`` to business day ``end`` (end - start)."""
        return self.index(end) - self.index(start)

    def business_days_in(self, start: date, end: date) -> Iterable[date]:
        """Business days d with start <= d <= end, in order."""
        day = self.next_on_or_after(start)
        while day <= end:
            yield day
            day = self.add(day, 1)

    # -- exact inverses for the backward pass --------------------------------
    #
    # Each returns the latest date X of ``other`` (a business day of that
    # calendar) for which the forward rule applied to X lands on or before
    # ``target``.

    def latest_before_step(self, other: BusinessCalendar, target: date, n: int) -> date:
        """Latest business day X of ``other`` with ``self.step(X, n) <= target``."""
        if n > 0:
            return self.latest_before_count(other, target, n)
        if n < 0:
            bound = self.add(self.prev_on_or_before(target), -n)
            return other.prev_on_or_before(bound)
        return other.prev_on_or_before(target)

    def latest_before_count(self, other: BusinessCalendar, target: date, n: int) -> date:
        """Latest business day X of ``other`` with ``self.count_from(X, n) <= target``."""
        bound = self.add(self.prev_on_or_before(target), -n)
        # prev_on_or_before(X) <= bound  <=>  X is before the business day after bound.
        return other.prev_on_or_before(self.add(bound, 1) - _ONE_DAY)

    # -- index maintenance ---------------------------------------------------

    def _cover(self, day: date) -> None:
        span = self._span
        if span is _NO_SPAN:
            self._extend(day.year - 1, day.year + 1)
        elif not span[0] <= day.year <= span[1]:
            self._extend(min(day.year - 1, span[0]), max(day.year + 1, span[1]))

    def _extend(self, first_year: int, last_year: int) -> None:
        """Grow the span to at least ``first_year``..``last_year`` (one thread at a time)."""
        with self._growing:
            span = self._span
            if span is not _NO_SPAN:
                first_year, last_year = min(first_year, span[0]), max(last_year, span[1])
                if (first_year, last_year) == span[:2]:
                    return  # grown by another thread meanwhile
            if first_year < date.min.year + 1 or last_year > date.max.year - 1:
                raise ValueError(f"{self.name}: dates outside the years {date.min.year + 1}..{date.max.year - 1}")
            day = date(first_year, 1, 1)
            end = date(last_year, 12, 31)
            days: list[date] = []
            counted: dict[date, int] = {}  # day -> business days up to it, from the new span's start
            closed_by_year = {y: self._holidays(y) for y in range(first_year, last_year + 1)}
            weekend = self.weekend
            closed = self.closed_days
            while day <= end:
                if day.weekday() not in weekend and day not in closed and day not in closed_by_year[day.year]:
                    days.append(day)
                counted[day] = len(days)
                day += _ONE_DAY
            # The first number: so that the business days already numbered keep their numbers.
            first = 0 if span[2] > span[3] else span[2] - (counted[self._by_number[span[2]]] - 1)
            self._by_number = {first + i: d for i, d in enumerate(days)}
            self._index = {d: first + i for i, d in enumerate(days)}
            self._floor = {d: first + n - 1 for d, n in counted.items()}
            self._span = (first_year, last_year, first, first + len(days) - 1)


# -- building calendars from the holidays package ------------------------------


def _observed_public_holidays(country: str, subdivision: str | None) -> tuple[HolidaySource, frozenset[int]]:
    try:
        probe = holidays_lib.country_holidays(country, subdiv=subdivision)
    except NotImplementedError as exc:
        raise UnknownCalendar(str(exc)) from None

    def lookup(year: int) -> Mapping[date, str]:
        return dict(holidays_lib.country_holidays(country, subdiv=subdivision, years=year))

    return _per_year(lookup), frozenset(probe.weekend)


def _market_holidays(market: str) -> tuple[HolidaySource, frozenset[int]]:
    try:
        probe = holidays_lib.financial_holidays(market)
    except NotImplementedError as exc:
        raise UnknownCalendar(str(exc)) from None

    def lookup(year: int) -> Mapping[date, str]:
        return dict(holidays_lib.financial_holidays(market, years=year))

    return _per_year(lookup), frozenset(probe.weekend)


def _per_year(lookup: Callable[[int], Mapping[date, str]]) -> HolidaySource:
    cache: dict[int, Mapping[date, str]] = {}

    def by_year(year: int) -> Mapping[date, str]:
        if year not in cache:
            cache[year] = lookup(year)
        return cache[year]

    return by_year


class UnknownCalendar(ValueError):
    """The holidays package does not know this country, subdivision or market."""


@dataclass(frozen=True, slots=True)
class CalendarKey:
    """What identifies a calendar: place, optional market, and extra closed days."""

    country: str
    subdivision: str | None = None
    market: str | None = None
    closed_days: tuple[tuple[date, str], ...] = ()


@lru_cache(maxsize=256)
def business_calendar(key: CalendarKey, *, name: str) -> BusinessCalendar:
    """The calendar for a place (public holidays, observed) or a market (bank holidays)."""
    if key.market:
        source, weekend = _market_holidays(key.market)
    else:
        source, weekend = _observed_public_holidays(key.country, key.subdivision)
    return BusinessCalendar(name=name, holidays=source, weekend=weekend, closed_days=dict(key.closed_days))


def supported_subdivisions(country: str) -> tuple[str, ...]:
    return tuple(holidays_lib.list_supported_countries().get(country, ()))
