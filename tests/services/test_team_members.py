"""Team members and their sign-in, on the in-memory twins: the exact rules of links, sessions and My tasks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryProjectStore, InMemoryTeamMemberStore
from onboarding.adapters.store.sql import SqlProjectStore
from onboarding.adapters.store.team_members import SqlTeamMemberStore
from onboarding.core.lifecycle import Action
from onboarding.core.messages import MessageKind
from onboarding.core.team_members import KEPT_AFTER_END, SIGN_IN_LINK_LIFETIME, digest
from onboarding.errors import AddressInvalid, NotPermitted, PlanInputInvalid, SignInRefused, TeamMemberNotFound
from onboarding.services.team_members import TeamMemberService
from tests.services.test_projects import PAYROLL, PEOPLE, service
from tests.stores import migrated

TODAY = date(2026, 12, 7)


class Fixture:
    def __init__(
        self,
        *,
        demo: bool = False,
        store: SqlTeamMemberStore | None = None,
        projects_store: InMemoryProjectStore | SqlProjectStore | None = None,
    ) -> None:
        self.clock = FixedClock(TODAY, at=datetime(2026, 12, 7, 9, tzinfo=UTC))
        self.projects_store = projects_store or InMemoryProjectStore()
        self.store: InMemoryTeamMemberStore | SqlTeamMemberStore = store or InMemoryTeamMemberStore(
            self.projects_store  # type: ignore[arg-type]
        )
        self.projects = service(self.projects_store, self.clock)
        self.members = TeamMemberService(
            store=self.store,
            clock=self.clock,
            public_url="https://onboarding.example.com/",
            session_lifetime=timedelta(hours=12),
            is_demo=lambda: demo,
            projects=self.projects,
            monotonic=lambda: self.elapsed,
        )
        self.elapsed = 0.0  # the session memory's clock (seconds)

    def later(self, by: timedelta) -> None:
        self.clock.set(self.clock.today(), at=self.clock.now() + by)


@pytest.fixture
def team() -> Fixture:
    made = Fixture()
    made.members.add("Dana Ruiz", "Dana@Vendor.example", role="member")
    return made


def test_a_link_is_emailed_to_members_only_and_kept_as_a_digest(team: Fixture) -> None:
    token = team.members.request_sign_in(" DANA@vendor.example ")
    assert token is not None
    assert team.members.request_sign_in("eve@vendor.example") is None
    sent = [m for m in team.projects_store.outbox.values() if m.kind is MessageKind.team_sign_in]
    assert [p.email for m in sent for p in m.to] == ["dana@vendor.example"]
    assert sent[0].context["link"] == f"https://onboarding.example.com/team/sign-in/{token}"
    assert sent[0].customer_facing is False
    assert list(team.store.links) == [digest(token)]  # the token itself is kept nowhere
    with pytest.raises(AddressInvalid):
        team.members.request_sign_in("not an address")


def test_a_link_signs_in_once_within_its_lifetime(team: Fixture) -> None:
    token = team.members.request_sign_in("dana@vendor.example")
    assert token is not None
    assert team.members.check_link(token).name == "Dana Ruiz"
    assert team.members.check_link(token).name == "Dana Ruiz"  # checking changes nothing
    started = team.members.sign_in(token)
    assert team.members.signed_in(started.secret) == started.member
    assert started.expires_at == team.clock.now() + timedelta(hours=12)
    with pytest.raises(SignInRefused) as used:
        team.members.sign_in(token)
    assert used.value.codes == ["sign-in-link-used"]
    late = team.members.request_sign_in("dana@vendor.example")
    assert late is not None
    team.later(SIGN_IN_LINK_LIFETIME)
    with pytest.raises(SignInRefused) as expired:
        team.members.check_link(late)
    assert expired.value.codes == ["sign-in-link-expired"]
    with pytest.raises(SignInRefused) as unknown:
        team.members.sign_in(late[:-1])
    assert unknown.value.codes == ["sign-in-link-unknown"]


def test_sessions_end_at_sign_out_expiry_and_removal(team: Fixture) -> None:
    def session() -> str:
        token = team.members.request_sign_in("dana@vendor.example")
        assert token is not None
        return team.members.sign_in(token).secret

    first, second = session(), session()
    team.members.sign_out(first)
    assert team.members.signed_in(first) is None and team.members.signed_in(second) is not None
    team.later(timedelta(hours=12))
    assert team.members.signed_in(second) is None
    third = session()
    link = team.members.request_sign_in("dana@vendor.example")
    assert link is not None
    assert team.members.remove("DANA@vendor.example").email == "dana@vendor.example"
    assert team.members.signed_in(third) is None
    with pytest.raises(SignInRefused) as gone:
        team.members.sign_in(link)  # a link sent before the removal
    assert gone.value.codes == ["not-a-team-member"]
    with pytest.raises(TeamMemberNotFound):
        team.members.remove("dana@vendor.example")


def test_a_live_session_is_remembered_for_a_second_and_this_process_forgets_it_at_once(team: Fixture) -> None:
    token = team.members.request_sign_in("dana@vendor.example")
    assert token is not None
    secret = team.members.sign_in(token).secret
    assert team.members.remembered(secret) is None  # not asked of the store yet
    member = team.members.signed_in(secret)
    assert member is not None and team.members.remembered(secret) == member
    team.store.end_session(digest(secret), at=team.clock.now())  # ended by another process
    assert team.members.remembered(secret) == member  # within a second of the store's answer
    team.elapsed += 1.0
    assert team.members.remembered(secret) is None and team.members.signed_in(secret) is None
    again = team.members.sign_in(team.members.request_sign_in("dana@vendor.example") or "")
    assert team.members.signed_in(again.secret) is not None
    team.later(timedelta(hours=12))  # expired: never taken from the memory
    assert team.members.remembered(again.secret) is None
    team.later(-timedelta(hours=12))
    third = team.members.sign_in(team.members.request_sign_in("dana@vendor.example") or "").secret
    fourth = team.members.sign_in(team.members.request_sign_in("dana@vendor.example") or "").secret
    assert team.members.signed_in(third) is not None and team.members.signed_in(fourth) is not None
    team.members.sign_out(third)  # in this process: forgotten at once
    assert team.members.remembered(third) is None and team.members.signed_in(third) is None
    team.members.remove("dana@vendor.example")
    assert team.members.remembered(fourth) is None and team.members.signed_in(fourth) is None


def test_roles_are_the_three_and_adding_again_changes_or_restores(team: Fixture) -> None:
    with pytest.raises(PlanInputInvalid) as bad:
        team.members.add("Ivo Petrov", "ivo@vendor.example", role="owner")
    assert bad.value.codes == ["invalid-team-role"]
    changed = team.members.add("Dana R.", "dana@vendor.example", role="manager")
    assert changed.before is not None and changed.member.role.manages and changed.member.name == "Dana R."
    team.members.remove("dana@vendor.example")
    again = team.members.add("Dana Ruiz", "dana@vendor.example", role="member")
    assert again.before is not None and not again.before.active and again.member.active


def test_demo_sign_in_only_on_a_demo_database(team: Fixture) -> None:
    with pytest.raises(SignInRefused) as refused:
        team.members.demo_sign_in("dana@vendor.example")
    assert refused.value.codes == ["not-a-demo-database"]
    demo = Fixture(demo=True)
    demo.members.add("Dana Ruiz", "dana@vendor.example", role="manager")
    assert demo.members.signed_in(demo.members.demo_sign_in("dana@vendor.example").secret) is not None
    with pytest.raises(SignInRefused):
        demo.members.demo_sign_in("eve@vendor.example")


def test_my_tasks_acts_as_the_member_on_their_own_tasks_only(team: Fixture) -> None:
    project = team.projects.launch(
        PAYROLL,
        customer="Acme",
        kickoff_on=TODAY - timedelta(days=21),
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02",
    ).project
    dana = team.members.members()[0]
    tasks = team.members.my_tasks(dana)
    assert [t.task_key for t in tasks.overdue] == ["kickoff_call"]
    assert team.members.change_task(dana, project.id, "kickoff_call", Action.complete) is None  # no longer open
    assert team.projects.get(project.id).task("kickoff_call").state.value == "done"
    completed = [e for e in team.projects.events(project.id) if e.task_key == "kickoff_call"]
    assert completed[-1].actor == "Dana Ruiz"  # (the engine's own re-forecast follows it)
    with pytest.raises(NotPermitted):
        team.members.change_task(dana, project.id, "import_employee_data", Action.complete)
    with pytest.raises(PlanInputInvalid) as no_reason:
        team.members.change_task(dana, project.id, "transition_to_support", Action.block, reason="  ")
    assert no_reason.value.codes == ["reason-required"]
    blocked = team.members.change_task(dana, project.id, "transition_to_support", Action.block, reason="waiting")
    assert blocked is not None and blocked.state == "blocked"


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def any_team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fixture]:
    """``team`` over the in-memory twin, a SQLite file or a fresh PostgreSQL schema."""
    if request.param == "memory":
        made = Fixture()
        made.members.add("Dana Ruiz", "Dana@Vendor.example", role="member")
        yield made
        return
    engine = migrated(request.param, request, tmp_path)
    made = Fixture(store=SqlTeamMemberStore(engine), projects_store=SqlProjectStore(engine))
    made.members.add("Dana Ruiz", "Dana@Vendor.example", role="member")
    yield made
    engine.dispose()


def _kept(team: Fixture) -> tuple[int, int]:
    """How many sign-in links and sessions the store keeps."""
    if isinstance(team.store, InMemoryTeamMemberStore):
        return len(team.store.links), len(team.store.sessions)
    with team.store.engine.connect() as connection:
        return (
            connection.execute(text("SELECT count(*) FROM team_sign_in_links")).scalar_one(),
            connection.execute(text("SELECT count(*) FROM team_sessions")).scalar_one(),
        )


def test_links_and_sessions_are_forgotten_a_while_after_they_ended(any_team: Fixture) -> None:
    """Links and sessions would pile up with every sign-in: each new sign-in forgets those expired or ended more
    than ``KEPT_AFTER_END`` ago, and nothing younger (a forgotten one is refused as unknown, as it was as ended)."""
    team = any_team

    def signed_in() -> tuple[str, str]:
        token = team.members.request_sign_in("dana@vendor.example")
        assert token is not None
        return token, team.members.sign_in(token).secret

    old_token, old_session = signed_in()
    ended_token, ended_session = signed_in()
    team.members.sign_out(ended_session)
    unused = team.members.request_sign_in("dana@vendor.example")
    assert unused is not None
    assert _kept(team) == (3, 2)
    team.later(KEPT_AFTER_END)  # the session of 12 hours, and the links of 15 minutes, ended less long ago
    signed_in()
    assert _kept(team) == (4, 3)
    team.later(timedelta(hours=13))
    _token, live_session = signed_in()  # now all three of the first links, and the first two sessions, are old
    assert _kept(team) == (2, 2)
    assert team.members.signed_in(live_session) is not None
    for token in (old_token, ended_token, unused):
        with pytest.raises(SignInRefused) as forgotten:
            team.members.check_link(token)
        assert forgotten.value.codes == ["sign-in-link-unknown"]
    assert team.members.signed_in(old_session) is None and team.members.signed_in(ended_session) is None


def test_my_tasks_dates_work_not_yet_overdue_as_of_today(any_team: Fixture) -> None:
    """The stored plan is that of the project's last change; a week without work later, the member's upcoming
    tasks are listed by the dates re-planning from today gives them, as the project's page shows them."""
    vendor = dict.fromkeys(("implementation_manager", "impl_engineer", "payroll_specialist"), PEOPLE["csm"])
    project = any_team.projects.launch(
        PAYROLL, customer="Acme", kickoff_on=TODAY, bindings={**PEOPLE, **vendor}, pay_schedule="biweekly:2026-01-02"
    ).project  # Dana holds every vendor role
    any_team.clock.set(TODAY + timedelta(days=8), at=any_team.clock.now() + timedelta(days=8))
    today = any_team.clock.today()
    dana = any_team.members.members()[0]
    listed = any_team.members.my_tasks(dana)
    upcoming = [*listed.today, *listed.next]
    assert upcoming and not any(t.overdue(today) for t in upcoming)
    now = any_team.projects.get(project.id)
    stored = any_team.projects_store.load(project.id)
    assert [t.due_on for t in upcoming] == [now.task(t.task_key).due_on for t in upcoming]
    assert any(t.due_on != stored.task(t.task_key).due_on for t in upcoming)  # the stored dates moved since
