"""The launch-window solver: the earliest allowed go-live, and why each earlier date was not.

Two kinds of launch (DESIGN §4):

- ``payroll_system``: go-live is the first live check date. Candidates are the
  schedule's adjusted pay dates; ``accept`` says whether only the first check date
  of a year, of a quarter, or any check date will do (anything but a year start
  needs a year-to-date balance conversion). Prerequisites are placed backwards
  from each candidate: ``banking_days_before`` makes a deadline, and
  ``pay_cycles_before`` pins a parallel run to the payroll submission day of the
  pay date that many cycles earlier.
- ``beside_payroll``: candidates are the business days of the go-live task's
  calendar; a pay date, the processing days before it (input cut-off to pay date)
  and optionally a few days after it are refused.

Both refuse blackouts and weekdays not allowed, and look no further than the
horizon. The answer carries the trace of every earlier candidate rejected.

Not here: the task dates themselves (planning re-runs its forward pass through
the ``check`` callback to confirm a candidate).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from onboarding.core.blueprint import (
    BesidePayrollWindow,
    Blackout,
    CheckDateRule,
    PayrollSystemWindow,
    WindowCommon,
)
from onboarding.core.calendars import WEEKDAY_NAMES, BusinessCalendar
from onboarding.core.payroll import PayDate, PaySchedule, check_date_class, pay_dates
from onboarding.errors import NoSafeLaunch, Problem

_TRACE_LINES_IN_ERROR = 40
_QUARTER_NAMES = {1: "Q1", 4: "Q2", 7: "Q3", 10: "Q4"}


@dataclass(frozen=True, slots=True)
class Prerequisite:
    """A task the solver places backwards from a candidate go-live."""

    task: str
    calendar: BusinessCalendar
    earliest_due_on: date
    banking_days_before: int | None = None
    pay_cycles_before: int | None = None


@dataclass(frozen=True)
class LaunchInputs:
    task: str
    window: PayrollSystemWindow | BesidePayrollWindow | None
    earliest_on: date
    launch_calendar: BusinessCalendar
    settlement: BusinessCalendar
    pay_schedule: PaySchedule | None
    prerequisites: tuple[Prerequisite, ...] = ()
    # Confirms a candidate once its pins and deadlines are known; returns why not, or None.
    check: Callable[[date, Mapping[str, date], Mapping[str, date]], str | None] = lambda _day, _pins, _dl: None


@dataclass(frozen=True, slots=True)
class Rejection:
    on: date
    reason: str
    scheduled_on: date | None = None  # the unadjusted payday, when a pay date was rolled


@dataclass(frozen=True)
class LaunchDecision:
    task: str
    kind: str  # payroll_system | beside_payroll | unconstrained
    earliest_on: date
    chosen_on: date
    reason: str
    rejected: tuple[Rejection, ...]
    horizon_on: date | None = None
    check_date_class: str | None = None
    balance_conversion_needed: bool = False
    pins: Mapping[str, date] = field(default_factory=dict)
    deadlines: Mapping[str, date] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def solve_launch(inputs: LaunchInputs) -> LaunchDecision:
    """The earliest allowed go-live on or after the launch task's earliest finish, with its trace."""
    window = inputs.window
    if window is None:
        return LaunchDecision(
            inputs.task,
            "unconstrained",
            inputs.earliest_on,
            inputs.earliest_on,
            "no launch window: go-live is due at its earliest finish",
            (),
        )
    if inputs.pay_schedule is None:  # planning checks this first; kept for direct callers
        raise ValueError("a launch window needs a pay schedule")
    if isinstance(window, PayrollSystemWindow):
        return _payroll_system(inputs, window, inputs.pay_schedule)
    return _beside_payroll(inputs, window, inputs.pay_schedule)


# -- shared rules --------------------------------------------------------------


def _common_reasons(day: date, window: WindowCommon, settlement: BusinessCalendar) -> list[str]:
    reasons: list[str] = []
    if day.weekday() not in {w.number for w in window.weekdays}:
        allowed = ", ".join(w.value for w in window.weekdays)
        reasons.append(f"{WEEKDAY_NAMES[day.weekday()]} is not an allowed go-live weekday ({allowed})")
    for blackout in window.blackouts:
        span = _blackout_span(blackout, day, settlement)
        if span is not None:
            reasons.append(f"in blackout '{blackout.reason}' ({span[0].isoformat()} to {span[1].isoformat()})")
    return reasons


