"""Manager reports: time to first value (TTFV), computed from event histories.

Pure: every function takes values (events, project facts, the report's ``as_of``
day) and returns frozen result types; nothing here reads a clock or a database.

Definitions (also in blueprints/README.md, section ``ttfv``):

- **Start day**, by the blueprint's ``ttfv.start_event`` (``kickoff`` by default):
  ``kickoff`` is the project's kickoff day; ``project_created`` is the day the
  project was launched, as a date in the customer's time zone; ``contract_signed``
  is the day given at launch (``onboarding launch --contract-signed``, kept in the
  ``project_launched`` event). A project whose start day is unknown (no contract
  day given) is left out of the TTFV figures and counted as ``unstarted``.
- **Value day**: the day recorded on the ``task_completed`` event of the task with
  ``first_value: true``. A reopened value task counts only when it is completed
  again (the last completion not undone by a later reopen). A **skipped** value task
  never reaches value: the project is censored at the skip day (it stays in the
  Kaplan-Meier denominator up to that day and never counts as reached). A value day
  after the report's ``as_of`` day has not happened yet.
- **As of a day**: a report as of day D sees the value task as it stood on D: as
  the last change recorded (completion, skip or reopen, in the order of the event
  log) whose effective day (the ``on`` day, which ``--on`` may set in the past) is
  on or before D left it. A value reached on V and reopened on R counts as reached
  in reports as of V to R - 1, and no longer from R; a reopen recorded later does
  not change a report as of an earlier day, unless it is backdated to that day or
  before. The same days as the value day: each change counts from its ``on`` day.
- **Customer time zone**: the zone the launch gave for the customer, when it gave
  one (``core/customer_calendar``); otherwise the time zone of the person bound to the role that owns
  the value task when that role is on the customer side, otherwise of the first
  customer-side task owner (by task position) who is bound; UTC if there is none.
  Instants (launch, holds) become days in that zone.
- **On hold**: from each ``project_held`` to the next ``project_resumed``, each on
  the day given with it (``hold --on``, ``resume --on``) or else the day of its
  instant in the customer's time zone; a hold
  covers the days [held day, resumed day): the day it began counts as held, the
  day it ended does not. Days net of on-hold = calendar days minus held days
  inside [start day, value day).
- **Calendar days** = value day - start day. **Business days** = business days of
  the customer's calendar (from the blueprint snapshot the project was launched
  from) in (start day, value day]: a value reached the next business day is 1.
- **Owner**: the person bound to the ``csm`` role (their name), or ``(none)``.
- **Cohort month**: the month of the start day, ``YYYY-MM``.
- **Censoring**: a project not at value is censored at the report's ``as_of`` day,
  or at the skip day of its value task.
- **Cancelled**: a project cancelled before reaching value is stopped at the cancel
  day (the ``on`` day given with it, else the day of its instant in the customer's
  time zone), as a skipped value task is: counted in ``stopped``, never in flight.
  One cancelled after its value was reached keeps its value.

Quantiles (median, p75, p90) are over projects that reached value, with linear
interpolation between order statistics (numpy's default, PostgreSQL's
``percentile_cont``). The shares within 30/60/90 days and the curve are the
Kaplan-Meier (product-limit) estimate over all started projects of the group.

Not here: portfolio health (``core/portfolio``), SQL (adapters/store/reports.py),
wiring and the business calendars' holiday tables (services/reports.py),
presentation (cli/, the HTML report).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from onboarding.core.blueprint import StartEvent
from onboarding.core.calendars import BusinessCalendar
from onboarding.core.lifecycle import Event


class Dimension(StrEnum):
    """What a TTFV report groups by (``--by``)."""

    blueprint = "blueprint"
    version = "version"
    segment = "segment"
    owner = "owner"
    cohort_month = "cohort-month"


KM_HORIZONS = (30, 60, 90)
OWNER_ROLE = "csm"  # the owner dimension: who is bound to this role
_ONE_DAY = timedelta(days=1)
NONE_LABEL = "(none)"  # a group value that is not set (no segment, nobody bound to csm)


@dataclass(frozen=True, slots=True)
class Quantiles:
    """Median, p75 and p90 of a set of day counts; None when the set is empty."""

    median: float | None = None
    p75: float | None = None
    p90: float | None = None


@dataclass(frozen=True, slots=True)
class KaplanMeierPoint:
    """One step of the Kaplan-Meier curve: on ``day`` (calendar days from start),
    ``reached`` projects reached value out of ``at_risk`` still waiting, and the
    estimated share that has reached value by the end of that day."""

    day: int
    share_reached: float
    at_risk: int
    reached: int = 0
    censored: int = 0


@dataclass(frozen=True, slots=True)
class ShareWithin:
    """Kaplan-Meier estimate of the share of projects that reached value within ``days`` calendar days."""

    days: int
    share: float | None  # None when nobody in the group was followed that long or started at all


@dataclass(frozen=True, slots=True)
class TtfvGroup:
    """One row of the TTFV report: the projects sharing ``key`` (one value per dimension of the report)."""

    key: tuple[str, ...]
    projects: int  # started projects in the group (unstarted ones are counted apart)
    reached: int
    in_flight: int  # not at value, still open: censored at the report's as_of day
    stopped: int  # value task skipped or project cancelled first: never reaches value, censored at that day
    calendar_days: Quantiles
    business_days: Quantiles
    net_days: Quantiles  # calendar days net of on-hold time
    reached_calendar_days: tuple[int, ...]  # sorted, one per project that reached value (distribution chart)
    within: tuple[ShareWithin, ...]  # Kaplan-Meier share reached within 30, 60 and 90 days
    km_curve: tuple[KaplanMeierPoint, ...]  # from day 0 (share 0.0 unless value was reached that day)
    km_median_calendar_days: int | None = None  # first day the KM share reaches 0.5, if it does
    unstarted: int = 0  # projects whose start day is unknown (contract_signed without a day)
    target_calendar_days: int | None = None  # the blueprint's target when every project of the group shares it
    reached_on_target: int | None = None  # reached within the target, when there is one


@dataclass(frozen=True, slots=True)
class TtfvReport:
    as_of: date
    dimensions: tuple[Dimension, ...]
    since: date | None  # start days on or after
    until: date | None  # start days on or before
    groups: tuple[TtfvGroup, ...]  # sorted by key
    total: TtfvGroup  # every project of the report as one group (key: ())


# -- one project's TTFV facts, folded from its events ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UndoneClosure:
    """Days on which the value task stood completed (value reached) or skipped, until a later change undid it."""

    closed_on: date  # the completion's (or skip's) day
    undone_on: date  # the first day it no longer stood
    reached: bool  # completed; else skipped
    held_days: int = 0  # held days inside [start_on, closed_on) when reached


@dataclass(frozen=True, slots=True)
class TtfvFacts:
    """What the TTFV report needs of one project, folded from its event history (the read model's row)."""

    start_on: date | None
    value_on: date | None  # the value task's completion day, if completed and not reopened since
    stopped_on: date | None  # the value task's skip day, if skipped and not reopened since
    held_days: int  # held days inside [start_on, value_on) when value was reached, else 0
    held_since: date | None  # the day the current hold began, if the project is on hold
    undone: tuple[UndoneClosure, ...] = ()  # earlier values (or skips) later undone, by day; only when started


class OwnedTask(Protocol):
    """What ``customer_timezone`` reads of a task (a ``TaskRecord`` is one)."""

    @property
    def position(self) -> int: ...
    @property
    def owner_role(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def first_value(self) -> bool: ...


def customer_timezone(tasks: Iterable[OwnedTask], timezones: Mapping[str, str], *, declared: str | None = None) -> str:
    """The customer's time zone (see the module docstring) from the tasks and the zones of people by role;
    ``declared``, the zone a launch gave for the customer (``core/customer_calendar``), comes first."""
    if declared is not None:
        return declared
    ordered = sorted(tasks, key=lambda t: (not t.first_value, t.position))
    for task in ordered:
        if task.side == "customer" and task.owner_role in timezones:
            return timezones[task.owner_role]
    return "UTC"


def local_day(at: datetime, timezone: str) -> date:
    """The day an instant falls on in a time zone (UTC when the zone is unknown)."""
    try:
        zone: tzinfo = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return at.astimezone(zone).date()


def ttfv_facts(
    events: Iterable[Event],
    *,
    value_task: str | None,
    start_event: StartEvent,
    kickoff_on: date,
    timezone: str,
) -> TtfvFacts:
    """Fold a project's event log (in log order) into its TTFV facts."""
    start_on: date | None = kickoff_on if start_event is StartEvent.kickoff else None
    changes: list[tuple[str, date]] = []  # the value task's completions, skips and reopens, in log order
    history = list(events)
    cancelled_on: date | None = None
    for event in history:
        if event.kind == "cancelled":
            cancelled_on = _event_day(event, timezone)
        elif event.kind == "project_launched":
            if start_event is StartEvent.project_created:
                start_on = local_day(event.at, timezone)
            elif start_event is StartEvent.contract_signed and event.data.get("contract_signed_on"):
                start_on = date.fromisoformat(str(event.data["contract_signed_on"]))
        elif event.task_key is not None and event.task_key == value_task and event.kind in _VALUE_CHANGES:
            changes.append((event.kind, _event_day(event, timezone)))
    holds = held_periods(history, timezone=timezone)
    held_since = holds[-1][0] if holds and holds[-1][1] is None else None
    # The last change recorded leaves the task as it stands now (each change sets its state whole).
    last = changes[-1] if changes else None
    value_on = last[1] if last is not None and last[0] == "task_completed" else None
    stopped_on = last[1] if last is not None and last[0] == "task_skipped" else None
    if value_on is None and cancelled_on is not None:
        stopped_on = min(stopped_on, cancelled_on) if stopped_on is not None else cancelled_on
    held_days = _held_days(holds, start_on, value_on) if start_on is not None and value_on is not None else 0
    undone: tuple[UndoneClosure, ...] = ()
    if start_on is not None:
        undone = tuple(
            UndoneClosure(
                closed_on=closed,
                undone_on=until,
                reached=kind == "task_completed",
                held_days=_held_days(holds, start_on, closed) if kind == "task_completed" else 0,
            )
            for closed, until, kind in _stretches(changes)
            if until is not None and kind != "task_reopened"
        )
    return TtfvFacts(start_on, value_on, stopped_on, held_days, held_since, undone)


_VALUE_CHANGES = frozenset({"task_completed", "task_skipped", "task_reopened"})


def _stretches(changes: Sequence[tuple[str, date]]) -> list[tuple[date, date | None, str]]:
    """The days each change stood, as (first day, first day after or None, kind), by first day.

    As of day D the task stands as the last change recorded with a day on or before
    D left it: a change of day d stands from d until the earliest day of the changes
    recorded after it, and never when one of those has a day on or before d.
    """
    found: list[tuple[date, date | None, str]] = []
    earliest_after: date | None = None
    for kind, day in reversed(changes):
        if earliest_after is None or earliest_after > day:
            found.append((day, earliest_after, kind))
            earliest_after = day
    return found[::-1]


def _held_days(holds: Sequence[tuple[date, date | None]], start_on: date, value_on: date) -> int:
    """Held days inside [start_on, value_on)."""
    days = 0
    for begin, end in holds:
        first, last = max(begin, start_on), min(end or value_on, value_on)
        days += max(0, (last - first).days)
    return days


def held_periods(events: Iterable[Event], *, timezone: str) -> list[tuple[date, date | None]]:
    """A project's holds as [held day, resumed day) (None: still on hold), by the rule of ``ttfv_facts``."""
    holds: list[tuple[date, date | None]] = []
    for event in events:
        if event.kind == "project_held":
            holds.append((_event_day(event, timezone), None))
        elif event.kind == "project_resumed" and holds and holds[-1][1] is None:
            holds[-1] = (holds[-1][0], _event_day(event, timezone))
    return holds


def _event_day(event: Event, timezone: str) -> date:
    """The day an event happened: the day recorded with it, else the day of its instant in the time zone."""
    return date.fromisoformat(str(event.data["on"])) if "on" in event.data else local_day(event.at, timezone)


# -- the TTFV report over many projects, vectorised ------------------------------------------------------------------

DayArray = npt.NDArray[np.datetime64]
IntArray = npt.NDArray[np.int64]
TextArray = npt.NDArray[np.str_]


@dataclass(frozen=True)
class TtfvRows:
    """The report's input, one entry per project, column by column (what the store reads in one query).

    Days are ``datetime64[D]`` with NaT for "none"; ``calendar`` indexes the
    business calendars passed to ``ttfv_report`` (the customer calendar of the
    blueprint snapshot the project was launched from); ``target`` is the
    blueprint's target in calendar days, -1 for none. A row stands for its project
    in reports as of the days in [valid_from, valid_until) (NaT: no bound): a
    project whose value was undone has one row per stretch of days.
    """

    blueprint: TextArray
    version: TextArray  # "key@version"
    segment: TextArray
    owner: TextArray
    start: DayArray
    value: DayArray
    stopped: DayArray
    held_days: IntArray
    calendar: IntArray
    target: IntArray
    business_days: IntArray  # business days to the value day, computed when the row was written; -1 for none
    valid_from: DayArray
    valid_until: DayArray

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def build(
        cls,
        *,
        blueprint: Sequence[str],
        version: Sequence[str],
        segment: Sequence[str | None],
        owner: Sequence[str | None],
        start: Sequence[date | str | None],
        value: Sequence[date | str | None],
        stopped: Sequence[date | str | None],
        held_days: Sequence[int | None],
        calendar: Sequence[int],
        target: Sequence[int | None],
        business_days: Sequence[int | None] | None = None,
        valid_from: Sequence[date | str | None] | None = None,
        valid_until: Sequence[date | str | None] | None = None,
    ) -> TtfvRows:
        """Columns from plain sequences (dates as ``date``, ISO text or None)."""

        def text(values: Sequence[str | None]) -> TextArray:
            return np.array([NONE_LABEL if v is None else v for v in values], dtype=np.str_)

        def days(values: Sequence[date | str | None]) -> DayArray:
            return np.array(values, dtype="datetime64[D]")

        def ints(values: Sequence[int | None], missing: int) -> IntArray:
            return np.array([missing if v is None else v for v in values], dtype=np.int64)

        return cls(
            blueprint=text(blueprint),
            version=text(version),
            segment=text(segment),
            owner=text(owner),
            start=days(start),
            value=days(value),
            stopped=days(stopped),
            held_days=ints(held_days, 0),
            calendar=np.array(calendar, dtype=np.int64),
            target=ints(target, -1),
            business_days=ints(business_days if business_days is not None else [None] * len(start), -1),
            valid_from=days(valid_from if valid_from is not None else [None] * len(start)),
            valid_until=days(valid_until if valid_until is not None else [None] * len(start)),
        )


def kaplan_meier(
    durations: IntArray, reached: npt.NDArray[np.bool_], *, counts: IntArray | None = None
) -> tuple[KaplanMeierPoint, ...]:
    """The product-limit estimate of the share that reached value, as a step curve over calendar days.

    Written here over numpy rather than taken from lifelines: lifelines brings
    pandas, scipy, matplotlib, autograd and formulaic (well over 100 MB) for one
    product of fractions, and fitting a data frame per group is slower than this
    count-based form. A project censored on the day another reaches value is still
    at risk that day (the usual convention, and lifelines'). ``counts``: how many
    projects each entry stands for (default one). Tested against curves computed by hand.
    """
    weights = np.ones(len(durations), dtype=np.int64) if counts is None else counts
    n = int(weights.sum())
    if n == 0:
        return ()
    days, first = np.unique(durations, return_inverse=True)
    first = first.reshape(-1)
    events = np.bincount(first, weights=(weights * reached).astype(np.float64), minlength=len(days))
    events = np.rint(events).astype(np.int64)
    everyone = np.rint(np.bincount(first, weights=weights.astype(np.float64), minlength=len(days))).astype(np.int64)
    at_risk = n - np.concatenate(([0], np.cumsum(everyone)[:-1]))
    survival = np.cumprod(1.0 - events / at_risk)
    points = list(
        map(
            KaplanMeierPoint,
            days.tolist(),
            (1.0 - survival).tolist(),
            at_risk.tolist(),
            events.tolist(),
            (everyone - events).tolist(),
        )
    )
    if points[0].day > 0:
        points.insert(0, KaplanMeierPoint(0, 0.0, n))
    return tuple(points)


def _share_within(curve: Sequence[KaplanMeierPoint], days: int) -> float | None:
    """1 - S(days); None beyond the last observation unless everyone had reached value by then."""
    if not curve:
        return None
    last = curve[-1]
    if last.day < days and last.share_reached < 1.0:
        return None
    share = 0.0
    for point in curve:
        if point.day > days:
            break
        share = point.share_reached
    return share


def _holiday_array(calendar: BusinessCalendar, first_year: int, last_year: int) -> npt.NDArray[np.datetime64]:
    """The closed weekdays of a calendar over whole years (what numpy's busday functions want)."""
    day, end = date(first_year, 1, 1), date(last_year, 12, 31)
    closed: list[date] = []
    while day <= end:
        if day.weekday() not in calendar.weekend and not calendar.is_business_day(day):
            closed.append(day)
        day += _ONE_DAY
    return np.array(closed, dtype="datetime64[D]")


def business_days_between(calendar: BusinessCalendar, starts: DayArray, ends: DayArray) -> npt.NDArray[np.int64]:
    """Business days of ``calendar`` in (start, end] for each pair (vectorised; same as counting one by one)."""
    if len(starts) == 0:
        return np.zeros(0, dtype=np.int64)
    first_year = int(starts.min().astype("datetime64[Y]").astype(int)) + 1970
    last_year = int(ends.max().astype("datetime64[Y]").astype(int)) + 1970
    weekmask = [0 if weekday in calendar.weekend else 1 for weekday in range(7)]
    holidays = _holiday_array(calendar, first_year, last_year)
    one = np.timedelta64(1, "D")
    return np.busday_count(starts + one, ends + one, weekmask=weekmask, holidays=holidays).astype(np.int64)


def _group_codes(columns: Sequence[TextArray]) -> tuple[npt.NDArray[np.int64], list[tuple[str, ...]]]:
    """A group number per row for the combination of its values, and each group's key."""
    n = len(columns[0]) if columns else 0
    if not columns:
        return np.zeros(n, dtype=np.int64), [()]
    code = np.zeros(n, dtype=np.int64)
    uniques: list[TextArray] = []
    for column in columns:
        values, inverse = np.unique(column, return_inverse=True)
        uniques.append(values)
        code = code * len(values) + inverse.reshape(-1)
    combined, group = np.unique(code, return_inverse=True)
    keys: list[tuple[str, ...]] = []
    for c in combined:
        parts: list[str] = []
        rest = int(c)
        for values in reversed(uniques):
            rest, index = divmod(rest, len(values))
            parts.append(str(values[index]))
        keys.append(tuple(reversed(parts)))
    return group.reshape(-1).astype(np.int64), keys


@dataclass(frozen=True)
class TtfvObservations:
    """What the report aggregates: one entry per distinct observation, standing for ``count`` projects.

    ``keys`` holds one text column per dimension of the report. Days are calendar
    days from the start day to the value day (``reached``), to the skip day
    (``stopped``) or to the report's day (in flight); ``business_days`` is -1 unless
    reached; ``net_days`` is ``days`` less the held days before value. The store
    may compute these in SQL, grouped; ``observe`` is the same rule over numpy.
    """

    keys: Mapping[Dimension, TextArray]
    started: npt.NDArray[np.bool_]
    reached: npt.NDArray[np.bool_]
    stopped: npt.NDArray[np.bool_]
    days: IntArray
    business_days: IntArray
    net_days: IntArray
    target: IntArray
    count: IntArray

    def __len__(self) -> int:
        return len(self.days)


def observe(
    rows: TtfvRows,
    *,
    as_of: date,
    dimensions: Sequence[Dimension] = (Dimension.blueprint,),
    since: date | None = None,
    until: date | None = None,
    calendars: Sequence[BusinessCalendar] = (),
) -> TtfvObservations:
    """Each project's observation as of a day, for projects whose start day is in [since, until].

    Business days come from ``calendars`` (indexed by ``rows.calendar``) when given,
    else from ``rows.business_days`` (computed when the read model was written).
    """
    return _observe(rows, as_of=as_of, dimensions=dimensions, since=since, until=until, calendars=calendars)[0]


def _observe(
    rows: TtfvRows,
    *,
    as_of: date,
    dimensions: Sequence[Dimension],
    since: date | None,
    until: date | None,
    calendars: Sequence[BusinessCalendar] = (),
) -> tuple[TtfvObservations, npt.NDArray[np.intp]]:
    """``observe``, and the index in ``rows`` of each observation."""
    today = np.datetime64(as_of, "D")
    started = ~np.isnat(rows.start)
    keep = (np.isnat(rows.valid_from) | (rows.valid_from <= today)) & (
        np.isnat(rows.valid_until) | (today < rows.valid_until)
    )
    if since is not None:
        keep &= started & (rows.start >= np.datetime64(since, "D"))
    if until is not None:
        keep &= started & (rows.start <= np.datetime64(until, "D"))
    kept = np.flatnonzero(keep)
    r = _take(rows, kept)
    started = ~np.isnat(r.start)
    reached = started & ~np.isnat(r.value) & (r.value <= today)
    stopped = started & ~reached & ~np.isnat(r.stopped) & (r.stopped <= today)
    end = np.where(reached, r.value, np.where(stopped, r.stopped, today))
    days = np.where(started, (end - np.where(started, r.start, today)).astype(np.int64), 0)
    days = np.maximum(days, 0)  # a start day after as_of: followed for no days yet
    if calendars:
        business = np.full(len(r), -1, dtype=np.int64)
        for index, calendar in enumerate(calendars):
            chosen = np.flatnonzero(reached & (r.calendar == index))
            business[chosen] = business_days_between(calendar, r.start[chosen], r.value[chosen])
    else:
        business = np.where(reached, r.business_days, -1)
    observed = TtfvObservations(
        keys={d: _dimension_column(r, d) for d in dimensions},
        started=started,
        reached=reached,
        stopped=stopped,
        days=days,
        business_days=business,
        net_days=np.where(reached, days - r.held_days, days),
        target=r.target,
        count=np.ones(len(r), dtype=np.int64),
    )
    return observed, kept


def ttfv_report(
    data: TtfvRows | TtfvObservations,
    *,
    as_of: date,
    dimensions: Sequence[Dimension] = (Dimension.blueprint,),
    since: date | None = None,
    until: date | None = None,
    calendars: Sequence[BusinessCalendar] = (),
) -> TtfvReport:
    """TTFV per group of ``dimensions``: counts, quantiles in three units, Kaplan-Meier shares and curve.

    Given rows, it observes them first (``observe``); given observations, they are
    already as of ``as_of`` and inside [since, until], with a key column per dimension.
    """
    o = (
        observe(data, as_of=as_of, dimensions=dimensions, since=since, until=until, calendars=calendars)
        if isinstance(data, TtfvRows)
        else data
    )
    groups: list[TtfvGroup] = []
    if len(o):
        group, keys = _group_codes([o.keys[d] for d in dimensions])
        order = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[order], np.arange(len(keys) + 1))
        groups = [_group(keys[g], order[bounds[g] : bounds[g + 1]], o) for g in range(len(keys))]
    total = _group((), np.arange(len(o)), o)
    return TtfvReport(as_of, tuple(dimensions), since, until, tuple(groups), total)


def _take(rows: TtfvRows, index: npt.NDArray[np.intp]) -> TtfvRows:
    return TtfvRows(**{name: getattr(rows, name)[index] for name in TtfvRows.__dataclass_fields__})


def _dimension_column(rows: TtfvRows, dimension: Dimension) -> TextArray:
    if dimension is Dimension.cohort_month:
        return cohort_months(rows.start)
    column: TextArray = getattr(rows, dimension.name)
    return column


def cohort_months(starts: DayArray) -> TextArray:
    """``YYYY-MM`` of each start day; ``(none)`` where it is unknown."""
    months = np.datetime_as_string(starts.astype("datetime64[M]"), unit="M")
    return np.where(np.isnat(starts), NONE_LABEL, months).astype(np.str_)


def _weighted_quantiles(values: IntArray, counts: IntArray) -> Quantiles:
    """The same quantiles as over the values repeated ``counts`` times (linear interpolation)."""
    total = int(counts.sum())
    if total == 0:
        return Quantiles()
    order = np.argsort(values, kind="stable")
    values, cumulative = values[order], np.cumsum(counts[order])

    def at(q: float) -> float:
        position = q * (total - 1)  # the (0-based) order statistic, as numpy's "linear" method
        low, fraction = int(np.floor(position)), position - np.floor(position)
        below = values[np.searchsorted(cumulative, low + 1)]
        if fraction == 0:
            return float(below)
        above = values[np.searchsorted(cumulative, low + 2)]
        return float(below + fraction * (above - below))

    return Quantiles(at(0.5), at(0.75), at(0.9))


def _group(key: tuple[str, ...], members: npt.NDArray[np.intp], o: TtfvObservations) -> TtfvGroup:
    s = members[o.started[members]]
    hit = s[o.reached[s]]
    count = o.count
    curve = kaplan_meier(o.days[s], o.reached[s], counts=count[s])
    median = next((p.day for p in curve if p.share_reached >= 0.5), None)
    targets = np.unique(o.target[s]) if len(s) else np.unique(o.target[members])
    target = int(targets[0]) if len(targets) == 1 and targets[0] >= 0 else None
    with_business = hit[o.business_days[hit] >= 0]
    return TtfvGroup(
        key=key,
        projects=int(count[s].sum()),
        reached=int(count[hit].sum()),
        in_flight=int(count[s][~o.reached[s] & ~o.stopped[s]].sum()),
        stopped=int(count[s][o.stopped[s]].sum()),
        calendar_days=_weighted_quantiles(o.days[hit], count[hit]),
        business_days=_weighted_quantiles(o.business_days[with_business], count[with_business]),
        net_days=_weighted_quantiles(o.net_days[hit], count[hit]),
        reached_calendar_days=tuple(np.sort(np.repeat(o.days[hit], count[hit])).tolist()),
        within=tuple(ShareWithin(days, _share_within(curve, days)) for days in KM_HORIZONS),
        km_curve=curve,
        km_median_calendar_days=median,
        unstarted=int(count[members].sum()) - int(count[s].sum()),
        target_calendar_days=target,
        reached_on_target=int(count[hit][o.days[hit] <= target].sum()) if target is not None else None,
    )


# -- the projects behind a count ------------------------------------------------------------------------------------


class TtfvFigure(StrEnum):
    """A count of a TTFV group, to list the projects behind it."""

    projects = "projects"  # started
    reached = "reached"
    in_flight = "in-flight"
    stopped = "stopped"
    unstarted = "unstarted"


def ttfv_members(
    rows: TtfvRows,
    project_ids: Sequence[str],
    figure: TtfvFigure,
    *,
    key: Sequence[str],
    as_of: date,
    dimensions: Sequence[Dimension],
    since: date | None = None,
    until: date | None = None,
) -> tuple[str, ...]:
    """The ids of the projects a count of the group ``key`` of ``ttfv_report(rows, ...)`` counts (``project_ids``:
    the project of each row). An empty ``key`` is the report's total."""
    o, kept = _observe(rows, as_of=as_of, dimensions=dimensions, since=since, until=until)
    member = np.ones(len(o), dtype=np.bool_)
    if key:
        for dimension, value in zip(dimensions, key, strict=True):
            member &= o.keys[dimension] == value
    chosen = {
        TtfvFigure.projects: o.started,
        TtfvFigure.reached: o.reached,
        TtfvFigure.in_flight: o.started & ~o.reached & ~o.stopped,
        TtfvFigure.stopped: o.stopped,
        TtfvFigure.unstarted: ~o.started,
    }[figure]
    return tuple(sorted(project_ids[int(kept[i])] for i in np.flatnonzero(member & chosen)))


# -- flat rows for tables and CSV ------------------------------------------------------------------------------------

TTFV_COLUMNS = (
    "projects",
    "reached",
    "in flight",
    "stopped",
    "cd median",
    "cd p75",
    "cd p90",
    "bd median",
    "bd p75",
    "bd p90",
    "net median",
    "net p75",
    "net p90",
    "≤30d",
    "≤60d",
    "≤90d",
    "KM median",
)


def ttfv_row(group: TtfvGroup) -> list[int | float | None]:
    """A group's figures in the order of ``TTFV_COLUMNS`` (after its key)."""
    return [
        group.projects,
        group.reached,
        group.in_flight,
        group.stopped,
        *(
            getattr(q, name)
            for q in (group.calendar_days, group.business_days, group.net_days)
            for name in ("median", "p75", "p90")
        ),
        *(w.share for w in group.within),
        group.km_median_calendar_days,
    ]
