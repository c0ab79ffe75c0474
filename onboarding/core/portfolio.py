"""Manager reports: portfolio health, computed from each project's current state.

Pure: every function takes values (each project's facts and its tasks' states, the
report's ``as_of`` day) and returns frozen result types; nothing here reads a clock or
a database.

- **On time**: a go-live inside the window committed at launch (never a later
  recommitment), among the projects that went live.
- **At risk**: an open project (active or on hold) projected past its committed
  go-live, or with customer tasks open past their target dates, or blocked (a task
  blocked, the project on hold).
- **Slip**: a task's own lateness, the days it finished (or is still open) after its
  target date; bottlenecks rank the blueprints' tasks and milestones by it.
- **Wait before start**: the days a task waited between being ready (its
  predecessors finished) and work starting, by side.

Not here: time to first value (``core/ttfv``), SQL (adapters/store/reports.py,
adapters/store/portfolio_tallies.py), wiring (services/reports.py), presentation
(cli/, the HTML report).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from onboarding.core.ttfv import IntArray, Quantiles


@dataclass(frozen=True, slots=True)
class OnTimeLaunches:
    """Go-lives inside the window committed at launch, among projects that went live.

    Measured against the date committed at launch, never a later recommitment: a
    recommit accepts a later date for the customer's emails and alerts, it does not
    make a late launch on time. ``recommitted`` counts the projects that went live
    after at least one recommit (late or not)."""

    went_live: int
    on_time: int
    late: int
    rate: float | None  # on_time / went_live
    without_window: int = 0  # went live with no committed date: not counted in the rate
    recommitted: int = 0

    @classmethod
    def counted(
        cls, *, went_live: int, on_time: int, late: int, without_window: int, recommitted: int
    ) -> OnTimeLaunches:
        """The launches from their counts, with the rate among those that had a window."""
        rate = on_time / (on_time + late) if on_time + late else None
        return cls(went_live, on_time, late, rate, without_window, recommitted)


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
    projects: int  # projects in the report (active, on hold and completed; cancelled ones are counted apart)
    active: int
    on_time: OnTimeLaunches
    at_risk: tuple[ProjectAtRisk, ...]  # most days past window first: all, or the first ``at_risk_limit``
    at_risk_total: int  # every project at risk
    bottleneck_tasks: tuple[Bottleneck, ...]  # most slip first
    bottleneck_milestones: tuple[Bottleneck, ...]
    slip_by_side: tuple[SlipBySide, ...]  # customer, vendor
    wait_before_start: tuple[WaitBeforeStart, ...]  # customer, vendor, all
    notes: tuple[str, ...] = field(default=())
    cancelled: int = 0  # projects cancelled: in no other figure of the report
    recommitted: int = 0  # open or completed projects whose go-live commitment was moved at least once


# -- one project's health, and the tallies over many -----------------------------------------------------------------


class PortfolioTask(NamedTuple):
    """A task's current state (the task rows are the read model of the task events).

    A named tuple: the portfolio report reads every task of every project.
    """

    key: str
    title: str
    milestone_key: str
    milestone_title: str
    side: str
    state: str
    started_on: date | None
    done_on: date | None
    target_due_on: date  # expected by, given when its predecessors really finished
    launch: bool = False
    predecessors: tuple[str, ...] = ()
    blocked_since: date | None = None  # the day of its last block, when it is blocked now


@dataclass(frozen=True, slots=True)
class PortfolioProject:
    project_id: str
    external_id: str | None
    customer: str
    blueprint_key: str
    owner: str
    state: str
    kickoff_on: date
    committed_go_live_on: date | None
    projected_go_live_on: date | None
    tasks: tuple[PortfolioTask, ...]
    held_since: date | None = None  # the day its current hold began
    # The go-live committed at launch when a recommit moved ``committed_go_live_on`` (None: never recommitted).
    first_committed_go_live_on: date | None = None
    recommits: int = 0

    @property
    def launch_commitment(self) -> date | None:
        return self.first_committed_go_live_on if self.recommits else self.committed_go_live_on


_OPEN = frozenset({"pending", "in_progress", "blocked"})


class SlippingTask(Protocol):
    """What ``task_slip_days`` reads of a task (a ``PortfolioTask`` and a ``TaskRecord`` are ones)."""

    @property
    def state(self) -> str: ...
    @property
    def done_on(self) -> date | None: ...
    @property
    def target_due_on(self) -> date: ...


def task_slip_days(task: SlippingTask, *, as_of: date) -> int:
    """A task's own slip: how many days after its target date it finished, or is still open past it."""
    if task.state == "done" and task.done_on is not None:
        return max(0, (task.done_on - task.target_due_on).days)
    if task.state in _OPEN:
        return max(0, (as_of - task.target_due_on).days)
    return 0  # skipped


