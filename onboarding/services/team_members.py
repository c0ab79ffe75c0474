"""Team members and their sign-in: add, list and remove members; email a sign-in link; start and end sessions;
a member's My tasks, and their changes to those tasks.

``request_sign_in`` queues the email with a new link only for an active member, and
says nothing either way that a page could show: the sign-in page answers every
address alike. ``check_link`` reads a link and changes nothing (mail scanners open
every link); ``sign_in`` uses it, once, and starts a session; ``signed_in`` gives the
member behind a session's secret while both are live; a session the store found live
is remembered for ``SESSION_RECHECK_SECONDS`` (``remembered`` reads that memory with no
I/O), so a sign-out or a removal made by another process takes effect within a second
(in this one, at once). ``demo_sign_in`` starts a
session without a link, and only on a database the demo made (a simulation).

Not here: the rules of roles, lifetimes and digests (``core/team_members``), SQL
(adapters/store), cookies and pages (web/team), the default people of vendor roles
(``services/team``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from onboarding.core.addresses import canonical_address, mailbox
from onboarding.core.lifecycle import OPEN, Action
from onboarding.core.messages import MessageKind, OutgoingMessage, Person, TeamSignInContext
from onboarding.core.team_members import (
    KEPT_AFTER_END,
    MY_TASKS_SHOWN,
    SIGN_IN_LINK_LIFETIME,
    SIGN_IN_LINKS_AT_ONCE,
    MemberTask,
    MyTasks,
    SignInLink,
    TeamMember,
    TeamRole,
    TeamSession,
    digest,
    group_my_tasks,
)
from onboarding.errors import NotPermitted, PlanInputInvalid, Problem, SignInRefused, TeamMemberNotFound
from onboarding.services.ports import Clock, TeamMemberStore
from onboarding.services.projects import ProjectService

SESSION_RECHECK_SECONDS = 1.0  # how long a session found live is taken as live without asking the store again


@dataclass(frozen=True, slots=True)
class MemberAdded:
    member: TeamMember
    before: TeamMember | None  # the member as it was (its role, or removed), when the address was known


@dataclass(frozen=True, slots=True)
class StartedSession:
    """A session just started: its secret (for the cookie; kept nowhere else) and whose it is, until when."""

    secret: str
    member: TeamMember
    expires_at: datetime


def _refused(code: str, message: str, hint: str) -> SignInRefused:
    return SignInRefused("sign-in", (Problem(code, message, ("token",), hint),))


class TeamMemberService:
    def __init__(
        self,
        *,
        store: TeamMemberStore,
        clock: Clock,
        public_url: str,
        session_lifetime: timedelta,
        is_demo: Callable[[], bool],
        projects: ProjectService,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._projects = projects
        self._clock = clock
        self._public_url = public_url.rstrip("/")
        self._session_lifetime = session_lifetime
        self._is_demo = is_demo
        self._monotonic = monotonic  # the session memory's own clock: elapsed seconds, never the business day
        # session digest -> (its member, when it expires, when the store said it was live)
        self._live: dict[str, tuple[TeamMember, datetime, float]] = {}

    # -- members ---------------------------------------------------------------------------

    def members(self, *, include_removed: bool = False) -> list[TeamMember]:
        return self._store.members(include_removed=include_removed)

    def add(self, name: str, email: str, *, role: str, by: str = "cli") -> MemberAdded:
        """Make a member of ``email`` with ``role`` (again, if it was removed; its name and role changed, if not)."""
        if role not in TeamRole.__members__:
            raise PlanInputInvalid(
                "team member",
                (
                    Problem(
                        "invalid-team-role",
                        f"{role!r} is not a team role",
                        ("role",),
                        "give member, manager (also sees the reports) or admin",
                    ),
                ),
            )
        name, email = mailbox(name, email, loc=("person",), source="team member")
        email = email.lower()  # one member per mailbox, however its address is capitalised
        before = self._store.member(email)
        member = TeamMember(
            name=name or email,
            email=email,
            role=TeamRole(role),
            added_at=before.added_at if before is not None and before.active else self._clock.now(),
            added_by=before.added_by if before is not None and before.active else by,
        )
        self._store.save_member(member)
        return MemberAdded(member, before)

    def remove(self, email: str) -> TeamMember:
        """Remove the member: its sessions end and it can sign in no more; returns it as it was."""
        address = _address(email, source="team member")
        for secret_digest, (member, _expires, _asked) in list(self._live.items()):
            if member.email == address:  # signed out in this process at once; in the others within a second
                self._live.pop(secret_digest, None)
        before = self._store.member(address)
        if before is None or not before.active or not self._store.remove_member(address, at=self._clock.now()):
            raise TeamMemberNotFound(
                "team member",
                (
                    Problem(
                        "team-member-not-found",
                        f"no one on the team has the address {address}",
                        ("email",),
                        "see the list of team members for their addresses",
                    ),
                ),
            )
        return before

    # -- My tasks ----------------------------------------------------------------------------------

    def my_tasks(self, member: TeamMember) -> MyTasks:
        """The member's open tasks across active projects: overdue, due today, next. Those not overdue are listed
        by their projected due date as of today (their projects read as of today: stored dates of late work are
        those of the day the plan last changed)."""
        found, total = self._store.open_tasks_of(member.email, limit=MY_TASKS_SHOWN)
        today = self._clock.today()
        upcoming = sorted({t.project_id for t in found if not t.overdue(today)})
        current = {p.id: p for p in self._projects.get_many(upcoming)}
        dated = [
            replace(t, due_on=current[t.project_id].task(t.task_key).due_on) if t.project_id in current else t
            for t in found
        ]
        return group_my_tasks(dated, today=today, total=total)

    def change_task(
        self, member: TeamMember, project_id: str, task_key: str, action: Action, *, reason: str | None = None
    ) -> MemberTask | None:
        """Complete, block... a task of a role the member holds, as the member (the project service's rules, and
        its re-forecast); the task as My tasks lists it now, or None once it is no longer open. Blocking needs a
        reason (``reason-required``).

        Raises ``NotPermitted`` for a task of a role the member is not bound to, ``ProjectNotFound``, and what
        the project service raises for a change its rules refuse."""
        if action is Action.block and not (reason and reason.strip()):
            raise PlanInputInvalid(
                "task",
                (
                    Problem(
                        "reason-required",
                        "a task is blocked with a reason",
                        ("reason",),
                        "say what it waits for, so that whoever can unblock it knows",
                    ),
                ),
            )
        project = self._projects.get(project_id)
        task = next((t for t in project.tasks if t.key == task_key), None)
        holder = project.bindings.get(task.owner_role) if task is not None else None
        if task is None or holder is None or holder.email.lower() != member.email:
            raise NotPermitted(
                "task",
                (
                    Problem(
                        "not-permitted",
                        "this task is not one of a role you hold in this project",
                        ("task",),
                        "act on the tasks My tasks lists for you, or ask the project's owner",
                    ),
                ),
            )
        changed = self._projects.change_task(project.id, task_key, action, by=member.name, reason=reason)
        after = changed.task(task_key)
        if after.state not in OPEN:
            return None
        return MemberTask(
            project_id=changed.id,
            customer=changed.customer,
            blueprint_title=changed.blueprint_title,
            task_key=after.key,
            title=after.title,
            milestone_title=after.milestone_title,
            role=after.owner_role,
            state=after.state.value,
            due_on=after.due_on,
            target_due_on=after.target_due_on,
        )

    # -- signing in --------------------------------------------------------------------------

    def request_sign_in(self, email: str) -> str | None:
        """Queue an email with a new sign-in link to ``email`` if it is an active member's (and fewer than
        ``SIGN_IN_LINKS_AT_ONCE`` were made for it within a link's lifetime); the link's token, or None when no
        email was queued. Raises ``AddressInvalid`` for what is not an address at all."""
        address = _address(email, source="sign-in")
        member = self._store.member(address)
        if member is None or not member.active:
            return None
        now = self._clock.now()
        if self._store.sign_in_links_since(member.email, now - SIGN_IN_LINK_LIFETIME) >= SIGN_IN_LINKS_AT_ONCE:
            return None  # enough links on their way: no more email now
        token = secrets.token_urlsafe(32)
        link = SignInLink(digest(token), member.email, now, now + SIGN_IN_LINK_LIFETIME)
        context: TeamSignInContext = {
            "recipient_name": member.name,
            "link": f"{self._public_url}/team/sign-in/{token}",
            "expires_minutes": int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60),
        }
        message = OutgoingMessage(
            idempotency_key=f"team-sign-in:{link.token_digest}",
            kind=MessageKind.team_sign_in,
            to=(Person(member.name, member.email),),
            subject="Your sign-in link",
            context=dict(context),
            customer_facing=False,
            key_email=member.email,
        )
        self._store.add_sign_in_link(link, message)
        return token

    def check_link(self, token: str) -> TeamMember:
        """The member a sign-in link is for, if it can still be used; changes nothing. Raises ``SignInRefused``."""
        link = self._store.sign_in_link(digest(token))
        return self._usable(link)

    def sign_in(self, token: str) -> StartedSession:
        """Use a sign-in link (once) and start a session for its member. Raises ``SignInRefused``."""
        token_digest = digest(token)
        member = self._usable(self._store.sign_in_link(token_digest))
        started, session = self._new_session(member)
        if not self._store.use_sign_in_link(token_digest, session):
            raise _used()
        self._store.forget_ended(session.created_at - KEPT_AFTER_END)
        return started

    def demo_sign_in(self, email: str) -> StartedSession:
        """Start a session for a member without a link: only on the demo's database (``not-a-demo-database``)."""
        self.require_demo()
        member = self._store.member(_address(email, source="sign-in"))
        if member is None or not member.active:
            raise _not_a_member()
        started, session = self._new_session(member)
        self._store.start_session(session)
        self._store.forget_ended(session.created_at - KEPT_AFTER_END)
        return started

    def require_demo(self) -> None:
        if not self._is_demo():
            raise _refused(
                "not-a-demo-database",
                "this database was not made by the demo: signing in needs a link emailed to a team member",
                "ask for a sign-in link with your address on the team",
            )

    def remembered(self, secret: str) -> TeamMember | None:
        """The member of a session the store found live within ``SESSION_RECHECK_SECONDS`` and not expired since;
        ``None`` when only the store can tell (no I/O here: an edge may call it on its event loop)."""
        found = self._live.get(digest(secret))
        if found is None or self._monotonic() - found[2] >= SESSION_RECHECK_SECONDS:
            return None
        return found[0] if self._clock.now() < found[1] else None

    def signed_in(self, secret: str) -> TeamMember | None:
        """The active member whose live session has this secret, else None."""
        if (known := self.remembered(secret)) is not None:
            return known
        secret_digest = digest(secret)
        asked_at = self._monotonic()
        session = self._store.session(secret_digest)
        member = self._store.member(session.email) if session is not None else None
        if session is None or not session.live(self._clock.now()) or member is None or not member.active:
            self._live.pop(secret_digest, None)
            return None
        self._live[secret_digest] = (member, session.expires_at, asked_at)
        return member

    def sign_out(self, secret: str) -> None:
        self._live.pop(digest(secret), None)
        self._store.end_session(digest(secret), at=self._clock.now())

    def _new_session(self, member: TeamMember) -> tuple[StartedSession, TeamSession]:
        secret = secrets.token_urlsafe(32)
        now = self._clock.now()
        expires_at = now + self._session_lifetime
        return StartedSession(secret, member, expires_at), TeamSession(digest(secret), member.email, now, expires_at)

    def _usable(self, link: SignInLink | None) -> TeamMember:
        if link is None:
            raise _refused(
                "sign-in-link-unknown",
                "this sign-in link was not made here, or it was altered or cut short",
                "open the link straight from the email, or ask for a new one",
            )
        if link.used_at is not None:
            raise _used()
        if not link.usable(self._clock.now()):
            raise _refused(
                "sign-in-link-expired",
                "this sign-in link is more than 15 minutes old",
                "ask for a new sign-in link",
            )
        member = self._store.member(link.email)
        if member is None or not member.active:
            raise _not_a_member()
        return member


def _address(email: str, *, source: str) -> str:
    """How members' addresses are kept and looked up: canonical, in lower case."""
    return canonical_address(email.strip(), loc=("email",), source=source).lower()


def _used() -> SignInRefused:
    return _refused("sign-in-link-used", "this sign-in link was used before", "ask for a new sign-in link")


def _not_a_member() -> SignInRefused:
    return _refused("not-a-team-member", "this address is not on the team", "ask a team admin to add you to the team")
