"""The portfolio report's counts, aggregated in the database (``SqlReportStore.portfolio_tallies``).

Reading every task row into Python to count a few hundred figures costs minutes at
250,000 projects; here the database does the counting and a few hundred rows come
back, whatever the portfolio's size:

- projects by state, and launches against the go-live committed at launch (one row);
- slips as histograms of whole days: by blueprint and task, and the worst slip of
  each project's milestones. Only slipped tasks are read: open ones past their
  target from the open-task index, finished ones past theirs from a partial index of
  late finishes (``ix_tasks_done_late``), so a portfolio on time reads next to nothing;
- waits before start as a histogram by side: every started task joined to its
  predecessors in the blueprint's graph (a temporary table of edges, one row per
  dependency of each snapshot) and to their finish days;
- the projects at risk: only the open projects with a reason (a candidate list from
  the indexes), with their overdue customer tasks and blocked tasks, weighed by
  ``core.portfolio.project_at_risk`` itself.

The projects behind a figure (a drill-down, ``portfolio_members``) come from the same
queries: the projects' rows, the launch tasks' index, the slipped tasks.

Each rule is the core's (``portfolio_tallies`` folds the same counts from every
project, ``portfolio_members`` lists them); a test holds the two equal over random
portfolios.

Not here: the ranking, the medians and quantiles (``core.portfolio.ranked_portfolio``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Date,
    Engine,
    Integer,
    MetaData,
    Select,
    String,
    Subquery,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    text,
    true,
    union,
    union_all,
)

from onboarding.adapters.store.rows import day_reader, driver_rows
from onboarding.adapters.store.tables import BLOCKED, DONE_LATE, IS_OPEN, LAUNCHED, Base
from onboarding.core.portfolio import (
    OnTimeLaunches,
    PortfolioFigure,
    PortfolioProject,
    PortfolioTallies,
    PortfolioTask,
    ProjectAtRisk,
    project_at_risk,
)
from onboarding.core.ttfv import NONE_LABEL

projects = Base.metadata.tables["projects"]
tasks = Base.metadata.tables["tasks"]
events = Base.metadata.tables["events"]
project_ttfv = Base.metadata.tables["project_ttfv"]

_COUNTED = projects.c.state != "cancelled"
WORK_MEM = "256MB"  # PostgreSQL's memory for the report's sorts and hashes, for its transaction only
_OPEN_PROJECT = projects.c.state.in_(("active", "on_hold"))

# The blueprint graphs' dependencies, for the waits' join: a temporary table of the connection, filled per report.
_EDGES = Table(
    "portfolio_edges",
    MetaData(),
    Column("blueprint_id", String(64), primary_key=True),
    Column("task_key", String(64), primary_key=True),
    Column("predecessor", String(64), primary_key=True),
    prefixes=["TEMPORARY"],
)


def days_between(connection: Connection, later: Any, earlier: Any) -> ColumnElement[int]:
    """Whole days from ``earlier`` to ``later`` (date columns or values), in the connection's dialect."""
    if connection.dialect.name == "sqlite":
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return cast(later - earlier, Integer)


def portfolio_tallies(
    engine: Engine, *, as_of: date, predecessors: Mapping[str, Mapping[str, tuple[str, ...]]]
) -> PortfolioTallies:
    """The counts of ``core.portfolio.portfolio_tallies`` over every project, aggregated in the database;
    ``predecessors`` by snapshot id, then task key."""
    with engine.begin() as connection:  # one transaction: the counts agree; the edges are emptied at its end
        if connection.dialect.name == "postgresql":
            # The waits' join groups a row per started task: with the default 4 MB, the hash aggregate spills
            # to disk and takes twice as long.
            connection.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
        states = _states(connection)
        on_time = _launches(connection)
        task_slips, milestone_slips, side_slips = _slips(connection, as_of)
        waits = _waits(connection, predecessors)
        at_risk = _at_risk(connection, as_of, day_reader(engine))
        titles = _titles(connection, {*task_slips}, {*milestone_slips})
    cancelled = states.pop("cancelled", (0, 0))[0]
    return PortfolioTallies(
        projects=sum(n for n, _ in states.values()),
        active=sum(states.get(s, (0, 0))[0] for s in ("active", "on_hold")),
        cancelled=cancelled,
        recommitted=sum(r for _, r in states.values()),
        on_time=on_time,
        at_risk=at_risk,
        task_slips=task_slips,
        milestone_slips=milestone_slips,
        side_slips=side_slips,
        waits=waits,
        titles=titles,
    )