def wait_before_start_days(
    task: PortfolioTask, project: PortfolioProject, *, by_key: Mapping[str, PortfolioTask] | None = None
) -> int | None:
    """Days from ready (its predecessors finished, or the kickoff) to the day work was recorded as started.

    None for a task not started, or one whose predecessors are not all finished
    (started early, or forced). A task completed without a start counts from its
    completion day. ``by_key``: the project's tasks by key, when the caller has them.
    """
    if task.started_on is None or task.state == "skipped":
        return None
    if by_key is None:
        by_key = {t.key: t for t in project.tasks}
    ready = project.kickoff_on
    for key in task.predecessors:
        predecessor = by_key.get(key)
        if predecessor is None or predecessor.done_on is None:
            return None
        ready = max(ready, predecessor.done_on)
    return max(0, (task.started_on - ready).days)


Histogram = Mapping[int, int]  # days -> how many (tasks or projects) slipped or waited that many days


@dataclass(frozen=True, slots=True)
class PortfolioTallies:
    """The portfolio report's counts before they are ranked: folded from every project by ``portfolio_tallies``,
    or by a store's own aggregation (``SqlReportStore.portfolio_tallies``) that must give the same.

    Slips and waits are histograms of whole days, so that medians and quantiles come out exact without a row per
    task. Cancelled projects are in ``cancelled`` only.
    """

    projects: int
    active: int  # active or on hold
    cancelled: int
    recommitted: int
    on_time: OnTimeLaunches
    at_risk: tuple[ProjectAtRisk, ...]  # every project at risk, in any order
    task_slips: Mapping[tuple[str, str], Histogram]  # (blueprint, task) -> its slips over projects
    milestone_slips: Mapping[tuple[str, str], Histogram]  # (blueprint, milestone) -> the worst slip in it, by project
    side_slips: Mapping[str, tuple[int, int]]  # "customer" | "vendor" -> (tasks slipped, days)
    waits: Mapping[str, Histogram]  # "customer" | "vendor" -> waits before start
    titles: Mapping[tuple[str, str, str], str]  # (blueprint, "task" | "milestone", key) -> title, for every slip


def _side(side: str) -> str:
    return "customer" if side == "customer" else "vendor"


def portfolio_tallies(projects: Iterable[PortfolioProject], *, as_of: date) -> PortfolioTallies:
    """The portfolio report's counts, folded from every project and its tasks.

    A title is the one in the project with the greatest id that has that task (or milestone).
    """
    cancelled = recommitted = 0
    counted = active = 0
    went_live = on_time = late = without_window = went_live_recommitted = 0
    at_risk: list[ProjectAtRisk] = []
    task_slips: dict[tuple[str, str], dict[int, int]] = {}
    milestone_slips: dict[tuple[str, str], dict[int, int]] = {}
    titles: dict[tuple[str, str, str], tuple[str, str]] = {}  # -> (project id, title)
    side_slips: dict[str, list[int]] = {"customer": [0, 0], "vendor": [0, 0]}
    waits: dict[str, dict[int, int]] = {"customer": {}, "vendor": {}}
    for project in projects:
        if project.state == "cancelled":
            cancelled += 1
            continue
        counted += 1
        active += project.state in ("active", "on_hold")
        recommitted += project.recommits > 0
        outcome = launch_outcome(project)
        if outcome is not None:
            went_live += 1
            went_live_recommitted += project.recommits > 0
            without_window += outcome is LaunchOutcome.without_window
            on_time += outcome is LaunchOutcome.on_time
            late += outcome is LaunchOutcome.late
        worst_in_milestone: dict[str, int] = {}
        by_key = {t.key: t for t in project.tasks}
        for task in project.tasks:
            slip = task_slip_days(task, as_of=as_of)
            for kind, key, title in (
                ("task", task.key, task.title),
                ("milestone", task.milestone_key, task.milestone_title),
            ):
                seen = titles.get((project.blueprint_key, kind, key))
                if seen is None or seen[0] < project.project_id:
                    titles[(project.blueprint_key, kind, key)] = (project.project_id, title)
            if slip > 0:
                counts = task_slips.setdefault((project.blueprint_key, task.key), {})
                counts[slip] = counts.get(slip, 0) + 1
                side = side_slips[_side(task.side)]
                side[0] += 1
                side[1] += slip
            worst_in_milestone[task.milestone_key] = max(worst_in_milestone.get(task.milestone_key, 0), slip)
            wait = wait_before_start_days(task, project, by_key=by_key)
            if wait is not None:
                counts = waits[_side(task.side)]
                counts[wait] = counts.get(wait, 0) + 1
        for milestone, slip in worst_in_milestone.items():
            if slip > 0:
                counts = milestone_slips.setdefault((project.blueprint_key, milestone), {})
                counts[slip] = counts.get(slip, 0) + 1
        risk = project_at_risk(project, as_of=as_of)
        if risk is not None:
            at_risk.append(risk)
    slipped = {(b, "task", k) for b, k in task_slips} | {(b, "milestone", k) for b, k in milestone_slips}
    return PortfolioTallies(
        projects=counted,
        active=active,
        cancelled=cancelled,
        recommitted=recommitted,
        on_time=OnTimeLaunches.counted(
            went_live=went_live,
            on_time=on_time,
            late=late,
            without_window=without_window,
            recommitted=went_live_recommitted,
        ),
        at_risk=tuple(at_risk),
        task_slips=task_slips,
        milestone_slips=milestone_slips,
        side_slips={side: (days[0], days[1]) for side, days in side_slips.items()},
        waits=waits,
        titles={key: title for key, (_, title) in titles.items() if key in slipped},
    )