def _blackout_span(blackout: Blackout, day: date, settlement: BusinessCalendar) -> tuple[date, date] | None:
    """The blackout period that contains ``day``, if any."""
    if blackout.from_on is not None and blackout.to_on is not None:
        return (blackout.from_on, blackout.to_on) if blackout.from_on <= day <= blackout.to_on else None
    if blackout.every_year_from is not None and blackout.every_year_to is not None:
        start_m, start_d = (int(x) for x in blackout.every_year_from.split("-"))
        end_m, end_d = (int(x) for x in blackout.every_year_to.split("-"))
        for year in (day.year - 1, day.year):
            start = _month_day(year, start_m, start_d)
            end_year = year if (end_m, end_d) >= (start_m, start_d) else year + 1
            end = _month_day(end_year, end_m, end_d)
            if start <= day <= end:
                return start, end
        return None
    before = blackout.quarter_end_banking_days_before or 0
    after = blackout.quarter_end_banking_days_after or 0
    quarter_first_month = 3 * ((day.month - 1) // 3) + 1
    for months_back in (0, 3):
        month = quarter_first_month - months_back
        year = day.year if month >= 1 else day.year - 1
        month = month if month >= 1 else month + 12
        end_of_quarter = _quarter_end(year, month)
        last_banking = settlement.prev_on_or_before(end_of_quarter)
        start, end = settlement.add(last_banking, -before), settlement.add(last_banking, after)
        if start <= day <= end:
            return start, end
    return None


def _month_day(year: int, month: int, day: int) -> date:
    while True:
        try:
            return date(year, month, day)
        except ValueError:  # 02-29 (or 02-30...) in a shorter month: its last day
            day -= 1


def _quarter_end(year: int, first_month: int) -> date:
    last_month = first_month + 2
    return (date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)) - timedelta(days=1)


def _horizon(inputs: LaunchInputs, window: WindowCommon) -> date:
    return inputs.earliest_on + timedelta(days=window.horizon_calendar_days)


def _no_safe_launch(inputs: LaunchInputs, horizon_on: date, rejected: Sequence[Rejection]) -> NoSafeLaunch:
    lines = [f"{r.on.isoformat()}: {r.reason}" for r in rejected[:_TRACE_LINES_IN_ERROR]]
    if len(rejected) > _TRACE_LINES_IN_ERROR:
        lines.append(f"... and {len(rejected) - _TRACE_LINES_IN_ERROR} more")
    problem = Problem(
        "no-safe-launch",
        f"no allowed go-live date for {inputs.task!r} between {inputs.earliest_on.isoformat()} "
        f"(its earliest finish) and {horizon_on.isoformat()} ({len(rejected)} candidates rejected)",
        ("launch_window",),
        "widen horizon_calendar_days, relax accept, weekdays or blackouts, or change the kickoff or pay schedule",
        detail=tuple(lines),
    )
    return NoSafeLaunch("plan", (problem,))


# -- payroll system: go-live on a check date ----------------------------------

_ACCEPTED = {
    CheckDateRule.year_start: {"year_start"},
    CheckDateRule.quarter_start: {"year_start", "quarter_start"},
    CheckDateRule.any_check_date: {"year_start", "quarter_start", "other"},
}


def _period(day: date) -> str:
    return f"{_QUARTER_NAMES[3 * ((day.month - 1) // 3) + 1]} {day.year}"


