"""The sweep over a real database, delivering to a real Maildir: kickoff, nudges, escalation, automation, status."""

from __future__ import annotations

import mailbox
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.rendering import MessageRenderer
from onboarding.adapters.email.transports import MaildirTransport
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sql import SqlProjectStore
from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.adapters.webhooks import RecordingWebhooks
from onboarding.core.lifecycle import Action, TaskState
from onboarding.core.messages import Person
from onboarding.services.dispatch import Dispatcher
from onboarding.services.projects import ProjectService
from onboarding.services.sweep import SweepService
from tests.services.test_projects import PAYROLL, PEOPLE

SENDER = Person("Onboarding", "onboarding@vendor.example")
D = date.fromisoformat


def at(day: str, hour: int = 16) -> FixedClock:
    d = D(day)
    return FixedClock(d, at=datetime(d.year, d.month, d.day, hour, 0, tzinfo=UTC))


class World:
    def __init__(self, engine: Engine, tmp_path: Path) -> None:
        self.clock = at("2026-12-04")
        self.maildir = tmp_path / "maildir"
        blueprints = FileBlueprints()
        self.projects = ProjectService(
            store=SqlProjectStore(engine), blueprints=blueprints, clock=self.clock, sender=SENDER
        )
        renderer = MessageRenderer(
            sender=SENDER,
            domain="vendor.example",
            unsubscribe_url="https://vendor.example/unsubscribe",
            unsubscribe_secret=b"sweep-test-key",
            product_name="Onboarding",
        )
        dispatcher = Dispatcher(
            outbox=SqlOutbox(engine),
            renderer=renderer,
            transport=MaildirTransport(self.maildir, fsync=False),
            clock=self.clock,
        )
        self.sweep = SweepService(
            store=SqlSweepStore(engine),
            projects=self.projects,
            blueprints=blueprints,
            clock=self.clock,
            dispatcher=dispatcher,
            webhooks=RecordingWebhooks(),
            sender=SENDER,
        )
        self.store = SqlSweepStore(engine)

    def launch(self) -> str:
        people = {**PEOPLE, "impl_engineer": Person("Ivo Petrov", "ivo@vendor.example", "America/New_York")}
        return self.projects.launch(
            PAYROLL,
            customer="Acme Manufacturing",
            kickoff_on=D("2026-12-07"),
            bindings=people,
            pay_schedule="biweekly:2026-01-02",
        ).project.id

    def mail(self) -> list[mailbox.MaildirMessage]:
        return list(mailbox.Maildir(self.maildir, create=False))

    def mail_to(self, email: str, kind: str | None = None) -> list[mailbox.MaildirMessage]:
        return [m for m in self.mail() if email in str(m["To"]) and (kind is None or kind in m["X-Onboarding-Key"])]


def test_kickoff_emails_are_delivered_once(engine: Engine, tmp_path: Path) -> None:
    world = World(engine, tmp_path)
    world.launch()
    report = world.sweep.run()
    assert report.delivered.sent == len(PEOPLE)
    assert world.sweep.run().delivered.sent == 0
    assert len(world.mail()) == len(PEOPLE)
    (lee,) = world.mail_to("lee@acme.example")
    assert lee["List-Unsubscribe"] and "kickoff" in lee["X-Onboarding-Key"]


def test_overdue_work_is_nudged_once_a_day_then_escalated(engine: Engine, tmp_path: Path) -> None:
    world = World(engine, tmp_path)
    pid = world.launch()
    world.sweep.run()
    # Thursday 12-10: the kickoff call (csm Dana, due Mon 12-07) was never marked done
    world.clock.set(D("2026-12-10"), at=datetime(2026, 12, 10, 18, 0, tzinfo=UTC))  # 10:00 in Los Angeles
    first = world.sweep.run()
    assert first.nudges >= 1
    dana = world.mail_to("dana@vendor.example", "digest")
    assert len(dana) == 1 and "Kickoff call" in dana[0].get_payload(0).get_payload(decode=True).decode()
    again = world.sweep.run()  # the same day: nothing new
    assert again.nudges == 0 and len(world.mail_to("dana@vendor.example", "digest")) == 1
    # two more nudges at the repeat interval, then the escalation contact (Sam) hears of it
    for day in ("2026-12-14", "2026-12-16"):
        d = D(day)
        world.clock.set(d, at=datetime(d.year, d.month, d.day, 18, 0, tzinfo=UTC))
        world.sweep.run()

    def text(message: mailbox.MaildirMessage) -> str:
        return str(message.get_payload(0).get_payload(decode=True).decode())

    dana = sorted(world.mail_to("dana@vendor.example", "digest"), key=lambda m: m["X-Onboarding-Key"])
    assert ["Kickoff call" in text(m) for m in dana][:2] == [True, True]
    # the third nudge of the kickoff call goes up the ladder, to the CSM's escalation contact
    (sam,) = world.mail_to("sam@vendor.example", "digest")
    assert "Kickoff call" in text(sam) and "Dana Ruiz" in text(sam)
    # (Dana's own later digests carry other people's tasks escalated to the CSM)
    project = world.projects.get(pid)
    assert project.task("kickoff_call").nudges_sent == 3


def test_no_nudges_on_a_holiday_or_in_quiet_hours(engine: Engine, tmp_path: Path) -> None:
    world = World(engine, tmp_path)
    world.launch()
    world.sweep.run()
    world.clock.set(D("2026-12-25"), at=datetime(2026, 12, 25, 16, 0, tzinfo=UTC))  # Christmas
    assert world.sweep.run().nudges == 0
    world.clock.set(D("2026-12-28"), at=datetime(2026, 12, 29, 2, 0, tzinfo=UTC))  # 20:00 in Chicago
    report = world.sweep.run()
    assert report.nudges == 0 and report.deferred > 0


def test_a_ready_automated_task_runs_its_action_and_completes(engine: Engine, tmp_path: Path) -> None:
    world = World(engine, tmp_path)
    pid = world.launch()
    world.clock.set(D("2026-12-07"))
    for key in (
        "kickoff_call",
        "sign_off_scope",
        "notify_old_provider",
        "company_setup_questionnaire",
        "configure_earnings_deductions",
        "configuration_review",
        "export_employee_data",
        "import_employee_data",
        "validate_employee_data",
    ):
        world.projects.change_task(pid, key, Action.complete, force=True)
    report = world.sweep.run()
    assert report.automated == 1
    assert world.projects.get(pid).task("direct_deposit_prenotes").state is TaskState.done
    (note,) = world.mail_to("lee@acme.example", "automated")
    assert note["Subject"] == "Direct-deposit prenotes sent for Acme Manufacturing"
    assert world.sweep.run().automated == 0


def test_weekly_status_goes_to_customer_recipients_on_their_monday(engine: Engine, tmp_path: Path) -> None:
    world = World(engine, tmp_path)
    world.launch()
    world.sweep.run()
    world.clock.set(D("2026-12-14"), at=datetime(2026, 12, 14, 16, 0, tzinfo=UTC))  # Monday 10:00 Chicago
    report = world.sweep.run()
    assert report.status_emails == 2
    weekly = [m for m in world.mail() if "weekly" in m["X-Onboarding-Key"]]
    assert sorted(str(m["To"]) for m in weekly) == ["Alex Brown <alex@acme.example>", "Lee Park <lee@acme.example>"]
    assert world.sweep.run().status_emails == 0
