"""Calendar feeds as a calendar reads them: parsed back with icalendar, stable UIDs across a re-plan, all-day
dates, text escaped, and never a trace of a task the caller keeps hidden."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.calendar_feeds import person_feed, project_feed
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryProjectStore
from onboarding.core.lifecycle import Action, ProjectState, TaskState
from onboarding.core.messages import Person
from onboarding.core.projects import ProjectRecord, TaskRecord
from onboarding.services.projects import ProjectService
from tests.services.test_projects import PAYROLL, PEOPLE

D = date.fromisoformat
DOMAIN = "onboarding.example.com"
STAMP = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
NASTY = 'Acme, Inc; "Payroll"\nline two \\ <script>alert(1)</script>'


def customer_visible(task: TaskRecord) -> bool:
    return task.customer_visible


@pytest.fixture
def svc() -> tuple[ProjectService, FixedClock]:
    clock = FixedClock(D("2026-12-07"))
    service = ProjectService(
        store=InMemoryProjectStore(), blueprints=FileBlueprints(), clock=clock, sender=Person("O", "o@vendor.example")
    )
    return service, clock


def launched(svc: tuple[ProjectService, FixedClock]) -> ProjectRecord:
    service, _ = svc
    return service.launch(
        PAYROLL,
        customer="Acme Manufacturing",
        kickoff_on=D("2026-12-07"),
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02",
    ).project


def parsed(ics: bytes) -> Calendar:
    """The feed as a calendar client reads it, after the checks icalendar makes of RFC 5545."""
    calendar = Calendar.from_ical(ics)
    assert isinstance(calendar, Calendar)
    calendar.validate()  # type: ignore[no-untyped-call]  # VERSION, PRODID and at least one component
    assert calendar.errors == [] and all(c.errors == [] for c in calendar.walk())
    for event in calendar.events:
        assert {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"} <= set(event)
    lines = ics.split(b"\r\n")
    assert lines[-1] == b"" and all(len(line) <= 75 for line in lines), "lines end in CRLF and fold at 75 octets"
    return calendar


def by_uid(calendar: Calendar) -> dict[str, Event]:
    return {str(e["UID"]): e for e in calendar.events}


def test_the_project_feed_has_a_milestone_event_per_visible_milestone_and_the_go_live(svc) -> None:  # type: ignore[no-untyped-def]
    project = launched(svc)
    calendar = parsed(project_feed(project, visible=customer_visible, domain=DOMAIN, stamp=STAMP, url="https://x/f"))
    assert str(calendar["PRODID"]) and str(calendar["VERSION"]) == "2.0"
    assert str(calendar["X-WR-CALNAME"]) == "Acme Manufacturing onboarding"
    assert calendar.refresh_interval == timedelta(hours=4)
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT4H"
    assert str(calendar["SOURCE"]) == "https://x/f"
    events = by_uid(calendar)
    shown = [t for t in project.tasks if t.customer_visible]
    expected = {f"{project.id}.{t.milestone_key}.milestone@{DOMAIN}" for t in shown} | {
        f"{project.id}.go-live@{DOMAIN}"
    }
    assert set(events) == expected
    for task in shown:
        event = events[f"{project.id}.{task.milestone_key}.milestone@{DOMAIN}"]
        assert str(event["SUMMARY"]) == task.milestone_title
        assert event.start == max(t.due_on for t in shown if t.milestone_key == task.milestone_key)
    go_live = events[f"{project.id}.go-live@{DOMAIN}"]
    assert project.projected_go_live_on is not None and project.committed_go_live_on is not None
    assert go_live.start == project.projected_go_live_on
    assert "within the committed window" in str(go_live["DESCRIPTION"])
    for event in events.values():
        assert type(event.start) is date and type(event.end) is date, "all-day: DATE values, not date-times"
        assert event.end == event.start + timedelta(days=1)
        assert event["DTSTART"].params.get("VALUE") == "DATE"
        assert event.decoded("DTSTAMP") == STAMP
        assert event.decoded("SEQUENCE") == project.version


def test_a_replan_that_moves_dates_keeps_every_uid(svc) -> None:  # type: ignore[no-untyped-def]
    service, clock = svc
    project = launched(svc)
    for key in ("kickoff_call", "sign_off_scope", "notify_old_provider"):
        service.change_task(project.id, key, Action.complete)
    service.change_task(project.id, "employer_bank_verification", Action.start)
    clock.set(D("2027-03-29"))
    moved = service.reforecast(project.id)
    assert moved.projected_go_live_on != project.projected_go_live_on

    def feed(p: ProjectRecord) -> dict[str, Event]:
        return by_uid(parsed(project_feed(p, visible=lambda t: True, domain=DOMAIN, stamp=STAMP)))

    def mine(p: ProjectRecord) -> dict[str, Event]:
        return by_uid(parsed(person_feed([(p, p.tasks)], calendar_name="Mine", domain=DOMAIN, stamp=STAMP)))

    for build in (feed, mine):
        before, after = build(project), build(moved)
        assert set(before) == set(after)
        changed = [uid for uid in before if before[uid].start != after[uid].start]
        assert changed, "the re-plan moved dates"
        assert all(after[uid].decoded("SEQUENCE") > before[uid].decoded("SEQUENCE") for uid in changed)
    go_live = f"{project.id}.go-live@{DOMAIN}"
    assert feed(moved)[go_live].start == moved.projected_go_live_on
    assert "days past the committed window" in str(feed(moved)[go_live]["DESCRIPTION"])


def test_text_is_escaped_and_read_back_unchanged(svc) -> None:  # type: ignore[no-untyped-def]
    project = launched(svc)
    first = project.tasks[0]
    project = replace(
        project,
        customer=NASTY,
        tasks=(first._replace(title=NASTY, milestone_title=NASTY), *project.tasks[1:]),
    )
    ics = project_feed(project, visible=lambda t: True, domain=DOMAIN, stamp=STAMP)
    assert b'Acme\\, Inc\\; "Payroll"\\nline two \\\\ <script>' in ics.replace(b"\r\n ", b"")
    events = by_uid(parsed(ics))
    milestone = events[f"{project.id}.{first.milestone_key}.milestone@{DOMAIN}"]
    assert str(milestone["SUMMARY"]) == NASTY
    assert str(events[f"{project.id}.go-live@{DOMAIN}"]["SUMMARY"]) == f"{NASTY} go-live"
    # the calendar's name is one line (a newline in it would end the property)
    assert b'X-WR-CALNAME:Acme\\, Inc\\; "Payroll" line two' in ics.replace(b"\r\n ", b"")
    mine = by_uid(parsed(person_feed([(project, [project.tasks[0]])], calendar_name=NASTY, domain=DOMAIN, stamp=STAMP)))
    assert str(mine[f"{project.id}.{first.key}.task@{DOMAIN}"]["SUMMARY"]) == f"{NASTY} ({NASTY})"


def test_the_person_feed_has_each_task_on_its_projected_due_date_and_marks_finished_work(svc) -> None:  # type: ignore[no-untyped-def]
    service, _ = svc
    project = launched(svc)
    project = service.change_task(project.id, "kickoff_call", Action.complete)
    other = launched(svc)
    chosen = [project.task("kickoff_call"), project.task("sign_off_scope")]
    cancelled = other.tasks[1]._replace(state=TaskState.cancelled)
    ics = person_feed(
        [(project, chosen), (other, [other.tasks[0], cancelled])],
        calendar_name="Lee's tasks",
        domain=DOMAIN,
        stamp=STAMP,
    )
    calendar = parsed(ics)
    assert str(calendar["X-WR-CALNAME"]) == "Lee's tasks"
    events = by_uid(calendar)
    assert list(events) == [
        f"{project.id}.kickoff_call.task@{DOMAIN}",
        f"{project.id}.sign_off_scope.task@{DOMAIN}",
        f"{other.id}.{other.tasks[0].key}.task@{DOMAIN}",
        f"{other.id}.{cancelled.key}.task@{DOMAIN}",
    ]
    done = events[f"{project.id}.kickoff_call.task@{DOMAIN}"]
    assert str(done["SUMMARY"]) == f"Done: {chosen[0].title} (Acme Manufacturing)"
    assert "STATUS" not in done
    open_ = events[f"{project.id}.sign_off_scope.task@{DOMAIN}"]
    assert str(open_["SUMMARY"]) == f"{chosen[1].title} (Acme Manufacturing)"
    assert open_.start == chosen[1].due_on and open_.end == chosen[1].due_on + timedelta(days=1)
    assert type(open_.start) is date
    assert str(events[f"{other.id}.{cancelled.key}.task@{DOMAIN}"]["STATUS"]) == "CANCELLED"


def test_a_cancelled_project_s_events_are_cancelled_not_dropped(svc) -> None:  # type: ignore[no-untyped-def]
    service, _ = svc
    project = launched(svc)
    service.change_task(project.id, "kickoff_call", Action.complete)
    cancelled = service.cancel(project.id, reason="Deal lost", by="dana")
    events = by_uid(parsed(project_feed(cancelled, visible=customer_visible, domain=DOMAIN, stamp=STAMP)))
    status = {uid.removeprefix(f"{project.id}."): str(e.get("STATUS", "")) for uid, e in events.items()}
    assert status.pop(f"go-live@{DOMAIN}") == "CANCELLED"
    kickoff = cancelled.task("kickoff_call").milestone_key
    assert status.pop(f"{kickoff}.milestone@{DOMAIN}") == ""  # it has work done
    assert status and set(status.values()) == {"CANCELLED"}


def test_an_empty_person_feed_is_still_a_calendar() -> None:
    calendar = Calendar.from_ical(person_feed([], calendar_name="Nobody", domain=DOMAIN, stamp=STAMP))
    assert calendar.events == [] and str(calendar["X-WR-CALNAME"]) == "Nobody"


# -- the property: what ``visible`` refuses never reaches the bytes -----------------------------------------------

_BASE = ProjectRecord(
    id="acme-1",
    external_id=None,
    customer="Acme",
    segment=None,
    blueprint_key="payroll",
    blueprint_version="1",
    blueprint_title="Payroll",
    blueprint_source="x.yaml",
    blueprint_text="",
    kickoff_on=D("2026-12-07"),
    pay_schedule=None,
    state=ProjectState.active,
    committed_go_live_on=D("2027-04-09"),
    projected_go_live_on=D("2027-04-23"),
    finish_on=D("2027-05-01"),
    bindings={},
    tasks=(),
    created_at=STAMP,
    updated_at=STAMP,
)


def _task(n: int, *, milestone: int, shown: bool, due: date, state: TaskState) -> TaskRecord:
    # every hidden name carries a marker no visible text has, so a leak is found by a plain search
    tag = "shown" if shown else "secret"
    return TaskRecord(
        key=f"{tag}_task_{n}",
        position=n,
        title=f"{tag.capitalize()} task {n}",
        milestone_key=f"milestone_{milestone}" if shown else f"secret_milestone_{milestone}",
        milestone_title=f"Milestone {milestone}" if shown else f"Secret milestone {milestone}",
        owner_role="admin",
        side="customer",
        calendar="customer",
        kind="task",
        duration_business_days=1,
        customer_visible=shown,
        first_value=False,
        launch=False,
        state=state,
        started_on=None,
        done_on=None,
        start_on=due,
        due_on=due,
        target_due_on=due,
        late_due_on=due,
        slack_business_days=0,
        critical=False,
    )


tasks_strategy = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.booleans(),
        st.dates(D("2026-12-01"), D("2027-12-31")),
        st.sampled_from(list(TaskState)),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(tasks_strategy)
def test_a_task_visible_refuses_never_appears_in_the_project_feed(
    specs: list[tuple[int, bool, date, TaskState]],
) -> None:
    tasks = tuple(
        _task(n, milestone=m, shown=shown, due=due, state=state) for n, (m, shown, due, state) in enumerate(specs)
    )
    project = replace(_BASE, tasks=tasks)
    ics = project_feed(project, visible=lambda t: t.customer_visible, domain=DOMAIN, stamp=STAMP)
    unfolded = ics.replace(b"\r\n ", b"").lower()
    assert b"secret" not in unfolded
    calendar = parsed(ics)
    shown = [t for t in tasks if t.customer_visible]
    assert len(calendar.events) == len({t.milestone_key for t in shown}) + 1
    for event in calendar.events:
        uid = str(event["UID"])
        if uid.endswith(".milestone@" + DOMAIN):
            key = uid.removeprefix("acme-1.").removesuffix(".milestone@" + DOMAIN)
            assert event.start == max(t.due_on for t in shown if t.milestone_key == key)
