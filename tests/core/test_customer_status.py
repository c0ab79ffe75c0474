"""The customer status view: never an internal task, whatever the plan; snooze limits and the nudge date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from onboarding.core.blueprint import CalendarName
from onboarding.core.calendars import CalendarKey, business_calendar
from onboarding.core.customer_status import customer_status, snooze_limits, snoozed_last_nudged_on
from onboarding.core.lifecycle import Event, ProjectState, TaskState
from onboarding.core.messages import Person
from onboarding.core.projects import ProjectRecord, TaskRecord

KICKOFF = date(2026, 12, 7)
NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)


CALENDAR = business_calendar(CalendarKey(country="US"), name=CalendarName.customer.value)


@st.composite
def projects(draw: st.DrawFn) -> tuple[ProjectRecord, dict[str, bool]]:
    milestones = {f"m{i}": draw(st.booleans()) for i in range(draw(st.integers(1, 4)))}
    tasks = []
    for i in range(draw(st.integers(1, 14))):
        milestone = draw(st.sampled_from(sorted(milestones)))
        visible = draw(st.booleans())
        shown = visible and milestones[milestone]
        start = KICKOFF + timedelta(days=draw(st.integers(-10, 40)))
        due = start + timedelta(days=draw(st.integers(0, 10)))
        state = draw(st.sampled_from(list(TaskState)))
        tasks.append(
            TaskRecord(
                key=f"task{i}" if shown else f"hiddenkey{i}",
                position=i,
                title=f"Title {i}" if shown else f"Hiddentitle{i}",
                milestone_key=milestone,
                milestone_title=f"Milestone {milestone}" if milestones[milestone] else f"Hiddenmilestone{milestone}",
                owner_role=draw(st.sampled_from(["admin", "sponsor", "csm"])),
                side=draw(st.sampled_from(["customer", "vendor"])),
                calendar="customer",
                kind="human",
                duration_business_days=1,
                customer_visible=visible,
                first_value=False,
                launch=False,
                state=state,
                started_on=None,
                done_on=due if state is TaskState.done else None,
                start_on=start,
                due_on=due,
                target_due_on=due,
                late_due_on=due + timedelta(days=3),
                slack_business_days=0,
                critical=False,
            )
        )
    project = ProjectRecord(
        id="p",
        external_id=None,
        customer="Acme",
        segment=None,
        blueprint_key="b",
        blueprint_version="1",
        blueprint_title="B",
        blueprint_source="b.yaml",
        blueprint_text="",
        kickoff_on=KICKOFF,
        pay_schedule=None,
        state=ProjectState.active,
        committed_go_live_on=KICKOFF + timedelta(days=30),
        projected_go_live_on=KICKOFF + timedelta(days=draw(st.integers(20, 60))),
        finish_on=KICKOFF + timedelta(days=60),
        bindings={"admin": Person("Lee", "lee@acme.example"), "csm": Person("Dana", "dana@vendor.example")},
        tasks=tuple(tasks),
        created_at=NOW,
        updated_at=NOW,
    )
    return project, milestones


@settings(max_examples=200)
@given(projects(), st.booleans())
def test_the_status_view_never_holds_an_internal_task(
    drawn: tuple[ProjectRecord, dict[str, bool]], name_one: bool
) -> None:
    project, milestones = drawn
    hidden = [t for t in project.tasks if t.key.startswith("hiddenkey")]
    reason = f"after {hidden[0].title} is signed" if hidden and name_one else "the first safe window"
    causes = [{"task": t.key, "slip_days": 2} for t in project.tasks]
    events = [
        Event("window_jump", NOW, "engine", None, {"causes": causes}),
        Event("task_snoozed", NOW, "x", hidden[0].key if hidden else "t", {"until": "2026-12-09"}),
    ]
    view = customer_status(
        project,
        visible_milestones=milestones,
        descriptions={t.key: f"Describe {t.title}" for t in project.tasks},
        person_name="Lee",
        person_roles=["admin"],
        events=events,
        go_live_reason=reason,
        calendar=CALENDAR,
        today=KICKOFF + timedelta(days=7),
    )
    text = repr(view)
    assert "hiddenkey" not in text and "Hiddentitle" not in text and "Hiddenmilestone" not in text
    assert all(milestones[m.key] for m in view.milestones)
    shown = {t.key: t for t in project.tasks}
    for task in view.needs_from_you:
        record = shown[task.key]
        assert record.customer_visible and milestones[record.milestone_key]
        assert record.side == "customer" and record.state in (
            TaskState.pending,
            TaskState.in_progress,
            TaskState.blocked,
        )
    for m in view.milestones:
        assert 0 <= m.left_percent <= 100 and 0 < m.width_percent <= 100


def test_snooze_limits_are_ten_business_days_and_the_late_finish() -> None:
    task = _task(late_due_on=date(2027, 1, 29))
    assert snooze_limits(task, today=date(2026, 12, 7), calendar=CALENDAR) == (date(2026, 12, 8), date(2026, 12, 21))
    tight = _task(late_due_on=date(2026, 12, 10))
    assert snooze_limits(tight, today=date(2026, 12, 7), calendar=CALENDAR) == (date(2026, 12, 8), date(2026, 12, 10))
    late = _task(late_due_on=date(2026, 12, 1))  # past its late finish already: one business day
    assert snooze_limits(late, today=date(2026, 12, 7), calendar=CALENDAR) == (date(2026, 12, 8), date(2026, 12, 8))
    saturday = snooze_limits(task, today=date(2026, 12, 12), calendar=CALENDAR)
    assert saturday[0] == date(2026, 12, 14)


def test_the_snoozed_nudge_date_makes_the_reminder_due_on_the_last_day_and_not_before() -> None:
    from onboarding.core.blueprint import NudgePolicy
    from onboarding.core.nudges import nudge_thresholds

    policy = NudgePolicy(repeat_every_business_days=2)
    until = date(2026, 12, 16)
    last = snoozed_last_nudged_on(until, repeat_every_business_days=2, calendar=CALENDAR)
    assert last < nudge_thresholds(policy, CALENDAR, until).nudged_before  # due again on the day
    day_before = date(2026, 12, 15)
    assert not last < nudge_thresholds(policy, CALENDAR, day_before).nudged_before  # held the day before


def _task(*, late_due_on: date) -> TaskRecord:
    return TaskRecord(
        key="t",
        position=0,
        title="T",
        milestone_key="m",
        milestone_title="M",
        owner_role="admin",
        side="customer",
        calendar="customer",
        kind="human",
        duration_business_days=1,
        customer_visible=True,
        first_value=False,
        launch=False,
        state=TaskState.pending,
        started_on=None,
        done_on=None,
        start_on=date(2026, 12, 1),
        due_on=date(2026, 12, 2),
        target_due_on=date(2026, 12, 2),
        late_due_on=late_due_on,
        slack_business_days=0,
        critical=False,
    )
