"""TTFV and portfolio figures from hand-built event histories whose answers are worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from onboarding.core.blueprint import StartEvent
from onboarding.core.calendars import CalendarKey, business_calendar
from onboarding.core.lifecycle import Event
from onboarding.core.portfolio import PortfolioProject, PortfolioTask, RiskReason, portfolio_report
from onboarding.core.ttfv import (
    Dimension,
    KaplanMeierPoint,
    Quantiles,
    TtfvObservations,
    TtfvRows,
    UndoneClosure,
    business_days_between,
    kaplan_meier,
    observe,
    ttfv_facts,
    ttfv_report,
)

KICKOFF = date(2026, 1, 5)
US = business_calendar(CalendarKey("US"), name="customer")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def launched(when: str = "2026-01-02T12:00:00", **data: object) -> Event:
    return Event("project_launched", at(when), "cli", None, dict(data))


def task(kind: str, on: str, key: str = "first_payroll") -> Event:
    return Event(kind, at(on + "T15:00:00"), "dana", key, {"on": on})


def held(when: str) -> Event:
    return Event("project_held", at(when), "dana")


def resumed(when: str) -> Event:
    return Event("project_resumed", at(when), "dana")


def facts(*events: Event, start: StartEvent = StartEvent.kickoff, timezone: str = "UTC"):  # type: ignore[no-untyped-def]
    return ttfv_facts(
        [launched(), *events], value_task="first_payroll", start_event=start, kickoff_on=KICKOFF, timezone=timezone
    )


# -- one project's facts ---------------------------------------------------------------------------------------------


def test_value_is_the_day_recorded_on_the_completion() -> None:
    f = facts(task("task_started", "2026-01-20"), task("task_completed", "2026-02-04"))
    assert (f.start_on, f.value_on, f.stopped_on, f.held_days) == (KICKOFF, date(2026, 2, 4), None, 0)


def test_other_tasks_do_not_count() -> None:
    f = facts(task("task_completed", "2026-01-09", key="kickoff_call"))
    assert f.value_on is None


def test_a_reopened_value_task_counts_when_completed_again() -> None:
    f = facts(
        task("task_completed", "2026-01-20"), task("task_reopened", "2026-01-22"), task("task_completed", "2026-01-27")
    )
    assert f.value_on == date(2026, 1, 27)


def test_a_reopened_value_task_not_completed_again_has_not_reached_value() -> None:
    f = facts(task("task_completed", "2026-01-20"), task("task_reopened", "2026-01-22"))
    assert (f.value_on, f.stopped_on) == (None, None)


def test_a_skipped_value_task_stops_the_clock_without_value() -> None:
    f = facts(task("task_skipped", "2026-02-10"))
    assert (f.value_on, f.stopped_on) == (None, date(2026, 2, 10))
    again = facts(
        task("task_skipped", "2026-02-10"), task("task_reopened", "2026-02-11"), task("task_completed", "2026-02-20")
    )
    assert (again.value_on, again.stopped_on) == (date(2026, 2, 20), None)


def test_a_value_later_undone_is_kept_with_the_days_it_stood() -> None:
    reopened = facts(
        held("2026-01-10T15:00:00"),
        resumed("2026-01-15T15:00:00"),
        task("task_completed", "2026-01-20"),
        task("task_reopened", "2026-01-22"),
        task("task_completed", "2026-01-27"),
    )
    assert reopened.undone == (UndoneClosure(date(2026, 1, 20), date(2026, 1, 22), reached=True, held_days=5),)
    assert (reopened.value_on, reopened.held_days) == (date(2026, 1, 27), 5)
    still_open = facts(task("task_completed", "2026-01-20"), task("task_reopened", "2026-01-22"))
    assert still_open.undone == (UndoneClosure(date(2026, 1, 20), date(2026, 1, 22), reached=True, held_days=0),)
    skipped = facts(
        task("task_skipped", "2026-02-10"), task("task_reopened", "2026-02-11"), task("task_completed", "2026-02-20")
    )
    assert skipped.undone == (UndoneClosure(date(2026, 2, 10), date(2026, 2, 11), reached=False, held_days=0),)
    assert facts(task("task_completed", "2026-01-20")).undone == ()


def test_changes_count_from_their_effective_day_in_the_order_they_were_recorded() -> None:
    """As of a day, the value task stands as the last change recorded whose effective day (``--on``) is on or
    before that day left it."""
    # completed on the 20th; a reopen recorded later but backdated to the 18th: it was never done
    never = facts(task("task_completed", "2026-01-20"), task("task_reopened", "2026-01-18"))
    assert (never.value_on, never.undone) == (None, ())
    # completed on the 20th, reopened on the 25th, then a completion recorded with --on the 22nd: from the 22nd,
    # the later record stands (the 20th's stood for two days)
    redone = facts(
        task("task_completed", "2026-01-20"), task("task_reopened", "2026-01-25"), task("task_completed", "2026-01-22")
    )
    assert redone.value_on == date(2026, 1, 22)
    assert redone.undone == (UndoneClosure(date(2026, 1, 20), date(2026, 1, 22), reached=True, held_days=0),)
    # reopened and completed again on the same day: only the last record of that day stands
    same_day = facts(
        task("task_completed", "2026-01-20"), task("task_reopened", "2026-01-20"), task("task_completed", "2026-01-20")
    )
    assert (same_day.value_on, same_day.undone) == (date(2026, 1, 20), ())


@given(
    st.lists(
        st.tuples(st.sampled_from(["task_completed", "task_skipped", "task_reopened"]), st.integers(0, 12)),
        max_size=8,
    )
)
def test_the_facts_give_the_value_task_as_it_stood_on_every_day(changes: list[tuple[str, int]]) -> None:
    """Against the rule run by hand: as of day D, fold (in log order) only the changes whose day is on or
    before D. The facts (the state now and the values undone) must say the same for every day."""
    first = date(2026, 1, 10)
    f = facts(*(task(kind, (first + timedelta(days=d)).isoformat()) for kind, d in changes))
    assert all(u.closed_on < u.undone_on for u in f.undone)  # no empty stretch
    assert [u.closed_on for u in f.undone] == sorted({u.closed_on for u in f.undone})  # one a day, by day
    for d in range(-1, 14):
        day = first + timedelta(days=d)
        expected: tuple[str, date] | None = None
        for kind, on in changes:
            if on <= d:
                expected = None if kind == "task_reopened" else (kind, first + timedelta(days=on))
        standing = [u for u in f.undone if u.closed_on <= day < u.undone_on]
        assert len(standing) <= 1
        if standing:
            (u,) = standing
            found: tuple[str, date] | None = ("task_completed" if u.reached else "task_skipped", u.closed_on)
        elif f.value_on is not None and f.value_on <= day:
            found = ("task_completed", f.value_on)
        elif f.stopped_on is not None and f.stopped_on <= day:
            found = ("task_skipped", f.stopped_on)
        else:
            found = None
        assert found == expected, (changes, d)


def test_a_report_as_of_a_day_sees_the_value_that_stood_that_day() -> None:
    """A row for each stretch of days: one project reached value on 20 Jan, reopened 22 Jan, reached it again
    27 Jan; another had its value task skipped on 21 Jan and reopened on 23 Jan."""
    stretches = rows(
        {"start": "2026-01-05", "valid_until": "2026-01-20"},
        {"start": "2026-01-05", "value": "2026-01-20", "valid_from": "2026-01-20", "valid_until": "2026-01-22"},
        {"start": "2026-01-05", "value": "2026-01-27", "valid_from": "2026-01-22"},
        {"start": "2026-01-05", "valid_until": "2026-01-21"},
        {"start": "2026-01-05", "stopped": "2026-01-21", "valid_from": "2026-01-21", "valid_until": "2026-01-23"},
        {"start": "2026-01-05", "valid_from": "2026-01-23"},
    )
    counts = {}
    for day in ("2026-01-19", "2026-01-20", "2026-01-21", "2026-01-22", "2026-01-27"):
        g = ttfv_report(stretches, as_of=date.fromisoformat(day)).total
        counts[day] = (g.projects, g.reached, g.in_flight, g.stopped, g.reached_calendar_days)
    assert counts == {
        "2026-01-19": (2, 0, 2, 0, ()),
        "2026-01-20": (2, 1, 1, 0, (15,)),
        "2026-01-21": (2, 1, 0, 1, (15,)),
        "2026-01-22": (2, 0, 1, 1, ()),
        "2026-01-27": (2, 1, 1, 0, (22,)),
    }


def test_hold_days_count_from_the_held_day_up_to_the_resumed_day() -> None:
    f = facts(held("2026-01-10T15:00:00"), resumed("2026-01-15T15:00:00"), task("task_completed", "2026-01-20"))
    assert f.held_days == 5  # 10, 11, 12, 13, 14
    assert f.held_since is None


def test_hold_days_become_days_in_the_customer_time_zone_around_midnight() -> None:
    # 04:30 UTC on the 10th is 23:30 on the 9th in New York; 05:30 UTC on the 12th is 00:30 on the 12th.
    events = (held("2026-01-10T04:30:00"), resumed("2026-01-12T05:30:00"), task("task_completed", "2026-01-20"))
    assert facts(*events, timezone="America/New_York").held_days == 3  # 9, 10, 11
    assert facts(*events, timezone="UTC").held_days == 2  # 10, 11
    assert facts(*events, timezone="Asia/Tokyo").held_days == 2  # 10 13:30 -> 12 14:30


def test_hold_outside_the_ttfv_span_does_not_count() -> None:
    before = facts(held("2026-01-01T12:00:00"), resumed("2026-01-07T12:00:00"), task("task_completed", "2026-01-20"))
    assert before.held_days == 2  # only the 5th and 6th fall after the kickoff
    after = facts(task("task_completed", "2026-01-20"), held("2026-01-25T12:00:00"), resumed("2026-01-30T12:00:00"))
    assert after.held_days == 0


def test_an_open_hold_is_reported_with_its_first_day() -> None:
    f = facts(held("2026-01-10T23:30:00"), timezone="America/Los_Angeles")
    assert f.held_since == date(2026, 1, 10)
    f = facts(held("2026-01-11T03:00:00"), timezone="America/Los_Angeles")
    assert f.held_since == date(2026, 1, 10)


def test_start_events() -> None:
    created = ttfv_facts(
        [launched("2026-03-02T02:00:00")],
        value_task="v",
        start_event=StartEvent.project_created,
        kickoff_on=KICKOFF,
        timezone="America/Los_Angeles",
    )
    assert created.start_on == date(2026, 3, 1)  # 18:00 on the 1st in Los Angeles
    signed = ttfv_facts(
        [launched(contract_signed_on="2025-12-15")],
        value_task="v",
        start_event=StartEvent.contract_signed,
        kickoff_on=KICKOFF,
        timezone="UTC",
    )
    assert signed.start_on == date(2025, 12, 15)
    unknown = ttfv_facts(
        [launched()], value_task="v", start_event=StartEvent.contract_signed, kickoff_on=KICKOFF, timezone="UTC"
    )
    assert unknown.start_on is None


# -- Kaplan-Meier and business days ----------------------------------------------------------------------------------


def test_kaplan_meier_matches_the_curve_worked_by_hand() -> None:
    durations = np.array([5, 10, 10, 15, 20])
    reached = np.array([True, True, False, True, False])
    # day 5: 1 of 5 -> S = 0.8; day 10: 1 of 4 (one censored that day is still at risk) -> 0.6;
    # day 15: 1 of 2 -> 0.3; day 20: censored -> 0.3.
    assert kaplan_meier(durations, reached) == (
        KaplanMeierPoint(0, 0.0, 5),
        KaplanMeierPoint(5, pytest.approx(0.2), 5, 1, 0),  # type: ignore[arg-type]
        KaplanMeierPoint(10, pytest.approx(0.4), 4, 1, 1),  # type: ignore[arg-type]
        KaplanMeierPoint(15, pytest.approx(0.7), 2, 1, 0),  # type: ignore[arg-type]
        KaplanMeierPoint(20, pytest.approx(0.7), 1, 0, 1),  # type: ignore[arg-type]
    )


def test_kaplan_meier_with_value_on_day_zero_and_everyone_reached() -> None:
    curve = kaplan_meier(np.array([0, 0, 3]), np.array([True, False, True]))
    assert [(p.day, round(p.share_reached, 6), p.at_risk) for p in curve] == [(0, 0.333333, 3), (3, 1.0, 1)]


def test_business_days_on_the_customer_calendar() -> None:
    # Friday 16 January 2026 to Tuesday the 20th: Monday the 19th is Martin Luther King Jr. Day.
    starts = np.array(["2026-01-16", "2026-01-16", "2026-01-16", "2026-12-31"], dtype="datetime64[D]")
    ends = np.array(["2026-01-16", "2026-01-20", "2026-01-23", "2027-01-04"], dtype="datetime64[D]")
    assert business_days_between(US, starts, ends).tolist() == [0, 1, 4, 1]
    for start, end, got in zip(starts, ends, business_days_between(US, starts, ends), strict=True):
        day, count = start.item(), 0
        while day < end.item():
            day += timedelta(days=1)
            count += US.is_business_day(day)
        assert count == got


# -- the TTFV report -------------------------------------------------------------------------------------------------


def rows(*projects: dict[str, object]) -> TtfvRows:
    defaults: dict[str, object] = {
        "blueprint": "payroll",
        "version": "payroll@1.0.0",
        "segment": None,
        "owner": "Dana",
        "value": None,
        "stopped": None,
        "held_days": 0,
        "calendar": 0,
        "target": None,
        "business_days": None,
        "valid_from": None,
        "valid_until": None,
    }
    filled = [{**defaults, **p} for p in projects]
    return TtfvRows.build(**{name: [p[name] for p in filled] for name in TtfvRows.__dataclass_fields__})  # type: ignore[arg-type]


AS_OF = date(2026, 6, 1)


def test_quantiles_in_calendar_business_and_net_days() -> None:
    r = rows(
        {"start": "2026-01-05", "value": "2026-01-15", "held_days": 2},  # 10 calendar, 8 business (Mon..Thu+Mon..Thu)
        {"start": "2026-01-05", "value": "2026-01-25"},  # 20 calendar; 19th is a holiday: 13 business
        {"start": "2026-01-05", "value": "2026-02-04", "held_days": 4},  # 30
        {"start": "2026-01-05", "value": "2026-02-14"},  # 40
    )
    report = ttfv_report(r, as_of=AS_OF, calendars=[US])
    (group,) = report.groups
    assert group.key == ("payroll",)
    assert (group.projects, group.reached, group.in_flight, group.stopped) == (4, 4, 0, 0)
    assert group.calendar_days == Quantiles(25.0, 32.5, 37.0)
    assert group.reached_calendar_days == (10, 20, 30, 40)
    assert group.net_days == Quantiles(23.0, 29.5, pytest.approx(35.8))  # type: ignore[arg-type] # 8, 20, 26, 40
    # (5 Jan, 15 Jan]: 8; to Sunday 25 Jan: 13 (19 Jan is a holiday); to 4 Feb: 21; to Saturday 14 Feb: 28
    business = [8, 13, 21, 28]
    assert (
        business
        == business_days_between(
            US,
            np.array(["2026-01-05"] * 4, dtype="datetime64[D]"),
            np.array(["2026-01-15", "2026-01-25", "2026-02-04", "2026-02-14"], dtype="datetime64[D]"),
        ).tolist()
    )
    assert group.business_days == Quantiles(17.0, 22.75, pytest.approx(25.9))  # type: ignore[arg-type]
    assert report.total.calendar_days == group.calendar_days


def test_censored_projects_enter_kaplan_meier_not_the_quantiles() -> None:
    as_of = date(2026, 3, 2)
    r = rows(
        {"start": "2026-01-01", "value": "2026-01-21"},  # reached on day 20
        {"start": "2026-01-01", "value": "2026-02-20"},  # reached on day 50
        {"start": "2026-02-01"},  # in flight: censored on day 29 (as of 2 March)
        {"start": "2026-01-01", "stopped": "2026-01-11"},  # skipped: censored on day 10
        {"start": "2026-01-01", "value": "2026-04-01"},  # value after as_of: not yet, censored on day 60
        {"start": None},  # contract day unknown
    )
    report = ttfv_report(r, as_of=as_of)
    (group,) = report.groups
    assert (group.projects, group.reached, group.in_flight, group.stopped, group.unstarted) == (5, 2, 2, 1, 1)
    assert group.calendar_days.median == 35.0
    # day 10: censored (5 at risk); day 20: 1 of 4 -> S .75; day 29 censored; day 50: 1 of 2 -> .375; day 60 censored.
    assert [(p.day, p.share_reached, p.at_risk) for p in group.km_curve] == [
        (0, 0.0, 5),
        (10, 0.0, 5),
        (20, 0.25, 4),
        (29, 0.25, 3),
        (50, 0.625, 2),
        (60, 0.625, 1),
    ]
    assert [(w.days, w.share) for w in group.within] == [(30, 0.25), (60, 0.625), (90, None)]
    assert group.km_median_calendar_days == 50


def test_groups_by_several_dimensions_and_cohort_month() -> None:
    r = rows(
        {"start": "2026-01-05", "value": "2026-01-15", "segment": "smb"},
        {"start": "2026-01-20", "value": "2026-02-19", "segment": "smb"},
        {"start": "2026-02-02", "value": "2026-02-12", "segment": "enterprise", "blueprint": "hr"},
        {"start": "2026-02-03", "segment": None},
    )
    report = ttfv_report(r, as_of=AS_OF, dimensions=[Dimension.segment, Dimension.cohort_month])
    assert [(g.key, g.projects, g.reached) for g in report.groups] == [
        (("(none)", "2026-02"), 1, 0),
        (("enterprise", "2026-02"), 1, 1),
        (("smb", "2026-01"), 2, 2),
    ]
    smb = report.groups[2]
    assert smb.calendar_days.median == 20.0
    assert (report.total.projects, report.total.reached) == (4, 3)


def test_since_and_until_select_by_start_day() -> None:
    r = rows(
        {"start": "2026-01-05", "value": "2026-01-15"},
        {"start": "2026-02-01", "value": "2026-02-11"},
        {"start": "2026-03-01", "value": "2026-03-31"},
        {"start": None},
    )
    report = ttfv_report(r, as_of=AS_OF, since=date(2026, 2, 1), until=date(2026, 3, 1))
    assert report.total.reached_calendar_days == (10, 30)
    assert report.total.unstarted == 0


def test_target_and_projects_on_target() -> None:
    r = rows(
        {"start": "2026-01-05", "value": "2026-01-15", "target": 21},
        {"start": "2026-01-05", "value": "2026-01-26", "target": 21},
        {"start": "2026-01-05", "value": "2026-01-27", "target": 21},
    )
    (group,) = ttfv_report(r, as_of=AS_OF).groups
    assert (group.target_calendar_days, group.reached_on_target) == (21, 2)


def test_an_empty_report() -> None:
    report = ttfv_report(rows(), as_of=AS_OF)
    assert report.groups == ()
    assert report.total.projects == 0
    assert report.total.calendar_days == Quantiles()
    assert [w.share for w in report.total.within] == [None, None, None]


# -- portfolio -------------------------------------------------------------------------------------------------------


def ptask(key: str, **fields: object) -> PortfolioTask:
    values: dict[str, object] = {
        "title": key.title(),
        "milestone_key": "setup",
        "milestone_title": "Setup",
        "side": "vendor",
        "state": "pending",
        "started_on": None,
        "done_on": None,
        "target_due_on": date(2026, 2, 1),
    }
    return PortfolioTask(key, **{**values, **fields})  # type: ignore[arg-type]


def project(pid: str, tasks: tuple[PortfolioTask, ...], **fields: object) -> PortfolioProject:
    values: dict[str, object] = {
        "external_id": None,
        "customer": pid.title(),
        "blueprint_key": "payroll",
        "owner": "Dana",
        "state": "active",
        "kickoff_on": date(2026, 1, 5),
        "committed_go_live_on": date(2026, 4, 1),
        "projected_go_live_on": date(2026, 4, 1),
    }
    return PortfolioProject(pid, tasks=tasks, **{**values, **fields})  # type: ignore[arg-type]


def test_portfolio_figures() -> None:
    as_of = date(2026, 3, 1)
    on_time = project(
        "a",
        (
            ptask(
                "setup",
                state="done",
                started_on=date(2026, 1, 5),
                done_on=date(2026, 1, 8),
                target_due_on=date(2026, 1, 6),
            ),
            ptask(
                "go_live",
                launch=True,
                state="done",
                started_on=date(2026, 3, 31),
                done_on=date(2026, 3, 31),
                target_due_on=date(2026, 3, 31),
                predecessors=("setup",),
            ),
        ),
        state="completed",
    )
    late = project(
        "b",
        (
            ptask(
                "data",
                side="customer",
                milestone_key="data",
                milestone_title="Data",
                state="done",
                started_on=date(2026, 1, 12),
                done_on=date(2026, 1, 30),
                target_due_on=date(2026, 1, 20),
            ),
            ptask(
                "go_live",
                launch=True,
                state="done",
                started_on=date(2026, 4, 3),
                done_on=date(2026, 4, 3),
                target_due_on=date(2026, 4, 1),
                predecessors=("data",),
            ),
        ),
        state="completed",
    )
    risky = project(
        "c",
        (
            ptask(
                "data",
                side="customer",
                milestone_key="data",
                milestone_title="Data",
                state="in_progress",
                started_on=date(2026, 2, 1),
                target_due_on=date(2026, 2, 20),
            ),
            ptask("config", state="blocked", blocked_since=date(2026, 2, 25), target_due_on=date(2026, 3, 10)),
        ),
        projected_go_live_on=date(2026, 4, 15),
    )
    fine = project("d", (ptask("setup", target_due_on=date(2026, 3, 5)),))
    held = project(
        "e", (ptask("setup", target_due_on=date(2026, 3, 5)),), state="on_hold", held_since=date(2026, 2, 20)
    )
    report = portfolio_report([on_time, late, risky, fine, held], as_of=as_of)

    assert (report.projects, report.active) == (5, 3)
    assert (report.on_time.went_live, report.on_time.on_time, report.on_time.late) == (2, 1, 1)
    assert report.on_time.rate == 0.5
    assert [
        (r.project_id, r.reasons, r.days_past_window, r.overdue_customer_tasks, r.days_blocked) for r in report.at_risk
    ] == [
        ("c", (RiskReason.window, RiskReason.overdue_customer, RiskReason.blocked), 14, 1, 4),
        ("e", (RiskReason.blocked,), 0, 0, 9),
    ]
    # slips: a.setup 2 (vendor), b.data 10 (customer), b.go_live 2 (vendor), c.data 9 open past 20 Feb (customer)
    assert [(b.key, b.projects, b.slip_days, b.max_slip_days) for b in report.bottleneck_tasks] == [
        ("data", 2, 19, 10),
        ("go_live", 1, 2, 2),
        ("setup", 1, 2, 2),
    ]
    assert [(b.key, b.projects, b.slip_days) for b in report.bottleneck_milestones] == [
        ("data", 2, 19),
        ("setup", 2, 4),
    ]
    assert [(s.side, s.tasks, s.slip_days) for s in report.slip_by_side] == [("customer", 2, 19), ("vendor", 2, 4)]
    assert report.slip_by_side[0].share == pytest.approx(19 / 23)
    # waits: a.setup 0 (from the kickoff), a.go_live 82 (8 Jan -> 31 Mar), b.data 7 (5 -> 12 Jan),
    # b.go_live 63 (30 Jan -> 3 Apr), c.data 27 (5 Jan -> 1 Feb); c.config and the pending tasks have not started.
    waits = {w.side: w for w in report.wait_before_start}
    assert (waits["customer"].tasks, waits["customer"].days.median) == (2, 17.0)
    assert (waits["vendor"].tasks, waits["vendor"].days.median) == (3, 63.0)
    assert waits["all"].tasks == 5


def test_grouped_observations_give_the_figures_of_the_projects_they_stand_for() -> None:
    rng = np.random.default_rng(11)
    n = 400
    starts = np.datetime64("2026-01-01") + rng.integers(0, 90, n)
    reached = rng.random(n) < 0.6
    values = np.where(reached, starts + rng.integers(0, 50, n), np.datetime64("NaT"))
    r = rows(
        *(
            {"start": str(s), "value": None if np.isnat(v) else str(v), "held_days": int(h)}
            for s, v, h in zip(starts, values, rng.integers(0, 3, n), strict=True)
        )
    )
    one_by_one = observe(r, as_of=date(2026, 4, 15), calendars=[US])
    fields = ("started", "reached", "stopped", "days", "business_days", "net_days", "target")
    table = np.stack([getattr(one_by_one, f).astype(np.int64) for f in fields], axis=1)
    distinct, counts = np.unique(table, axis=0, return_counts=True)
    grouped = TtfvObservations(
        keys={Dimension.blueprint: np.array(["payroll"] * len(distinct))},
        **{f: distinct[:, i].astype(bool if i < 3 else np.int64) for i, f in enumerate(fields)},
        count=counts.astype(np.int64),
    )
    assert len(grouped) < n
    expected = ttfv_report(one_by_one, as_of=date(2026, 4, 15))
    assert ttfv_report(grouped, as_of=date(2026, 4, 15)) == expected
    plain = one_by_one.days[one_by_one.reached]
    assert expected.total.calendar_days == Quantiles(*(float(q) for q in np.quantile(plain, [0.5, 0.75, 0.9])))
