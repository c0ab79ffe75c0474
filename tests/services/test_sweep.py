"""The sweep over a real database and over the in-memory twins, delivering to a real Maildir.

Kickoff, nudges, escalation, automation, status; and the fast nudge decision
against the straightforward one (every overdue row through the policy) on a
randomised portfolio.
"""

from __future__ import annotations

import mailbox
import os
import random
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select, update

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.rendering import MessageRenderer
from onboarding.adapters.email.transports import MaildirTransport
from onboarding.adapters.forked_batches import ForkedBatches
from onboarding.adapters.store.memory import InMemoryOutbox, InMemoryProjectStore, InMemorySweepStore
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sql import SqlProjectStore, outbox, projects, tasks
from onboarding.adapters.store.sweep import SqlSweepStore, nudges
from onboarding.adapters.webhooks import RecordingWebhooks
from onboarding.core.blueprint import CalendarName, NudgePolicy
from onboarding.core.lifecycle import Action, ProjectState, TaskState
from onboarding.core.messages import MessageKind, OutgoingMessage, Person
from onboarding.core.nudges import (
    NudgePlan,
    OverdueTask,
    Rung,
    decide_nudges_per_policy,
    escalation_ladder,
    sent_digests,
)
from onboarding.core.planning import scheduling_calendars
from onboarding.core.shards import Shard
from onboarding.core.status import spread_weekday
from onboarding.core.sweep_days import SweepHistory
from onboarding.errors import SweepRefused, TransitionRefused
from onboarding.services.dispatch import Dispatcher
from onboarding.services.ports import QUIET, OutboxQuery, SideBySide, TemporaryDeliveryError
from onboarding.services.projects import ProjectService, TaskChange
from onboarding.services.side_by_side import side_by_side
from onboarding.services.sweep import SweepService, batches
from tests.conftest import blueprint_data
from tests.services.test_projects import PAYROLL, PEOPLE
from tests.stores import migrated

SENDER = Person("Onboarding", "onboarding@vendor.example")
# the payroll blueprint's tasks before its automated one (direct-deposit prenotes): done, it is ready
BEFORE_PRENOTES = (
    "kickoff_call",
    "sign_off_scope",
    "notify_old_provider",
    "company_setup_questionnaire",
    "configure_earnings_deductions",
    "configuration_review",
    "export_employee_data",
    "import_employee_data",
    "validate_employee_data",
)
D = date.fromisoformat


def at(day: str, hour: int = 16) -> FixedClock:
    d = D(day)
    return FixedClock(d, at=datetime(d.year, d.month, d.day, hour, 0, tzinfo=UTC))


Stores = tuple[Any, Any, Any]  # (project store, outbox, sweep store) of one kind


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """The stores the sweep needs: the in-memory twins, or the SQL adapters on a real database."""
    if request.param == "memory":
        projects = InMemoryProjectStore()
        outbox = InMemoryOutbox(projects)
        yield projects, outbox, InMemorySweepStore(projects, outbox=outbox)
        return
    engine = migrated(request.param, request, tmp_path)
    yield SqlProjectStore(engine), SqlOutbox(engine), SqlSweepStore(engine)
    engine.dispose()


class World:
    def __init__(
        self,
        stores: Stores | Engine,
        tmp_path: Path,
        *,
        wall_clock: FixedClock | None = None,
        spread: SideBySide = side_by_side,
    ) -> None:
        """On the given stores, or on the SQL stores of a database; the sweep's clock is now unless a
        ``wall_clock`` says what now is; its batches side by side in threads unless ``spread`` says otherwise."""
        if isinstance(stores, Engine):
            stores = (SqlProjectStore(stores), SqlOutbox(stores), SqlSweepStore(stores))
        project_store, outbox, sweep_store = stores
        self.clock = at("2026-12-04")
        self.webhooks = RecordingWebhooks()
        self.maildir = tmp_path / "maildir"
        blueprints = FileBlueprints()
        self.projects = ProjectService(store=project_store, blueprints=blueprints, clock=self.clock, sender=SENDER)
        renderer = MessageRenderer(
            sender=SENDER,
            domain="vendor.example",
            unsubscribe_url="https://vendor.example/unsubscribe",
            unsubscribe_secret=b"sweep-test-key",
            product_name="Onboarding",
        )
        dispatcher = Dispatcher(
            outbox=outbox,
            renderer=renderer,
            transport=MaildirTransport(self.maildir, fsync=False, batched=True),  # as bootstrap builds it
            clock=self.clock,
            composer=self.projects,
        )
        self.sweep = SweepService(
            store=sweep_store,
            projects=self.projects,
            blueprints=blueprints,
            clock=self.clock,
            wall_clock=wall_clock,
            dispatcher=dispatcher,
            webhooks=self.webhooks,
            sender=SENDER,
            spread=spread,
        )
        self.store = sweep_store
        self.outbox = outbox

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