def portfolio_at_risk(engine: Engine, *, as_of: date) -> tuple[ProjectAtRisk, ...]:
    """Every project at risk as of a day, in any order (what a drill-down into the count lists)."""
    with engine.connect() as connection:
        return _at_risk(connection, as_of, day_reader(engine))


def _states(connection: Connection) -> dict[str, tuple[int, int]]:
    recommitted = func.sum(case((projects.c.recommits > 0, 1), else_=0))
    rows = connection.execute(select(projects.c.state, func.count(), recommitted).group_by(projects.c.state))
    return {state: (int(n), int(r or 0)) for state, n, r in rows}


def _went_live() -> Subquery:
    """Each counted project that went live: its launch task's finish, its recommits and the go-live committed at
    launch (``launch_outcome``)."""
    p, t = projects, tasks
    launched = select(t.c.project_id, t.c.done_on).where(text(LAUNCHED)).subquery()  # ix_tasks_launched alone
    commitment = case((p.c.recommits > 0, p.c.first_committed_go_live_on), else_=p.c.committed_go_live_on)
    return (
        select(launched.c.project_id, launched.c.done_on, p.c.recommits, commitment.label("commitment"))
        .join_from(launched, p, p.c.id == launched.c.project_id)
        .where(_COUNTED)
        .subquery()
    )


def _launches(connection: Connection) -> OnTimeLaunches:
    """The launch task of each counted project that went live, against the go-live committed at launch."""
    went = _went_live()
    c = went.c.commitment
    row = connection.execute(
        select(
            func.count(),
            func.sum(case((and_(c.is_not(None), went.c.done_on <= c), 1), else_=0)),
            func.sum(case((and_(c.is_not(None), went.c.done_on > c), 1), else_=0)),
            func.sum(case((c.is_(None), 1), else_=0)),
            func.sum(case((went.c.recommits > 0, 1), else_=0)),
        )
    ).one()
    went_live, on_time, late, without_window, recommitted = (int(v or 0) for v in row)
    return OnTimeLaunches.counted(
        went_live=went_live, on_time=on_time, late=late, without_window=without_window, recommitted=recommitted
    )


def _slips(
    connection: Connection, as_of: date
) -> tuple[dict[tuple[str, str], dict[int, int]], dict[tuple[str, str], dict[int, int]], dict[str, tuple[int, int]]]:
    """Histograms of slips by blueprint and task, of the worst slip per project by blueprint and milestone, and
    the tasks and days slipped by side (task_slip_days: late finishes, and open tasks past their target)."""
    s = _slipped(connection, as_of).c
    task_slips: dict[tuple[str, str], dict[int, int]] = {}
    side_slips = {"customer": (0, 0), "vendor": (0, 0)}
    by_task = select(s.blueprint_key, s.key, s.side, s.slip, func.count()).group_by(
        s.blueprint_key, s.key, s.side, s.slip
    )
    for blueprint, key, side, slip, n in connection.execute(by_task):
        counts = task_slips.setdefault((blueprint, key), {})
        counts[int(slip)] = counts.get(int(slip), 0) + int(n)
        named = "customer" if side == "customer" else "vendor"
        tasks_slipped, days = side_slips[named]
        side_slips[named] = (tasks_slipped + int(n), days + int(slip) * int(n))
    worst = (
        select(s.blueprint_key, s.milestone_key, func.max(s.slip).label("worst"))
        .group_by(s.project_id, s.blueprint_key, s.milestone_key)
        .subquery()
    )
    by_milestone = select(worst.c.blueprint_key, worst.c.milestone_key, worst.c.worst, func.count()).group_by(
        worst.c.blueprint_key, worst.c.milestone_key, worst.c.worst
    )
    milestone_slips: dict[tuple[str, str], dict[int, int]] = {}
    for blueprint, milestone, slip, n in connection.execute(by_milestone):
        milestone_slips.setdefault((blueprint, milestone), {})[int(slip)] = int(n)
    return task_slips, milestone_slips, side_slips


