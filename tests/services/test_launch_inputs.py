"""Launch inputs a real portfolio needs: the customer's own calendar and time zone, and team defaults.

On the in-memory twins and on real SQLite and PostgreSQL databases.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryReportStore, InMemoryTeamStore
from onboarding.adapters.store.reports import SqlReportStore, project_ttfv, rebuild_ttfv
from onboarding.adapters.store.sql import SqlProjectStore
from onboarding.adapters.store.team import SqlTeamStore
from onboarding.core.blueprint import CalendarName, NudgePolicy
from onboarding.core.customer_calendar import CustomerCalendar
from onboarding.core.lifecycle import Action
from onboarding.core.messages import Person
from onboarding.core.nudges import OverdueTask, Rung, decide_nudges_per_policy, escalation_ladder, sent_digests
from onboarding.core.payroll import parse_pay_schedule
from onboarding.core.planning import plan_project, scheduling_calendars
from onboarding.core.projects import status_document
from onboarding.core.ttfv import Dimension
from onboarding.errors import LaunchConflict, PlanInputInvalid
from onboarding.services.planning import PlanningService
from onboarding.services.projects import ProjectService
from onboarding.services.team import TeamService
from tests.core.oracle import NaiveCalendar
from tests.services.test_projects import PAYROLL, PEOPLE, SENDER
from tests.services.test_reports import World as ReportWorld
from tests.services.test_sweep import World, comparable, random_portfolio, stores  # noqa: F401 (the sweep's stores fixture)

D = date.fromisoformat
VENDOR_ROLES = ("implementation_manager", "csm", "impl_engineer", "payroll_specialist")
CUSTOMER_PEOPLE = {role: p for role, p in PEOPLE.items() if role not in VENDOR_ROLES}


class Services:
    def __init__(self, store: Any, clock: FixedClock) -> None:
        if isinstance(store, SqlProjectStore):
            team_store: Any = SqlTeamStore(store.engine)
            snapshots: Any = SqlReportStore(store.engine)
        else:
            team_store, snapshots = InMemoryTeamStore(), InMemoryReportStore(store)
        blueprints = FileBlueprints()
        self.clock = clock
        self.projects = ProjectService(store=store, blueprints=blueprints, clock=clock, sender=SENDER, team=team_store)
        self.team = TeamService(store=team_store, snapshots=snapshots, blueprints=blueprints, clock=clock)


@pytest.fixture
def services(store: Any) -> Iterator[Services]:
    yield Services(store, FixedClock(D("2026-12-04")))


def launch(svc: ProjectService, bindings: dict[str, Person] | None = None, **more: Any) -> Any:
    return svc.launch(
        PAYROLL,
        customer=more.pop("customer", "Acme"),
        kickoff_on=D("2026-12-07"),
        bindings=PEOPLE if bindings is None else bindings,
        pay_schedule="biweekly:2026-01-02",
        **more,
    ).project


# -- the customer's own calendar ------------------------------------------------------------


def test_customer_tasks_run_on_the_customers_own_calendar_stored_with_the_project(services: Services) -> None:
    svc = services.projects
    texan = launch(svc)  # the blueprint's customer is in Texas
    quebec = launch(
        svc,
        customer="Acme Québec",
        customer_country="CA",
        customer_subdivision="QC",
        customer_closed_days=["2027-01-04"],
        customer_time_zone="America/Toronto",
    )
    own = CustomerCalendar("CA", "QC", (D("2027-01-04"),), "America/Toronto")
    stored = svc.get(quebec.id)
    assert stored.customer_calendar == own and svc.get(texan.id).customer_calendar is None
    naive = NaiveCalendar("CA", "QC", closed=frozenset({D("2027-01-04")}))
    customer_tasks = [t for t in stored.tasks if t.side == "customer" and t.kind != "checkpoint"]
    assert customer_tasks and all(naive.open(t.start_on) and naive.open(t.due_on) for t in customer_tasks)
    assert [t.due_on for t in stored.tasks] != [t.due_on for t in svc.get(texan.id).tasks]
    # the plan is the core's plan on that calendar
    loaded = svc.blueprint_of(stored)
    expected = plan_project(
        loaded.blueprint,
        kickoff_on=D("2026-12-07"),
        pay_schedule=parse_pay_schedule("biweekly:2026-01-02"),
        customer_calendar=own,
    )
    assert [(t.start_on, t.due_on) for t in stored.tasks] == [(t.start_on, t.due_on) for t in expected.tasks]
    # the history and the status say which calendar
    (launched,) = svc.events(quebec.id)
    assert launched.data["customer_calendar"] == {
        "country": "CA",
        "subdivision": "QC",
        "closed_days": ["2027-01-04"],
        "time_zone": "America/Toronto",
    }
    assert status_document(stored, today=D("2026-12-04"))["customer_calendar"] == launched.data["customer_calendar"]
    # customer people bound without a zone of their own take the customer's
    assert stored.bindings["customer_sponsor"].timezone == "America/Chicago"  # given
    unzoned = launch(
        svc,
        bindings={**PEOPLE, "customer_sponsor": Person("Alex Brown", "alex@acme.example")},
        customer_country="CA",
        customer_time_zone="America/Toronto",
    )
    assert svc.get(unzoned.id).bindings["customer_sponsor"].timezone == "America/Toronto"
    assert svc.get(unzoned.id).bindings["csm"].timezone == "America/Los_Angeles"


def test_a_reforecast_keeps_dating_customer_work_on_the_stored_calendar(services: Services) -> None:
    svc = services.projects
    project = launch(svc, customer_country="CA", customer_subdivision="QC")
    services.clock.set(D("2026-12-21"))
    svc.change_task(project.id, "kickoff_call", Action.complete, on=D("2026-12-07"))
    after = svc.get(project.id)
    loaded = svc.blueprint_of(after)
    expected = plan_project(
        loaded.blueprint,
        kickoff_on=D("2026-12-07"),
        pay_schedule=parse_pay_schedule("biweekly:2026-01-02"),
        progress=after.progress,
        today=D("2026-12-21"),
        committed_go_live_on=after.committed_go_live_on,
        customer_calendar=CustomerCalendar("CA", "QC"),
    )
    assert [(t.start_on, t.due_on) for t in after.tasks] == [(t.start_on, t.due_on) for t in expected.tasks]
    naive = NaiveCalendar("CA", "QC")
    assert all(naive.open(t.due_on) for t in after.tasks if t.side == "customer" and t.state.value == "pending")


def test_bad_calendar_inputs_are_refused_all_at_once_with_the_bindings_and_nothing_is_stored(
    services: Services,
) -> None:
    svc = services.projects
    people = {role: p for role, p in PEOPLE.items() if role != "csm"}
    with pytest.raises(PlanInputInvalid) as refused:
        launch(
            svc,
            bindings=people,
            customer_country="CA",
            customer_subdivision="Quebec",
            customer_closed_days=["2027-01-04", "soon"],
            customer_time_zone="America/Montreal_",
        )
    assert sorted((p.code, p.loc) for p in refused.value.problems) == [
        ("invalid-customer-closed-day", ("customer_closed_days", 1)),
        ("invalid-time-zone", ("customer_time_zone",)),
        ("missing-binding", ("bind", "csm")),
        ("unknown-customer-subdivision", ("customer_subdivision",)),
    ]
    with pytest.raises(PlanInputInvalid) as refused:
        launch(svc, customer_country="XX")
    assert refused.value.codes == ["unknown-customer-country"]
    assert svc.list_projects() == []


def test_relaunching_an_external_id_with_another_customer_calendar_is_refused(services: Services) -> None:
    svc = services.projects
    first = launch(svc, external_id="CRM-1", customer_country="GB", customer_subdivision="ENG")
    again = launch(svc, external_id="CRM-1", customer_country="gb", customer_subdivision="eng")
    assert again.id == first.id
    with pytest.raises(LaunchConflict) as refused:
        launch(svc, external_id="CRM-1", customer_country="GB", customer_subdivision="SCT")
    assert any("customer calendar" in line for line in refused.value.problems[0].detail)


# -- team defaults --------------------------------------------------------------------------


def test_vendor_roles_take_the_team_default_for_the_segment_else_any(services: Services) -> None:
    team = services.team
    team.set("csm", Person("Dana Ruiz", "dana@vendor.example", "America/Los_Angeles"))
    team.set("csm", Person("Eve Stone", "eve@vendor.example", "Europe/London"), segment="enterprise")
    team.set("implementation_manager", Person("Sam Okafor", "sam@vendor.example", "America/New_York"))
    team.set("impl_engineer", Person("Ivo Petrov", "ivo@vendor.example"), segment="enterprise")
    team.set("payroll_specialist", Person("Mei Chen", "mei@vendor.example", "America/Chicago"))
    assert [(d.role, d.segment) for d in team.defaults()] == [
        ("csm", "any"),
        ("csm", "enterprise"),
        ("impl_engineer", "enterprise"),
        ("implementation_manager", "any"),
        ("payroll_specialist", "any"),
    ]
    svc = services.projects
    bound = {**CUSTOMER_PEOPLE, "impl_engineer": Person("Ola Berg", "ola@vendor.example")}
    project = svc.get(launch(svc, bindings=bound, segment="enterprise").id)
    assert project.bindings["csm"].email == "eve@vendor.example"  # the segment's own
    assert project.bindings["implementation_manager"].email == "sam@vendor.example"  # any
    assert project.bindings["impl_engineer"].email == "ola@vendor.example"  # bound at launch wins
    (launched,) = svc.events(project.id)
    assert launched.data["binding_sources"] == {
        "csm": "team:enterprise",
        "customer_hr_admin": "launch",
        "customer_payroll_admin": "launch",
        "customer_sponsor": "launch",
        "impl_engineer": "launch",
        "implementation_manager": "team:any",
        "payroll_specialist": "team:any",
    }
    # another segment without defaults of its own: any; a role with none is missing, as before
    with pytest.raises(PlanInputInvalid) as refused:
        launch(svc, bindings=CUSTOMER_PEOPLE, segment="mid-market")
    assert [(p.code, p.loc) for p in refused.value.problems] == [("missing-binding", ("bind", "impl_engineer"))]
    assert "team default" in refused.value.problems[0].hint


def test_a_default_for_a_customer_role_is_refused(services: Services) -> None:
    team = services.team
    # no stored blueprint says whose the role is yet: kept, but a launch never fills a customer role from it
    assert not team.set("customer_sponsor", Person("Pat Doe", "pat@vendor.example")).known_role
    svc = services.projects
    people = {role: p for role, p in PEOPLE.items() if role != "customer_sponsor"}
    with pytest.raises(PlanInputInvalid) as refused:
        launch(svc, bindings=people)
    problems = [(p.code, p.loc) for p in refused.value.problems]
    assert problems == [("customer-role-default", ("bind", "customer_sponsor"))]
    launch(svc)  # a blueprint that gives the role to the customer is stored now
    with pytest.raises(PlanInputInvalid) as refused:
        team.set("customer_payroll_admin", Person("Pat Doe", "pat@vendor.example"), segment="enterprise")
    assert refused.value.codes == ["customer-role-default"]
    assert all(d.role != "customer_payroll_admin" for d in team.defaults())


def test_team_defaults_are_checked_replaced_and_unset(services: Services) -> None:
    team = services.team
    with pytest.raises(PlanInputInvalid) as refused:
        team.set("CSM!", Person("Dana\nRuiz", "not-an-address", "Mars/Base"))
    assert sorted(refused.value.codes) == ["invalid-address", "invalid-binding", "invalid-name", "invalid-time-zone"]
    first = team.set("csm", Person(" Dana Ruiz ", "dana@vendor.example"), by="ops")
    assert first.replaced is None and first.default.person == Person("Dana Ruiz", "dana@vendor.example")
    assert first.default.updated_by == "ops"
    second = team.set("csm", Person("Eve Stone", "eve@vendor.example"))
    assert second.replaced == first.default
    assert [d.person.name for d in team.defaults()] == ["Eve Stone"]
    assert team.unset("csm").person.name == "Eve Stone"
    assert team.defaults() == []
    with pytest.raises(PlanInputInvalid) as refused:
        team.unset("csm", segment="enterprise")
    assert refused.value.codes == ["team-default-not-found"]


# -- the sweep and the reports use the stored calendar ---------------------------------------


def test_no_nudge_to_a_customer_on_their_own_closed_day(stores: Any, tmp_path: Path) -> None:  # noqa: F811
    world = World(stores, tmp_path)
    people = {role: p._replace(email=p.email.replace("acme", "beta")) for role, p in PEOPLE.items()}
    for customer, bindings, closed in (("Acme", PEOPLE, ()), ("Beta", people, ("2026-12-10",))):
        world.projects.launch(
            PAYROLL,
            customer=customer,
            kickoff_on=D("2026-12-07"),
            bindings=bindings,
            pay_schedule="biweekly:2026-01-02",
            customer_closed_days=closed,
        )
    world.sweep.run()
    # Thursday 12-10, 10:00 in Chicago: notify_old_provider (Lee, due 12-08) is overdue at both customers
    world.clock.set(D("2026-12-10"), at=datetime(2026, 12, 10, 16, 0, tzinfo=UTC))
    world.sweep.run()
    assert len(world.mail_to("lee@acme.example", "digest")) == 1
    assert world.mail_to("lee@beta.example", "digest") == []  # a closed day of Beta's
    world.clock.set(D("2026-12-11"), at=datetime(2026, 12, 11, 16, 0, tzinfo=UTC))
    world.sweep.run()
    assert len(world.mail_to("lee@beta.example", "digest")) == 1


def test_the_sweep_store_knows_which_active_projects_have_their_own_calendar(
    stores: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    world = World(stores, tmp_path)
    launched = {}
    for customer, more in (
        ("Gamma", {"customer_country": "GB"}),
        ("Delta", {"customer_time_zone": "Europe/Paris"}),  # a zone alone: the blueprint's business days
        ("Acme", {}),
    ):
        launched[customer] = world.projects.launch(
            PAYROLL,
            customer=customer,
            kickoff_on=D("2026-12-07"),
            bindings=PEOPLE,
            pay_schedule="biweekly:2026-01-02",
            **more,
        ).project.id
    own = world.store.own_customer_calendars()
    assert {pid: calendar for pid, (_snapshot, calendar) in own.items()} == {launched["Gamma"]: CustomerCalendar("GB")}


def test_the_reports_count_business_days_and_held_days_on_the_customers_own_calendar_and_zone(store: Any) -> None:
    w = ReportWorld(store)
    # the blueprint's customer is in the US: (5, 15 Jan] is 8 business days
    us = w.launch("Alpha", segment="us")
    w.do(us, "first_use", Action.complete, "2026-01-15")
    # in England with the 12th closed: 6-9, 13-15 January, 7 business days
    gb = w.launch("Beta", segment="gb", customer_country="GB", customer_closed_days=["2026-01-12"])
    w.do(gb, "first_use", Action.complete, "2026-01-15")
    # held from 04:30 UTC on the 8th to 10:00 UTC on the 12th: in Tokyo, the customer's zone, the 8th to the 12th,
    # 4 days (in New York, where its admin is, the 7th to the 12th: 5)
    jp = w.launch("Gamma", segment="jp", customer_time_zone="Asia/Tokyo")
    w.hold(jp, "2026-01-08T04:30:00")
    w.resume(jp, "2026-01-12T10:00:00")
    w.do(jp, "first_use", Action.complete, "2026-01-15")
    report = w.reports.ttfv(as_of=D("2026-03-01"), by=(Dimension.segment,))
    by_segment = {g.key: g for g in report.groups}
    assert by_segment[("us",)].business_days.median == 8
    assert by_segment[("gb",)].business_days.median == 7
    assert by_segment[("jp",)].net_days.median == 10 - 4
    if isinstance(store, SqlProjectStore):  # folding every project's events again gives the same read model
        with store.engine.begin() as connection:
            before = sorted(tuple(r) for r in connection.execute(select(project_ttfv)))
            rebuild_ttfv(connection)
            assert sorted(tuple(r) for r in connection.execute(select(project_ttfv))) == before


def straightforward_with_own_calendars(projects: ProjectService, store: Any, clock: FixedClock) -> tuple[int, Any]:
    """Every overdue row through the policy, each project's sides on its own customer calendar: what the sweep's
    filtered decision must equal."""
    now, today = clock.now(), clock.today()
    rows = sorted(store.overdue_rows(today=today), key=lambda r: (r.project_id, r.task_key))
    people = store.bindings_of(r.project_id for r in rows)
    texts = store.blueprint_texts({r.blueprint_id for r in rows})
    already_sent = sent_digests(store.digests_since(now - timedelta(days=2)))
    parsed = {i: FileBlueprints().parse(text, source=source).blueprint for i, (text, source) in texts.items()}
    groups: dict[NudgePolicy, list[OverdueTask]] = {parsed[i].nudges: [] for i in sorted(parsed)}
    for r in rows:
        bp = parsed[r.blueprint_id]
        calendars = scheduling_calendars(bp, customer=projects.get(r.project_id).customer_calendar)
        bound = people.get(r.project_id, {})
        owner = bound.get(r.owner_role)
        if owner is None:
            continue
        chain: list[Rung] = []
        for role in escalation_ladder(bp, r.owner_role):
            person = bound.get(role)
            if person is None or person == owner or person in [rung.person for rung in chain]:
                continue
            side = bp.roles[role].side
            chain.append(Rung(person, calendars[CalendarName(side.value)], side.value == "customer"))
        groups.setdefault(bp.nudges, []).append(
            OverdueTask(
                project_id=r.project_id,
                customer=r.customer,
                blueprint_title=r.blueprint_title,
                task_key=r.task_key,
                task_title=r.task_title,
                milestone_title=r.milestone_title,
                owner_role=r.owner_role,
                owner=owner,
                customer_side=r.side == "customer",
                owner_calendar=calendars[CalendarName(r.side)],
                due_on=r.due_on,
                due_version=r.due_version,
                escalation_chain=tuple(chain),
                nudges_sent=r.nudges_sent,
                last_nudged_on=r.last_nudged_on,
                contact=bound.get(bp.contact_role) if bp.contact_role else None,
                contact_title=bp.roles[bp.contact_role].title if bp.contact_role else None,
                task_description=next(t.description for m in bp.milestones for t in m.tasks if t.key == r.task_key),
            )
        )
    return len(rows), decide_nudges_per_policy(groups, now=now, already_sent=already_sent, vendor_contact=SENDER)


@pytest.mark.parametrize("seed", [4, 5])
def test_the_sweeps_decision_with_own_calendars_is_the_one_over_every_row(
    stores: Any,  # noqa: F811
    tmp_path: Path,
    seed: int,
) -> None:
    """Customers in other countries, with closed days of their own over the holidays: the sweep reads only the rows
    that may be due and decides as over every row, each project on its own calendar."""
    rnd = random.Random(seed)  # noqa: S311 - a seeded portfolio, nothing secret
    world = World(stores, tmp_path)
    world.clock.set(D("2026-12-21"), at=datetime(2026, 12, 21, 15, 0, tzinfo=UTC))
    places: list[dict[str, Any]] = [
        {"customer_country": "GB", "customer_closed_days": ["2026-12-24", "2026-12-31"]},
        {"customer_country": "CA", "customer_subdivision": "QC"},
        {"customer_country": "JP"},
        {"customer_closed_days": ["2026-12-22", "2026-12-23"]},
        {},
    ]
    launch = world.projects.launch
    world.projects.launch = lambda *a, **k: launch(*a, **k, **rnd.choice(places))  # type: ignore[method-assign]
    random_portfolio(world, stores, tmp_path, rnd)
    world.projects.launch = launch  # type: ignore[method-assign]
    assert world.store.own_customer_calendars()
    store = stores[2]
    for day in range(9):
        d = D("2026-12-21") + timedelta(days=day)
        for hour in sorted(rnd.sample(range(24), 2)):
            world.clock.set(d, at=datetime(d.year, d.month, d.day, hour, rnd.choice([0, 30]), tzinfo=UTC))
            fast = world.sweep.decide_nudges()
            overdue, expected = straightforward_with_own_calendars(world.projects, store, world.clock)
            assert fast.overdue_tasks == overdue
            assert comparable(fast.plan) == comparable(expected)
            world.sweep.record_nudges(fast)


def test_a_plan_preview_takes_the_customers_own_calendar_as_a_launch_does(services: Services) -> None:
    planning = PlanningService(blueprints=FileBlueprints(), clock=services.clock)
    preview = planning.plan(
        PAYROLL, kickoff_on=D("2026-12-07"), customer_country="CA", customer_subdivision="QC", customer_closed_days=[]
    )
    launched = launch(services.projects, customer_country="CA", customer_subdivision="QC")
    assert [(t.start_on, t.due_on) for t in preview.tasks] == [(t.start_on, t.due_on) for t in launched.tasks]
    with pytest.raises(PlanInputInvalid) as refused:
        planning.plan(PAYROLL, kickoff_on=D("2026-12-07"), customer_country="Kanada", customer_closed_days=["x"])
    assert sorted(refused.value.codes) == ["invalid-customer-closed-day", "unknown-customer-country"]
