"""Pay schedules and their pay (check) dates, adjusted to the settlement calendar.

A pay schedule says when a customer's payroll pays: weekly or biweekly from one
anchor payday, semi-monthly on two days of the month, or monthly on one, and how a
payday that is not a banking day moves (the roll convention). This module reads a
schedule from its spec string (``biweekly:2026-01-02:preceding``), generates the
adjusted pay dates in a range, and classifies a check date as the first of its
year, the first of its quarter, or neither, where the boundary is always the
*adjusted* pay date (a 2027-01-01 payday rolled to 2026-12-31 counts for 2026).

Pure: values in, values out; no I/O and no clock. Paydays roll on the settlement
(bank) calendar the caller passes in, never on an office calendar.

Not here: choosing a launch date, blackouts and lead times (launch windows),
which calendars a project uses (planning), rendering text for a terminal (CLI).
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Literal

from onboarding.core.calendars import BusinessCalendar
from onboarding.errors import PayScheduleInvalid, Problem

__all__ = [
    "PAY_SCHEDULE_HINT",
    "CheckDateClass",
    "Frequency",
    "PayDate",
    "PayDay",
    "PaySchedule",
    "Roll",
    "check_date_class",
    "extra_payday_warnings",
    "is_first_check_of_quarter",
    "is_first_check_of_year",
    "parse_pay_schedule",
    "pay_dates",
    "roll",
]


class Frequency(StrEnum):
    weekly = "weekly"
    biweekly = "biweekly"
    semimonthly = "semimonthly"
    monthly = "monthly"


class Roll(StrEnum):
    """How a scheduled payday that is not a banking day moves to one."""

    preceding = "preceding"
    following = "following"
    nearest = "nearest"
    modified_following = "modified-following"


# A pay day of the month: 1..31 (past the month's end means its last day), "last"
# (the last calendar day) or "last-business" (the last settlement business day,
# never rolled).
PayDay = int | str
LAST = "last"
LAST_BUSINESS = "last-business"

CheckDateClass = Literal["year_start", "quarter_start", "other"]

# Paydays a year that are usual; more means a payday rolled in from a neighbouring
# year or the calendar fits one more (a "27th biweekly payday").
_USUAL_PAYDAYS = {Frequency.weekly: 52, Frequency.biweekly: 26}
_PERIOD_DAYS = {Frequency.weekly: 7, Frequency.biweekly: 14}
_DAYS_PER_FREQUENCY = {Frequency.semimonthly: 2, Frequency.monthly: 1}

_FREQUENCY_ALIASES = {
    "weekly": Frequency.weekly,
    "biweekly": Frequency.biweekly,
    "bi-weekly": Frequency.biweekly,
    "semimonthly": Frequency.semimonthly,
    "semi-monthly": Frequency.semimonthly,
    "monthly": Frequency.monthly,
}
_ROLL_ALIASES = {
    "preceding": Roll.preceding,
    "following": Roll.following,
    "nearest": Roll.nearest,
    "modified-following": Roll.modified_following,
    "modified_following": Roll.modified_following,
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY_NUMBER = re.compile(r"\d{1,2}")

# The last settlement business day of a month is never before the 26th on a
# Saturday/Sunday weekend without closures late in February, so a semi-monthly
# first payday up to the 25th never coincides with it.
_LATEST_FIRST_DAY_BEFORE_LAST_BUSINESS = 25
# Any day number up to the 27th stays before the clamped second day (>= the 28th).
_LATEST_FIRST_DAY_BEFORE_MONTH_END = 27

PAY_SCHEDULE_HINT = (
    "use weekly:2026-01-02, biweekly:2026-01-02, semimonthly:15,last, monthly:last, "
    "optionally followed by :preceding|:following|:nearest|:modified-following"
)

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PaySchedule:
    """When a payroll pays, and how a payday on a non-banking day moves.

    ``anchor_on`` is one scheduled (unadjusted) payday of a weekly or biweekly
    schedule and None otherwise; ``days`` holds the two days of a semi-monthly
    schedule (in month order), the one day of a monthly schedule, and nothing for
    weekly or biweekly.
    """

    frequency: Frequency
    anchor_on: date | None
    days: tuple[PayDay, ...] = ()
    roll: Roll = Roll.preceding

    def __post_init__(self) -> None:
        problem = _schedule_problem(self.frequency, self.anchor_on, self.days)
        if problem is not None:
            raise _invalid(problem, source=f"PaySchedule({self.frequency!r}, {self.anchor_on!r}, {self.days!r})")

    def spec(self) -> str:
        """The canonical spec string; ``parse_pay_schedule(s.spec()) == s``.

        The roll is written only when it is not the default (preceding).
        """
        if self.anchor_on is not None:
            head = f"{self.frequency}:{self.anchor_on.isoformat()}"
        else:
            head = f"{self.frequency}:{','.join(str(day) for day in self.days)}"
        return head if self.roll is Roll.preceding else f"{head}:{self.roll}"


# -- reading a spec -------------------------------------------------------------


def parse_pay_schedule(spec: str, *, source: str = "pay schedule") -> PaySchedule:
    """Read ``weekly:YYYY-MM-DD``, ``biweekly:YYYY-MM-DD``, ``semimonthly:A,B`` or
    ``monthly:D``, each optionally followed by ``:ROLL``.

    Case-insensitive; surrounding whitespace is ignored; ``bi-weekly`` and
    ``semi-monthly`` are accepted. Raises PayScheduleInvalid (code
    ``invalid-pay-schedule``) naming what is wrong.
    """
    text = spec.strip().lower()
    if not text:
        raise _invalid("the pay schedule is empty", source=source)
    parts = [part.strip() for part in text.split(":")]
    if len(parts) < 2:
        raise _invalid(f"{spec.strip()!r} has no ':' between the frequency and its days or anchor", source=source)
    if len(parts) > 3:
        raise _invalid(f"{spec.strip()!r} has more than three ':'-separated parts", source=source)

    frequency = _FREQUENCY_ALIASES.get(parts[0])
    if frequency is None:
        raise _invalid(f"unknown pay frequency {parts[0]!r}", source=source)

    convention = Roll.preceding
    if len(parts) == 3:
        rolled = _ROLL_ALIASES.get(parts[2])
        if rolled is None:
            raise _invalid(f"unknown roll convention {parts[2]!r}", source=source)
        convention = rolled

    anchor_on: date | None = None
    days: tuple[PayDay, ...] = ()
    if frequency in _PERIOD_DAYS:
        anchor_on = _parse_anchor(parts[1], frequency, source=source)
    else:
        days = tuple(_parse_day(part.strip(), frequency, source=source) for part in parts[1].split(","))

    problem = _schedule_problem(frequency, anchor_on, days)
    if problem is not None:
        raise _invalid(problem, source=source)
    return PaySchedule(frequency=frequency, anchor_on=anchor_on, days=days, roll=convention)


def _parse_anchor(text: str, frequency: Frequency, *, source: str) -> date:
    if not text:
        raise _invalid(f"{frequency} needs an anchor payday (YYYY-MM-DD)", source=source)
    if not _ISO_DATE.fullmatch(text):
        raise _invalid(f"{frequency} anchor {text!r} is not a date written YYYY-MM-DD", source=source)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _invalid(f"{frequency} anchor {text!r} is not a real date", source=source) from None


def _parse_day(text: str, frequency: Frequency, *, source: str) -> PayDay:
    if text in (LAST, LAST_BUSINESS):
        return text
    if not text:
        raise _invalid(f"{frequency} has an empty pay day", source=source)
    if not _DAY_NUMBER.fullmatch(text):
        raise _invalid(f"{frequency} pay day {text!r} is not a day number, 'last' or 'last-business'", source=source)
    return int(text)


def _schedule_problem(frequency: object, anchor_on: object, days: object) -> str | None:
    """What is wrong with a schedule's parts, or None when they fit together."""
    if not isinstance(frequency, Frequency):
        return f"unknown pay frequency {frequency!r}"
    if not isinstance(days, tuple):
        return f"{frequency} pay days must be a tuple"
    if frequency in _PERIOD_DAYS:
        if not isinstance(anchor_on, date):
            return f"{frequency} needs an anchor payday (YYYY-MM-DD)"
        if days:
            return f"{frequency} takes an anchor payday, not days of the month"
        return None
    if anchor_on is not None:
        return f"{frequency} takes days of the month, not an anchor date"
    wanted = _DAYS_PER_FREQUENCY[frequency]
    if len(days) != wanted:
        return f"{frequency} needs {'two pay days' if wanted == 2 else 'one pay day'}, got {len(days)}"
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int | str):
            return f"{frequency} pay day {day!r} is not a day number, 'last' or 'last-business'"
        if isinstance(day, str) and day not in (LAST, LAST_BUSINESS):
            return f"{frequency} pay day {day!r} is not a day number, 'last' or 'last-business'"
        if isinstance(day, int) and not 1 <= day <= 31:
            return f"{frequency} pay day {day} is not between 1 and 31"
    if frequency is Frequency.semimonthly:
        first, second = days
        if not isinstance(first, int):
            return f"semimonthly first pay day {first!r} must be a day number before the second"
        if isinstance(second, int) and second <= first:
            return f"semimonthly pay days {first},{second}: the first must come before the second in the month"
        if second == LAST_BUSINESS and first > _LATEST_FIRST_DAY_BEFORE_LAST_BUSINESS:
            return (
                f"semimonthly pay days {first},{second} can fall on the same date "
                f"(the last business day can be the 26th); the first must be at most "
                f"{_LATEST_FIRST_DAY_BEFORE_LAST_BUSINESS}"
            )
        if first > _LATEST_FIRST_DAY_BEFORE_MONTH_END:
            return f"semimonthly pay days {first},{second} fall on the same date in February"
    return None