def _slipped(connection: Connection, as_of: date) -> Subquery:
    """Every task of a counted project that slipped as of a day (``task_slip_days`` > 0), with its slip in days
    and its project's blueprint: late finishes from their partial index, open tasks past their target."""
    t, p = tasks, projects
    day = literal(as_of, Date)
    columns = (t.c.project_id, t.c.key, t.c.milestone_key, t.c.side)
    finished_late = select(*columns, days_between(connection, t.c.done_on, t.c.target_due_on).label("slip")).where(
        text(DONE_LATE)  # ix_tasks_done_late alone
    )
    open_late = select(*columns, days_between(connection, day, t.c.target_due_on).label("slip")).where(
        IS_OPEN, t.c.target_due_on < day
    )
    late = union_all(finished_late, open_late).subquery()
    return select(late, p.c.blueprint_key).join_from(late, p, p.c.id == late.c.project_id).where(_COUNTED).subquery()


def portfolio_members(engine: Engine, figure: PortfolioFigure, *, as_of: date, item: str | None) -> tuple[str, ...]:
    """The ids of the projects a figure of the report counts, sorted (``core.portfolio.portfolio_members``): from
    the projects' rows, the launch tasks' index or the slipped tasks, never every task."""
    p = projects
    query: Select[Any]
    if figure is PortfolioFigure.at_risk:
        return tuple(sorted(r.project_id for r in portfolio_at_risk(engine, as_of=as_of)))
    with engine.connect() as connection:
        if figure in _BY_PROJECT_ROW:
            query = select(p.c.id).where(_BY_PROJECT_ROW[figure])
        elif figure in _BY_LAUNCH:
            went = _went_live()
            query = select(went.c.project_id).where(_BY_LAUNCH[figure](went.c))
        else:
            late = _slipped(connection, as_of).c
            if figure is PortfolioFigure.slip:
                side = {"customer": late.side == "customer", "vendor": late.side != "customer"}.get(item or "")
                if side is None:
                    return ()
                query = select(late.project_id).where(side)
            else:
                blueprint, _, key = (item or "").partition("/")
                column = late.key if figure is PortfolioFigure.bottleneck_task else late.milestone_key
                query = select(late.project_id).where(late.blueprint_key == blueprint, column == key)
            query = query.distinct()
        return tuple(sorted(pid for (pid,) in connection.execute(query)))


_BY_PROJECT_ROW: dict[PortfolioFigure, ColumnElement[bool]] = {
    PortfolioFigure.projects: _COUNTED,
    PortfolioFigure.open: _OPEN_PROJECT,
    PortfolioFigure.cancelled: projects.c.state == "cancelled",
    PortfolioFigure.recommitted: and_(_COUNTED, projects.c.recommits > 0),
}
_BY_LAUNCH: dict[PortfolioFigure, Callable[[Any], ColumnElement[bool]]] = {
    PortfolioFigure.went_live: lambda _went: true(),
    PortfolioFigure.on_time: lambda went: and_(went.commitment.is_not(None), went.done_on <= went.commitment),
    PortfolioFigure.late: lambda went: and_(went.commitment.is_not(None), went.done_on > went.commitment),
    PortfolioFigure.without_window: lambda went: went.commitment.is_(None),
    PortfolioFigure.went_live_recommitted: lambda went: went.recommits > 0,
}


