"""The projects behind each figure of the reports: exactly the projects the figure counts, on every store."""

from __future__ import annotations

from datetime import date

import pytest

from onboarding.core.lifecycle import Action
from onboarding.core.portfolio import PortfolioFigure, PortfolioReport, task_slip_days
from onboarding.core.ttfv import Dimension, TtfvFigure, TtfvGroup
from onboarding.errors import ReportInputInvalid
from tests.services.test_reports import D, World, people

GROUPINGS: list[tuple[Dimension, ...]] = [
    (Dimension.blueprint,),
    (Dimension.segment,),
    (Dimension.owner, Dimension.segment),
    (Dimension.cohort_month,),
    (Dimension.version, Dimension.cohort_month),
]


def portfolio_world(store) -> tuple[World, dict[str, str]]:  # type: ignore[no-untyped-def]
    w = World(store)
    ids = {
        "alpha": w.launch("Alpha", segment="smb"),
        "beta": w.launch("Beta", segment="smb", bindings=people(owner="Kim Diaz")),
        "gamma": w.launch("Gamma", segment="enterprise"),
        "delta": w.launch("Delta", segment="enterprise"),
        "epsilon": w.launch("Epsilon", kickoff="2026-02-02"),
        "unsigned": w.launch("Unsigned", blueprint="signed"),
        "zeta": w.launch("Zeta", segment="smb"),
        "eta": w.launch("Eta", kickoff="2026-02-02", segment="smb"),
    }
    w.do(ids["alpha"], "first_use", Action.complete, "2026-01-15")
    w.hold(ids["beta"], "2026-01-08T15:00:00")
    w.resume(ids["beta"], "2026-01-12T15:00:00")
    w.do(ids["beta"], "first_use", Action.complete, "2026-01-25")
    w.do(ids["beta"], "go_live", Action.complete, "2026-01-26")
    w.do(ids["gamma"], "first_use", Action.complete, "2026-01-10")
    w.do(ids["gamma"], "first_use", Action.reopen, "2026-01-12")  # value undone: reached as of the 10th only
    w.do(ids["delta"], "first_use", Action.skip, "2026-01-20")
    w.do(ids["zeta"], "kickoff_call", Action.complete, "2026-01-05")
    w.do(ids["zeta"], "first_use", Action.complete, "2026-02-20")  # late: its go-live goes past the window
    w.do(ids["zeta"], "go_live", Action.complete, "2026-02-23")
    w.do(ids["eta"], "kickoff_call", Action.block, "2026-02-03")
    w.clock.set(D("2026-02-24"))
    w.projects.cancel(ids["epsilon"], reason="deal lost")
    return w, ids


def ttfv_counts(group: TtfvGroup) -> dict[TtfvFigure, int]:
    return {
        TtfvFigure.projects: group.projects,
        TtfvFigure.reached: group.reached,
        TtfvFigure.in_flight: group.in_flight,
        TtfvFigure.stopped: group.stopped,
        TtfvFigure.unstarted: group.unstarted,
    }


@pytest.mark.parametrize("as_of", ["2026-01-11", "2026-03-01"])
def test_each_ttfv_count_lists_exactly_the_projects_it_counts(store, as_of: str) -> None:  # type: ignore[no-untyped-def]
    w, ids = portfolio_world(store)
    day = D(as_of)
    listed_any = set()
    for by in GROUPINGS:
        report = w.reports.ttfv(by=by, as_of=day)
        for group in (*report.groups, report.total):
            members = {
                figure: w.reports.ttfv_projects(figure, by=by, key=group.key, as_of=day) for figure in TtfvFigure
            }
            for figure, count in ttfv_counts(group).items():
                assert len(members[figure]) == count, (by, group.key, figure)
            open_or_closed = set(members[TtfvFigure.reached]) | set(members[TtfvFigure.in_flight])
            assert open_or_closed | set(members[TtfvFigure.stopped]) == set(members[TtfvFigure.projects])
            listed_any |= set(members[TtfvFigure.projects])
    assert ids["alpha"] in listed_any and ids["unsigned"] not in listed_any  # never started: unstarted only
    total = w.reports.ttfv(as_of=day).total
    gamma_reached = ids["gamma"] in w.reports.ttfv_projects(TtfvFigure.reached, as_of=day)
    assert gamma_reached is (day == D("2026-01-11"))  # as the value stood that day
    assert w.reports.ttfv_projects(TtfvFigure.unstarted, as_of=day) == (ids["unsigned"],) and total.unstarted == 1


