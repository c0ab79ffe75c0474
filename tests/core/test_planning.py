"""The date rules of DESIGN §3, case by case, and as properties against a naive oracle."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from onboarding.core.checks import check_blueprint
from onboarding.core.graph import compile_blueprint
from onboarding.core.lifecycle import TaskProgress, TaskState
from onboarding.core.payroll import parse_pay_schedule
from onboarding.core.planning import Plan, plan_project, planned_dates
from onboarding.errors import NoSafeLaunch
from tests.conftest import blueprint_data
from tests.core.oracle import NaiveCalendar, naive_forward

D = date.fromisoformat


def plan(tasks: list[dict[str, Any]], kickoff: str, **extra: Any) -> Plan:
    pay = extra.pop("pay", None)
    bp = check_blueprint(blueprint_data(tasks, **extra))
    return plan_project(bp, kickoff_on=D(kickoff), pay_schedule=parse_pay_schedule(pay) if pay else None)


def dates(p: Plan, key: str) -> tuple[str, str]:
    t = p.task(key)
    return t.start_on.isoformat(), t.due_on.isoformat()


def task(key: str, days: int | None = 1, owner: str = "engineer", **more: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "title": key, "owner": owner, **more}
    if days is not None:
        out["duration_business_days"] = days
    return out


# -- durations and kickoff -------------------------------------------------------------


def test_one_day_task_is_due_the_day_it_starts() -> None:
    p = plan([task("a", 1)], "2026-12-07")
    assert dates(p, "a") == ("2026-12-07", "2026-12-07")


def test_multi_day_task_skips_weekends_and_holidays() -> None:
    # Thu 2026-12-24, Fri 12-25 Christmas, weekend, Mon 12-28
    p = plan([task("a", 3)], "2026-12-23")
    assert dates(p, "a") == ("2026-12-23", "2026-12-28")


def test_kickoff_on_a_weekend_starts_on_the_next_business_day() -> None:
    p = plan([task("a", 1)], "2026-12-05")
    assert dates(p, "a") == ("2026-12-07", "2026-12-07")


def test_checkpoint_without_dependencies_is_due_on_the_kickoff_business_day() -> None:
    p = plan([task("gate", None, kind="checkpoint")], "2026-12-06")
    assert dates(p, "gate") == ("2026-12-07", "2026-12-07")


# -- dependency types ------------------------------------------------------------------


def test_finish_to_start_starts_the_next_business_day() -> None:
    p = plan([task("a", 1), task("b", 2, depends_on=["a"])], "2026-12-04")  # Friday
    assert dates(p, "b") == ("2026-12-07", "2026-12-08")


def test_finish_to_start_lag_counts_business_days() -> None:
    dep = {"task": "a", "type": "FS", "lag_business_days": 2}
    p = plan([task("a", 1), task("b", 1, depends_on=[dep])], "2026-12-04")
    assert dates(p, "b") == ("2026-12-09", "2026-12-09")  # Mon 7 is the 1st day after, Wed 9 the 3rd


def test_finish_to_start_lead_of_one_starts_the_same_day() -> None:
    dep = {"task": "a", "type": "FS", "lag_business_days": -1}
    p = plan([task("a", 3), task("b", 1, depends_on=[dep])], "2026-12-07")
    assert dates(p, "b") == ("2026-12-09", "2026-12-09")


def test_start_to_start_with_lag() -> None:
    dep = {"task": "a", "type": "SS", "lag_business_days": 2}
    p = plan([task("a", 5), task("b", 1, depends_on=[dep])], "2026-12-10")  # Thu
    assert dates(p, "b") == ("2026-12-14", "2026-12-14")


def test_finish_to_finish_pushes_the_due_date_and_the_start_with_it() -> None:
    dep = {"task": "a", "type": "FF", "lag_business_days": 1}
    p = plan([task("a", 5), task("b", 2, depends_on=[dep])], "2026-12-07")
    # a: Mon 7 .. Fri 11; b due no earlier than Mon 14, so b runs Fri 11 .. Mon 14
    assert dates(p, "b") == ("2026-12-11", "2026-12-14")


def test_start_to_finish() -> None:
    dep = {"task": "a", "type": "SF", "lag_business_days": 3}
    p = plan([task("a", 1, depends_on=["z"]), task("z", 4), task("b", 1, depends_on=[dep])], "2026-12-07")
    assert dates(p, "a") == ("2026-12-11", "2026-12-11")
    assert dates(p, "b") == ("2026-12-16", "2026-12-16")


def test_checkpoint_is_reached_on_the_latest_predecessor_and_successors_follow() -> None:
    tasks = [
        task("a", 2),
        task("b", 4),
        task("gate", None, kind="checkpoint", depends_on=["a", "b"]),
        task("c", 1, depends_on=["gate"]),
    ]
    p = plan(tasks, "2026-12-07")
    assert dates(p, "gate") == ("2026-12-10", "2026-12-10")
    assert dates(p, "c") == ("2026-12-11", "2026-12-11")


def test_checkpoint_counts_from_the_last_business_day_on_or_before() -> None:
    # vendor task due Fri 2026-07-03 (banks' and GB's business day); the customer's
    # US office calendar observes Independence Day that Friday, so a customer checkpoint
    # FS-after it is reached on Thu 07-02; with lag 1 on Mon 07-06.
    tasks = [
        task("a", 3),
        task("gate", None, owner="admin", kind="checkpoint", depends_on=["a"]),
        task(
            "gate2",
            None,
            owner="admin",
            kind="checkpoint",
            depends_on=[{"task": "a", "type": "FS", "lag_business_days": 1}],
        ),
    ]
    p = plan(tasks, "2026-07-01", vendor={"country": "GB", "subdivision": "ENG"})
    assert dates(p, "a") == ("2026-07-01", "2026-07-03")
    assert dates(p, "gate") == ("2026-07-02", "2026-07-02")
    assert dates(p, "gate2") == ("2026-07-06", "2026-07-06")


def test_checkpoint_is_not_reached_before_the_kickoff_business_day() -> None:
    tasks = [task("a", 1), task("gate", None, owner="admin", kind="checkpoint", depends_on=["a"])]
    p = plan(tasks, "2026-07-03", vendor={"country": "GB", "subdivision": "ENG"})
    assert dates(p, "a") == ("2026-07-03", "2026-07-03")
    assert dates(p, "gate") == ("2026-07-06", "2026-07-06")


def test_no_task_starts_before_kickoff_even_with_a_lead() -> None:
    dep = {"task": "a", "type": "SS", "lag_business_days": -5}
    p = plan([task("a", 1), task("b", 1, depends_on=[dep])], "2026-12-07")
    assert dates(p, "b") == ("2026-12-07", "2026-12-07")


def test_milestone_dependency_waits_for_every_task_of_the_milestone() -> None:
    milestones = [
        {"key": "m1", "title": "M1", "tasks": [task("a", 1), task("b", 3)]},
        {"key": "m2", "title": "M2", "tasks": [task("c", 1, depends_on=[{"milestone": "m1"}])]},
    ]
    bp = check_blueprint(blueprint_data([], milestones=milestones))
    graph = compile_blueprint(bp)
    assert sorted(e.predecessor for e in graph.predecessors["c"]) == ["a", "b"]
    p = plan_project(bp, kickoff_on=D("2026-12-07"))
    assert dates(p, "c") == ("2026-12-10", "2026-12-10")
    assert [(m.key, m.start_on.isoformat(), m.due_on.isoformat()) for m in p.milestones] == [
        ("m1", "2026-12-07", "2026-12-09"),
        ("m2", "2026-12-10", "2026-12-10"),
    ]


# -- calendars -------------------------------------------------------------------------


def test_each_side_runs_on_its_own_calendar() -> None:
    # Mon 2026-12-28 is a UK bank holiday (Boxing Day observed), a US business day.
    tasks = [task("vendor_work", 2), task("customer_work", 2, owner="admin")]
    p = plan(tasks, "2026-12-24", vendor={"country": "GB", "subdivision": "ENG"}, customer={"country": "US"})
    assert dates(p, "vendor_work") == ("2026-12-24", "2026-12-29")
    assert dates(p, "customer_work") == ("2026-12-24", "2026-12-28")


def test_lags_count_on_the_successor_calendar() -> None:
    # vendor (GB) task due Thu 2026-07-02; customer (US) successor: Fri 07-03 is the
    # observed Independence Day for offices, so it starts Mon 07-06.
    tasks = [task("a", 1), task("b", 1, owner="admin", depends_on=["a"])]
    p = plan(tasks, "2026-07-02", vendor={"country": "GB", "subdivision": "ENG"})
    assert dates(p, "b") == ("2026-07-06", "2026-07-06")


def test_extra_closed_days_apply_to_their_calendar_only() -> None:
    tasks = [task("a", 2), task("b", 2, owner="admin")]
    p = plan(tasks, "2026-12-07", vendor={"country": "US", "closed_days": [{"day": "2026-12-08", "reason": "offsite"}]})
    assert dates(p, "a") == ("2026-12-07", "2026-12-09")
    assert dates(p, "b") == ("2026-12-07", "2026-12-08")


# -- backward pass ---------------------------------------------------------------------


def test_slack_and_critical_path() -> None:
    tasks = [
        task("a", 2),
        task("b", 5, depends_on=["a"]),
        task("c", 1, depends_on=["a"]),
        task("d", 1, depends_on=["b", "c"]),
    ]
    p = plan(tasks, "2026-12-07")
    crit = {t.task.key for t in p.tasks if t.critical}
    assert crit == {"a", "b", "d"}
    assert p.task("c").slack_business_days == 4
    assert p.task("c").late_due_on == D("2026-12-15")


def test_backward_pass_inverts_mixed_calendars_exactly() -> None:
    # vendor (GB) a is due Fri 2026-07-03 at the latest: the US customer successor
    # b starting Mon 07-06 still follows it (Fri is a US office holiday).
    tasks = [task("a", 1), task("b", 1, owner="admin", depends_on=["a"]), task("long", 4, owner="admin")]
    p = plan(tasks, "2026-07-01", vendor={"country": "GB", "subdivision": "ENG"})
    assert dates(p, "b") == ("2026-07-02", "2026-07-02")
    assert p.finish_on == D("2026-07-07")
    assert p.task("b").late_start_on == D("2026-07-07")
    assert p.task("a").late_due_on == D("2026-07-06")
    assert p.task("long").critical


# -- launch windows --------------------------------------------------------------------

PAYROLL_ROLES_TASKS = [
    task("prep", 3),
    task("bank", 1, owner="admin"),
    task("run1", 1, depends_on=["prep"]),
    task("run2", 1, depends_on=["run1"]),
    task("go_live", None, owner="admin", kind="checkpoint", launch=True, depends_on=["run2", "bank"]),
    task("hypercare", 5, depends_on=["go_live"]),
]


def payroll_window(**more: Any) -> dict[str, Any]:
    return {"kind": "payroll_system", "accept": "year_start", "weekdays": ["mon", "tue", "wed", "thu", "fri"], **more}


def test_year_start_go_live_skips_the_payday_rolled_into_the_old_year() -> None:
    p = plan(
        [task("prep", 2), task("go_live", None, owner="admin", kind="checkpoint", launch=True, depends_on=["prep"])],
        "2026-12-21",
        launch_window=payroll_window(),
        pay="biweekly:2026-01-02",
    )
    go = p.go_live
    assert go is not None
    assert go.chosen_on == D("2027-01-15")
    assert go.check_date_class == "year_start"
    assert not go.balance_conversion_needed
    first = go.rejected[0]
    assert first.on == D("2026-12-31") and first.scheduled_on == D("2027-01-01")
    assert "rolled to 2026-12-31, counts for 2026" in first.reason
    assert p.task("go_live").task.calendar.value == "settlement"
    assert dates(p, "go_live") == ("2027-01-15", "2027-01-15")


def test_prerequisites_are_placed_backwards_from_go_live() -> None:
    window = payroll_window(
        accept="quarter_start",
        submission_lead_banking_days=2,
        prerequisites=[
            {"task": "bank", "banking_days_before": 10},
            {"task": "run1", "pay_cycles_before": 2},
            {"task": "run2", "pay_cycles_before": 1},
        ],
    )
    p = plan(PAYROLL_ROLES_TASKS, "2026-12-07", launch_window=window, pay="biweekly:2026-01-02")
    go = p.go_live
    assert go is not None
    # 2027-01-15 needs run1 on the 2026-12-18 payroll's submission day (Wed 12-16):
    # prep (3 days from Mon 12-07) ends Wed 12-09, run1 could be done Thu 12-10: fits.
    assert go.chosen_on == D("2027-01-15")
    assert dates(p, "run1") == ("2026-12-16", "2026-12-16")
    assert dates(p, "run2") == ("2026-12-29", "2026-12-29")  # 2 banking days before Thu 12-31
    # bank must be done 10 banking days before Fri 01-15 (New Year is a bank holiday): Thu 12-31
    assert p.task("bank").late_due_on == D("2026-12-31")
    assert p.task("run1").critical and p.task("run2").critical
    # hypercare follows go-live on the vendor calendar: Mon 01-18 is Martin Luther King Jr. Day
    assert dates(p, "hypercare") == ("2027-01-19", "2027-01-25")


def test_beside_payroll_avoids_paydays_and_processing_days() -> None:
    window = {"kind": "beside_payroll", "processing_banking_days": 2, "avoid_business_days_after": 1}
    tasks = [task("setup", 1), task("go_live", 1, owner="admin", launch=True, depends_on=["setup"])]
    p = plan(tasks, "2027-01-12", launch_window=window, pay="biweekly:2026-01-02")
    go = p.go_live
    assert go is not None
    # earliest Wed 01-13: processing for Fri 01-15 (cut-off Wed 01-13); 01-14 processing;
    # 01-15 payday; Mon 01-18 MLK (closed); Tue 01-19 is 1 business day after: avoided.
    assert [r.on.isoformat() for r in go.rejected] == ["2027-01-13", "2027-01-14", "2027-01-15", "2027-01-19"]
    assert go.chosen_on == D("2027-01-20")
    assert "payday" in go.rejected[2].reason


def test_blackouts_weekdays_and_horizon() -> None:
    window = {
        "kind": "beside_payroll",
        "processing_banking_days": 0,
        "weekdays": ["tue", "wed"],
        "blackouts": [
            {"reason": "year-end freeze", "every_year_from": "12-15", "every_year_to": "01-08"},
            {"reason": "audit", "from": "2027-01-12", "to": "2027-01-13"},
        ],
    }
    tasks = [task("go_live", 1, owner="admin", launch=True)]
    p = plan(tasks, "2026-12-14", launch_window=window, pay="monthly:last")
    go = p.go_live
    assert go is not None
    assert go.chosen_on == D("2027-01-19")
    reasons = {r.on.isoformat(): r.reason for r in go.rejected}
    assert "year-end freeze" in reasons["2026-12-15"]
    assert "not an allowed go-live weekday" in reasons["2026-12-14"]
    assert "audit" in reasons["2027-01-12"]


def test_quarter_end_blackout() -> None:
    window = {
        "kind": "beside_payroll",
        "processing_banking_days": 0,
        "blackouts": [
            {"reason": "quarter close", "quarter_end_banking_days_before": 2, "quarter_end_banking_days_after": 1}
        ],
    }
    tasks = [task("go_live", 1, owner="admin", launch=True)]
    p = plan(tasks, "2027-03-29", launch_window=window, pay="monthly:15")
    go = p.go_live
    assert go is not None
    # last banking day of Q1 2027: Wed 03-31; blackout Mon 03-29 .. Thu 04-01
    assert [r.on.isoformat() for r in go.rejected] == ["2027-03-29", "2027-03-30", "2027-03-31", "2027-04-01"]
    assert go.chosen_on == D("2027-04-02")


def test_no_safe_launch_lists_every_rejected_candidate() -> None:
    from onboarding.errors import NoSafeLaunch

    window = {"kind": "payroll_system", "accept": "year_start", "weekdays": ["sat"], "horizon_calendar_days": 60}
    tasks = [task("go_live", None, owner="admin", kind="checkpoint", launch=True)]
    with pytest.raises(NoSafeLaunch) as info:
        plan(tasks, "2026-12-07", launch_window=window, pay="biweekly:2026-01-02")
    (problem,) = info.value.problems
    assert problem.code == "no-safe-launch"
    assert len(problem.detail) >= 3


# -- properties against the naive oracle ------------------------------------------------

CALENDARS = [
    {"country": "US"},
    {"country": "US", "subdivision": "CA"},
    {"country": "GB", "subdivision": "ENG"},
    {"country": "DE", "subdivision": "BY"},
]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[dict[str, Any], date]:
    n = draw(st.integers(1, 12))
    tasks = []
    for i in range(n):
        checkpoint = draw(st.booleans()) and draw(st.booleans())
        deps = []
        if i:
            for p in sorted(set(draw(st.lists(st.integers(0, i - 1), max_size=3)))):
                deps.append(
                    {
                        "task": f"t{p}",
                        "type": draw(st.sampled_from(["FS", "SS", "FF", "SF"])),
                        "lag_business_days": draw(st.integers(-3, 6)),
                    }
                )
        t = {
            "key": f"t{i}",
            "title": f"task {i}",
            "owner": draw(st.sampled_from(["engineer", "admin"])),
            "depends_on": deps,
        }
        if checkpoint:
            t["kind"] = "checkpoint"
        else:
            t["duration_business_days"] = draw(st.integers(1, 7))
        tasks.append(t)
    vendor = draw(st.sampled_from(CALENDARS))
    customer = draw(st.sampled_from(CALENDARS))
    kickoff = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)))
    return blueprint_data(tasks, vendor=vendor, customer=customer), kickoff


def naive_calendars(data: dict[str, Any]) -> dict[str, NaiveCalendar]:
    return {side: NaiveCalendar(spec["country"], spec.get("subdivision")) for side, spec in data["calendars"].items()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_plan_matches_the_naive_oracle(case: tuple[dict[str, Any], date]) -> None:
    data, kickoff = case
    bp = check_blueprint(data)
    p = plan_project(bp, kickoff_on=kickoff)
    cals = naive_calendars(data)
    side = {k: v["side"] for k, v in data["roles"].items()}
    flat = [
        {
            "key": t["key"],
            "calendar": side[t["owner"]],
            "duration": t.get("duration_business_days", 0),
            "deps": [(d["task"], d["type"], d["lag_business_days"]) for d in t["depends_on"]],
        }
        for t in data["milestones"][0]["tasks"]
    ]
    expected = naive_forward(flat, cals, kickoff)
    for t in p.tasks:
        assert (t.start_on, t.due_on) == expected[t.task.key], t.task.key


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_every_date_is_a_business_day_and_every_dependency_holds(case: tuple[dict[str, Any], date]) -> None:
    data, kickoff = case
    p = plan_project(check_blueprint(data), kickoff_on=kickoff)
    cals = naive_calendars(data)
    planned = {t.task.key: t for t in p.tasks}
    for t in p.tasks:
        c = cals[t.task.calendar.value]
        for day in (t.start_on, t.due_on, t.late_start_on, t.late_due_on):
            assert c.open(day), (t.task.key, day)
        assert t.start_on >= kickoff
        assert t.slack_business_days >= 0
        assert t.late_start_on >= t.start_on
        d = t.task.duration_business_days
        assert t.due_on == (t.start_on if d == 0 else c.business_days_from(t.start_on, d))
        # the late dates respect every dependency too
        for e in p.graph.predecessors[t.task.key]:
            pred = planned[e.predecessor]
            for early in (False, True):
                ps, pd = (pred.start_on, pred.due_on) if early else (pred.late_start_on, pred.late_due_on)
                s, du = (t.start_on, t.due_on) if early else (t.late_start_on, t.late_due_on)
                anchor = pd if e.type.value in ("FS", "FF") else ps
                if d == 0:
                    assert du >= c.from_last_open(anchor, e.lag_business_days)
                elif e.type.value == "FS":
                    assert s >= c.nth_after(anchor, 1 + e.lag_business_days)
                elif e.type.value == "SS":
                    assert s >= c.nth_after(anchor, e.lag_business_days)
                else:
                    assert du >= c.nth_after(anchor, e.lag_business_days)
    # critical tasks exist and the finish is the latest due date
    assert p.finish_on == max(t.due_on for t in p.tasks)
    assert any(t.critical and t.due_on == p.finish_on for t in p.tasks)


def with_go_live(tasks: list[dict[str, Any]]) -> None:
    """A go-live checkpoint appended after every task."""
    tasks.append(
        {
            "key": "go_live",
            "title": "Go-live",
            "owner": "admin",
            "kind": "checkpoint",
            "launch": True,
            "depends_on": [t["key"] for t in tasks],
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    graphs(),
    st.sampled_from(
        [
            "biweekly:2026-01-02",
            "weekly:2026-01-09",
            "semimonthly:15,last",
            "monthly:last",
            "semimonthly:1,15:following",
        ]
    ),
    st.sampled_from(["payroll_system", "beside_payroll"]),
)
def test_go_live_is_never_in_a_blackout_and_on_an_allowed_weekday(
    case: tuple[dict[str, Any], date], pay: str, kind: str
) -> None:
    data, kickoff = case
    with_go_live(data["milestones"][0]["tasks"])
    data["launch_window"] = {
        "kind": kind,
        **({"accept": "any_check_date"} if kind == "payroll_system" else {}),
        "weekdays": ["mon", "tue", "wed", "thu", "fri"],
        "blackouts": [
            {"reason": "freeze", "every_year_from": "12-15", "every_year_to": "01-05"},
            {"reason": "close", "quarter_end_banking_days_before": 3, "quarter_end_banking_days_after": 2},
        ],
    }
    p = plan_project(check_blueprint(data), kickoff_on=kickoff, pay_schedule=parse_pay_schedule(pay))
    go = p.go_live
    assert go is not None
    day = go.chosen_on
    assert day >= go.earliest_on
    assert day.weekday() < 5
    assert not ((day.month, day.day) >= (12, 15) or (day.month, day.day) <= (1, 5))
    assert p.task("go_live").due_on == day
    paid = {d.paid_on for d in p.pay_dates}
    if kind == "payroll_system":
        assert day in paid
    else:
        assert day not in paid
    assert all(r.on < day for r in go.rejected)


def test_compile_is_deterministic() -> None:
    from pathlib import Path

    from onboarding.adapters.blueprint_files import read_blueprint

    path = Path(__file__).parents[2] / "blueprints" / "payroll-implementation.yaml"
    first = compile_blueprint(read_blueprint(path).blueprint)
    second = compile_blueprint(read_blueprint(path).blueprint)
    assert first.order == second.order
    assert first.predecessors == second.predecessors


def test_ancestors_are_the_tasks_whose_descendants_hold_it() -> None:
    from pathlib import Path

    from onboarding.adapters.blueprint_files import read_blueprint

    for path in sorted((Path(__file__).parents[2] / "blueprints").glob("*.yaml")):
        graph = compile_blueprint(read_blueprint(path).blueprint)
        keys = [t.key for t in graph.tasks]
        for key in keys:
            assert graph.ancestors(key) == {k for k in keys if key in graph.descendants(k)}, (path.name, key)
        launch = graph.launch_task
        assert launch is None or len(graph.ancestors(launch.key)) > 1


def test_a_deadline_prerequisite_pushed_late_by_pinned_runs_rejects_the_candidate() -> None:
    # Prenotes waiting on the variance sign-off, which follows the pinned parallel runs:
    # a candidate whose prenote deadline falls before that is refused, not planned late.
    from pathlib import Path

    from onboarding.adapters.blueprint_files import parse_blueprint_text

    text = (Path(__file__).parents[2] / "blueprints" / "payroll-implementation.yaml").read_text()
    text = text.replace(
        "        kind: automated\n        duration_business_days: 1\n        depends_on: [validate_employee_data]",
        "        kind: automated\n        duration_business_days: 1\n        depends_on: [variance_sign_off]",
    )
    from onboarding.errors import NoSafeLaunch

    loaded = parse_blueprint_text(text, source="modified")
    # The prenotes then always come too late: 10 banking days before go-live falls before the
    # second parallel run's sign-off. No date works, and the trace says why.
    with pytest.raises(NoSafeLaunch) as info:
        plan_project(
            loaded.blueprint, kickoff_on=D("2026-12-07"), pay_schedule=parse_pay_schedule("biweekly:2026-01-02")
        )
    (problem,) = info.value.problems
    assert any(
        line.startswith("2027-04-09: direct_deposit_prenotes could not be done by 2027-03-26")
        for line in problem.detail
    )
    # With 3 banking days the same blueprint plans, every deadline kept and no negative slack.
    loaded = parse_blueprint_text(
        text.replace(
            "{task: direct_deposit_prenotes, banking_days_before: 10}",
            "{task: direct_deposit_prenotes, banking_days_before: 3}",
        ),
        source="modified",
    )
    p = plan_project(
        loaded.blueprint, kickoff_on=D("2026-12-07"), pay_schedule=parse_pay_schedule("biweekly:2026-01-02")
    )
    go = p.go_live
    assert go is not None
    assert all(t.slack_business_days >= 0 for t in p.tasks)
    for key, deadline in go.deadlines.items():
        assert p.task(key).due_on <= deadline, key


def test_a_launch_task_without_a_window_goes_live_at_its_earliest_finish() -> None:
    p = plan([task("a", 3), task("go", 1, owner="admin", launch=True, depends_on=["a"])], "2026-12-07")
    go = p.go_live
    assert go is not None and go.kind == "unconstrained"
    assert go.chosen_on == go.earliest_on == D("2026-12-10")
    assert go.rejected == ()


def test_kickoff_far_outside_the_calendars_is_a_clear_error() -> None:
    from onboarding.errors import PlanInputInvalid

    with pytest.raises(PlanInputInvalid) as info:
        plan([task("a", 1)], "9999-12-31")
    assert info.value.codes == ["kickoff-out-of-range"]


# -- "not before today": when it moves nothing, the re-forecast is the plan from the actual dates -------------


@st.composite
def under_way(draw: st.DrawFn) -> tuple[dict[str, Any], date, dict[str, TaskProgress], date, str | None]:
    """A random graph, perhaps with a launch window (and prerequisites placed before its go-live), some of its
    work finished or started (a start before the kickoff too, as a forced date records it), and a day to re-plan
    from: before the kickoff, or up to half a year after."""
    data, kickoff = draw(graphs())
    tasks = data["milestones"][0]["tasks"]
    pay: str | None = None
    window = draw(st.sampled_from([None, "payroll_system", "beside_payroll"]))
    if window is not None:
        with_go_live(tasks)
        data["launch_window"] = {
            "kind": window,
            **({"accept": "any_check_date"} if window == "payroll_system" else {}),
            "weekdays": ["tue", "wed", "thu"],
            "blackouts": [{"reason": "freeze", "every_year_from": "12-15", "every_year_to": "01-05"}],
        }
        if window == "payroll_system":
            keys = draw(st.lists(st.sampled_from([t["key"] for t in tasks[:-1]]), unique=True, max_size=2))
            data["launch_window"]["prerequisites"] = [
                {"task": key, "banking_days_before": draw(st.integers(1, 12))}
                if draw(st.booleans())
                else {"task": key, "pay_cycles_before": draw(st.integers(1, 2))}  # a parallel run, pinned
                for key in keys
            ]
        pay = draw(st.sampled_from(["biweekly:2026-01-02", "semimonthly:15,last", "monthly:last"]))
    today = kickoff + timedelta(days=draw(st.integers(-10, 180)))
    progress: dict[str, TaskProgress] = {}
    for t in tasks:
        state = draw(st.sampled_from(["pending", "pending", "in_progress", "done", "skipped"]))
        if state == "pending":
            continue
        started = kickoff + timedelta(days=draw(st.integers(-5, max((today - kickoff).days, -5))))
        if state == "in_progress":
            progress[t["key"]] = TaskProgress(TaskState.in_progress, started_on=started)
        else:
            done = started + timedelta(days=draw(st.integers(0, 20)))
            progress[t["key"]] = TaskProgress(TaskState(state), started_on=started, done_on=done)
    return data, kickoff, progress, today, pay


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(under_way())
def test_a_re_forecast_today_holds_back_nothing_is_the_plan_from_the_actual_dates(
    case: tuple[dict[str, Any], date, dict[str, TaskProgress], date, str | None],
) -> None:
    """``Plan.held_by_today`` false: re-planning without "nothing not yet started starts before today" gives the
    same plan (dates, slack, go-live and the pay-cycle pins), so a re-forecast may take it as its targets."""
    data, kickoff, progress, today, pay = case
    bp = check_blueprint(data)
    schedule = parse_pay_schedule(pay) if pay else None
    try:
        forecast = plan_project(bp, kickoff_on=kickoff, pay_schedule=schedule, progress=progress, today=today)
    except NoSafeLaunch:
        return
    event("held by today" if forecast.held_by_today else "held by nothing")
    if forecast.held_by_today:
        return
    actual = plan_project(bp, kickoff_on=kickoff, pay_schedule=schedule, progress=progress)
    assert actual.tasks == forecast.tasks
    assert actual.finish_on == forecast.finish_on
    if forecast.go_live is not None:
        assert actual.go_live is not None
        assert (actual.go_live.chosen_on, actual.go_live.pins) == (forecast.go_live.chosen_on, forecast.go_live.pins)
    assert not actual.held_by_today  # without a today, nothing is held by it


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(under_way(), st.booleans())
def test_the_dates_alone_are_the_whole_plans_dates(
    case: tuple[dict[str, Any], date, dict[str, TaskProgress], date, str | None], with_today: bool
) -> None:
    """``planned_dates`` (what a re-forecast's targets, the search for how long its go-live holds and a status
    email's dates read) gives each task the start and due date the whole plan gives it, the same go-live and the
    same ``held_by_today``, and refuses what the whole plan refuses."""
    data, kickoff, progress, today, pay = case
    bp = check_blueprint(data)
    inputs: dict[str, Any] = {
        "kickoff_on": kickoff,
        "pay_schedule": parse_pay_schedule(pay) if pay else None,
        "progress": progress,
        "today": today if with_today else None,
    }
    try:
        whole = plan_project(bp, **inputs)
    except NoSafeLaunch:
        with pytest.raises(NoSafeLaunch):
            planned_dates(bp, **inputs)
        return
    alone = planned_dates(bp, **inputs)
    assert dict(alone.due) == {t.task.key: t.due_on for t in whole.tasks}
    assert dict(alone.start) == {t.task.key: t.start_on for t in whole.tasks}
    assert alone.go_live_on == (whole.go_live.chosen_on if whole.go_live is not None else None)
    assert alone.held_by_today == whole.held_by_today


def test_late_work_is_held_by_today_and_work_on_time_is_not() -> None:
    bp = check_blueprint(blueprint_data([task("a", 3), task("b", 2, depends_on=["a"])]))
    kickoff = D("2026-12-07")  # a Monday: "a" runs Mon-Wed, "b" Thu-Fri
    done = {"a": TaskProgress(TaskState.done, started_on=kickoff, done_on=D("2026-12-09"))}
    on_time = plan_project(bp, kickoff_on=kickoff, progress=done, today=D("2026-12-10"))
    assert not on_time.held_by_today  # "b" starts the day after "a" finished: today holds nothing back
    late = plan_project(bp, kickoff_on=kickoff, progress=done, today=D("2026-12-14"))
    assert late.held_by_today and late.task("b").start_on == D("2026-12-14")
    started = {"a": TaskProgress(TaskState.in_progress, started_on=kickoff)}
    overdue = plan_project(bp, kickoff_on=kickoff, progress=started, today=D("2026-12-11"))
    assert overdue.held_by_today and overdue.task("a").due_on == D("2026-12-11")  # projected due today
    assert not plan_project(bp, kickoff_on=kickoff, progress=started, today=D("2026-12-08")).held_by_today