def test_kickoff_emails_are_delivered_once(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    world.launch()
    report = world.sweep.run()
    assert report.delivered.sent == len(PEOPLE)
    assert world.sweep.run().delivered.sent == 0
    assert len(world.mail()) == len(PEOPLE)
    (lee,) = world.mail_to("lee@acme.example")
    assert lee["List-Unsubscribe"] and "kickoff" in lee["X-Onboarding-Key"]


def test_overdue_work_is_nudged_once_a_day_then_escalated(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
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


def test_no_nudges_on_a_holiday_or_in_quiet_hours(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    world.launch()
    world.sweep.run()
    world.clock.set(D("2026-12-25"), at=datetime(2026, 12, 25, 16, 0, tzinfo=UTC))  # Christmas
    assert world.sweep.run().nudges == 0
    world.clock.set(D("2026-12-28"), at=datetime(2026, 12, 29, 2, 0, tzinfo=UTC))  # 20:00 in Chicago
    report = world.sweep.run()
    assert report.nudges == 0 and report.deferred > 0


def test_a_ready_automated_task_runs_its_action_and_completes(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    pid = world.launch()
    world.clock.set(D("2026-12-07"))
    for key in BEFORE_PRENOTES:
        world.projects.change_task(pid, key, Action.complete, force=True)
    report = world.sweep.run()
    assert report.automated == 1
    assert world.projects.get(pid).task("direct_deposit_prenotes").state is TaskState.done
    (note,) = world.mail_to("lee@acme.example", "automated")
    assert note["Subject"] == "Direct-deposit prenotes sent for Acme Manufacturing"
    assert world.sweep.run().automated == 0


def _launched_with_hooks(stores: Stores, tmp_path: Path, tasks: list[dict[str, Any]]) -> tuple[World, str]:
    """A world with one project of a blueprint of these tasks (a CSM, an engineer and a customer admin), kicked
    off on 2026-12-07: the world and the project's id."""
    path = tmp_path / "hooked.yaml"
    path.write_text(yaml.safe_dump(blueprint_data(tasks), sort_keys=False))
    world = World(stores, tmp_path)
    people = {
        "csm": Person("Dana Ruiz", "dana@vendor.example", "America/Los_Angeles"),
        "engineer": Person("Ivo Petrov", "ivo@vendor.example", "America/New_York"),
        "admin": Person("Lee Park", "lee@acme.example", "America/Chicago"),
    }
    launched = world.projects.launch(str(path), customer="Acme", kickoff_on=D("2026-12-07"), bindings=people)
    return world, launched.project.id


def test_an_automated_task_waiting_for_its_predecessors_runs_no_action_until_they_are_done(
    stores: Stores, tmp_path: Path
) -> None:
    """Projected to start within days, it is looked at by every sweep; its webhook is called only once the work
    before it is done, then it completes itself."""
    tasks = [
        {"key": "kickoff_call", "title": "Kickoff call", "owner": "csm"},
        {
            "key": "sync_hris",
            "title": "Sync the HRIS",
            "owner": "engineer",
            "kind": "automated",
            "depends_on": ["kickoff_call"],
            "action": {"type": "webhook", "url": "https://hooks.vendor.example/sync"},
        },
        {"key": "first_use", "title": "First use", "owner": "admin", "depends_on": ["sync_hris"]},
    ]
    world, pid = _launched_with_hooks(stores, tmp_path, tasks)
    for day in ("2026-12-04", "2026-12-07", "2026-12-08"):
        world.clock.set(D(day))
        assert world.sweep.run().automated == 0
    assert world.webhooks.calls == []  # never called while the kickoff call is open
    assert world.projects.get(pid).task("sync_hris").state is TaskState.pending
    world.projects.change_task(pid, "kickoff_call", Action.complete)
    assert world.sweep.run().automated == 1
    (call,) = world.webhooks.calls
    assert call[0] == "https://hooks.vendor.example/sync" and call[2] == f"webhook:{pid}:sync_hris"
    assert world.projects.get(pid).task("sync_hris").state is TaskState.done
    assert world.sweep.run().automated == 0 and len(world.webhooks.calls) == 1


def test_an_automated_task_after_one_whose_webhook_failed_runs_no_action_that_sweep(
    stores: Stores, tmp_path: Path
) -> None:
    """Two webhook tasks in a row, both ready to run as far as the stored states say: the first one's call fails,
    so it stays pending, and the second is not called before it."""
    hook = {"type": "webhook", "url": "https://hooks.vendor.example/run"}
    tasks = [
        {"key": "kickoff_call", "title": "Kickoff call", "owner": "csm"},
        {"key": "sync", "title": "Sync", "owner": "engineer", "kind": "automated", "depends_on": ["kickoff_call"]},
        {"key": "notify", "title": "Notify", "owner": "engineer", "kind": "automated", "depends_on": ["sync"]},
    ]
    for task in tasks[1:]:
        task["action"] = hook
    world, pid = _launched_with_hooks(stores, tmp_path, tasks)
    world.clock.set(D("2026-12-07"))
    world.projects.change_task(pid, "kickoff_call", Action.complete)
    world.webhooks.failures.append(TemporaryDeliveryError("the receiver is down"))
    assert world.sweep.run().automated == 0
    assert world.webhooks.calls == []  # the second task's hook was not called after the first one's failed
    assert {world.projects.get(pid).task(k).state for k in ("sync", "notify")} == {TaskState.pending}
    assert world.sweep.run().automated == 2  # the receiver is back: both run, in order, in one sweep
    assert [key for _url, _payload, key in world.webhooks.calls] == [f"webhook:{pid}:sync", f"webhook:{pid}:notify"]


def test_a_batch_of_task_changes_leaves_what_the_same_changes_one_at_a_time_leave(
    stores: Stores, tmp_path: Path
) -> None:
    """``change_tasks`` (the sweep's automated tasks, a batch at a time) against ``change_task`` per change, on two
    projects launched alike: the same tasks, dates, states, events and emails, a refused change left out."""
    world = World(stores, tmp_path)
    one_at_a_time, batched = world.launch(), world.launch()
    world.clock.set(D("2027-01-19"))  # weeks late: each change re-forecasts and moves the go-live
    asked = ["kickoff_call", "company_setup_questionnaire", "sign_off_scope", "go_no_go", "notify_old_provider"]

    def note(pid: str, key: str) -> OutgoingMessage:
        return OutgoingMessage(
            idempotency_key=f"test:{pid}:{key}",
            kind=MessageKind.automated,
            to=(PEOPLE["customer_payroll_admin"],),
            subject=f"{key} done",
            context={},
            customer_facing=True,
            project_id=pid,
        )

    made_alone = []
    for key in asked:
        try:
            world.projects.change_task(
                one_at_a_time, key, Action.complete, by="engine", messages=[note(one_at_a_time, key)]
            )
        except TransitionRefused:
            continue
        made_alone.append(key)
    made = world.projects.change_tasks(
        [TaskChange(batched, key, (note(batched, key),)) for key in asked], Action.complete, by="engine"
    )
    assert [c.task_key for c in made] == made_alone
    assert "go_no_go" not in made_alone and "sign_off_scope" in made_alone  # refused, and allowed by one before it

    def seen(pid: str) -> tuple[object, ...]:
        project = world.projects.get(pid)
        events = [(e.kind, e.actor, e.task_key, e.data) for e in world.projects.events(pid)]
        entries, _ = world.outbox.entries(OutboxQuery(project_id=pid))
        # a weekly update's slot is the project's own weekday (``spread``): the two projects' differ
        mail = sorted(
            (e.kind, e.subject, e.recipients, re.sub(r":weekly:.*", "", e.key.replace(pid, "P"))) for e in entries
        )
        return (
            project.tasks,
            project.state,
            project.projected_go_live_on,
            project.finish_on,
            project.go_live_moved_on,
            repr(events).replace(pid, "P"),
            mail,
        )

    for got, expected in zip(seen(batched), seen(one_at_a_time), strict=True):
        assert got == expected
    assert world.projects.get(batched).version == 2  # one write for its changes


def test_weekly_status_goes_to_customer_recipients_on_their_projects_weekday(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    pid = world.launch()
    world.clock.set(D("2026-12-11"), at=datetime(2026, 12, 12, 3, 0, tzinfo=UTC))  # Friday night in Chicago
    world.sweep.run()
    weekday = spread_weekday(pid)  # the example spreads its digests: Monday to Friday, the project's own
    day = D("2026-12-14") + timedelta(days=weekday)
    world.clock.set(day, at=datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC))  # 08:30 in Chicago
    assert world.sweep.run().status_emails == 0  # its day, before its time
    if weekday:
        world.clock.set(day - timedelta(days=1), at=datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC))
        assert world.sweep.run().status_emails == 0  # the day before, at night
    world.clock.set(day, at=datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC))  # 09:00 in Chicago
    report = world.sweep.run()
    assert report.status_emails == 2
    weekly = [m for m in world.mail() if "weekly" in m["X-Onboarding-Key"] and day.isoformat() in m["X-Onboarding-Key"]]
    assert sorted(str(m["To"]) for m in weekly) == ["Alex Brown <alex@acme.example>", "Lee Park <lee@acme.example>"]
    assert world.sweep.run().status_emails == 0


def test_a_weekly_update_queued_goes_only_to_a_reader_still_bound_of_a_project_still_active(
    stores: Stores, tmp_path: Path
) -> None:
    """Composed at delivery from the project as it is then, a weekly update queued before its reader's role was
    rebound is not sent to them (it would tell someone off the project how it stands today), nor one queued before
    the project was put on hold: each is kept suppressed, with why. The role's new holder gets theirs at once."""
    world = World(stores, tmp_path)
    pid = world.launch()
    world.sweep.run()  # the kickoff emails
    day = D("2026-12-14") + timedelta(days=spread_weekday(pid))
    world.clock.set(day, at=datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC))  # 09:00 in Chicago
    assert world.sweep.weekly_status([pid]) == 2  # Alex and Lee's, queued to be composed
    jo = Person("Jo Park", "jo@acme.example", "America/Chicago")
    world.projects.rebind(pid, "customer_payroll_admin", jo, note="Lee left Acme")
    report = world.sweep.deliver()
    assert (report.sent, report.suppressed) == (1, 1)
    assert world.mail_to("lee@acme.example", "weekly") == [] and len(world.mail_to("alex@acme.example", "weekly")) == 1
    (kept,) = [e for e in world.outbox.entries(OutboxQuery(project_id=pid))[0] if e.state == "suppressed"]
    assert kept.key == f"status:{pid}:lee@acme.example:weekly:{day}"
    assert kept.last_error == "lee@acme.example is no longer one of the project's status readers: not sent to them"
    # the role's new holder has had no update yet: the next sweep sends them this week's, late rather than never
    assert world.sweep.run().status_emails == 1
    assert [m["X-Onboarding-Key"] for m in world.mail_to("jo@acme.example", "weekly")] == [
        f"status:{pid}:jo@acme.example:weekly:{day}"
    ]
    assert world.sweep.run().status_emails == 0

    later = day + timedelta(days=7)
    world.clock.set(later, at=datetime(later.year, later.month, later.day, 15, 0, tzinfo=UTC))
    assert world.sweep.weekly_status([pid]) == 2  # Alex's and Jo's
    world.projects.hold(pid, reason="customer reorganising")
    report = world.sweep.deliver()
    assert (report.sent, report.suppressed) == (0, 2)
    held = [e for e in world.outbox.entries(OutboxQuery(project_id=pid))[0] if e.key.endswith(f":weekly:{later}")]
    assert {e.state for e in held} == {"suppressed"}
    assert {e.last_error for e in held} == {"its project is on hold: weekly updates go to active projects only"}
    assert world.sweep.run().status_emails == 0  # the sweep queues none while it is held


# -- the fast decision against the straightforward one ----------------------------------------------


def straightforward_decision(service: SweepService, store: Any, clock: FixedClock) -> tuple[int, NudgePlan]:
    """Every overdue row, in (project, task) order, through the policy: what the sweep decided before it read
    only the rows that may be due."""
    now, today = clock.now(), clock.today()
    rows = sorted(store.overdue_rows(today=today), key=lambda r: (r.project_id, r.task_key))
    people = store.bindings_of(r.project_id for r in rows)
    texts = store.blueprint_texts({r.blueprint_id for r in rows})
    already_sent = sent_digests(store.digests_since(now - timedelta(days=2)))
    parsed = {i: FileBlueprints().parse(text, source=source).blueprint for i, (text, source) in texts.items()}
    groups: dict[NudgePolicy, list[OverdueTask]] = {parsed[i].nudges: [] for i in sorted(parsed)}
    calendars_of = {i: scheduling_calendars(bp) for i, bp in parsed.items()}
    for r in rows:
        bp, calendars = parsed[r.blueprint_id], calendars_of[r.blueprint_id]
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


def comparable(plan: NudgePlan) -> dict[str, list[tuple[object, ...]]]:
    return {
        "nudges": [(n.key, n.level, n.recipient, n.digest_key, n.nudged_on) for n in plan.nudges],
        "digests": [
            (m.idempotency_key, m.to, m.subject, m.context, m.customer_facing, m.project_id, m.reply_to)
            for m in plan.digests
        ],
        "deferred": [(t.project_id, t.task_key, t.due_version, why) for t, why in plan.deferred],
    }


def random_policy(rnd: random.Random) -> str:
    quiet = rnd.choice([("18:00", "08:00"), ("22:00", "06:00"), ("00:00", "00:00"), ("12:00", "13:00")])
    return (
        "nudges:\n"
        f"  first_after_business_days: {rnd.choice([0, 1, 2, 3])}\n"
        f"  repeat_every_business_days: {rnd.choice([1, 2, 3, 5])}\n"
        f"  escalate_after_nudges: {rnd.choice([1, 2, 3])}\n"
        f"  ladder: {rnd.choice(['[owner, escalation, csm]', '[owner, escalation]', '[owner, csm]', '[owner]'])}\n"
        f"  daily_cap_per_recipient: {rnd.choice([1, 1, 2, 3])}\n"
        f'  quiet_hours: {{start: "{quiet[0]}", end: "{quiet[1]}"}}\n'
        f'  send_at: "{rnd.choice(["00:00", "09:00", "10:30"])}"\n'
    )


def random_portfolio(world: World, stores: Stores, tmp_path: Path, rnd: random.Random) -> None:
    """Projects of the payroll blueprint and of a variant with a random nudge policy, their tasks overdue at
    random with random nudge histories; some on hold. People keep one zone each; vendor staff are shared."""
    project_store, _, sweep_store = stores
    text = Path(PAYROLL).read_text(encoding="utf-8")
    start = text.index("nudges:\n")
    variant = tmp_path / "payroll-variant.yaml"
    variant.write_text(
        text[:start].replace("version: 1.0.0", "version: 1.1.0")
        + random_policy(rnd)
        + text[text.index("\nstatus_emails:", start) :],
        encoding="utf-8",
    )
    zones = ["America/Chicago", "America/Los_Angeles", "Europe/Sofia", "Asia/Tokyo", "Pacific/Auckland", "UTC"]
    staff = [Person(f"Staff {i}", f"staff{i}@vendor.example", rnd.choice(zones)) for i in range(6)]
    vendor_roles = ["implementation_manager", "csm", "impl_engineer", "payroll_specialist"]
    customer_roles = ["customer_sponsor", "customer_payroll_admin", "customer_hr_admin"]
    today = world.clock.today()
    for p in range(8):
        customer = f"Customer {p}"
        domain = f"c{p}.example"
        client = [Person(f"Client {p}.{i}", f"client{i}@{domain}", rnd.choice(zones)) for i in range(2)]
        bindings = {role: rnd.choice(staff) for role in vendor_roles}
        bindings |= {role: rnd.choice(client) for role in customer_roles}
        launched = world.projects.launch(
            str(variant) if p % 2 else PAYROLL,
            customer=customer,
            kickoff_on=today - timedelta(days=rnd.randint(20, 90)),
            bindings=bindings,
            pay_schedule="biweekly:2026-01-02",
        )
        project = launched.project
        changed = []
        for task in project.tasks:
            if rnd.random() < 0.5:
                continue
            target = today - timedelta(days=rnd.randint(-3, 25))
            sent = rnd.choice([0, 0, 1, 2, 3, 5])
            last = None if sent == 0 else target + timedelta(days=rnd.randint(0, max(0, (today - target).days)))
            state = rnd.choice([TaskState.in_progress, TaskState.pending, TaskState.blocked, TaskState.done])
            changed.append(
                task._replace(
                    state=state,
                    target_due_on=target,
                    nudges_sent=sent,
                    last_nudged_on=last,
                    due_version=rnd.choice([1, 1, 2]),
                )
            )
        on_hold = rnd.random() < 0.2
        if isinstance(project_store, InMemoryProjectStore):
            by_key = {t.key: t for t in changed}
            project_store.projects[project.id] = replace(
                project,
                tasks=tuple(by_key.get(t.key, t) for t in project.tasks),
                state=ProjectState.on_hold if on_hold else project.state,
            )
            continue
        with sweep_store.engine.begin() as connection:
            for t in changed:
                connection.execute(
                    update(tasks)
                    .where(tasks.c.project_id == project.id, tasks.c.key == t.key)
                    .values(
                        state=t.state.value,
                        target_due_on=t.target_due_on,
                        nudges_sent=t.nudges_sent,
                        last_nudged_on=t.last_nudged_on,
                        due_version=t.due_version,
                    )
                )
            if on_hold:
                connection.execute(update(projects).where(projects.c.id == project.id).values(state="on_hold"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_decision_reads_only_rows_that_may_be_due_and_decides_as_over_every_row(
    stores: Stores, tmp_path: Path, seed: int
) -> None:
    rnd = random.Random(seed)  # noqa: S311 - a seeded portfolio, nothing secret
    world = World(stores, tmp_path)
    world.clock.set(D("2026-12-21"), at=datetime(2026, 12, 21, 15, 0, tzinfo=UTC))
    random_portfolio(world, stores, tmp_path, rnd)
    store = stores[2]
    decided_any = False
    # a week of sweeps at random hours (Christmas among them), recording what each decided
    for day in range(9):
        d = D("2026-12-21") + timedelta(days=day)
        for hour in sorted(rnd.sample(range(24), 2)):
            world.clock.set(d, at=datetime(d.year, d.month, d.day, hour, rnd.choice([0, 30]), tzinfo=UTC))
            fast = world.sweep.decide_nudges()
            overdue, expected = straightforward_decision(world.sweep, store, world.clock)
            assert fast.overdue_tasks == overdue
            assert comparable(fast.plan) == comparable(expected)
            decided_any = decided_any or bool(fast.plan.nudges and fast.plan.deferred)
            world.sweep.record_nudges(fast)
    assert decided_any  # the portfolio exercised both sending and holding back


def test_nobody_gets_a_customer_email_about_a_project_they_unsubscribed_from(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    left, right = world.launch(), world.launch()
    assert world.projects.unsubscribe(left, email="Lee@Acme.example")  # addresses compare without case
    assert not world.projects.unsubscribe(left, email="lee@acme.example")  # said once is enough
    delivered = world.sweep.deliver()
    assert delivered.suppressed == 1  # Lee's kickoff email about the left project, and nothing else of Lee's
    sent = [(m["X-Onboarding-Key"], m["To"]) for m in mailbox.Maildir(world.maildir, create=False)]
    assert [k for k, to in sent if "lee@acme.example" in to and left in k] == []
    assert len([k for k, to in sent if "lee@acme.example" in to and right in k]) == 1
    # other people still hear about the left project, and a rerun sends nothing more
    assert any(left in k and "lee@" not in to for k, to in sent)
    assert world.sweep.deliver().sent == 0


@pytest.mark.parametrize(
    ("projects", "besides", "expected_batches"),
    [(0, 2, 0), (1, 2, 1), (1_000, 2, 1), (1_500, 2, 1), (5_000, 2, 8), (250_000, 2, 498), (250_000, 0, 500)],
)
def test_batches_leave_room_for_the_other_steps_within_one_per_500(
    projects: int, besides: int, expected_batches: int
) -> None:
    ids = [f"p{n:06d}" for n in range(projects)]
    found = batches(ids, besides=besides)
    assert len(found) == expected_batches
    assert [i for batch in found for i in batch] == ids  # every id once, in order
    if projects > (besides + 1) * 500:
        assert len(found) + besides <= -(-projects // 500)


def assert_recorded_once(engine: Engine, plan: NudgePlan) -> None:
    """Each digest of ``plan`` queued once, and each nudged task's counters as its nudge left them."""
    with engine.connect() as connection:
        queued = (
            connection.execute(select(outbox.c.idempotency_key).where(outbox.c.kind == "nudge_digest")).scalars().all()
        )
        counters = {
            (pid, key): (sent, last)
            for pid, key, sent, last in connection.execute(
                select(tasks.c.project_id, tasks.c.key, tasks.c.nudges_sent, tasks.c.last_nudged_on)
            )
        }
    assert sorted(queued) == sorted(d.key for d in plan.digests)
    for n in plan.nudges:
        assert counters[(n.project_id, n.task_key)] == (n.number, n.nudged_on)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_nudges_are_recorded_in_transactions_of_whole_digests(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = migrated(kind, request, tmp_path)
    stores = (SqlProjectStore(engine), SqlOutbox(engine), SqlSweepStore(engine))
    world = World(stores, tmp_path)
    world.clock.set(D("2026-12-22"), at=datetime(2026, 12, 22, 17, 0, tzinfo=UTC))
    random_portfolio(world, stores, tmp_path, random.Random(7))  # noqa: S311 - a seeded portfolio
    decision = world.sweep.decide_nudges()
    plan = decision.plan
    assert len(plan.digests) > 2 and len(plan.nudges) > len(plan.digests)  # some digests carry several nudges
    transactions: list[set[str]] = []
    record = SqlSweepStore._record

    def spy(self: SqlSweepStore, decided: Any, digests: Any, *, now: datetime) -> int:
        transactions.append({n.digest_key for n in decided})
        assert {d.key for d in digests} == transactions[-1]  # each digest with all of its nudges
        return record(self, decided, digests, now=now)

    monkeypatch.setattr(SqlSweepStore, "_record", spy)
    monkeypatch.setattr("onboarding.adapters.store.sweep.RECORD_CHUNK", 2)
    assert world.sweep.record_nudges(decision) == len(plan.nudges)
    assert len(transactions) > 1
    assert sum(len(t) for t in transactions) == len(plan.digests)  # no digest split between two
    assert_recorded_once(engine, plan)
    assert world.sweep.record_nudges(decision) == 0  # recorded once
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_nudges_another_sweep_recorded_are_left_alone_and_the_rest_recorded(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Half the digests recorded first (another sweep's), then the whole decision: only the rest is recorded
    and counted, each task's counters bumped once, each digest queued once."""
    engine = migrated(kind, request, tmp_path)
    stores = (SqlProjectStore(engine), SqlOutbox(engine), SqlSweepStore(engine))
    world = World(stores, tmp_path)
    world.clock.set(D("2026-12-22"), at=datetime(2026, 12, 22, 17, 0, tzinfo=UTC))
    random_portfolio(world, stores, tmp_path, random.Random(7))  # noqa: S311 - a seeded portfolio
    plan = world.sweep.decide_nudges().plan
    now = world.clock.now()
    first = plan.digests[: len(plan.digests) // 2]
    earlier = [n for n in plan.nudges if n.digest_key in {d.key for d in first}]
    assert 0 < len(earlier) < len(plan.nudges)
    assert stores[2].record_nudges(earlier, first, now=now) == len(earlier)
    assert stores[2].record_nudges(plan.nudges, plan.digests, now=now) == len(plan.nudges) - len(earlier)
    assert_recorded_once(engine, plan)
    engine.dispose()


def test_weekly_updates_are_queued_without_reading_a_project_and_composed_of_their_projects_alone(
    tmp_path: Path,
) -> None:
    """The sweep queues a weekly update from a project's row and people; delivery reads the projects of the
    updates it composes, and no other."""
    projects_store = InMemoryProjectStore()
    world = World((projects_store, InMemoryOutbox(projects_store), InMemorySweepStore(projects_store)), tmp_path)
    quiet = tmp_path / "payroll-quiet.yaml"
    text = Path(PAYROLL).read_text(encoding="utf-8")
    quiet.write_text(re.sub(r"weekly_digest: \{[^}]*\}", "weekly_digest: null", text), encoding="utf-8")
    assert "weekly_digest: null" in quiet.read_text(encoding="utf-8")
    weekly = world.launch()
    silent = world.projects.launch(
        str(quiet), customer="Birch", kickoff_on=D("2026-12-07"), bindings=PEOPLE, pay_schedule="biweekly:2026-01-02"
    ).project.id
    read: list[str] = []
    load_many = projects_store.load_many

    def spy(ids: Sequence[str]) -> list[Any]:
        read.extend(ids)
        return load_many(ids)

    projects_store.load_many = spy  # type: ignore[method-assign]
    world.clock.set(D("2026-12-18"), at=datetime(2026, 12, 18, 16, 0, tzinfo=UTC))  # Friday: every weekday's slot
    assert world.sweep.weekly_status([weekly, silent]) == 2  # the weekly blueprint's two recipients
    assert read == []
    world.sweep.deliver()
    assert len([m for m in world.mail() if ":weekly:" in m["X-Onboarding-Key"]]) == 2
    assert read == [weekly]


def test_a_task_late_to_start_moves_the_plan_before_it_is_late_to_finish(stores: Stores, tmp_path: Path) -> None:
    """Read as of the day after its start, the plan has moved; the sweep leaves the project as stored while its
    go-live holds (``ProjectRecord.sweep_after``)."""
    world = World(stores, tmp_path)
    pid = world.launch()
    world.clock.set(D("2026-12-07"))
    world.projects.change_task(pid, "kickoff_call", Action.complete, on=D("2026-12-07"))
    world.clock.set(D("2026-12-08"))  # work is recorded once it has happened
    world.projects.change_task(pid, "notify_old_provider", Action.complete, on=D("2026-12-08"))
    planned = world.projects.get(pid).task("sign_off_scope")
    assert (planned.start_on, planned.due_on, planned.target_due_on) == (D("2026-12-08"), *[D("2026-12-09")] * 2)
    # Wednesday the 9th: nobody started it on the 8th, and it is not late yet (expected by the 9th)
    world.clock.set(D("2026-12-09"))
    moved = world.projects.get(pid).task("sign_off_scope")
    assert (moved.start_on, moved.due_on, moved.target_due_on) == (D("2026-12-09"), D("2026-12-10"), D("2026-12-09"))
    (stored,) = world.projects.stored_many([pid])
    assert stored.task("sign_off_scope") == planned  # as of the day the plan last changed
    assert stored.sweep_after is not None and stored.sweep_after > D("2026-12-09")  # its go-live holds until then
    assert world.sweep.projects_to_reforecast() == [] and world.sweep.run().reforecast == 0
    world.projects.change_task(pid, "sign_off_scope", Action.start, on=D("2026-12-09"))
    world.clock.set(D("2026-12-10"))
    assert world.sweep.projects_to_reforecast() == []  # started, and not past its projected due date


def test_a_project_that_cannot_be_replanned_is_reported_and_the_sweep_goes_on(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    broken, fine = world.launch(), world.launch()
    project_store = stores[0]
    if isinstance(project_store, InMemoryProjectStore):
        project_store.projects[broken] = replace(project_store.projects[broken], pay_schedule="fortnightly")
    else:
        with project_store.engine.begin() as connection:
            connection.execute(update(projects).where(projects.c.id == broken).values(pay_schedule="fortnightly"))
    world.clock.set(D("2026-12-09"))  # both late to start their first tasks
    report = world.sweep.run()
    assert report.reforecast == 1 and world.projects.get(fine).task("kickoff_call").start_on == D("2026-12-09")
    (line,) = report.not_replanned
    assert line.startswith(f"{broken}: ") and "pay-schedule" in line
    kickoffs = [m for m in world.mail() if m["X-Onboarding-Key"].startswith("kickoff:")]
    assert len(kickoffs) == 2 * len(PEOPLE)  # both projects' kickoff emails went out all the same


def test_a_sweep_never_runs_later_than_now_nor_before_the_latest_day_swept(stores: Stores, tmp_path: Path) -> None:
    wall = at("2026-12-04", 15)
    world = World(stores, tmp_path, wall_clock=wall)  # the sweep as of 16:00, now 15:00
    world.launch()
    with pytest.raises(SweepRefused) as refused:
        world.sweep.run()
    assert refused.value.codes == ["sweep-in-future"]
    assert world.mail() == [] and world.store.sweep_history() == SweepHistory()
    wall.set(D("2026-12-04"), at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC))
    assert world.sweep.run().delivered.sent == len(PEOPLE)
    assert world.store.sweep_history() == SweepHistory(latest_swept_on=D("2026-12-04"))
    world.clock.set(D("2026-12-03"))  # a day before the latest day swept, however far behind now it is
    wall.set(D("2026-12-09"))
    with pytest.raises(SweepRefused) as refused:
        world.sweep.run()
    assert refused.value.codes == ["sweep-before-last-swept"]
    world.clock.set(D("2026-12-08"))  # a catch-up, oldest missed day first
    world.sweep.run()
    assert world.store.sweep_history().latest_swept_on == D("2026-12-08")


def test_a_simulation_moves_its_clock_forward(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path, wall_clock=at("2026-11-02"))
    world.store.mark_simulation(at=datetime(2026, 11, 2, tzinfo=UTC))
    world.launch()
    for day in ("2026-12-04", "2026-12-07"):
        world.clock.set(D(day))
        world.sweep.run()
    assert world.store.sweep_history() == SweepHistory(latest_swept_on=D("2026-12-07"), simulation=True)
    assert world.mail()


def test_a_preview_decides_as_the_sweep_does_and_records_nothing(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    world.launch()
    world.clock.set(D("2026-12-16"), at=datetime(2026, 12, 16, 16, 0, tzinfo=UTC))  # the first weeks' work overdue
    preview = world.sweep.preview()
    assert world.mail() == [] and world.store.sweep_history() == SweepHistory()
    assert world.sweep.preview() == preview  # nothing moved: the same decisions again
    report = world.sweep.run()
    assert report.nudges == sum(len(lines) for lines in preview.nudges.values()) > 0
    assert report.digests == len(preview.nudges) and report.deferred == preview.deferred
    assert report.reforecast == len(preview.reforecast) > 0
    assert report.delivered.sent == len(preview.delivered) == len(world.mail())
    unfolded = sorted(" ".join(str(m["Subject"]).split()) for m in world.mail())
    assert unfolded == sorted(line.subject for line in preview.delivered)


QUIET_WEEKS = """
key: quiet_weeks
version: 1.0.0
title: Quiet weeks
roles:
  csm: {title: Customer success manager, side: vendor}
  engineer: {title: Engineer, side: vendor}
  customer_admin: {title: Administrator, side: customer}
calendars:
  vendor: {country: US}
  customer: {country: US}
milestones:
  - key: build
    title: Build
    tasks:
      - {key: build_it, title: Build the workspace, owner: engineer, duration_business_days: 20}
  - key: accept
    title: Acceptance
    tasks:
      - key: approve
        title: Approve the workspace
        owner: customer_admin
        duration_business_days: 2
        depends_on: [build_it]
        first_value: true
ttfv: {start_event: kickoff, target_calendar_days: 40}
status_emails:
  recipients: [customer_admin]
  on_milestone_complete: false
  weekly_digest: {weekday: mon, at: "09:00"}
"""


def test_a_weekly_update_waits_for_news_and_a_quiet_week_is_weighed_once(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    blueprint = tmp_path / "quiet-weeks.yaml"
    blueprint.write_text(QUIET_WEEKS, encoding="utf-8")
    kim = Person("Kim Diaz", "kim@acme.example", "America/Chicago")
    people = {"csm": PEOPLE["csm"], "engineer": PEOPLE["csm"], "customer_admin": kim}
    world.clock.set(D("2026-12-07"), at=datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    pid = world.projects.launch(str(blueprint), customer="Birch", kickoff_on=D("2026-12-07"), bindings=people)
    pid = pid.project.id
    world.sweep.run()
    monday = datetime(2026, 12, 14, 15, 0, tzinfo=UTC)  # 09:00 in Chicago: the first weekly slot after kickoff
    world.clock.set(D("2026-12-14"), at=monday)
    # the build runs for four weeks, nothing is asked of the customer yet, the go-live has not moved: quiet
    swept = world.sweep.run()
    assert (swept.status_emails, swept.delivered.quiet, swept.delivered.sent) == (1, 1, 0)  # composed, not sent
    (kept,) = [e for e in world.outbox.entries(OutboxQuery(project_id=pid))[0] if e.kind == "status"]
    assert (kept.state, kept.key, kept.last_error) == ("suppressed", f"quiet:{kept.id}", QUIET)  # its own key freed
    assert world.store.weekly_status_sent([pid]) == {pid: {kim.email: D("2026-12-14")}}
    assert world.sweep.weekly_status([pid]) == 0  # the quiet week counts as this week's update
    assert world.mail_to(kim.email, "weekly") == []
    world.clock.set(D("2026-12-15"), at=monday + timedelta(days=1))
    world.projects.change_task(pid, "build_it", Action.complete)  # done early: news, which ends the quiet week
    world.sweep.run()
    assert [m["X-Onboarding-Key"] for m in world.mail_to(kim.email, "weekly")] == [
        f"status:{pid}:kim@acme.example:weekly:2026-12-14"
    ]
    (still,) = world.outbox.entries(OutboxQuery(ids=(kept.id,)))[0]
    assert (still.key, still.state) == (kept.key, "suppressed")  # no id is given twice
    world.clock.set(D("2026-12-21"), at=monday + timedelta(days=7))
    assert world.sweep.run().status_emails == 1  # the approval is asked of her now
    assert len(world.mail_to(kim.email, "weekly")) == 2


def test_a_project_remembers_the_day_its_go_live_last_moved(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    pid = world.launch()
    launched = world.projects.get(pid)
    assert launched.go_live_moved_on is None  # a launch plans the go-live; it does not move it
    world.clock.set(D("2027-03-15"), at=datetime(2027, 3, 15, 15, 0, tzinfo=UTC))  # nothing done for three months
    world.sweep.run()
    late = world.projects.get(pid)
    assert late.projected_go_live_on != launched.projected_go_live_on
    assert late.go_live_moved_on == D("2027-03-15")
    world.clock.set(D("2027-03-16"), at=datetime(2027, 3, 16, 15, 0, tzinfo=UTC))
    world.projects.note(pid, "still waiting", by="test")  # a change that moves no date
    assert world.projects.get(pid).go_live_moved_on == D("2027-03-15")


def test_the_shards_of_a_sweep_share_its_projects_and_together_do_what_it_does(stores: Stores, tmp_path: Path) -> None:
    """N shard runs attend each active project once (``core.shards``); attending them shard by shard, after the
    portfolio-wide steps, re-forecasts and queues what the sweep's one pass would."""
    world = World(stores, tmp_path)
    pids = [world.launch() for _ in range(7)]
    world.clock.set(D("2027-01-19"))  # weeks late: every plan moves
    world.sweep.begin()
    active, moving = world.sweep.active_projects(), world.sweep.projects_to_reforecast()
    assert sorted(active) == sorted(pids) and sorted(moving) == sorted(pids)
    parts = [Shard(index, 3) for index in range(3)]
    assert sorted(p for part in parts for p in world.sweep.active_projects(part)) == sorted(active)
    assert sorted(p for part in parts for p in world.sweep.projects_to_reforecast(part)) == sorted(moving)
    world.sweep.automate(world.sweep.ready_automated())
    world.sweep.record_nudges(world.sweep.decide_nudges())
    attended = [
        world.sweep.attend(world.sweep.active_projects(part), replan=world.sweep.projects_to_reforecast(part))
        for part in parts
    ]
    assert sum(reforecast for reforecast, _, _ in attended) == len(pids)
    assert world.sweep.projects_to_reforecast() == []  # nothing left for another shard or a second pass
    again = world.sweep.run()  # the whole sweep after its shards: nothing left to do
    assert (again.reforecast, again.status_emails, again.nudges, again.automated) == (0, 0, 0, 0)


@pytest.mark.parametrize("how", ["threads", "processes"])
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_batches_worked_side_by_side_leave_what_one_after_the_other_leaves(
    kind: str, how: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same portfolio swept with its batches (of two) worked one after the other, then two at a time
    (``SweepService.workers``) in threads or in forked processes (``ForkedBatches``): the same automated tasks
    run, plans, events, nudges and emails queued."""

    def swept(name: str, *, workers: int) -> tuple[object, ...]:
        ids = iter(range(100))
        monkeypatch.setattr("onboarding.services.projects.new_project_id", lambda _customer: f"acme-{next(ids):02d}")
        (tmp_path / name).mkdir()
        engine = migrated(kind, request, tmp_path / name)
        world = World(engine, tmp_path / name, spread=ForkedBatches(engine) if how == "processes" else side_by_side)
        pids = [world.launch() for _ in range(9)]
        world.clock.set(D("2026-12-07"))
        for pid in pids[::2]:  # their automated task (direct-deposit prenotes) ready once these are done
            for key in BEFORE_PRENOTES:
                world.projects.change_task(pid, key, Action.complete, force=True)
        # weeks late: plans move, nudges (09:00 in Chicago has passed) and weekly updates are due
        world.clock.set(D("2027-01-19"), at=datetime(2027, 1, 19, 17, 0, tzinfo=UTC))
        world.sweep.workers, world.sweep.batch = workers, 2
        workings = tmp_path / name / "workings"  # each batch's process and thread: a forked one's too
        attend = world.sweep.attend

        def attending(batch: Sequence[str], *, replan: Any) -> tuple[int, int, list[str]]:
            with workings.open("a") as lines:
                lines.write(f"{os.getpid()} {threading.current_thread().name}\n")
            return attend(batch, replan=replan)

        world.sweep.attend = attending  # type: ignore[method-assign]
        report = world.sweep.run()
        worked = {tuple(line.split()) for line in workings.read_text().splitlines()}
        if workers == 1 or how == "threads":
            assert {pid for pid, _thread in worked} == {str(os.getpid())} and len(worked) == workers
        else:  # each batch in a process of its own, none in this one
            assert len({pid for pid, _thread in worked}) == workers and str(os.getpid()) not in dict(worked)
        assert (report.automated, report.reforecast) == (5, 4) and report.nudges > 0
        records = [world.projects.get(pid) for pid in pids]
        with engine.connect() as connection:
            queued = sorted((r.idempotency_key, r.subject) for r in connection.execute(select(outbox)))
            nudged = sorted(tuple(r) for r in connection.execute(select(nudges.c.key, nudges.c.digest_key)))
            rows = connection.execute(select(projects.c.id, projects.c.weekly_due_at, projects.c.version))
            thresholds = sorted(tuple(r) for r in rows)
        seen = (
            report.nudges,
            report.status_emails,
            [(p.tasks, p.state, p.projected_go_live_on, p.go_live_moved_on, p.version) for p in records],
            [[(e.kind, e.at, e.task_key, e.data) for e in world.projects.events(pid)] for pid in pids],
            queued,
            nudged,
            thresholds,
        )
        engine.dispose()
        return seen

    alone, together = swept("alone", workers=1), swept("side-by-side", workers=2)
    for got, expected in zip(together, alone, strict=True):
        assert got == expected


def test_progress_of_gives_the_states_of_the_tasks_asked_for(stores: Stores, tmp_path: Path) -> None:
    """The states an automated task's readiness is asked of: every task under way or finished, or only those of
    the keys given (its predecessors), on every store."""
    world = World(stores, tmp_path)
    project_id = world.launch()
    world.clock.set(D("2026-12-08"), at=datetime(2026, 12, 8, 17, 0, tzinfo=UTC))
    world.projects.change_task(project_id, "kickoff_call", Action.complete)
    world.projects.change_task(project_id, "sign_off_scope", Action.start)
    store = world.store
    assert {k: p.state for k, p in store.progress_of([project_id])[project_id].items()} == {
        "kickoff_call": TaskState.done,
        "sign_off_scope": TaskState.in_progress,
    }
    only = store.progress_of([project_id, "nobody"], keys=["sign_off_scope", "notify_old_provider"])
    assert {k: p.state for k, p in only.get(project_id, {}).items()} == {"sign_off_scope": TaskState.in_progress}
    assert not any(store.progress_of([project_id], keys=[]).values())