def portfolio_report(
    projects: Sequence[PortfolioProject], *, as_of: date, top: int = 10, at_risk_limit: int | None = None
) -> PortfolioReport:
    """On-time launches, projects at risk, bottlenecks, slip by side and waits before start.

    Cancelled projects are counted apart (``cancelled``) and left out of every other
    figure: their open tasks never finish, so they would slip for ever.
    """
    return ranked_portfolio(portfolio_tallies(projects, as_of=as_of), as_of=as_of, top=top, at_risk_limit=at_risk_limit)


def ranked_portfolio(
    tallies: PortfolioTallies, *, as_of: date, top: int = 10, at_risk_limit: int | None = None
) -> PortfolioReport:
    """The report from its counts: the ``top`` bottlenecks, the first ``at_risk_limit`` projects at risk (all
    when None), most days past their window first, and the quantiles of the waits."""
    side_days = {side: tallies.side_slips.get(side, (0, 0)) for side in ("customer", "vendor")}
    total_slip = side_days["customer"][1] + side_days["vendor"][1]
    waits = {side: _expanded(tallies.waits.get(side, {})) for side in ("customer", "vendor")}
    ranked = sorted(
        tallies.at_risk,
        key=lambda r: (-r.days_past_window, -r.overdue_customer_tasks, -r.days_blocked, r.project_id),
    )
    return PortfolioReport(
        as_of=as_of,
        projects=tallies.projects,
        active=tallies.active,
        on_time=tallies.on_time,
        cancelled=tallies.cancelled,
        recommitted=tallies.recommitted,
        at_risk=tuple(ranked if at_risk_limit is None else ranked[:at_risk_limit]),
        at_risk_total=len(ranked),
        bottleneck_tasks=_bottlenecks(tallies.task_slips, "task", tallies.titles, top=top),
        bottleneck_milestones=_bottlenecks(tallies.milestone_slips, "milestone", tallies.titles, top=top),
        slip_by_side=tuple(
            SlipBySide(side, tasks, days, days / total_slip if total_slip else None)
            for side, (tasks, days) in side_days.items()
        ),
        wait_before_start=(
            *(_waits(side, waits[side]) for side in ("customer", "vendor")),
            _waits("all", np.concatenate([waits["customer"], waits["vendor"]])),
        ),
    )


def _expanded(histogram: Histogram) -> IntArray:
    """Every day count of a histogram, as many times as it was counted."""
    days = np.fromiter(histogram.keys(), dtype=np.int64, count=len(histogram))
    counts = np.fromiter(histogram.values(), dtype=np.int64, count=len(histogram))
    return np.repeat(days, counts)


def _quantiles(values: npt.NDArray[np.int64]) -> Quantiles:
    if len(values) == 0:
        return Quantiles()
    median, p75, p90 = np.quantile(values, [0.5, 0.75, 0.9])  # linear: the same as percentile_cont
    return Quantiles(float(median), float(p75), float(p90))


def _waits(side: str, days: IntArray) -> WaitBeforeStart:
    return WaitBeforeStart(side, len(days), _quantiles(days), float(days.mean()) if len(days) else None)