def _waits(
    connection: Connection, predecessors: Mapping[str, Mapping[str, tuple[str, ...]]]
) -> dict[str, dict[int, int]]:
    """Days from ready (every predecessor finished, or the kickoff) to the start, for started tasks not skipped
    whose predecessors have all finished (``wait_before_start_days``), as a histogram by side."""
    _EDGES.create(connection, checkfirst=True)
    try:
        connection.execute(_EDGES.delete())
        edges = [
            {"blueprint_id": snapshot, "task_key": key, "predecessor": before}
            for snapshot, graph in predecessors.items()
            for key, befores in graph.items()
            for before in dict.fromkeys(befores)
        ]
        if edges:
            connection.execute(_EDGES.insert(), edges)
        t, p, e = tasks, projects, _EDGES
        before = tasks.alias("before")
        latest = func.coalesce(func.max(before.c.done_on), p.c.kickoff_on)
        # the later of the kickoff and the last predecessor's finish (SQLite's max of two values is greatest)
        greatest = func.max if connection.dialect.name == "sqlite" else func.greatest
        ready = greatest(p.c.kickoff_on, latest)
        per_task = (
            select(
                t.c.side,
                days_between(connection, t.c.started_on, ready).label("wait"),
                func.count(e.c.predecessor).label("needed"),
                func.count(before.c.done_on).label("finished"),
            )
            .join_from(t, p, p.c.id == t.c.project_id)
            .outerjoin(e, and_(e.c.blueprint_id == p.c.blueprint_id, e.c.task_key == t.c.key))
            .outerjoin(before, and_(before.c.project_id == t.c.project_id, before.c.key == e.c.predecessor))
            .where(t.c.started_on.is_not(None), t.c.state != "skipped", _COUNTED)
            .group_by(t.c.project_id, t.c.key, t.c.side, t.c.started_on, p.c.kickoff_on)
            .subquery()
        )
        w = per_task.c
        wait = case((w.wait > 0, w.wait), else_=0)
        histogram = select(w.side, wait, func.count()).where(w.needed == w.finished).group_by(w.side, wait)
        waits: dict[str, dict[int, int]] = {"customer": {}, "vendor": {}}
        for side, days, n in connection.execute(histogram):
            counts = waits["customer" if side == "customer" else "vendor"]
            counts[int(days)] = counts.get(int(days), 0) + int(n)
        return waits
    finally:
        connection.execute(_EDGES.delete())


def blocked_since(connection: Connection) -> dict[tuple[str, str], date]:
    """The day each blocked task's last block began, by project and task (from its ``task_blocked`` event)."""
    t, e = tasks, events
    rows = connection.execute(
        select(e.c.project_id, e.c.task_key, e.c.data)
        .join(t, (t.c.project_id == e.c.project_id) & (t.c.key == e.c.task_key))
        .where(t.c.state == "blocked", e.c.kind == "task_blocked")
        .order_by(e.c.id)
    )
    return {(b.project_id, b.task_key): date.fromisoformat(str(b.data["on"])) for b in rows}


def _at_risk(connection: Connection, as_of: date, day: Any) -> tuple[ProjectAtRisk, ...]:
    """The open projects at risk: candidates from the indexes (projected past the commitment, on hold, a task
    blocked, a customer task open past its target), weighed by the core with their open tasks that count."""
    t, p = tasks, projects
    columns = (t.c.project_id, t.c.key, t.c.side, t.c.state, t.c.target_due_on)
    overdue = select(*columns).where(IS_OPEN, t.c.target_due_on < literal(as_of, Date), t.c.side == "customer")
    blocked = select(*columns).where(text(BLOCKED))  # ix_tasks_blocked alone
    weighing = union(overdue, blocked).subquery()
    task_rows = driver_rows(
        connection,
        select(weighing).join_from(weighing, p, p.c.id == weighing.c.project_id).where(_OPEN_PROJECT),
    )
    since = blocked_since(connection)
    weighed: dict[str, list[PortfolioTask]] = {}
    for project_id, key, side, state, target in task_rows:
        weighed.setdefault(project_id, []).append(  # what project_at_risk reads of a task; no titles, no dates
            PortfolioTask(
                key=key,
                title="",
                milestone_key="",
                milestone_title="",
                side=side,
                state=state,
                started_on=None,
                done_on=None,
                target_due_on=day(target),
                blocked_since=since.get((project_id, key)),
            )
        )
    ids = set(weighed)
    window_or_hold = connection.execute(
        select(p.c.id).where(
            _OPEN_PROJECT,
            (p.c.projected_go_live_on > p.c.committed_go_live_on) | (p.c.state == "on_hold"),
        )
    )
    ids.update(pid for (pid,) in window_or_hold)
    found: list[ProjectAtRisk] = []
    for row in _projects(connection, sorted(ids)):
        risk = project_at_risk(portfolio_project(row, weighed.get(row.id, ())), as_of=as_of)
        if risk is not None:
            found.append(risk)
    return tuple(found)