def _payroll_system(inputs: LaunchInputs, window: PayrollSystemWindow, schedule: PaySchedule) -> LaunchDecision:
    settlement = inputs.settlement
    horizon_on = _horizon(inputs, window)
    history_days = 190 * max([p.pay_cycles_before or 1 for p in inputs.prerequisites] + [1]) // 3 + 120
    all_dates = pay_dates(schedule, settlement, start=inputs.earliest_on - timedelta(days=history_days), end=horizon_on)
    first_candidate = bisect_left([p.paid_on for p in all_dates], inputs.earliest_on)
    accepted = _ACCEPTED[window.accept]
    rejected: list[Rejection] = []
    for index in range(first_candidate, len(all_dates)):
        pay = all_dates[index]
        day = pay.paid_on
        reasons: list[str] = []
        cls = check_date_class(pay, all_dates)
        rolled_note = _rolled_note(pay)
        if cls not in accepted:
            reasons.append(_class_reason(pay, cls, window.accept, all_dates[index:]))
        reasons += _common_reasons(day, window, settlement)
        closed = inputs.launch_calendar.closure_reason(day)
        if closed is not None:
            reasons.append(f"closed on the go-live task's calendar ({closed})")
        pins, deadlines, placed = _place_prerequisites(inputs, window, all_dates, index, reasons)
        if not reasons:
            problem = inputs.check(day, pins, deadlines)
            if problem is not None:
                reasons.append(problem)
        if reasons:
            text = "; ".join(([rolled_note] if rolled_note else []) + reasons)
            rejected.append(Rejection(day, text, pay.scheduled_on if pay.rolled else None))
            continue
        label = {
            "year_start": f"first check date of {day.year}",
            "quarter_start": f"first check date of {_period(day)}",
            "other": "a check date",
        }[cls]
        conversion = cls != "year_start"
        reason = f"{label} (payday {pay.scheduled_on.isoformat()}" + (
            f", rolled to {day.isoformat()})" if pay.rolled else ")"
        )
        if conversion:
            reason += "; needs a year-to-date balance conversion"
        if placed:
            reason += "; " + "; ".join(placed)
        warnings = (
            (
                f"go-live {day.isoformat()} is the payday of {pay.scheduled_on.isoformat()} rolled into "
                f"{day.year}: an extra check date of that year",
            )
            if pay.rolled and (pay.scheduled_on.year != day.year)
            else ()
        )
        return LaunchDecision(
            task=inputs.task,
            kind="payroll_system",
            earliest_on=inputs.earliest_on,
            chosen_on=day,
            reason=reason,
            rejected=tuple(rejected),
            horizon_on=horizon_on,
            check_date_class=cls,
            balance_conversion_needed=conversion,
            pins=pins,
            deadlines=deadlines,
            warnings=warnings,
        )
    raise _no_safe_launch(inputs, horizon_on, rejected)


def _rolled_note(pay: PayDate) -> str:
    if not pay.rolled:
        return ""
    note = f"payday {pay.scheduled_on.isoformat()} rolled to {pay.paid_on.isoformat()}"
    if pay.scheduled_on.year != pay.paid_on.year:
        note += f", counts for {pay.paid_on.year}"
    elif _period(pay.scheduled_on) != _period(pay.paid_on):
        note += f", counts for {_period(pay.paid_on)}"
    return note


def _class_reason(pay: PayDate, cls: str, accept: CheckDateRule, later: Sequence[PayDate]) -> str:
    if accept is CheckDateRule.year_start:
        nxt = next((p for p in later if p.paid_on.year > pay.paid_on.year), None)
        where = f"; the first of {nxt.paid_on.year} is {nxt.paid_on.isoformat()}" if nxt else ""
        what = f"first of {_period(pay.paid_on)} but " if cls == "quarter_start" else ""
        return f"{what}not the first check date of {pay.paid_on.year} (accept: year_start){where}"
    nxt = next((p for p in later if _period(p.paid_on) != _period(pay.paid_on)), None)
    where = f"; the first of {_period(nxt.paid_on)} is {nxt.paid_on.isoformat()}" if nxt else ""
    return f"not the first check date of {_period(pay.paid_on)} (accept: quarter_start){where}"