def test_a_period_narrows_the_drilldown_as_it_narrows_the_report(store) -> None:  # type: ignore[no-untyped-def]
    w, ids = portfolio_world(store)
    day = D("2026-03-01")
    report = w.reports.ttfv(as_of=day, since=D("2026-02-01"))
    listed = w.reports.ttfv_projects(TtfvFigure.projects, as_of=day, since=D("2026-02-01"))
    assert len(listed) == report.total.projects == 2 and set(listed) == {ids["epsilon"], ids["eta"]}


def portfolio_counts(report: PortfolioReport) -> dict[PortfolioFigure, int]:
    o = report.on_time
    return {
        PortfolioFigure.projects: report.projects,
        PortfolioFigure.open: report.active,
        PortfolioFigure.cancelled: report.cancelled,
        PortfolioFigure.recommitted: report.recommitted,
        PortfolioFigure.went_live: o.went_live,
        PortfolioFigure.on_time: o.on_time,
        PortfolioFigure.late: o.late,
        PortfolioFigure.without_window: o.without_window,
        PortfolioFigure.went_live_recommitted: o.recommitted,
        PortfolioFigure.at_risk: report.at_risk_total,
    }


def test_each_portfolio_figure_lists_exactly_the_projects_it_counts(store) -> None:  # type: ignore[no-untyped-def]
    w, ids = portfolio_world(store)
    day = D("2026-03-01")
    report = w.reports.portfolio(as_of=day)
    for figure, count in portfolio_counts(report).items():
        assert len(w.reports.portfolio_projects(figure, as_of=day)) == count, figure
    assert set(w.reports.portfolio_projects(PortfolioFigure.at_risk, as_of=day)) == {
        r.project_id for r in report.at_risk
    }
    assert w.reports.portfolio_projects(PortfolioFigure.cancelled, as_of=day) == (ids["epsilon"],)
    assert report.on_time.went_live == 2 and report.at_risk  # the world exercises the figures
    for b in (*report.bottleneck_tasks, *report.bottleneck_milestones):
        figure = PortfolioFigure.bottleneck_task if b.kind == "task" else PortfolioFigure.bottleneck_milestone
        listed = w.reports.portfolio_projects(figure, item=f"{b.blueprint_key}/{b.key}", as_of=day)
        assert len(listed) == b.projects, b
    assert report.bottleneck_tasks
    projects = {p.id: p for p in w.projects.get_many(list(ids.values()))}
    for s in report.slip_by_side:
        listed = w.reports.portfolio_projects(PortfolioFigure.slip, item=s.side, as_of=day)
        slipping = [
            t
            for pid in listed
            for t in projects[pid].tasks
            if (t.side == "customer") == (s.side == "customer") and task_slip_days(t, as_of=day) > 0
        ]
        assert len(slipping) == s.tasks and all(slipping_in(projects[pid], s.side, day) for pid in listed)


def slipping_in(project, side: str, day: date) -> bool:  # type: ignore[no-untyped-def]
    return any(
        (t.side == "customer") == (side == "customer") and task_slip_days(t, as_of=day) > 0 for t in project.tasks
    )


def test_a_group_with_the_wrong_number_of_values_is_refused(store) -> None:  # type: ignore[no-untyped-def]
    w, _ids = portfolio_world(store)
    with pytest.raises(ReportInputInvalid) as refused:
        w.reports.ttfv_projects(TtfvFigure.reached, by=(Dimension.owner, Dimension.segment), key=("Dana Ruiz",))
    assert refused.value.codes == ["invalid-group"]
