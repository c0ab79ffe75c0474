"""The managers' report service on the in-memory twins: every part built as of one day, one email per manager."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.reports.html import HtmlReportPages
from onboarding.adapters.store.memory import InMemoryProjectStore, InMemoryReportStore
from onboarding.core.lifecycle import Action
from onboarding.core.messages import MessageKind, Person
from onboarding.core.ttfv import Dimension
from onboarding.services.manager_report import ManagerReportService
from onboarding.services.projects import ProjectService
from onboarding.services.reports import ReportService
from tests.services.test_projects import PAYROLL, PEOPLE, SENDER, launch

PAT = Person("Pat Lee", "pat@vendor.example")
OLA = Person("Ola Nowak", "ola@vendor.example")


def _service(
    store: InMemoryProjectStore, clock: FixedClock, tmp_path: Path, managers: list[Person]
) -> ManagerReportService:
    return ManagerReportService(
        figures=ReportService(store=InMemoryReportStore(store), blueprints=FileBlueprints(), clock=clock),
        pages=HtmlReportPages(clock=clock),
        store=store,
        clock=clock,
        managers=managers,
        folder=tmp_path / "reports",
    )


def test_the_report_is_built_written_and_queued_once_a_week_per_manager(tmp_path: Path) -> None:
    store, clock = InMemoryProjectStore(), FixedClock(date(2026, 12, 1))
    projects = ProjectService(store=store, blueprints=FileBlueprints(), clock=clock, sender=SENDER)
    first = launch(projects, external_id="CRM-1").project
    projects.launch(
        PAYROLL,
        customer="Globex Logistics",
        kickoff_on=date(2027, 1, 4),
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02",
        segment="enterprise",
    )
    value_task = next(t.key for t in first.tasks if t.first_value)
    clock.set(date(2027, 1, 15))  # work is recorded once it has happened
    projects.change_task(first.id, value_task, Action.complete, on=date(2027, 1, 15), force=True)
    clock.set(date(2027, 2, 1))
    service = _service(store, clock, tmp_path, [PAT, OLA])

    reports = service.build()
    assert reports.as_of == date(2027, 2, 1)
    assert [r.dimensions for r in reports.more] == [(Dimension.segment,), (Dimension.owner,)]
    assert (reports.by_blueprint.total.projects, reports.by_blueprint.total.reached) == (2, 1)
    assert reports.by_blueprint.total.reached_calendar_days == (39,)  # kickoff 7 Dec to 15 Jan

    path = service.write(reports, service.default_path(reports.as_of))
    assert path == tmp_path / "reports" / "onboarding-report-2027-02-01.html"
    page = path.read_text(encoding="utf-8")
    assert service.queue_emails(reports, page=page) == 2
    sent = store.messages(kind=MessageKind.manager_report)
    assert [m.to for m in sent] == [(PAT,), (OLA,)]
    assert [m.idempotency_key for m in sent] == [
        "report:2027-W05:pat@vendor.example",
        "report:2027-W05:ola@vendor.example",
    ]
    assert all(m.context["attachments"][0]["text"] == page for m in sent)
    headline = {f["label"]: f["value"] for f in sent[0].context["headline"]}
    assert headline["Median time to first value"] == "39 days" and headline["Reached first value"] == "1 of 2"

    assert service.queue_emails(reports, page=page) == 0  # the same week again: nothing new
    assert len(store.messages(kind=MessageKind.manager_report)) == 2


def test_without_managers_nothing_is_queued(tmp_path: Path) -> None:
    store, clock = InMemoryProjectStore(), FixedClock(date(2026, 12, 1))
    service = _service(store, clock, tmp_path, [])
    reports = service.build()
    assert reports.by_blueprint.groups == () and service.queue_emails(reports, page="<p>") == 0
    assert store.messages(kind=MessageKind.manager_report) == []
