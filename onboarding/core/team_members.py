"""Team members: the people who sign in to the team's pages, their roles, and the rules of their sign-in.

A member is known by a canonical email address (``core/addresses``) in lower case
(the roles a member holds are those bound to that address), has a name and
one role: ``member`` (My tasks, the portfolio, the project pages), ``manager`` (also
the reports) or ``admin`` (also everything a manager may). A removed member is kept,
with when it was removed, and can sign in no more; adding the address again makes a
member of it again.

Signing in is by a link emailed to the member: it holds a random token, of which
only a digest is kept; it is good for ``SIGN_IN_LINK_LIFETIME`` and for one use.
Using it starts a session: another random secret, kept as a digest, carried by a
cookie, good until it ends (sign-out, removal) or expires. A form's CSRF token is
derived from the session's secret (``csrf_token``): whoever cannot read the cookie
cannot make it.

My tasks (``group_my_tasks``) lists the open tasks of the roles a member is bound to
in active projects: overdue (open past the date they were expected by), due today,
and next.

Not here: storing them (adapters/store), the emails (adapters/email), the cookie and
the pages (web/team).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

SIGN_IN_LINK_LIFETIME = timedelta(minutes=15)
# At most this many links are emailed to one address within one link's lifetime: asking again and again (or a
# stranger asking in someone's name) fills no inbox; the links already sent still work.
SIGN_IN_LINKS_AT_ONCE = 5
# Sign-in links and sessions are kept this long after they expired or ended (who signed in when, for a while), then
# forgotten: each sign-in forgets the older ones, so that they do not pile up. A forgotten link is refused as
# unknown, a forgotten session as none, as they were refused as ended.
KEPT_AFTER_END = timedelta(days=30)


class TeamRole(StrEnum):
    member = "member"
    manager = "manager"
    admin = "admin"

    @property
    def manages(self) -> bool:
        """Whether the role sees the managers' pages (reports): manager and admin."""
        return self in (TeamRole.manager, TeamRole.admin)


@dataclass(frozen=True, slots=True)
class TeamMember:
    name: str
    email: str  # canonical (core/addresses), in lower case
    role: TeamRole
    added_at: datetime
    added_by: str
    removed_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.removed_at is None


@dataclass(frozen=True, slots=True)
class SignInLink:
    """A sign-in link as kept: the digest of its token, whose it is, until when, and when it was used."""

    token_digest: str
    email: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class TeamSession:
    """A signed-in session as kept: the digest of its secret, whose it is, until when."""

    secret_digest: str
    email: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.ended_at is None and now < self.expires_at


def digest(secret: str) -> str:
    """What is kept of a token or a session secret: its SHA-256, in hex (the secret itself never is)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def csrf_token(secret: str) -> str:
    """The CSRF token of a session (or of a visitor's pre-sign-in cookie), derived from its secret."""
    return hmac.new(secret.encode("utf-8"), b"onboarding team csrf", hashlib.sha256).hexdigest()


def csrf_matches(secret: str, given: str) -> bool:
    """Whether a form's value is the session's token (compared in constant time, as bytes: a posted value may
    hold any character)."""
    return hmac.compare_digest(csrf_token(secret).encode("ascii"), given.encode("utf-8", "replace"))


# -- My tasks ----------------------------------------------------------------------------------------

MY_TASKS_SHOWN = 200  # the most My tasks lists at once, most urgent first (with how many more there are)


@dataclass(frozen=True, slots=True)
class MemberTask:
    """An open task of a role a member holds, as My tasks lists it."""

    project_id: str
    customer: str
    blueprint_title: str
    task_key: str
    title: str
    milestone_title: str
    role: str
    state: str  # pending, in_progress or blocked
    due_on: date  # projected
    target_due_on: date  # expected by: overdue past it

    def overdue(self, today: date) -> bool:
        return self.target_due_on < today

    def due(self, today: date) -> date:
        """The date My tasks shows: when it was expected, if that has passed; else when it is projected."""
        return self.target_due_on if self.overdue(today) else self.due_on


@dataclass(frozen=True, slots=True)
class MyTasks:
    """A member's open tasks in three groups, each most urgent first; ``more``: open tasks not listed."""

    overdue: tuple[MemberTask, ...]
    today: tuple[MemberTask, ...]
    next: tuple[MemberTask, ...]
    more: int

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.today or self.next)


def group_my_tasks(tasks: Sequence[MemberTask], *, today: date, total: int) -> MyTasks:
    """Overdue (expected before today), due today (projected for today or before), next (the rest); each
    by its date, then customer and title. ``total`` is how many open tasks there are in all."""
    overdue = [t for t in tasks if t.overdue(today)]
    due_today = [t for t in tasks if not t.overdue(today) and t.due_on <= today]
    later = [t for t in tasks if not t.overdue(today) and t.due_on > today]

    def order(t: MemberTask) -> tuple[date, str, str, str]:
        return (t.due(today), t.customer.casefold(), t.title.casefold(), t.project_id)

    return MyTasks(
        overdue=tuple(sorted(overdue, key=order)),
        today=tuple(sorted(due_today, key=order)),
        next=tuple(sorted(later, key=order)),
        more=max(total - len(tasks), 0),
    )