_CHUNK = 5000  # ids per IN list


# What a PortfolioProject holds of a project's row, with its owner and hold from the read model.
PROJECT_COLUMNS = (
    projects.c.id,
    projects.c.external_id,
    projects.c.customer,
    projects.c.blueprint_key,
    projects.c.blueprint_id,
    projects.c.state,
    projects.c.kickoff_on,
    projects.c.committed_go_live_on,
    projects.c.projected_go_live_on,
    projects.c.first_committed_go_live_on,
    projects.c.recommits,
    project_ttfv.c.owner,
    project_ttfv.c.held_since,
)


def portfolio_project(row: Any, tasks: Iterable[PortfolioTask]) -> PortfolioProject:
    """A project (a row of ``PROJECT_COLUMNS``) with these of its tasks."""
    return PortfolioProject(
        project_id=row.id,
        external_id=row.external_id,
        customer=row.customer,
        blueprint_key=row.blueprint_key,
        owner=row.owner or NONE_LABEL,
        state=row.state,
        kickoff_on=row.kickoff_on,
        committed_go_live_on=row.committed_go_live_on,
        projected_go_live_on=row.projected_go_live_on,
        tasks=tuple(tasks),
        held_since=row.held_since,
        first_committed_go_live_on=row.first_committed_go_live_on,
        recommits=row.recommits,
    )


def _projects(connection: Connection, ids: list[str]) -> list[Any]:
    """These projects' rows (``PROJECT_COLUMNS``)."""
    rows: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        rows += connection.execute(
            select(*PROJECT_COLUMNS)
            .outerjoin(project_ttfv, project_ttfv.c.project_id == projects.c.id)
            .where(projects.c.id.in_(ids[start : start + _CHUNK]))
        ).all()
    return rows


def _titles(
    connection: Connection, task_keys: set[tuple[str, str]], milestone_keys: set[tuple[str, str]]
) -> dict[tuple[str, str, str], str]:
    """The title of each slipped task and milestone: the one in the project with the greatest id that has it
    (as ``core.portfolio.portfolio_tallies`` takes it). One read of the newest project of each blueprint gives
    almost all of them; a task that project lacks (an older version's) is looked up alone."""
    t, p = tasks, projects
    titles: dict[tuple[str, str, str], str] = {}
    blueprints = sorted({b for b, _ in task_keys | milestone_keys})
    for blueprint in blueprints:
        newest = select(func.max(p.c.id)).where(p.c.blueprint_key == blueprint, _COUNTED).scalar_subquery()
        rows = connection.execute(
            select(t.c.key, t.c.title, t.c.milestone_key, t.c.milestone_title).where(t.c.project_id == newest)
        )
        for key, title, milestone, milestone_title in rows:
            titles[(blueprint, "task", key)] = title
            titles[(blueprint, "milestone", milestone)] = milestone_title
    wanted = [(b, "task", k) for b, k in task_keys] + [(b, "milestone", k) for b, k in milestone_keys]
    for blueprint, kind, key in wanted:
        if (blueprint, kind, key) in titles:
            continue
        column, title = (t.c.key, t.c.title) if kind == "task" else (t.c.milestone_key, t.c.milestone_title)
        titles[(blueprint, kind, key)] = connection.execute(
            select(title)
            .join_from(t, p, p.c.id == t.c.project_id)
            .where(p.c.blueprint_key == blueprint, _COUNTED, column == key)
            .order_by(p.c.id.desc())
            .limit(1)
        ).scalar_one()
    kept = set(wanted)
    return {k: v for k, v in titles.items() if k in kept}