def project_at_risk(project: PortfolioProject, *, as_of: date) -> ProjectAtRisk | None:
    """Why an open project is at risk, or None: projected outside its window, customer tasks past their target,
    blocked or on hold. Reads only the project's open tasks."""
    if project.state not in ("active", "on_hold"):
        return None
    reasons: list[RiskReason] = []
    committed, projected = project.committed_go_live_on, project.projected_go_live_on
    past = (projected - committed).days if committed is not None and projected is not None else 0
    if past > 0:
        reasons.append(RiskReason.window)
    overdue = sum(1 for t in project.tasks if t.side == "customer" and t.state in _OPEN and t.target_due_on < as_of)
    if overdue:
        reasons.append(RiskReason.overdue_customer)
    since = [t.blocked_since for t in project.tasks if t.state == "blocked" and t.blocked_since is not None]
    if project.state == "on_hold" and project.held_since is not None:
        since.append(project.held_since)
    blocked = any(t.state == "blocked" for t in project.tasks) or project.state == "on_hold"
    if blocked:
        reasons.append(RiskReason.blocked)
    if not reasons:
        return None
    return ProjectAtRisk(
        project_id=project.project_id,
        external_id=project.external_id,
        customer=project.customer,
        blueprint_key=project.blueprint_key,
        owner=project.owner,
        committed_go_live_on=committed,
        projected_go_live_on=projected,
        days_past_window=max(0, past),
        overdue_customer_tasks=overdue,
        days_blocked=max(((as_of - d).days for d in since), default=0),
        reasons=tuple(reasons),
    )


def _bottlenecks(
    slips: Mapping[tuple[str, str], Histogram], kind: str, titles: Mapping[tuple[str, str, str], str], *, top: int
) -> tuple[Bottleneck, ...]:
    found = []
    for (blueprint, key), histogram in slips.items():
        days = _expanded(histogram)
        found.append(
            Bottleneck(
                blueprint_key=blueprint,
                kind=kind,
                key=key,
                title=titles[(blueprint, kind, key)],
                projects=len(days),
                slip_days=int(days.sum()),
                median_slip_days=float(np.median(days)),
                max_slip_days=int(days.max()),
            )
        )
    found.sort(key=lambda b: (-b.slip_days, -b.projects, b.blueprint_key, b.key))
    return tuple(found[:top])


class LaunchOutcome(StrEnum):
    """How a project that went live did against the go-live committed at launch."""

    on_time = "on_time"
    late = "late"
    without_window = "without_window"  # no date was committed: not counted in the on-time rate


def launch_outcome(project: PortfolioProject) -> LaunchOutcome | None:
    """None while the project has not gone live (its launch task is not done)."""
    launch = next((t for t in project.tasks if t.launch), None)
    if launch is None or launch.state != "done" or launch.done_on is None:
        return None
    commitment = project.launch_commitment
    if commitment is None:
        return LaunchOutcome.without_window
    return LaunchOutcome.on_time if launch.done_on <= commitment else LaunchOutcome.late


# -- the projects behind a figure ------------------------------------------------------------------------------------


class PortfolioFigure(StrEnum):
    """A figure of the portfolio report that counts projects (or their tasks), to list the projects behind it."""

    projects = "projects"
    open = "open"
    cancelled = "cancelled"
    recommitted = "recommitted"
    went_live = "went-live"
    on_time = "on-time"
    late = "late"
    without_window = "without-window"
    went_live_recommitted = "went-live-recommitted"
    at_risk = "at-risk"
    bottleneck_task = "bottleneck-task"  # item: "blueprint/task"
    bottleneck_milestone = "bottleneck-milestone"  # item: "blueprint/milestone"
    slip = "slip"  # item: "customer" | "vendor": projects with a task that slipped on that side


