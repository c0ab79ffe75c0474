"""The portfolio report's counts aggregated in the database equal the core's fold over every project.

Random portfolios are run through the real service (starts, completions, blocks,
skips, reopens, holds, cancellations, on random days), some go-live commitments
are moved and recommitted; then, as of several days, ``SqlReportStore.portfolio_tallies``
(SQL aggregation) must give exactly what ``core.portfolio.portfolio_tallies`` folds
from every project read whole (``portfolio_projects``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select, update

from onboarding.adapters.blueprint_files import InMemoryBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.reports import SqlReportStore
from onboarding.adapters.store.sql import SqlProjectStore
from onboarding.adapters.store.tables import Base
from onboarding.core.lifecycle import Action
from onboarding.core.portfolio import (
    PortfolioFigure,
    PortfolioTallies,
    RiskReason,
    portfolio_members,
    portfolio_tallies,
    ranked_portfolio,
)
from onboarding.errors import OnboardingError
from onboarding.services.projects import ProjectService
from onboarding.services.reports import ReportService
from tests.conftest import blueprint_data
from tests.services.test_reports import SENDER, people

projects = Base.metadata.tables["projects"]
tasks = Base.metadata.tables["tasks"]
KICKOFF = date(2026, 1, 5)
MILESTONES: list[dict[str, Any]] = [
    {
        "key": "start",
        "title": "Start",
        "tasks": [
            {"key": "kickoff_call", "title": "Kickoff call", "owner": "csm"},
            {"key": "data", "title": "Send data", "owner": "admin", "duration_business_days": 3},
            {
                "key": "config",
                "title": "Configure",
                "owner": "engineer",
                "duration_business_days": 2,
                "depends_on": ["kickoff_call", {"task": "data", "type": "SS", "lag_business_days": 1}],
            },
        ],
    },
    {
        "key": "finish",
        "title": "Finish",
        "tasks": [
            {
                "key": "first_use",
                "title": "First use",
                "owner": "admin",
                "first_value": True,
                "depends_on": ["config", "data"],
            },
            {"key": "training", "title": "Training", "owner": "csm", "depends_on": ["config"]},
            {
                "key": "go_live",
                "title": "Go live",
                "owner": "engineer",
                "launch": True,
                "depends_on": ["first_use", "training"],
            },
        ],
    },
]
TASK_KEYS = [t["key"] for m in MILESTONES for t in m["tasks"]]


def blueprint(key: str, title_suffix: str = "") -> str:
    data = blueprint_data([], milestones=MILESTONES, ttfv={"start_event": "kickoff", "target_calendar_days": 21})
    data["key"] = key
    if title_suffix:  # another version of the same blueprint, its titles changed
        data["version"] = "1.1.0"
        data["milestones"] = [
            {
                **m,
                "title": m["title"] + title_suffix,
                "tasks": [{**t, "title": t["title"] + title_suffix} for t in m["tasks"]],
            }
            for m in MILESTONES
        ]
    return yaml.safe_dump(data, sort_keys=False)


BLUEPRINTS = InMemoryBlueprints({"a": blueprint("alpha"), "a2": blueprint("alpha", " (v1.1)"), "b": blueprint("beta")})
ACTIONS = [
    Action.start,
    Action.complete,
    Action.complete,
    Action.complete,
    Action.block,
    Action.unblock,
    Action.skip,
    Action.reopen,
]


def run_portfolio(engine: Engine, seed: int) -> tuple[ProjectService, FixedClock]:
    rnd = random.Random(seed)  # noqa: S311 - a seeded portfolio, nothing secret
    clock = FixedClock(KICKOFF - timedelta(days=3))
    service = ProjectService(store=SqlProjectStore(engine), blueprints=BLUEPRINTS, clock=clock, sender=SENDER)
    ids = []
    for n in range(14):
        kickoff = KICKOFF + timedelta(days=rnd.randrange(0, 20))
        clock.set(min(clock.today(), kickoff))
        launched = service.launch(
            rnd.choice(["a", "a2", "b"]), customer=f"Customer {n}", kickoff_on=kickoff, bindings=people()
        )
        ids.append(launched.project.id)
    day = KICKOFF
    for _ in range(120):
        day += timedelta(days=rnd.choice((0, 0, 1, 1, 2)))
        clock.set(day)
        pid = rnd.choice(ids)
        roll = rnd.random()
        try:
            if roll < 0.04:
                service.hold(pid)
            elif roll < 0.08:
                service.resume(pid)
            elif roll < 0.10:
                service.cancel(pid, reason="lost")
            else:
                service.change_task(pid, rnd.choice(TASK_KEYS), rnd.choice(ACTIONS), on=day, force=True)
        except OnboardingError:
            continue  # a transition the state does not allow: refused, nothing stored
    with engine.begin() as connection:  # commitments moved by hand: some projected past them, some recommitted
        for pid in rnd.sample(ids, 6):
            committed = KICKOFF + timedelta(days=rnd.randrange(10, 80))
            connection.execute(
                update(projects)
                .where(projects.c.id == pid)
                .values(
                    committed_go_live_on=committed,
                    projected_go_live_on=committed + timedelta(days=rnd.randrange(-5, 9)),
                    first_committed_go_live_on=committed - timedelta(days=rnd.randrange(0, 6)),
                    recommits=rnd.choice((0, 0, 1, 2)),
                )
            )
        # launches on their committed day and one day past it: the on-time rule's boundary
        went_live = connection.execute(
            select(tasks.c.project_id, tasks.c.done_on).where(tasks.c.key == "go_live", tasks.c.state == "done")
        ).all()
        for (pid, done_on), late in zip(rnd.sample(went_live, min(2, len(went_live))), (0, 1), strict=False):
            launched_on = done_on if isinstance(done_on, date) else date.fromisoformat(done_on)
            connection.execute(
                update(projects)
                .where(projects.c.id == pid)
                .values(committed_go_live_on=launched_on - timedelta(days=late), recommits=0)
            )
    return service, clock


def drill_downs(tallies: PortfolioTallies) -> list[tuple[PortfolioFigure, str | None]]:
    """Every figure a report page links to, with each item it names (every bottleneck task and milestone, both
    sides), and items that name nothing (another blueprint's task, a side that is none, no item)."""
    found: list[tuple[PortfolioFigure, str | None]] = [
        (f, None)
        for f in PortfolioFigure
        if f not in (PortfolioFigure.bottleneck_task, PortfolioFigure.bottleneck_milestone, PortfolioFigure.slip)
    ]
    found += [(PortfolioFigure.bottleneck_task, f"{b}/{k}") for b, k in sorted(tallies.task_slips)]
    found += [(PortfolioFigure.bottleneck_milestone, f"{b}/{k}") for b, k in sorted(tallies.milestone_slips)]
    found += [(PortfolioFigure.slip, side) for side in ("customer", "vendor", "nobody", None)]
    found += [
        (PortfolioFigure.bottleneck_task, "no-such-blueprint/kickoff_call"),
        (PortfolioFigure.bottleneck_milestone, None),
    ]
    return found


@pytest.mark.parametrize("seed", range(4))
def test_the_database_counts_the_portfolio_as_the_core_does(engine: Engine, seed: int) -> None:
    _, clock = run_portfolio(engine, seed)
    reports = ReportService(store=SqlReportStore(engine), blueprints=BLUEPRINTS, clock=clock)
    store = SqlReportStore(engine)
    predecessors = reports.predecessors()
    every = store.portfolio_projects(predecessors=predecessors)
    for as_of in (KICKOFF + timedelta(days=d) for d in (0, 9, 23, 40, 75)):
        expected = portfolio_tallies(every, as_of=as_of)
        got = store.portfolio_tallies(as_of=as_of, predecessors=predecessors)
        assert got.on_time == expected.on_time
        assert (got.projects, got.active, got.cancelled, got.recommitted) == (
            expected.projects,
            expected.active,
            expected.cancelled,
            expected.recommitted,
        )
        assert got.task_slips == expected.task_slips
        assert got.milestone_slips == expected.milestone_slips
        assert got.side_slips == expected.side_slips
        assert got.waits == expected.waits
        assert got.titles == expected.titles
        by_id = sorted(expected.at_risk, key=lambda r: r.project_id)
        assert sorted(got.at_risk, key=lambda r: r.project_id) == by_id
        assert sorted(store.portfolio_at_risk(as_of=as_of), key=lambda r: r.project_id) == by_id
        assert ranked_portfolio(got, as_of=as_of, at_risk_limit=3) == ranked_portfolio(
            expected, as_of=as_of, at_risk_limit=3
        )
        for figure, item in drill_downs(expected):  # the projects behind each figure, as the core lists them
            assert store.portfolio_members(figure, as_of=as_of, item=item) == portfolio_members(
                every, figure, as_of=as_of, item=item
            ), (figure, item)

    # the runs exercise every figure: launches, every reason to be at risk, slips and waits on both sides
    middle = store.portfolio_tallies(as_of=KICKOFF + timedelta(days=40), predecessors=predecessors)
    assert middle.on_time.went_live > 0 and middle.cancelled + middle.recommitted > 0
    assert {reason for r in middle.at_risk for reason in r.reasons} == set(RiskReason)
    assert all(middle.waits[side] and middle.side_slips[side][0] for side in ("customer", "vendor"))
