"""The customer link service on the in-memory twins: links, the status view, and done, stuck and snooze."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from onboarding.adapters import calendar_feeds
from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryCustomerLinkKeys, InMemoryProjectStore
from onboarding.core.customer_status import SNOOZE_MAX_BUSINESS_DAYS, SNOOZED
from onboarding.core.lifecycle import Action, TaskState
from onboarding.core.messages import MessageKind, Person
from onboarding.errors import CustomerActionRefused, CustomerLinkRefused
from onboarding.services.customer_links import CustomerLinkService
from onboarding.services.projects import ProjectService

HIDDEN_WORK = str(Path(__file__).parents[1] / "fixtures" / "customer" / "hidden-work.yaml")
SENDER = Person("Onboarding", "onboarding@vendor.example")
PEOPLE = {
    "csm": Person("Dana Ruiz", "dana@vendor.example"),
    "engineer": Person("Ivo Petrov", "ivo@vendor.example"),
    "admin": Person('Lee "<i>" Park', "lee@acme.example"),
    "sponsor": Person("Alex Brown", "alex@acme.example"),
}
KICKOFF = date(2026, 12, 7)


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(KICKOFF, at=datetime(2026, 12, 7, 15, tzinfo=UTC))
        self.store = InMemoryProjectStore()
        self.projects = ProjectService(store=self.store, blueprints=FileBlueprints(), clock=self.clock, sender=SENDER)
        self.keys = InMemoryCustomerLinkKeys()
        self.links = CustomerLinkService(
            keys=self.keys,
            projects=self.projects,
            feeds=calendar_feeds,
            secret=b"s" * 40,
            public_url="https://onboarding.example.com/",
            domain="onboarding.example.com",
            clock=self.clock,
            sender=SENDER,
        )

    def launch(self, customer: str = "Acme <Corp>") -> str:
        launched = self.projects.launch(HIDDEN_WORK, customer=customer, kickoff_on=KICKOFF, bindings=PEOPLE)
        return launched.project.id

    def token(self, project_id: str, email: str = "lee@acme.example") -> str:
        return self.links.token_for(project_id, email)


@pytest.fixture
def world() -> World:
    return World()


def codes(error: pytest.ExceptionInfo[CustomerLinkRefused] | pytest.ExceptionInfo[CustomerActionRefused]) -> list[str]:
    return error.value.codes


def test_a_link_is_a_status_page_url_under_the_public_url(world: World) -> None:
    pid = world.launch()
    url = world.links.link_for(pid, "LEE@acme.example")
    assert url.startswith("https://onboarding.example.com/c/")
    token = url.rsplit("/", 1)[1]
    status = world.links.status(token)
    assert (status.customer, status.person_name) == ("Acme <Corp>", 'Lee "<i>" Park')


def test_no_link_for_someone_without_a_customer_role(world: World) -> None:
    pid = world.launch()
    for email in ("dana@vendor.example", "stranger@acme.example"):
        with pytest.raises(CustomerLinkRefused) as refused:
            world.links.link_for(pid, email)
        assert codes(refused) == ["customer-not-on-project"]


def test_a_token_opens_only_its_own_project_and_person(world: World) -> None:
    first, second = world.launch("First"), world.launch("Second")
    lee_first, alex_second = world.token(first), world.token(second, "alex@acme.example")
    assert world.links.open(lee_first).project.id == first
    assert world.links.open(lee_first).person.email == "lee@acme.example"
    assert world.links.open(alex_second).project.id == second
    assert world.links.open(alex_second).roles == ("sponsor",)


def test_rotating_revokes_every_earlier_link_of_the_project_only(world: World) -> None:
    pid, other = world.launch(), world.launch("Other")
    before, kept = world.token(pid), world.token(other)
    assert world.links.rotate(pid) == 2
    with pytest.raises(CustomerLinkRefused) as refused:
        world.links.status(before)
    assert codes(refused) == ["customer-link-revoked"]
    assert world.links.status(world.token(pid)).project_id == pid
    assert world.links.status(kept).project_id == other


def test_links_expire_when_the_project_is_cancelled(world: World) -> None:
    pid = world.launch()
    token = world.token(pid)
    world.projects.cancel(pid, reason="the customer chose another vendor", by="dana")
    with pytest.raises(CustomerLinkRefused) as refused:
        world.links.status(token)
    assert codes(refused) == ["customer-link-expired"]


def test_a_person_unbound_from_the_project_loses_the_link(world: World) -> None:
    pid = world.launch()
    token = world.token(pid)
    world.projects.rebind(pid, "admin", Person("Kim Diaz", "kim@acme.example"), by="dana")
    with pytest.raises(CustomerLinkRefused) as refused:
        world.links.status(token)
    assert codes(refused) == ["customer-not-on-project"]


def test_the_status_view_never_shows_internal_work(world: World) -> None:
    pid = world.launch()
    status = world.links.status(world.token(pid))
    text = repr(status)
    for hidden in ("secret_review", "Zqx internal", "margin_check", "Wpj margin", "vendor_only", "Vqk vendor"):
        assert hidden not in text
    assert [m.key for m in status.milestones] == ["setup", "launch"]
    assert [t.key for t in status.needs_from_you] == ["connect_sso", "sign_off"]  # Lee's own first
    assert status.needs_from_you[0].mine and not status.needs_from_you[1].mine
    assert status.needs_from_you[0].description.startswith("Add the app")  # type: ignore[union-attr]


def test_done_completes_the_task_as_the_customer_and_reforecasts(world: World) -> None:
    pid = world.launch()
    world.projects.change_task(pid, "kickoff_call", Action.complete, by="dana")
    done = world.links.done(world.token(pid), "connect_sso")
    assert done.state is TaskState.done
    events = world.projects.events(pid)
    last = next(e for e in reversed(events) if e.task_key == "connect_sso")
    assert (last.kind, last.actor) == ("task_completed", 'Lee "<i>" Park')
    assert events[-1].kind == "plan_reforecast"  # finished early: the plan moved
    with pytest.raises(CustomerActionRefused) as refused:
        world.links.done(world.token(pid), "connect_sso")
    assert codes(refused) == ["task-not-open"]


@pytest.mark.parametrize("task", ["secret_review", "margin_check", "configure", "kickoff_call", "nope"])
def test_internal_and_vendor_tasks_are_never_acted_on(world: World, task: str) -> None:
    pid = world.launch()
    token = world.token(pid)
    for act in (
        lambda: world.links.done(token, task),
        lambda: world.links.stuck(token, task, reason="why"),
        lambda: world.links.snooze(token, task, until=date(2026, 12, 9)),
        lambda: world.links.task(token, task),
    ):
        with pytest.raises(CustomerActionRefused) as refused:
            act()
        assert codes(refused) == ["task-not-yours"]
    assert world.projects.get(pid).task(task).state is TaskState.pending if task != "nope" else True


def test_stuck_blocks_the_task_with_the_reason_and_tells_the_csm_at_once(world: World) -> None:
    pid = world.launch()
    done = world.links.stuck(world.token(pid), "connect_sso", reason="  Our IdP admin is <away> until Monday ")
    assert done.state is TaskState.blocked
    event = next(e for e in reversed(world.projects.events(pid)) if e.task_key == "connect_sso")
    assert (event.kind, event.actor, event.data["reason"]) == (
        "task_blocked",
        'Lee "<i>" Park',
        "Our IdP admin is <away> until Monday",
    )
    alerts = [m for m in world.store.outbox.values() if m.idempotency_key.startswith("stuck:")]
    assert len(alerts) == 1
    assert alerts[0].kind is MessageKind.automated and not alerts[0].customer_facing
    assert alerts[0].to == (PEOPLE["csm"],)
    assert "Our IdP admin is <away> until Monday" in alerts[0].context["body"]
    # done after stuck: unblocked, then completed
    world.projects.change_task(pid, "kickoff_call", Action.complete, by="dana")
    assert world.links.done(world.token(pid), "connect_sso").state is TaskState.done


@pytest.mark.parametrize(
    ("reason", "code"), [("", "reason-required"), ("   ", "reason-required"), ("x" * 1001, "text-too-long")]
)
def test_stuck_needs_a_reason_of_sensible_length(world: World, reason: str, code: str) -> None:
    pid = world.launch()
    with pytest.raises(CustomerActionRefused) as refused:
        world.links.stuck(world.token(pid), "connect_sso", reason=reason)
    assert codes(refused) == [code]
    assert world.projects.get(pid).task("connect_sso").state is TaskState.pending


def test_snooze_holds_reminders_until_a_day_within_the_limits(world: World) -> None:
    pid = world.launch()
    token = world.token(pid)
    ask = world.links.task(token, "connect_sso")
    assert ask.snooze_from == date(2026, 12, 8)
    assert date(2026, 12, 8) <= ask.snooze_until <= date(2026, 12, 21)  # 10 business days at most
    for too_far in (date(2026, 12, 7), ask.snooze_until.replace(day=ask.snooze_until.day + 1)):
        with pytest.raises(CustomerActionRefused) as refused:
            world.links.snooze(token, "connect_sso", until=too_far)
        assert codes(refused) == ["snooze-date-invalid"]
    done = world.links.snooze(token, "connect_sso", until=ask.snooze_until)
    assert done.snoozed_until == ask.snooze_until
    event = world.projects.events(pid)[-1]
    assert (event.kind, event.task_key, event.data["until"]) == (SNOOZED, "connect_sso", ask.snooze_until.isoformat())
    task = world.projects.get(pid).task("connect_sso")
    assert task.last_nudged_on is not None and task.last_nudged_on < ask.snooze_until
    assert world.links.status(token).needs_from_you[0].snoozed_until == ask.snooze_until
    assert SNOOZE_MAX_BUSINESS_DAYS == 10


def test_calendar_feeds_hold_only_what_the_customer_may_see(world: World) -> None:
    pid = world.launch()
    token = world.token(pid)
    # unfolded: RFC 5545 lines longer than 75 octets go on after CRLF and a space
    project = world.links.project_calendar(token).decode().replace("\r\n ", "")
    mine = world.links.person_calendar(token).decode().replace("\r\n ", "")
    for hidden in ("Zqx internal", "Wpj margin", "Vqk vendor", "secret_review", "margin_check"):
        assert hidden not in project and hidden not in mine
    assert "go-live" in project and "Set-up" in project
    assert "connect_sso.task@" in mine and "sign_off" not in mine  # Lee's own tasks only