def _invalid(message: str, *, source: str) -> PayScheduleInvalid:
    return PayScheduleInvalid(
        source=source,
        problems=(Problem(code="invalid-pay-schedule", message=message, hint=PAY_SCHEDULE_HINT),),
    )


# -- rolling and generating pay dates ------------------------------------------


def roll(day: date, convention: Roll, calendar: BusinessCalendar) -> date:
    """The banking day a payday scheduled on ``day`` is paid on.

    preceding: the last business day on or before; following: the first on or
    after; nearest: whichever is fewer calendar days away, a tie going to
    preceding; modified-following: following unless that leaves the month, then
    preceding. A business day is its own roll under every convention.
    """
    return _roll(day, convention, calendar)


def _roll(day: date, convention: Roll, calendar: BusinessCalendar) -> date:
    if calendar.is_business_day(day):
        return day
    if convention is Roll.preceding:
        return calendar.prev_on_or_before(day)
    after = calendar.next_on_or_after(day)
    if convention is Roll.following:
        return after
    if convention is Roll.modified_following:
        return after if (after.year, after.month) == (day.year, day.month) else calendar.prev_on_or_before(day)
    before = calendar.prev_on_or_before(day)
    return before if day - before <= after - day else after


@dataclass(frozen=True, slots=True)
class PayDate:
    """One payday: when the schedule puts it, and the banking day it is paid on."""

    scheduled_on: date
    paid_on: date

    @property
    def rolled(self) -> bool:
        return self.paid_on != self.scheduled_on


