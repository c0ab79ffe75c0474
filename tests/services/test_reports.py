"""The reports through the service, on every store: projects run for real, figures known in advance."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select

from onboarding.adapters.blueprint_files import InMemoryBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryProjectStore, InMemoryReportStore
from onboarding.adapters.store.reports import (
    EPOCH,
    SqlReportStore,
    project_ttfv,
    project_ttfv_undone,
    read_model_rows,
    rebuild_ttfv,
)
from onboarding.adapters.store.sql import SqlProjectStore
from onboarding.core.lifecycle import Action
from onboarding.core.messages import Person
from onboarding.core.portfolio import RiskReason
from onboarding.core.ttfv import Dimension, Quantiles, observe, ttfv_report
from onboarding.errors import ReportInputInvalid, TransitionRefused
from onboarding.services.projects import ProjectService
from onboarding.services.reports import ReportService, one_report_day
from tests.conftest import blueprint_data

D = date.fromisoformat
SENDER = Person("Onboarding", "onboarding@vendor.example")
TASKS: list[dict[str, Any]] = [
    {"key": "kickoff_call", "title": "Kickoff call", "owner": "csm"},
    {"key": "setup", "title": "Set up", "owner": "admin", "duration_business_days": 3, "depends_on": ["kickoff_call"]},
    {"key": "first_use", "title": "First use", "owner": "admin", "first_value": True, "depends_on": ["setup"]},
    {"key": "go_live", "title": "Go live", "owner": "engineer", "launch": True, "depends_on": ["first_use"]},
]


def blueprint_text(start_event: str = "kickoff", key: str = "test_blueprint") -> str:
    data = blueprint_data(TASKS, ttfv={"start_event": start_event, "target_calendar_days": 21})
    data["key"] = key
    return yaml.safe_dump(data, sort_keys=False)


BLUEPRINTS = InMemoryBlueprints(
    {
        "bp": blueprint_text(),
        "signed": blueprint_text("contract_signed", "signed_bp"),
        "created": blueprint_text("project_created", "created_bp"),
    }
)


def people(owner: str = "Dana Ruiz", tz: str = "America/New_York") -> dict[str, Person]:
    return {
        "csm": Person(owner, "dana@vendor.example", "America/Los_Angeles"),
        "engineer": Person("Ivo Petrov", "ivo@vendor.example", "Europe/Sofia"),
        "admin": Person("Lee Park", "lee@acme.example", tz),
    }


def report_store(store: Any) -> Any:
    return InMemoryReportStore(store) if isinstance(store, InMemoryProjectStore) else SqlReportStore(store.engine)


class World:
    """Projects run through the real service on a clock that moves."""

    def __init__(self, store: Any) -> None:
        self.clock = FixedClock(D("2026-01-02"))
        self.projects = ProjectService(store=store, blueprints=BLUEPRINTS, clock=self.clock, sender=SENDER)
        self.reports = ReportService(store=report_store(store), blueprints=BLUEPRINTS, clock=self.clock)

    def launch(self, name: str, *, blueprint: str = "bp", kickoff: str = "2026-01-05", **more: Any) -> str:
        return self.projects.launch(
            blueprint, customer=name, kickoff_on=D(kickoff), bindings=more.pop("bindings", people()), **more
        ).project.id

    def do(self, pid: str, task: str, action: Action, on: str) -> None:
        self.clock.set(D(on))
        self.projects.change_task(pid, task, action, on=D(on), force=True)

    def hold(self, pid: str, at: str) -> None:
        self.clock.set(D(at[:10]), at=datetime.fromisoformat(at).replace(tzinfo=UTC))
        self.projects.hold(pid)

    def resume(self, pid: str, at: str) -> None:
        self.clock.set(D(at[:10]), at=datetime.fromisoformat(at).replace(tzinfo=UTC))
        self.projects.resume(pid)


def test_ttfv_from_real_histories(store) -> None:  # type: ignore[no-untyped-def]
    w = World(store)
    a = w.launch("Alpha", segment="smb")
    w.do(a, "first_use", Action.complete, "2026-01-15")  # 10 days; (5, 15 Jan]: 8 business days
    b = w.launch("Beta", segment="smb", bindings=people(owner="Kim Diaz"))
    # 04:30 UTC on the 8th is 23:30 on the 7th in New York: held the 7th to the 12th, 5 days
    w.hold(b, "2026-01-08T04:30:00")
    w.resume(b, "2026-01-12T15:00:00")
    w.do(b, "first_use", Action.complete, "2026-01-25")  # 20 days, net 15; 13 business days (19th is a holiday)
    c = w.launch("Gamma", segment="enterprise")
    w.do(c, "first_use", Action.complete, "2026-01-10")
    w.do(c, "first_use", Action.reopen, "2026-01-12")
    w.do(c, "first_use", Action.complete, "2026-02-04")  # 30 days; 21 business days
    d = w.launch("Delta", segment="enterprise")
    w.do(d, "first_use", Action.skip, "2026-01-20")  # stopped: censored on day 15
    w.launch("Epsilon", kickoff="2026-02-02")  # in flight: censored on day 27 at 1 March

    report = w.reports.ttfv(as_of=D("2026-03-01"))
    (group,) = report.groups
    assert group.key == ("test_blueprint",)
    assert (group.projects, group.reached, group.in_flight, group.stopped) == (5, 3, 1, 1)
    assert group.calendar_days == Quantiles(20.0, 25.0, 28.0)
    assert group.business_days == Quantiles(13.0, 17.0, pytest.approx(19.4))  # type: ignore[arg-type]
    assert group.net_days == Quantiles(15.0, 22.5, 27.0)  # 10, 15, 30
    assert group.reached_calendar_days == (10, 20, 30)
    assert (group.target_calendar_days, group.reached_on_target) == (21, 2)
    # day 10: 1 of 5; 15: censored; 20: 1 of 3; 27: censored; 30: 1 of 1
    assert [(p.day, round(p.share_reached, 4), p.at_risk) for p in group.km_curve] == [
        (0, 0.0, 5),
        (10, 0.2, 5),
        (15, 0.2, 4),
        (20, 0.4667, 3),
        (27, 0.4667, 2),
        (30, 1.0, 1),
    ]
    assert [w.share for w in group.within] == [1.0, 1.0, 1.0]

    by_owner = w.reports.ttfv(as_of=D("2026-03-01"), by=[Dimension.owner, Dimension.segment])
    assert [(g.key, g.projects, g.reached) for g in by_owner.groups] == [
        (("Dana Ruiz", "(none)"), 1, 0),
        (("Dana Ruiz", "enterprise"), 2, 1),
        (("Dana Ruiz", "smb"), 1, 1),
        (("Kim Diaz", "smb"), 1, 1),
    ]
    by_month = w.reports.ttfv(as_of=D("2026-03-01"), by=[Dimension.cohort_month], since=D("2026-02-01"))
    assert [(g.key, g.projects) for g in by_month.groups] == [(("2026-02",), 1)]
    by_version = w.reports.ttfv(as_of=D("2026-03-01"), by=[Dimension.version, Dimension.cohort_month])
    assert [(g.key, g.projects) for g in by_version.groups] == [
        (("test_blueprint@1.0.0", "2026-01"), 4),
        (("test_blueprint@1.0.0", "2026-02"), 1),
    ]
    assert by_version.total.calendar_days == group.calendar_days
    window = w.reports.ttfv(as_of=D("2026-03-01"), since=D("2026-01-05"), until=D("2026-01-05"))
    assert window.total.projects == 4
    earlier = w.reports.ttfv(as_of=D("2026-01-20"))  # Beta's and Gamma's value come later
    assert earlier.groups[0].reached_calendar_days == (10,)


def test_a_report_as_of_a_past_day_keeps_its_figures_when_value_is_undone_later(store) -> None:  # type: ignore[no-untyped-def]
    w = World(store)
    a = w.launch("Alpha")
    w.do(a, "first_use", Action.complete, "2026-01-15")  # 10 days
    b = w.launch("Beta")
    w.do(b, "first_use", Action.skip, "2026-01-20")

    def figures(day: str) -> tuple[int, int, int, tuple[int, ...], tuple[tuple[int, float], ...]]:
        g = w.reports.ttfv(as_of=D(day)).total
        return (
            g.reached,
            g.in_flight,
            g.stopped,
            g.reached_calendar_days,
            tuple((p.day, round(p.share_reached, 2)) for p in g.km_curve),
        )

    stood = {day: figures(day) for day in ("2026-01-14", "2026-01-20", "2026-02-09")}
    assert stood["2026-01-20"] == (1, 0, 1, (10,), ((0, 0.0), (10, 0.5), (15, 0.5)))
    w.do(a, "first_use", Action.reopen, "2026-02-10")
    w.do(b, "first_use", Action.reopen, "2026-02-12")
    assert {day: figures(day) for day in stood} == stood  # what stood on those days still stands
    assert figures("2026-02-10")[:4] == (0, 1, 1, ())
    assert figures("2026-02-12")[:4] == (0, 2, 0, ())
    w.do(a, "first_use", Action.complete, "2026-03-01")  # 55 days
    assert {day: figures(day) for day in stood} == stood
    assert figures("2026-02-20")[:4] == (0, 2, 0, ())
    assert figures("2026-03-01")[:4] == (1, 1, 0, (55,))


def test_start_events_contract_signed_and_project_created(store) -> None:  # type: ignore[no-untyped-def]
    w = World(store)
    w.clock.set(D("2026-01-02"), at=datetime(2026, 1, 3, 3, 0, tzinfo=UTC))  # 22:00 on the 2nd in New York
    signed = w.launch("Signed", blueprint="signed", contract_signed_on=D("2025-12-20"))
    w.launch("Unsigned", blueprint="signed")
    created = w.launch("Created", blueprint="created")
    w.do(signed, "first_use", Action.complete, "2026-01-19")
    w.do(created, "first_use", Action.complete, "2026-01-12")
    report = w.reports.ttfv(as_of=D("2026-02-01"))
    groups = {g.key[0]: g for g in report.groups}
    assert groups["signed_bp"].reached_calendar_days == (30,)
    assert groups["signed_bp"].unstarted == 1
    assert groups["created_bp"].reached_calendar_days == (10,)  # launched on the 2nd, New York time


def test_since_after_until_is_refused(store) -> None:  # type: ignore[no-untyped-def]
    w = World(store)
    with pytest.raises(ReportInputInvalid) as caught:
        w.reports.ttfv(since=D("2026-02-01"), until=D("2026-01-01"))
    assert caught.value.codes == ["invalid-period"]


def test_one_report_day_takes_the_day_given_once_and_refuses_two() -> None:
    assert one_report_day(None, None) is None
    assert one_report_day(D("2026-01-20"), None) == one_report_day(None, D("2026-01-20")) == D("2026-01-20")
    assert one_report_day(D("2026-01-20"), D("2026-01-20")) == D("2026-01-20")
    with pytest.raises(ReportInputInvalid) as caught:
        one_report_day(D("2026-01-20"), D("2026-03-01"))
    assert caught.value.codes == ["conflicting-as-of"]


def test_portfolio_from_real_projects(store) -> None:  # type: ignore[no-untyped-def]
    w = World(store)
    live = w.launch("Live")
    w.do(live, "kickoff_call", Action.complete, "2026-01-05")
    w.do(live, "setup", Action.start, "2026-01-06")
    w.do(live, "setup", Action.complete, "2026-01-12")  # target 8 Jan: 4 days late (customer)
    w.do(live, "first_use", Action.complete, "2026-01-13")
    w.do(live, "go_live", Action.complete, "2026-01-14")
    stuck = w.launch("Stuck")
    w.do(stuck, "kickoff_call", Action.complete, "2026-01-05")
    w.do(stuck, "setup", Action.block, "2026-01-07")
    report = w.reports.portfolio(as_of=D("2026-01-20"))
    assert (report.projects, report.active) == (2, 1)
    assert report.on_time.went_live == 1
    (risk,) = report.at_risk
    assert risk.customer == "Stuck"
    assert set(risk.reasons) >= {RiskReason.overdue_customer, RiskReason.blocked}
    assert risk.days_blocked == 13
    assert report.bottleneck_tasks[0].key == "setup"
    assert report.slip_by_side[0].side == "customer" and report.slip_by_side[0].slip_days > 0
    waits = {x.side: x for x in report.wait_before_start}
    assert waits["customer"].days.median == 1.0  # setup ready on the 5th, started on the 6th


def test_the_read_model_equals_a_rebuild_from_the_events(engine: Engine) -> None:
    store = SqlProjectStore(engine)
    w = World(store)
    rng = random.Random(7)  # noqa: S311 - a seeded test history, nothing secret
    ids = [
        w.launch(
            f"Customer {i}",
            blueprint=rng.choice(["bp", "signed", "created"]),
            contract_signed_on=D("2025-12-01") if i % 2 else None,
        )
        for i in range(12)
    ]
    day = date(2026, 1, 5)
    for _ in range(80):
        pid = rng.choice(ids)
        day = date.fromordinal(day.toordinal() + rng.randint(0, 2))
        action = rng.choice(["complete", "reopen", "skip", "block", "unblock", "start", "hold", "resume"])
        task = rng.choice(["first_use", "first_use", "setup", "kickoff_call"])
        try:
            if action == "hold":
                w.hold(pid, f"{day.isoformat()}T{rng.randint(0, 23):02d}:30:00")
            elif action == "resume":
                w.resume(pid, f"{day.isoformat()}T{rng.randint(0, 23):02d}:30:00")
            else:
                w.do(pid, task, Action(action), day.isoformat())
        except TransitionRefused:
            continue
    for _ in range(60):  # the value task done, skipped and undone, some changes recorded with an earlier day
        pid = rng.choice(ids)
        day = date.fromordinal(day.toordinal() + rng.randint(0, 2))
        w.clock.set(day)
        try:
            w.projects.change_task(
                pid,
                "first_use",
                Action(rng.choice(["complete", "complete", "reopen", "reopen", "skip"])),
                on=date.fromordinal(day.toordinal() - rng.choice([0, 0, 0, 1, 3])),
                force=True,
            )
        except TransitionRefused:
            continue
    with engine.connect() as connection:
        kept = sorted(tuple(r) for r in connection.execute(select(project_ttfv)))
        kept_undone = sorted(tuple(r) for r in connection.execute(select(project_ttfv_undone)))
    assert any(r[7] is not None for r in kept)  # some reached value
    assert kept_undone  # some values were undone
    with engine.begin() as connection:
        assert rebuild_ttfv(connection) == 12
    with engine.connect() as connection:
        rebuilt = sorted(tuple(r) for r in connection.execute(select(project_ttfv)))
        rebuilt_undone = sorted(tuple(r) for r in connection.execute(select(project_ttfv_undone)))
    assert rebuilt == kept
    assert rebuilt_undone == kept_undone

    # The SQL grouping of the report answers as the core's rule over the same rows, on any day (among them
    # days on which a value later undone stood).
    with engine.connect() as connection:
        values = [dict(r._mapping) for r in connection.execute(select(project_ttfv))]
        undone = [dict(r._mapping) for r in connection.execute(select(project_ttfv_undone))]
    store_reports = SqlReportStore(engine)
    days = {date(2026, 1, 4), date(2026, 6, 1)}
    for _, closed, until, _ in kept_undone:
        days |= {EPOCH + timedelta(days=closed), EPOCH + timedelta(days=until - 1), EPOCH + timedelta(days=until)}
    for as_of in sorted(days):
        for dimensions in ([Dimension.blueprint], [Dimension.owner, Dimension.cohort_month], [Dimension.version]):
            for since, until in ((None, None), (date(2025, 12, 10), date(2026, 1, 5))):
                grouped = store_reports.ttfv_observations(as_of=as_of, dimensions=dimensions, since=since, until=until)
                one_by_one = observe(
                    read_model_rows(values, undone), as_of=as_of, dimensions=dimensions, since=since, until=until
                )
                assert ttfv_report(grouped, as_of=as_of, dimensions=dimensions) == ttfv_report(
                    one_by_one, as_of=as_of, dimensions=dimensions
                )
