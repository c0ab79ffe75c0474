"""Cancelled and recommitted projects in the manager reports, on every store."""

from __future__ import annotations

from datetime import UTC, datetime

from onboarding.core.lifecycle import Action
from onboarding.core.portfolio import RiskReason
from tests.services.test_reports import D, World


def at(w: World, day: str) -> None:
    d = D(day)
    w.clock.set(d, at=datetime(d.year, d.month, d.day, 15, tzinfo=UTC))


def test_a_project_cancelled_before_value_is_stopped_not_in_flight(store) -> None:  # type: ignore[no-untyped-def]
    w = World(store)
    reached = w.launch("Alpha")
    w.do(reached, "first_use", Action.complete, "2026-01-15")
    lost = w.launch("Beta")
    at(w, "2026-01-20")
    w.projects.cancel(lost, reason="Deal lost", on=D("2026-01-19"))
    late_cancel = w.launch("Gamma")
    w.do(late_cancel, "first_use", Action.complete, "2026-01-16")
    at(w, "2026-01-21")
    w.projects.cancel(late_cancel, reason="Churned after first use")  # keeps its value
    w.launch("Delta")  # in flight
    (group,) = w.reports.ttfv(as_of=D("2026-03-01")).groups
    assert (group.projects, group.reached, group.in_flight, group.stopped) == (4, 2, 1, 1)
    assert group.reached_calendar_days == (10, 11)
    # as of a day before the cancel day, Beta was still in flight
    (before,) = w.reports.ttfv(as_of=D("2026-01-18")).groups
    assert (before.in_flight, before.stopped) == (2, 0)


def test_the_portfolio_counts_cancelled_projects_apart(store) -> None:  # type: ignore[no-untyped-def]
    w = World(store)
    live = w.launch("Live")
    for task in ("kickoff_call", "setup", "first_use", "go_live"):
        w.do(live, task, Action.complete, "2026-01-14")
    lost = w.launch("Lost")
    w.do(lost, "kickoff_call", Action.complete, "2026-01-05")
    w.do(lost, "setup", Action.block, "2026-01-07")  # stuck, then cancelled: no longer at risk nor a bottleneck
    at(w, "2026-01-15")
    w.projects.cancel(lost, reason="Deal lost")
    report = w.reports.portfolio(as_of=D("2026-01-20"))
    assert (report.projects, report.active, report.cancelled) == (1, 0, 1)
    assert report.at_risk == () and report.on_time.went_live == 1
    assert all(b.projects == 1 for b in report.bottleneck_tasks)  # Live's own slips only


def test_on_time_is_measured_against_the_launch_commitment_after_a_recommit(store) -> None:  # type: ignore[no-untyped-def]
    w = World(store)
    pid = w.launch("Late")
    committed = w.projects.get(pid).committed_go_live_on
    assert committed is not None
    at(w, "2026-01-20")  # nothing done for two weeks: the go-live moves later
    moved = w.projects.reforecast(pid)
    assert moved.projected_go_live_on is not None and moved.projected_go_live_on > committed
    w.projects.recommit(pid, reason="Customer was away")
    before_live = w.reports.portfolio(as_of=D("2026-01-20"))
    assert before_live.recommitted == 1
    (risk,) = before_live.at_risk  # late customer work, but no longer outside the window: the accepted date is it
    assert RiskReason.window not in risk.reasons and risk.days_past_window == 0
    day = moved.projected_go_live_on.isoformat()
    for task in ("kickoff_call", "setup", "first_use", "go_live"):
        w.do(pid, task, Action.complete, day)
    report = w.reports.portfolio(as_of=moved.projected_go_live_on)
    o = report.on_time
    assert (o.went_live, o.on_time, o.late, o.recommitted) == (1, 0, 1, 1)