def portfolio_members(
    projects: Sequence[PortfolioProject], figure: PortfolioFigure, *, as_of: date, item: str | None = None
) -> tuple[str, ...]:
    """The ids of the projects a figure of ``portfolio_report(projects, as_of=as_of)`` counts, by id.

    For a bottleneck, the projects where that task (or a task of that milestone) slipped: as many as its
    ``projects``. For slip by side, the projects with a task that slipped on that side (the figure counts
    their tasks). Every other figure counts projects: the list is as long as the figure.
    """
    if figure is PortfolioFigure.cancelled:
        return tuple(sorted(p.project_id for p in projects if p.state == "cancelled"))
    counted = [p for p in projects if p.state != "cancelled"]
    outcomes = {
        PortfolioFigure.on_time: {LaunchOutcome.on_time},
        PortfolioFigure.late: {LaunchOutcome.late},
        PortfolioFigure.without_window: {LaunchOutcome.without_window},
        PortfolioFigure.went_live: set(LaunchOutcome),
        PortfolioFigure.went_live_recommitted: set(LaunchOutcome),
    }

    def slipped(project: PortfolioProject) -> bool:
        blueprint, _, key = (item or "").partition("/")
        if project.blueprint_key != blueprint:
            return False
        if figure is PortfolioFigure.bottleneck_task:
            return any(t.key == key and task_slip_days(t, as_of=as_of) > 0 for t in project.tasks)
        return any(t.milestone_key == key and task_slip_days(t, as_of=as_of) > 0 for t in project.tasks)

    def counts(project: PortfolioProject) -> bool:
        if figure is PortfolioFigure.projects:
            return True
        if figure is PortfolioFigure.open:
            return project.state in ("active", "on_hold")
        if figure is PortfolioFigure.recommitted:
            return project.recommits > 0
        if figure in outcomes:
            went = launch_outcome(project) in outcomes[figure]
            return went and (figure is not PortfolioFigure.went_live_recommitted or project.recommits > 0)
        if figure is PortfolioFigure.at_risk:
            return project_at_risk(project, as_of=as_of) is not None
        if figure in (PortfolioFigure.bottleneck_task, PortfolioFigure.bottleneck_milestone):
            return slipped(project)
        side = item or ""
        return any(
            ("customer" if t.side == "customer" else "vendor") == side and task_slip_days(t, as_of=as_of) > 0
            for t in project.tasks
        )

    return tuple(sorted(p.project_id for p in counted if counts(p)))


def portfolio_rows(report: PortfolioReport) -> list[tuple[str, str, str, object]]:
    """The portfolio report as (section, item, measure, value) rows: one shape for every part (CSV)."""
    o = report.on_time
    rows: list[tuple[str, str, str, object]] = [
        ("portfolio", "all", "projects", report.projects),
        ("portfolio", "all", "open", report.active),
        ("portfolio", "all", "cancelled", report.cancelled),
        ("portfolio", "all", "recommitted", report.recommitted),
        ("on_time", "all", "went_live", o.went_live),
        ("on_time", "all", "on_time", o.on_time),
        ("on_time", "all", "late", o.late),
        ("on_time", "all", "rate", o.rate),
        ("on_time", "all", "without_window", o.without_window),
        ("on_time", "all", "recommitted", o.recommitted),
    ]
    for r in report.at_risk:
        item = r.external_id or r.project_id
        rows += [
            ("at_risk", item, "customer", r.customer),
            ("at_risk", item, "blueprint", r.blueprint_key),
            ("at_risk", item, "owner", r.owner),
            ("at_risk", item, "committed_go_live_on", r.committed_go_live_on),
            ("at_risk", item, "projected_go_live_on", r.projected_go_live_on),
            ("at_risk", item, "days_past_window", r.days_past_window),
            ("at_risk", item, "overdue_customer_tasks", r.overdue_customer_tasks),
            ("at_risk", item, "days_blocked", r.days_blocked),
            ("at_risk", item, "reasons", " ".join(r.reasons)),
        ]
    for section, found in (
        ("bottleneck_task", report.bottleneck_tasks),
        ("bottleneck_milestone", report.bottleneck_milestones),
    ):
        for b in found:
            item = f"{b.blueprint_key}/{b.key}"
            rows += [
                (section, item, "projects", b.projects),
                (section, item, "slip_days", b.slip_days),
                (section, item, "median_slip_days", b.median_slip_days),
                (section, item, "max_slip_days", b.max_slip_days),
            ]
    for s in report.slip_by_side:
        rows += [
            ("slip_by_side", s.side, "tasks", s.tasks),
            ("slip_by_side", s.side, "slip_days", s.slip_days),
            ("slip_by_side", s.side, "share", s.share),
        ]
    for w in report.wait_before_start:
        rows += [
            ("wait_before_start", w.side, "tasks", w.tasks),
            ("wait_before_start", w.side, "median_days", w.days.median),
            ("wait_before_start", w.side, "p90_days", w.days.p90),
            ("wait_before_start", w.side, "mean_days", w.mean_days),
        ]
    return [(a, b, c, v.isoformat() if isinstance(v, date) else v) for a, b, c, v in rows]
