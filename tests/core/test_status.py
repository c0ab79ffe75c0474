"""The customer status email view-model: what is done, next, needed; and never anything internal."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from onboarding.core.blueprint import StatusEmailPolicy, Weekday, WeeklyDigest
from onboarding.core.calendars import CalendarKey, business_calendar
from onboarding.core.lifecycle import ProjectState
from onboarding.core.messages import MessageKind, OutgoingMessage, Person, StatusContext
from onboarding.core.status import (
    MilestoneReader,
    MilestoneStatus,
    ProjectStatus,
    StatusView,
    TaskState,
    TaskStatus,
    WeeklyReader,
    next_weekly_slot_at,
    not_to_compose,
    reader_to_compose,
    readers_due,
    should_send_weekly,
    spread_weekday,
    status_context,
    status_due,
    status_message,
    update_to_compose,
    weekly_next_due_at,
    weekly_readers_due,
    weekly_slot_on,
)

D = date.fromisoformat
US = business_calendar(CalendarKey("US"), name="US office")

LEE = Person("Lee Park", "lee@acme.example", "America/Chicago")  # customer payroll admin
ROSA = Person("Rosa Diaz", "rosa@acme.example", "America/Chicago")  # customer HR lead
DANA = Person("Dana Ruiz", "dana@vendor.example", "America/New_York")  # CSM
IVAN = Person("Ivan Petrov", "ivan@vendor.example", "America/New_York")  # implementation engineer

AS_OF = D("2026-11-30")  # a Monday

PROJECT = ProjectStatus(
    project_id="p1",
    customer="Acme Manufacturing",
    blueprint_title="Payroll onboarding",
    external_id="CRM-123",
    projected_go_live_on=D("2027-01-15"),
    committed_go_live_on=D("2027-01-15"),
    go_live_reason="first check date of 2027",
)

MILESTONES = (
    MilestoneStatus(
        key="kickoff",
        title="Kickoff",
        customer_visible=True,
        start_on=D("2026-11-02"),
        due_on=D("2026-11-06"),
        done_on=D("2026-11-06"),
    ),
    MilestoneStatus(
        key="data_migration",
        title="Data migration",
        customer_visible=True,
        start_on=D("2026-11-09"),
        due_on=D("2026-12-04"),
    ),
    MilestoneStatus(
        key="vendor_qa",
        title="Vendor QA sweep",
        customer_visible=False,
        start_on=D("2026-11-16"),
        due_on=D("2026-12-11"),
    ),
    MilestoneStatus(
        key="go_live", title="Go-live", customer_visible=True, start_on=D("2027-01-04"), due_on=D("2027-01-15")
    ),
)


def task(
    key: str,
    *,
    milestone: str = "data_migration",
    owner: Person = LEE,
    owner_role: str = "customer_payroll_admin",
    customer_side: bool = True,
    customer_visible: bool = True,
    state: TaskState | str = "pending",
    start_on: str = "2026-12-01",
    due_on: str = "2026-12-03",
    done_on: str | None = None,
) -> TaskStatus:
    titles = {m.key: m.title for m in MILESTONES}
    return TaskStatus(
        key=key,
        title=key.replace("_", " ").capitalize(),
        milestone_key=milestone,
        milestone_title=titles.get(milestone, milestone),
        owner_role=owner_role,
        owner=owner,
        customer_side=customer_side,
        customer_visible=customer_visible,
        state=state,
        start_on=D(start_on),
        due_on=D(due_on),
        done_on=D(done_on) if done_on else None,
    )


def vendor_task(key: str, **more: Any) -> TaskStatus:
    return task(key, owner=IVAN, owner_role="impl_engineer", customer_side=False, **more)


def context(tasks: list[TaskStatus], **more: Any) -> StatusContext:
    options: dict[str, Any] = {
        "project": PROJECT,
        "milestones": MILESTONES,
        "recipient": LEE,
        "recipient_role": "customer_payroll_admin",
        "as_of": AS_OF,
        "reason": "weekly",
        "vendor_contact": DANA,
        **more,
    }
    return status_context(tasks=tasks, **options)


def titles(views: list[Any]) -> list[str]:
    return [view["title"] for view in views]


# -- done, next, needed ---------------------------------------------------------------


def test_done_recently_holds_visible_tasks_done_in_the_last_seven_days() -> None:
    tasks = [
        task("too_old", state="done", done_on="2026-11-23"),  # exactly 7 days before: last week's email
        task("six_days_ago", state="done", done_on="2026-11-24"),
        task("today", state="done", done_on="2026-11-30"),
        task("skipped_one", state="skipped"),
        task("internal_done", state="done", done_on="2026-11-27", customer_visible=False),
    ]
    ctx = context(tasks)
    assert titles(ctx["done_recently"]) == ["Six days ago", "Today"]
    assert ctx["done_recently"][1] == {
        "title": "Today",
        "milestone": "Data migration",
        "owner_name": "Lee Park",
        "due_on": "2026-12-03",
        "done_on": "2026-11-30",
    }
    assert titles(context(tasks, recent_days=14)["done_recently"]) == ["Too old", "Six days ago", "Today"]


def test_next_up_lists_open_visible_tasks_by_start_date_up_to_the_limit() -> None:
    tasks = [vendor_task(f"step_{n}", start_on=f"2026-12-{10 - n:02d}", due_on="2026-12-20") for n in range(1, 7)] + [
        vendor_task("working_on_it", state="in_progress", start_on="2026-11-25"),
        vendor_task("stuck", state="blocked", start_on="2026-11-20"),
        vendor_task("secret", start_on="2026-11-01", customer_visible=False),
        vendor_task("finished", state="done", done_on="2026-11-20"),
    ]
    ctx = context(tasks)
    assert titles(ctx["next_up"]) == ["Working on it", "Step 6", "Step 5", "Step 4", "Step 3"]
    assert ctx["next_up"][0] == {
        "title": "Working on it",
        "milestone": "Data migration",
        "owner_name": "Ivan Petrov",
        "start_on": "2026-11-25",
        "due_on": "2026-12-03",
        "overdue": False,
    }
    assert len(context(tasks, next_limit=2)["next_up"]) == 2


def test_open_tasks_past_due_are_marked_overdue_in_business_days() -> None:
    late = vendor_task("configure_pay_codes", state="in_progress", start_on="2026-11-16", due_on="2026-11-20")
    (view,) = context([late], customer_calendar=US)["next_up"]
    # Mon 23, Tue 24, Wed 25, (Thanksgiving), Fri 27, Mon 30.
    assert (view["overdue"], view["days_overdue"]) == (True, 5)
    # Without a calendar, Monday to Friday: Thanksgiving counts.
    assert context([late])["next_up"][0]["days_overdue"] == 6


def test_needs_from_you_lists_the_customers_open_tasks_their_own_first_with_business_days_overdue() -> None:
    tasks = [
        task("rosas_census", owner=ROSA, owner_role="customer_hr", state="in_progress", due_on="2026-11-20"),
        task("sign_bank_form", state="blocked", start_on="2026-11-20", due_on="2026-11-25"),
        task("approve_pay_codes", start_on="2026-12-02", due_on="2026-12-04"),
        task("far_future", start_on="2027-01-04", due_on="2027-01-05"),  # beyond this week's horizon
        task("done_already", state="done", done_on="2026-11-27"),
        task("internal_customer_check", customer_visible=False, state="in_progress", due_on="2026-11-20"),
        vendor_task("vendor_work", state="in_progress", due_on="2026-11-20"),
    ]
    ctx = context(tasks, customer_calendar=US)
    assert titles(ctx["needs_from_you"]) == ["Sign bank form", "Approve pay codes", "Rosas census"]
    sign, approve, rosas = ctx["needs_from_you"]
    # Due Wed 11-25; Thanksgiving 11-26 does not count: Fri 27 and Mon 30.
    assert (sign["overdue"], sign["days_overdue"]) == (True, 2)
    assert approve["overdue"] is False and "days_overdue" not in approve
    assert (rosas["owner_name"], rosas["days_overdue"]) == ("Rosa Diaz", 5)
    # Without a calendar, Monday to Friday: Thu 26, Fri 27, Mon 30.
    assert context(tasks)["needs_from_you"][0]["days_overdue"] == 3
    # Rosa sees her own task first.
    rosas_view = context(tasks, recipient=ROSA, recipient_role="customer_hr")
    assert titles(rosas_view["needs_from_you"])[0] == "Rosas census"


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2026, 1, 1), date(2027, 12, 31)), st.integers(0, 60))
def test_property_overdue_days_without_a_calendar_count_weekdays(due_on: date, late_by: int) -> None:
    as_of = due_on + timedelta(days=late_by)
    weekdays = sum(1 for k in range(1, late_by + 1) if (due_on + timedelta(days=k)).weekday() < 5)
    view = context([task("x", state="in_progress", due_on=due_on.isoformat())], as_of=as_of)["needs_from_you"][0]
    assert view.get("days_overdue", 0) == weekdays
    assert view["overdue"] is (weekdays > 0)


# -- milestones and go-live -------------------------------------------------------------


def test_milestones_are_the_visible_ones_with_their_state() -> None:
    ctx = context([])
    assert [(m["title"], m["state"]) for m in ctx["milestones"]] == [
        ("Kickoff", "done"),
        ("Data migration", "in_progress"),
        ("Go-live", "upcoming"),
    ]
    assert ctx["milestones"][0]["done_on"] == "2026-11-06"
    assert ctx["milestones"][1]["done_on"] is None


def test_an_upcoming_milestone_with_a_started_task_is_in_progress() -> None:
    early = task("early_start", milestone="go_live", state="in_progress", start_on="2026-11-27")
    assert [m["state"] for m in context([early])["milestones"]][-1] == "in_progress"


def test_go_live_on_track_when_projected_is_not_after_committed() -> None:
    assert context([])["go_live"] == {
        "projected_on": "2027-01-15",
        "committed_on": "2027-01-15",
        "on_track": True,
        "reason": "first check date of 2027",
    }
    late = replace(PROJECT, projected_go_live_on=D("2027-01-29"))
    assert context([], project=late)["go_live"]["on_track"] is False  # type: ignore[index]
    uncommitted = replace(PROJECT, committed_go_live_on=None)
    go_live = context([], project=uncommitted)["go_live"]
    assert go_live is not None and (go_live["committed_on"], go_live["on_track"]) == (None, True)
    assert context([], project=replace(PROJECT, projected_go_live_on=None))["go_live"] is None
    assert context([], include_go_live=False)["go_live"] is None


def test_a_go_live_reason_that_names_internal_work_is_dropped() -> None:
    leaky = replace(PROJECT, go_live_reason="pushed by the vendor qa sweep slipping")
    go_live = context([], project=leaky)["go_live"]
    assert go_live is not None and "reason" not in go_live
    hidden_task = vendor_task("fraud_review", customer_visible=False)
    leaky_task = replace(PROJECT, go_live_reason="waiting on Fraud review")
    go_live = context([hidden_task], project=leaky_task)["go_live"]
    assert go_live is not None and "reason" not in go_live


# -- what is hidden stays hidden ------------------------------------------------------------


def test_tasks_of_an_internal_milestone_never_appear_even_when_marked_visible() -> None:
    tasks = [
        vendor_task("qa_done", milestone="vendor_qa", state="done", done_on="2026-11-27"),
        vendor_task("qa_next", milestone="vendor_qa", start_on="2026-11-16"),
        task("qa_customer_check", milestone="vendor_qa", state="in_progress", due_on="2026-11-20"),
    ]
    ctx = context(tasks)
    assert ctx["done_recently"] == ctx["next_up"] == ctx["needs_from_you"] == []
    dump = json.dumps(ctx)
    for hidden in ["Vendor QA sweep", "Qa done", "Qa next", "Qa customer check"]:
        assert hidden not in dump


def test_a_task_whose_milestone_is_unknown_is_left_out() -> None:
    assert context([task("orphan", milestone="nowhere", state="in_progress")])["needs_from_you"] == []


# -- the message ------------------------------------------------------------------------------


def test_milestone_complete_message() -> None:
    context = status_context(
        project=PROJECT,
        milestones=MILESTONES,
        tasks=[task("import_employees", state="done", done_on="2026-11-30")],
        recipient=LEE,
        recipient_role="customer_payroll_admin",
        as_of=AS_OF,
        reason="milestone_complete",
        completed_milestone="data_migration",
        vendor_contact=DANA,
    )
    message = status_message(context, recipient=LEE, completed_milestone="data_migration")
    assert message.subject == "Acme Manufacturing onboarding: Data migration complete"
    assert message.idempotency_key == "status:p1:lee@acme.example:milestone_complete:data_migration"
    assert (message.kind, message.to, message.customer_facing) == (MessageKind.status, (LEE,), True)
    assert (message.project_id, message.reply_to) == ("p1", "Dana Ruiz <dana@vendor.example>")
    assert message.context["completed_milestone"] == "Data migration"
    assert message.context["project"] == {
        "id": "p1",
        "customer": "Acme Manufacturing",
        "blueprint_title": "Payroll onboarding",
        "external_id": "CRM-123",
    }
    assert message.context["vendor_contact"] == {"name": "Dana Ruiz", "email": "dana@vendor.example"}
    json.dumps(message.context)


def test_weekly_message() -> None:
    context = status_context(
        project=PROJECT,
        milestones=MILESTONES,
        tasks=[],
        recipient=LEE,
        recipient_role="customer_payroll_admin",
        as_of=AS_OF,
        reason="weekly",
        vendor_contact=DANA,
    )
    message = status_message(context, recipient=LEE)
    assert message.subject == "Acme Manufacturing onboarding: weekly update"
    assert message.idempotency_key == "status:p1:lee@acme.example:weekly:2026-11-30"
    assert message.context["completed_milestone"] is None


@pytest.mark.parametrize(
    ("reason", "milestone", "message"),
    [
        ("milestone_complete", "vendor_qa", "not customer-visible"),
        ("milestone_complete", "nowhere", "unknown"),
        ("milestone_complete", None, "needs"),
        ("weekly", "kickoff", "weekly"),
        ("monthly", None, "unknown status email reason"),
    ],
)
def test_refuses_to_announce_what_cannot_be_announced(reason: str, milestone: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        context([], reason=reason, completed_milestone=milestone)


# -- when status emails are due ---------------------------------------------------------------


def test_weekly_slot_is_the_weekday_and_time_in_the_recipients_zone() -> None:
    monday_nine = WeeklyDigest(weekday=Weekday.mon, at="09:00")
    # Monday 2026-12-07 14:30 UTC is 08:30 in Chicago: this Monday's slot has not come yet there.
    assert weekly_slot_on(monday_nine, now=datetime(2026, 12, 7, 14, 30, tzinfo=UTC), timezone="America/Chicago") == D(
        "2026-11-30"
    )
    assert weekly_slot_on(monday_nine, now=datetime(2026, 12, 7, 15, 0, tzinfo=UTC), timezone="America/Chicago") == D(
        "2026-12-07"
    )
    assert weekly_slot_on(monday_nine, now=datetime(2026, 12, 7, 14, 30, tzinfo=UTC), timezone="UTC") == D("2026-12-07")
    # Sunday evening in UTC is already Monday morning in Tokyo.
    assert weekly_slot_on(monday_nine, now=datetime(2026, 12, 7, 0, 30, tzinfo=UTC), timezone="Asia/Tokyo") == D(
        "2026-12-07"
    )
    assert weekly_slot_on(monday_nine, now=datetime(2026, 12, 10, 12, tzinfo=UTC), timezone="No/Such_Zone") == D(
        "2026-12-07"
    )


def test_should_send_weekly_once_per_slot_and_late_rather_than_never() -> None:
    policy = StatusEmailPolicy(recipients=("customer_payroll_admin",))
    before = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)
    after = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    tuesday = datetime(2026, 12, 8, 20, 0, tzinfo=UTC)
    assert not should_send_weekly(policy, now=before, recipient=LEE, since=D("2026-11-30"))
    assert should_send_weekly(policy, now=after, recipient=LEE, since=D("2026-11-30"))
    assert not should_send_weekly(policy, now=after, recipient=LEE, since=D("2026-12-07"))
    assert should_send_weekly(policy, now=tuesday, recipient=LEE, since=D("2026-11-30"))
    no_weekly = StatusEmailPolicy(recipients=("customer_payroll_admin",), weekly_digest=None)
    assert not should_send_weekly(no_weekly, now=after, recipient=LEE, since=D("2026-11-30"))
    with pytest.raises(ValueError, match="aware"):
        should_send_weekly(policy, now=datetime(2026, 12, 7, 15), recipient=LEE, since=D("2026-11-30"))


def test_the_next_slot_comes_at_its_local_time_on_the_first_of_its_weekdays_after_the_last_update() -> None:
    monday_nine = WeeklyDigest(weekday=Weekday.mon, at="09:00")
    # had the update of Monday 2026-11-30: the next is Monday 2026-12-07, 09:00 in Chicago (15:00 UTC)
    for after in (D("2026-11-30"), D("2026-12-01"), D("2026-12-06")):
        assert next_weekly_slot_at(monday_nine, after=after, timezone="America/Chicago") == datetime(
            2026, 12, 7, 15, tzinfo=UTC
        )
    assert next_weekly_slot_at(monday_nine, after=D("2026-12-07"), timezone="America/Chicago") == datetime(
        2026, 12, 14, 15, tzinfo=UTC
    )
    # Monday 09:00 in Tokyo is Sunday evening in UTC
    assert next_weekly_slot_at(monday_nine, after=D("2026-11-30"), timezone="Asia/Tokyo") == datetime(
        2026, 12, 7, 0, tzinfo=UTC
    )
    # the instant it comes is the first at which weekly_slot_on moves past the last update
    at = next_weekly_slot_at(monday_nine, after=D("2026-11-30"), timezone="America/Chicago")
    assert weekly_slot_on(monday_nine, now=at - timedelta(microseconds=1), timezone="America/Chicago") == D(
        "2026-11-30"
    )
    assert weekly_slot_on(monday_nine, now=at, timezone="America/Chicago") == D("2026-12-07")
    spread = WeeklyDigest(weekday="spread", at="09:00")
    slot = next_weekly_slot_at(spread, after=D("2026-11-29"), timezone="UTC", project_id="p1")
    assert slot.weekday() == spread_weekday("p1") and slot.time().hour == 9
    with pytest.raises(ValueError, match="project id"):
        next_weekly_slot_at(spread, after=D("2026-11-29"), timezone="UTC")


def test_a_slot_in_the_hour_a_clock_change_skips_comes_no_later_than_the_change() -> None:
    """02:30 on 2027-03-14 does not exist in Chicago (02:00 CST becomes 03:00 CDT, at 08:00 UTC): the slot comes
    when the clock jumps past it, and the instant given is not later than that."""
    sunday = WeeklyDigest(weekday=Weekday.sun, at="02:30")
    at = next_weekly_slot_at(sunday, after=D("2027-03-07"), timezone="America/Chicago")
    assert at <= datetime(2027, 3, 14, 8, tzinfo=UTC)
    assert weekly_slot_on(sunday, now=at - timedelta(microseconds=1), timezone="America/Chicago") == D("2027-03-07")
    assert weekly_slot_on(sunday, now=datetime(2027, 3, 14, 8, tzinfo=UTC), timezone="America/Chicago") == D(
        "2027-03-14"
    )
    # 01:30 on 2026-11-01 comes twice there (CDT, then CST): the slot comes at the first
    assert next_weekly_slot_at(
        WeeklyDigest(weekday=Weekday.sun, at="01:30"), after=D("2026-10-25"), timezone="America/Chicago"
    ) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


ZONES = (
    "UTC",
    "America/Chicago",
    "America/St_Johns",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
)
digests = st.builds(
    WeeklyDigest,
    weekday=st.sampled_from([*Weekday, "spread"]),
    at=st.sampled_from(["00:00", "00:30", "01:30", "02:00", "02:30", "03:00", "09:00", "17:45", "23:59"]),
)
instants = st.datetimes(datetime(2026, 1, 1), datetime(2028, 12, 31)).map(lambda d: d.replace(tzinfo=UTC))
sent_days = st.dates(date(2025, 12, 1), date(2028, 12, 31))


@settings(max_examples=400, deadline=None)
@given(
    digests,
    st.sampled_from(ZONES),
    st.dates(date(2026, 1, 1), date(2028, 12, 31)),
    st.sampled_from(["p1", "p2", "p3", "p4", "p5"]),
    st.integers(1, 60 * 24 * 8),
)
def test_no_slot_after_the_last_update_comes_before_the_next_slot_instant(
    digest: WeeklyDigest, zone: str, after: date, project_id: str, minutes_before: int
) -> None:
    """A lower bound everywhere (a sweep may leave the project alone until then), and at most the length of a
    clock change early."""
    at = next_weekly_slot_at(digest, after=after, timezone=zone, project_id=project_id)
    earlier = at - timedelta(minutes=minutes_before)
    assert weekly_slot_on(digest, now=earlier, timezone=zone, project_id=project_id) <= after
    assert weekly_slot_on(digest, now=at - timedelta(microseconds=1), timezone=zone, project_id=project_id) <= after
    assert weekly_slot_on(digest, now=at + timedelta(hours=2), timezone=zone, project_id=project_id) > after


people = st.sampled_from(
    [
        LEE,
        ROSA,
        Person("Ana Silva", "ana@acme.example", "Australia/Lord_Howe"),
        Person("Kai Tanaka", "kai@acme.example", "Asia/Tokyo"),
        Person("Eve Moss", "eve@acme.example", "Pacific/Pago_Pago"),
    ]
)
ROLES = ("customer_payroll_admin", "customer_hr", "customer_it")


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.none(), digests),
    st.dictionaries(st.sampled_from(ROLES), people),
    st.dictionaries(st.sampled_from([LEE.email, ROSA.email, "ana@acme.example", "kai@acme.example"]), sent_days),
    sent_days,
    instants,
)
def test_no_reader_is_due_an_update_before_the_project_s_next_due_instant(
    digest: WeeklyDigest | None,
    bound: dict[str, Person],
    sent_on: dict[str, date],
    started_on: date,
    now: datetime,
) -> None:
    policy = StatusEmailPolicy(recipients=ROLES[:2], weekly_digest=digest)
    asked: dict[str, Any] = {
        "project_id": "p3",
        "recipients": bound,
        "weekly_sent_on": sent_on,
        "started_on": started_on,
    }
    due_at = weekly_next_due_at(policy, **asked)
    if due_at is None:
        assert weekly_readers_due(policy, now=now, **asked) == []
        assert digest is None or not any(role in bound for role in ROLES[:2])
        return
    if now < due_at:
        assert weekly_readers_due(policy, now=now, **asked) == []
    assert weekly_readers_due(policy, now=due_at + timedelta(hours=2), **asked)
    # what the readers then due had, and none of them is due again before the next instant
    later = due_at + timedelta(hours=2)
    had = {**sent_on, **{r.person.email: r.slot_on for r in weekly_readers_due(policy, now=later, **asked)}}
    next_at = weekly_next_due_at(policy, **{**asked, "weekly_sent_on": had})
    assert next_at is not None and next_at > later - timedelta(hours=3)
    assert (
        weekly_readers_due(
            policy,
            now=min(next_at, later + timedelta(days=8)) - timedelta(microseconds=1),
            **{
                **asked,
                "weekly_sent_on": had,
            },
        )
        == []
    )


def test_status_due_announce_visible_milestones_and_the_weekly_digest() -> None:
    policy = StatusEmailPolicy(recipients=("customer_payroll_admin", "customer_hr", "customer_it"))
    messages = status_due(
        policy=policy,
        project=PROJECT,
        milestones=MILESTONES,
        tasks=[task("import_employees", state="done", done_on="2026-12-04")],
        recipients={"customer_payroll_admin": LEE, "customer_hr": ROSA, "csm": DANA},
        now=datetime(2026, 12, 7, 15, 0, tzinfo=UTC),  # Monday 09:00 in Chicago
        completed_milestones=["data_migration", "vendor_qa", "data_migration"],
        weekly_sent_on={LEE.email: D("2026-11-30"), ROSA.email: D("2026-12-07")},
        started_on=D("2026-11-02"),
        vendor_contact=DANA,
    ).messages
    assert [m.idempotency_key for m in messages] == [
        "status:p1:lee@acme.example:milestone_complete:data_migration",
        "status:p1:lee@acme.example:weekly:2026-12-07",
        "status:p1:rosa@acme.example:milestone_complete:data_migration",
    ]
    assert all(m.customer_facing for m in messages)
    assert "Vendor QA sweep" not in json.dumps([m.context for m in messages])


def test_status_due_follow_the_policy_switches_and_send_one_per_person() -> None:
    policy = StatusEmailPolicy(
        recipients=("customer_payroll_admin", "customer_hr"), on_milestone_complete=False, weekly_digest=None
    )
    common: dict[str, Any] = {
        "project": PROJECT,
        "milestones": MILESTONES,
        "tasks": [],
        "now": datetime(2026, 12, 7, 15, 0, tzinfo=UTC),
        "completed_milestones": ["data_migration"],
        "weekly_sent_on": {},
        "started_on": D("2026-11-02"),
        "vendor_contact": DANA,
    }
    assert status_due(policy=policy, recipients={"customer_payroll_admin": LEE}, **common).messages == ()
    both_roles = StatusEmailPolicy(
        recipients=("customer_payroll_admin", "customer_hr"), weekly_digest=WeeklyDigest(only_with_news=False)
    )
    messages = status_due(
        policy=both_roles, recipients={"customer_payroll_admin": LEE, "customer_hr": LEE}, **common
    ).messages
    assert [m.idempotency_key for m in messages] == [
        "status:p1:lee@acme.example:milestone_complete:data_migration",
        "status:p1:lee@acme.example:weekly:2026-12-07",
    ]


# -- property: nothing internal ever reaches a customer -------------------------------------------

STATES: tuple[TaskState, ...] = tuple(TaskState)
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=12)
days = st.integers(-40, 40).map(lambda n: AS_OF + timedelta(days=n))
PEOPLE = [LEE, ROSA, DANA, IVAN]


@st.composite
def projects(draw: st.DrawFn) -> tuple[list[MilestoneStatus], list[TaskStatus], ProjectStatus]:
    """Random projects; every hidden title carries INTERNAL, which no visible text can contain."""
    milestones = []
    for i in range(draw(st.integers(1, 5))):
        visible = draw(st.booleans())
        start = draw(days)
        title = f"milestone {i} {draw(words)}" if visible else f"INTERNAL milestone {i} {draw(words)}"
        milestones.append(
            MilestoneStatus(
                key=f"m{i}",
                title=title,
                customer_visible=visible,
                start_on=start,
                due_on=start + timedelta(days=draw(st.integers(0, 30))),
                done_on=draw(st.none() | days),
            )
        )
    tasks = []
    for i in range(draw(st.integers(0, 15))):
        milestone = draw(st.sampled_from(milestones))
        visible = draw(st.booleans())
        start = draw(days)
        owner = draw(st.sampled_from(PEOPLE))
        tasks.append(
            TaskStatus(
                key=f"t{i}",
                title=f"task {i} {draw(words)}" if visible else f"INTERNAL task {i} {draw(words)}",
                milestone_key=milestone.key,
                milestone_title=milestone.title,
                owner_role="customer_payroll_admin" if owner in (LEE, ROSA) else "impl_engineer",
                owner=owner,
                customer_side=owner in (LEE, ROSA),
                customer_visible=visible,
                state=draw(st.sampled_from(STATES)),
                start_on=start,
                due_on=start + timedelta(days=draw(st.integers(0, 20))),
                done_on=draw(st.none() | days),
            )
        )
    hidden = [m.title for m in milestones if not m.customer_visible] + [
        t.title for t in tasks if not t.customer_visible
    ]
    reason = draw(
        st.none() | words | st.sampled_from(hidden or ["on the first check date"]).map(lambda t: f"after {t}")
    )
    project = ProjectStatus(
        project_id="p1",
        customer="acme manufacturing",
        blueprint_title="payroll onboarding",
        projected_go_live_on=draw(st.none() | days),
        committed_go_live_on=draw(st.none() | days),
        go_live_reason=reason,
    )
    return milestones, tasks, project


@settings(max_examples=400, deadline=None)
@given(projects(), st.sampled_from(["weekly", "milestone_complete"]), st.integers(0, 4), st.sampled_from([None, US]))
def test_property_no_internal_task_or_milestone_ever_appears_in_a_customer_email(
    project_data: tuple[list[MilestoneStatus], list[TaskStatus], ProjectStatus],
    reason: str,
    milestone_index: int,
    calendar: Any,
) -> None:
    milestones, tasks, project = project_data
    completed = None
    if reason == "milestone_complete":
        visible = [m for m in milestones if m.customer_visible]
        assume(visible)
        completed = visible[milestone_index % len(visible)].key
    context = status_context(
        project=project,
        milestones=milestones,
        tasks=tasks,
        recipient=LEE,
        recipient_role="customer_payroll_admin",
        as_of=AS_OF,
        reason=reason,  # type: ignore[arg-type]
        completed_milestone=completed,
        vendor_contact=DANA,
        customer_calendar=calendar,
    )
    message = status_message(context, recipient=LEE, completed_milestone=completed)
    dump = json.dumps(message.context, ensure_ascii=False) + message.subject
    hidden = [m.title for m in milestones if not m.customer_visible] + [
        t.title for t in tasks if not t.customer_visible
    ]
    for title in hidden:
        assert title not in dump
    assert "INTERNAL" not in dump

    # And what may be shown is shown: every open visible customer task under way is asked for.
    shown_milestones = {m.key for m in milestones if m.customer_visible}
    asked = {view["title"] for view in message.context["needs_from_you"]}
    for t in tasks:
        if t.customer_visible and t.milestone_key in shown_milestones and t.customer_side:
            assert (t.title in asked) == (
                t.state in ("in_progress", "blocked")
                or (t.state == "pending" and t.start_on <= AS_OF + timedelta(days=7))
            )


@settings(max_examples=50, deadline=None)
@given(projects())
def test_property_a_hidden_completed_milestone_is_never_announced(
    project_data: tuple[list[MilestoneStatus], list[TaskStatus], ProjectStatus],
) -> None:
    milestones, tasks, project = project_data
    policy = StatusEmailPolicy(recipients=("customer_payroll_admin",))
    messages = status_due(
        policy=policy,
        project=project,
        milestones=milestones,
        tasks=tasks,
        recipients={"customer_payroll_admin": LEE},
        now=datetime(2026, 12, 7, 15, tzinfo=UTC),
        completed_milestones=[m.key for m in milestones],
        weekly_sent_on={},
        started_on=D("2026-11-02"),
        vendor_contact=DANA,
    ).messages
    dump = json.dumps([m.context for m in messages], ensure_ascii=False) + "".join(m.subject for m in messages)
    assert "INTERNAL" not in dump
    announced = [m for m in messages if m.context["reason"] == "milestone_complete"]
    assert len(announced) == sum(m.customer_visible for m in milestones)


def test_a_spread_digest_goes_out_on_a_weekday_of_the_projects_own() -> None:
    spread = WeeklyDigest(weekday="spread", at="09:00")
    days = [spread_weekday(f"p{n:07d}") for n in range(10_000)]
    assert set(days) == {0, 1, 2, 3, 4}  # Monday to Friday, never a weekend
    for day in range(5):  # about a fifth of the projects each
        assert 1_700 < days.count(day) < 2_300
    assert spread_weekday("acme-a1b2c3") == spread_weekday("acme-a1b2c3")  # the same every week
    thursday_noon = datetime(2026, 12, 10, 18, 0, tzinfo=UTC)  # noon in Chicago
    for project_id in ("p0000000", "p0000001", "p0000002", "p0000003", "p0000004", "acme-a1b2c3"):
        slot = weekly_slot_on(spread, now=thursday_noon, timezone="America/Chicago", project_id=project_id)
        assert slot.weekday() == spread_weekday(project_id)
        assert D("2026-12-04") <= slot <= D("2026-12-10")  # the latest of its slots up to that Thursday
    monday = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    assert weekly_slot_on(WeeklyDigest(weekday=Weekday.mon), now=monday, timezone="UTC", project_id="p0000003") == D(
        "2026-12-07"
    )  # a named weekday is every project's
    with pytest.raises(ValueError, match="project"):
        weekly_slot_on(spread, now=monday, timezone="UTC")


def test_a_blueprint_names_a_weekday_or_spreads_its_digests() -> None:
    assert WeeklyDigest.model_validate({"weekday": "spread"}).weekday == "spread"
    assert WeeklyDigest.model_validate({"weekday": "fri"}).weekday is Weekday.fri
    with pytest.raises(ValueError):
        WeeklyDigest.model_validate({"weekday": "someday"})


def test_a_weekly_update_goes_only_with_news_and_a_quiet_week_is_said_so() -> None:
    base: dict[str, Any] = {
        "policy": StatusEmailPolicy(recipients=("customer_payroll_admin",)),
        "project": PROJECT,
        "milestones": MILESTONES,
        "recipients": {"customer_payroll_admin": LEE},
        "now": datetime(2026, 12, 7, 15, 0, tzinfo=UTC),  # Monday 09:00 in Chicago: the slot of 7 December
        "weekly_sent_on": {LEE.email: D("2026-11-30")},
        "started_on": D("2026-11-02"),
        "vendor_contact": DANA,
    }
    weekly = ("status:p1:lee@acme.example:weekly:2026-12-07",)
    quiet = ((LEE.email, D("2026-12-07")),)

    def due(tasks: list[TaskStatus], **more: Any) -> tuple[tuple[str, ...], tuple[tuple[str, date], ...]]:
        found = status_due(tasks=tasks, **{**base, **more})
        return tuple(m.idempotency_key for m in found.messages), found.quiet

    under_way = vendor_task("configure", state="in_progress", start_on="2026-11-30", due_on="2026-12-20")
    later = task("sign_off", start_on="2027-01-04", due_on="2027-01-06")  # asked of the customer, but not yet
    assert due([under_way, later]) == ((), quiet)  # nothing done, asked or moved since the last update
    assert due([vendor_task("configure", state="done", done_on="2026-12-02")]) == (weekly, ())  # done since
    assert due([vendor_task("configure", state="done", done_on="2026-11-27")]) == ((), quiet)  # done before it
    hidden = vendor_task("qa", milestone="vendor_qa", customer_visible=False, state="done", done_on="2026-12-02")
    assert due([hidden]) == ((), quiet)  # internal work is never news to a customer
    assert due([task("approve", start_on="2026-12-10", due_on="2026-12-11")]) == (weekly, ())  # asked this week
    assert due([task("approve", state="blocked")]) == (weekly, ())
    moved = replace(PROJECT, go_live_moved_on=D("2026-12-03"))
    assert due([], project=moved) == (weekly, ())  # the go-live moved since the last update
    assert due([], project=replace(PROJECT, go_live_moved_on=D("2026-11-20"))) == ((), quiet)
    unseen = StatusEmailPolicy(recipients=("customer_payroll_admin",), include_projected_go_live=False)
    assert due([], project=moved, policy=unseen) == ((), quiet)  # a go-live the emails do not show
    always = StatusEmailPolicy(recipients=("customer_payroll_admin",), weekly_digest=WeeklyDigest(only_with_news=False))
    assert due([], policy=always) == (weekly, ())
    assert due([], weekly_sent_on={LEE.email: D("2026-12-07")}) == ((), ())  # this week's is handled already
    first = due([later], weekly_sent_on={})  # the first update, since the kickoff: nothing to say either
    assert first == ((), quiet)


def test_a_weekly_update_queued_to_be_composed_composes_to_what_status_due_sends() -> None:
    """What a sweep queues knows its key, reader and subject; composed at delivery from the same view, it says
    what ``status_due`` would have sent then, and is left unsent exactly when that would have been quiet."""
    policy = StatusEmailPolicy(recipients=("customer_payroll_admin", "customer_hr_lead", "customer_payroll_admin"))
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday 09:00 in Chicago
    both = {"customer_payroll_admin": LEE, "customer_hr_lead": ROSA}
    sent_on = {LEE.email: D("2026-11-30"), ROSA.email: D("2026-12-07")}  # Rosa had this week's already
    readers = weekly_readers_due(
        policy, project_id="p1", recipients=both, now=now, weekly_sent_on=sent_on, started_on=D("2026-11-02")
    )
    assert readers == [WeeklyReader(LEE, "customer_payroll_admin", D("2026-12-07"), D("2026-11-30"))]
    same_person = {"customer_payroll_admin": LEE, "customer_hr_lead": LEE}
    assert (
        len(
            weekly_readers_due(
                policy, project_id="p1", recipients=same_person, now=now, weekly_sent_on={}, started_on=D("2026-11-02")
            )
        )
        == 1
    )  # one update a person, whatever their roles
    queued = update_to_compose(project_id="p1", customer="Acme Manufacturing", reader=readers[0], reply_to=None)
    assert (queued.idempotency_key, queued.subject, queued.key_email, queued.key_on, queued.key_reason) == (
        "status:p1:lee@acme.example:weekly:2026-12-07",
        "Acme Manufacturing onboarding: weekly update",
        LEE.email,
        D("2026-12-07"),
        "weekly",
    )
    assert reader_to_compose(queued) == readers[0]
    assert reader_to_compose(json_round_trip(queued)) == readers[0]  # as the outbox gives it back
    for tasks in (
        [vendor_task("configure", state="done", done_on="2026-12-02")],  # news
        [vendor_task("configure", state="in_progress", start_on="2026-11-30", due_on="2026-12-20")],  # quiet
    ):
        view = StatusView(policy=policy, project=PROJECT, milestones=MILESTONES, tasks=tasks, vendor_contact=DANA)
        due = status_due(
            policy=policy,
            project=PROJECT,
            milestones=MILESTONES,
            tasks=tasks,
            recipients=both,
            now=now,
            weekly_sent_on=sent_on,
            started_on=D("2026-11-02"),
            vendor_contact=DANA,
        )
        composed = view.weekly_update(readers[0])
        if due.messages:
            assert composed == due.messages[0]
            assert reader_to_compose(composed) is None  # composed: sent as it is
        else:
            assert composed is None and due.quiet == ((LEE.email, D("2026-12-07")),)


def json_round_trip(message: OutgoingMessage) -> OutgoingMessage:
    return replace(message, context=json.loads(json.dumps(message.context)))


def test_status_emails_queued_to_be_composed_compose_to_what_status_due_sends() -> None:
    """A milestone completed, announced to each reader with their weekly update whose slot has come: queued before
    anything is composed (``readers_due``, ``update_to_compose``), each composes at delivery, from the same view,
    to the email ``status_due`` sends; a hidden milestone is announced to nobody."""
    policy = StatusEmailPolicy(recipients=("customer_payroll_admin", "customer_hr_lead"))
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday 09:00 in Chicago
    both = {"customer_payroll_admin": LEE, "customer_hr_lead": ROSA}
    shown = {m.key: m.title for m in MILESTONES if m.customer_visible}
    hidden = [m.key for m in MILESTONES if not m.customer_visible]
    tasks = [vendor_task("configure", state="done", done_on="2026-12-02")]
    view = StatusView(policy=policy, project=PROJECT, milestones=MILESTONES, tasks=tasks, vendor_contact=DANA)
    announced = ["kickoff", *hidden, "no-such-milestone"]
    readers = readers_due(
        policy,
        project_id="p1",
        milestones=shown,
        recipients=both,
        now=now,
        completed_milestones=announced,
        weekly_sent_on={ROSA.email: D("2026-12-07")},  # Rosa had this week's already
        started_on=D("2026-11-02"),
    )
    assert [(type(r).__name__, r.person) for r in readers] == [
        ("MilestoneReader", LEE),
        ("WeeklyReader", LEE),
        ("MilestoneReader", ROSA),
    ]
    due = status_due(
        policy=policy,
        project=PROJECT,
        milestones=MILESTONES,
        tasks=tasks,
        recipients=both,
        now=now,
        completed_milestones=announced,
        weekly_sent_on={ROSA.email: D("2026-12-07")},
        started_on=D("2026-11-02"),
        vendor_contact=DANA,
    )
    queued = [update_to_compose(project_id="p1", customer=PROJECT.customer, reader=r, reply_to=None) for r in readers]
    assert [q.idempotency_key for q in queued] == [m.idempotency_key for m in due.messages]
    assert [q.subject for q in queued] == [m.subject for m in due.messages]
    assert [(q.key_email, q.key_on, q.key_reason) for q in queued] == [
        (m.key_email, m.key_on, m.key_reason) for m in due.messages
    ]
    back = [reader_to_compose(json_round_trip(q)) for q in queued]  # as the outbox gives them back
    assert back == readers
    assert [view.composed(r) for r in back if r is not None] == list(due.messages)


def test_a_status_email_queued_to_be_composed_goes_only_to_a_reader_the_project_still_has() -> None:
    """Composed at delivery from the project as it is then, a status email goes to its reader only while they are
    still one of its readers (a role rebound or unbound since it was queued would otherwise tell someone off the
    project how it stands today), and a weekly update only while the project is active, as the sweep queues them."""
    policy = StatusEmailPolicy(recipients=("customer_payroll_admin", "customer_hr_lead"))
    weekly = WeeklyReader(LEE, "customer_payroll_admin", D("2026-12-07"), D("2026-11-30"))
    milestone = MilestoneReader(LEE, "customer_payroll_admin", D("2026-12-07"), "build", "Build")
    both = {"customer_payroll_admin": LEE, "customer_hr_lead": ROSA}
    for reader in (weekly, milestone):
        assert not_to_compose(reader, policy=policy, recipients=both, state=ProjectState.active) is None
        # the same person reading under another of the policy's roles still reads it
        moved = {"customer_payroll_admin": ROSA, "customer_hr_lead": LEE}
        assert not_to_compose(reader, policy=policy, recipients=moved, state=ProjectState.active) is None
        rebound = {"customer_payroll_admin": ROSA}
        why = not_to_compose(reader, policy=policy, recipients=rebound, state=ProjectState.active)
        assert why == "lee@acme.example is no longer one of the project's status readers: not sent to them"
        assert not_to_compose(reader, policy=policy, recipients={}, state=ProjectState.active) == why
        # bound, but to a role the policy does not write to
        elsewhere = {"customer_payroll_admin": ROSA, "customer_it_lead": LEE}
        assert not_to_compose(reader, policy=policy, recipients=elsewhere, state=ProjectState.active) == why
        cancelled = not_to_compose(reader, policy=policy, recipients=both, state=ProjectState.cancelled)
        assert cancelled == "its project is cancelled"
    for state in (ProjectState.on_hold, ProjectState.completed):
        assert not_to_compose(weekly, policy=policy, recipients=both, state=state) == (
            f"its project is {state.value.replace('_', ' ')}: weekly updates go to active projects only"
        )
        # a milestone completed before the hold, or the last one, is still announced
        assert not_to_compose(milestone, policy=policy, recipients=both, state=state) is None