def _place_prerequisites(
    inputs: LaunchInputs,
    window: PayrollSystemWindow,
    all_dates: Sequence[PayDate],
    index: int,
    reasons: list[str],
) -> tuple[dict[str, date], dict[str, date], list[str]]:
    settlement = inputs.settlement
    day = all_dates[index].paid_on
    pins: dict[str, date] = {}
    deadlines: dict[str, date] = {}
    placed: list[str] = []
    for prereq in inputs.prerequisites:
        earliest = prereq.earliest_due_on.isoformat()
        if prereq.banking_days_before is not None:
            n = prereq.banking_days_before
            bank_day = settlement.add(settlement.prev_on_or_before(day), -n)
            deadline = prereq.calendar.prev_on_or_before(bank_day)
            if prereq.earliest_due_on > deadline:
                reasons.append(
                    f"{prereq.task} is done {earliest} at the earliest, but must be done by "
                    f"{deadline.isoformat()} ({n} banking days before)"
                )
            deadlines[prereq.task] = deadline
            placed.append(f"{prereq.task} by {deadline.isoformat()} ({n} banking days before)")
            continue
        cycles = prereq.pay_cycles_before or 1
        if index - cycles < 0:
            reasons.append(f"{prereq.task}: no pay date {cycles} cycles before")
            continue
        cycle_pay = all_dates[index - cycles].paid_on
        submission = settlement.add(cycle_pay, -window.submission_lead_banking_days)
        pin = prereq.calendar.prev_on_or_before(submission)
        if prereq.earliest_due_on > pin:
            reasons.append(
                f"{prereq.task} (parallel run for the {cycle_pay.isoformat()} payroll, submitted "
                f"{pin.isoformat()}) is done {earliest} at the earliest"
            )
        pins[prereq.task] = pin
        placed.append(f"{prereq.task} on {pin.isoformat()} (parallel run of the {cycle_pay.isoformat()} payroll)")
    return pins, deadlines, placed


# -- beside payroll: not on payday, nor while payroll is processed -------------


def _beside_payroll(inputs: LaunchInputs, window: BesidePayrollWindow, schedule: PaySchedule) -> LaunchDecision:
    settlement = inputs.settlement
    horizon_on = _horizon(inputs, window)
    margin = timedelta(days=31)
    dates = pay_dates(schedule, settlement, start=inputs.earliest_on - margin, end=horizon_on + margin)
    paid = [p.paid_on for p in dates]
    calendar = inputs.launch_calendar
    rejected: list[Rejection] = []
    for day in calendar.business_days_in(inputs.earliest_on, horizon_on):
        reasons = _common_reasons(day, window, settlement)
        reasons += _payroll_reasons(day, dates, paid, window, settlement, calendar)
        if reasons:
            rejected.append(Rejection(day, "; ".join(reasons)))
            continue
        before = [p for p in dates if p.paid_on < day]
        after = [p for p in dates if p.paid_on > day]
        around = []
        if before:
            around.append(f"after the {before[-1].paid_on.isoformat()} payday")
        if after:
            cut = settlement.add(after[0].paid_on, -window.processing_banking_days)
            around.append(f"before the {after[0].paid_on.isoformat()} payroll's input cut-off {cut.isoformat()}")
        reason = "clear of payroll: " + " and ".join(around) if around else "clear of payroll"
        return LaunchDecision(
            task=inputs.task,
            kind="beside_payroll",
            earliest_on=inputs.earliest_on,
            chosen_on=day,
            reason=reason,
            rejected=tuple(rejected),
            horizon_on=horizon_on,
        )
    raise _no_safe_launch(inputs, horizon_on, rejected)


def _payroll_reasons(
    day: date,
    dates: Sequence[PayDate],
    paid: Sequence[date],
    window: BesidePayrollWindow,
    settlement: BusinessCalendar,
    calendar: BusinessCalendar,
) -> list[str]:
    reasons: list[str] = []
    i = bisect_left(paid, day)
    for pay in dates[max(i - 3, 0) : i + 3]:
        p = pay.paid_on
        if p == day:
            reasons.append(f"payday (scheduled {pay.scheduled_on.isoformat()}, rolled)" if pay.rolled else "payday")
            continue
        cut = settlement.add(p, -window.processing_banking_days)
        if cut <= day < p:
            reasons.append(f"payroll processing for the {p.isoformat()} payday (input cut-off {cut.isoformat()})")
        elif p < day and window.avoid_business_days_after and day <= calendar.step(p, window.avoid_business_days_after):
            n = window.avoid_business_days_after
            reasons.append(f"within {n} business day{'s' if n != 1 else ''} after the {p.isoformat()} payday")
    return reasons
