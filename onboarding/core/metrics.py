"""Manager reports: time to first value (TTFV) and portfolio health, computed from event histories.

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
- **Customer time zone**: the time zone of the person bound to the role that owns
  the value task when that role is on the customer side, otherwise of the first
  customer-side task owner (by task position) who is bound; UTC if there is none.
  Instants (launch, holds) become days in that zone.
- **On hold**: from each ``project_held`` to the next ``project_resumed``; a hold
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

Quantiles (median, p75, p90) are over projects that reached value, with linear
interpolation between order statistics (numpy's default, PostgreSQL's
``percentile_cont``). The shares within 30/60/90 days and the curve are the
Kaplan-Meier (product-limit) estimate over all started projects of the group.

Not here: SQL (adapters/store/reports.py), wiring and the business calendars'
holiday tables (services/reports.py), presentation (cli.py, the HTML report).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Dimension(StrEnum):
    """What a TTFV report groups by (``--by``)."""

    blueprint = "blueprint"
    version = "version"
    segment = "segment"
    owner = "owner"
    cohort_month = "cohort-month"


KM_HORIZONS = (30, 60, 90)
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
    stopped: int  # value task skipped: never reaches value, censored at the skip day
    calendar_days: Quantiles
    business_days: Quantiles
    net_days: Quantiles  # calendar days net of on-hold time
    reached_calendar_days: tuple[int, ...]  # sorted, one per project that reached value (distribution chart)
    within: tuple[ShareWithin, ...]  # Kaplan-Meier share reached within 30, 60 and 90 days
    km_curve: tuple[KaplanMeierPoint, ...]  # starts at day 0 with share 0.0
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


@dataclass(frozen=True, slots=True)
class OnTimeLaunches:
    """Go-lives inside the window committed at launch, among projects that went live."""

    went_live: int
    on_time: int
    late: int
    rate: float | None  # on_time / went_live
    without_window: int = 0  # went live with no committed date: not counted in the rate


class RiskReason(StrEnum):
    window = "projected-outside-window"  # projected go-live after the committed one
    overdue_customer = "overdue-customer-tasks"  # customer-side tasks open past their target date
    blocked = "blocked"  # tasks blocked, or the project on hold


@dataclass(frozen=True, slots=True)
class ProjectAtRisk:
    project_id: str
    external_id: str | None
    customer: str
    blueprint_key: str
    owner: str
    committed_go_live_on: date | None
    projected_go_live_on: date | None
    days_past_window: int  # projected - committed, when positive; else 0
    overdue_customer_tasks: int
    days_blocked: int  # the longest current block (task blocked or project on hold), in calendar days
    reasons: tuple[RiskReason, ...]


@dataclass(frozen=True, slots=True)
class Bottleneck:
    """A task or milestone of a blueprint, by the slip it caused across projects (its own lateness)."""

    blueprint_key: str
    kind: str  # "task" | "milestone"
    key: str
    title: str
    projects: int  # projects where it slipped
    slip_days: int  # total days it slipped, across projects
    median_slip_days: float | None
    max_slip_days: int


@dataclass(frozen=True, slots=True)
class SlipBySide:
    side: str  # "customer" | "vendor"
    tasks: int  # tasks that slipped
    slip_days: int
    share: float | None  # of all slip days


@dataclass(frozen=True, slots=True)
class WaitBeforeStart:
    """How long tasks waited between being ready (predecessors finished) and work starting, by side."""

    side: str  # "customer" | "vendor" | "all"
    tasks: int
    days: Quantiles
    mean_days: float | None = None


@dataclass(frozen=True, slots=True)
class PortfolioReport:
    as_of: date
    projects: int  # projects in the report (active, on hold and completed)
    active: int
    on_time: OnTimeLaunches
    at_risk: tuple[ProjectAtRisk, ...]  # most days past window first
    bottleneck_tasks: tuple[Bottleneck, ...]  # most slip first
    bottleneck_milestones: tuple[Bottleneck, ...]
    slip_by_side: tuple[SlipBySide, ...]  # customer, vendor
    wait_before_start: tuple[WaitBeforeStart, ...]  # customer, vendor, all
    notes: tuple[str, ...] = field(default=())