@lru_cache(maxsize=4096)
def pay_dates(schedule: PaySchedule, settlement: BusinessCalendar, *, start: date, end: date) -> tuple[PayDate, ...]:
    """Every pay date whose adjusted ``paid_on`` lies in [start, end], sorted by paid_on.

    Remembered for the last few thousand questions: a sweep re-plans many projects
    on the same pay schedules over nearly the same ranges.

    A payday scheduled just outside the range that rolls into it is included (a
    2027-01-01 payday rolled back to 2026-12-31 is in a range ending 2026-12-31);
    one scheduled inside that rolls out of it is not.
    """
    if end < start:
        return ()
    # Any roll lands on the last business day on or before or the first on or
    # after the scheduled day, so only days strictly between the business day
    # before ``start`` and the business day after ``end`` can land in range.
    first = settlement.step(start, -1) + _ONE_DAY
    last = settlement.step(end, 1) - _ONE_DAY
    found = [pay for pay in _scheduled(schedule, settlement, first=first, last=last) if start <= pay.paid_on <= end]
    found.sort(key=lambda pay: (pay.paid_on, pay.scheduled_on))
    return tuple(found)


def _scheduled(schedule: PaySchedule, settlement: BusinessCalendar, *, first: date, last: date) -> Iterator[PayDate]:
    """Pay dates whose scheduled day lies in [first, last], rolled."""
    if schedule.anchor_on is not None:
        period = _PERIOD_DAYS[schedule.frequency]
        offset = -((schedule.anchor_on - first).days // period)  # ceil((first - anchor) / period)
        day = schedule.anchor_on + timedelta(days=offset * period)
        step = timedelta(days=period)
        while day <= last:
            yield PayDate(scheduled_on=day, paid_on=_roll(day, schedule.roll, settlement))
            day += step
        return
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        length = monthrange(year, month)[1]
        for pay_day in schedule.days:
            if pay_day == LAST_BUSINESS:
                day = settlement.prev_on_or_before(date(year, month, length))
                pay = PayDate(scheduled_on=day, paid_on=day)
            else:
                number = min(pay_day, length) if isinstance(pay_day, int) else length
                day = date(year, month, number)
                pay = PayDate(scheduled_on=day, paid_on=_roll(day, schedule.roll, settlement))
            if first <= day <= last:
                yield pay
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def extra_payday_warnings(
    schedule: PaySchedule, settlement: BusinessCalendar, *, years: Iterable[int]
) -> tuple[str, ...]:
    """A warning for each year with more weekly/biweekly check dates than usual.

    Check dates count by the year of the adjusted pay date. Empty for semi-monthly
    and monthly schedules, which always have 24 and 12.
    """
    usual = _USUAL_PAYDAYS.get(schedule.frequency)
    if usual is None:
        return ()
    warnings: list[str] = []
    for year in sorted(set(years)):
        dates = pay_dates(schedule, settlement, start=date(year, 1, 1), end=date(year, 12, 31))
        if len(dates) <= usual:
            continue
        text = f"{year} has {len(dates)} {schedule.frequency} check dates"
        moved = [
            f"{pay.paid_on} is the payday of {pay.scheduled_on} rolled {_direction(pay)}"
            for pay in dates
            if pay.scheduled_on.year != year
        ]
        warnings.append(f"{text}: {'; '.join(moved)}" if moved else text)
    return tuple(warnings)


def _direction(pay: PayDate) -> str:
    return "back" if pay.paid_on < pay.scheduled_on else "forward"


# -- first check of a year or quarter -------------------------------------------


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def check_date_class(pay: PayDate, all_dates: Sequence[PayDate]) -> CheckDateClass:
    """Classify the check date ``pay``: "year_start", "quarter_start" or "other".

    ``pay`` is a year start when no other pay date is paid earlier in its calendar
    year, a quarter start when none is paid earlier in its calendar quarter, by the
    adjusted ``paid_on``. ``all_dates`` are the schedule's pay dates; they must
    reach back before the start of ``pay``'s quarter, so pass ``pay_dates`` over a
    range starting at least one quarter earlier. Raises ValueError when they do not
    (no date in the list is paid before the quarter starts), since the first
    check date of a quarter cannot be told then.
    """
    quarter_start = _quarter_start(pay.paid_on)
    reaches_back = False
    for other in all_dates:
        if other.paid_on < quarter_start:
            reaches_back = True
        elif other.paid_on < pay.paid_on:
            return "other"
    if not reaches_back:
        raise ValueError(
            f"cannot tell whether {pay.paid_on} is the first check date of its quarter: "
            f"the pay dates given start on or after {quarter_start}; pass a range that starts a quarter earlier"
        )
    return "year_start" if quarter_start.month == 1 else "quarter_start"


def is_first_check_of_year(pay: PayDate, all_dates: Sequence[PayDate]) -> bool:
    """Whether ``pay`` is the first check date of its calendar year (see check_date_class)."""
    return check_date_class(pay, all_dates) == "year_start"


def is_first_check_of_quarter(pay: PayDate, all_dates: Sequence[PayDate]) -> bool:
    """Whether ``pay`` is the first check date of its quarter, the year's first included."""
    return check_date_class(pay, all_dates) != "other"
