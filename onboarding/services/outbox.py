"""Looking after the outbox by hand (``onboarding outbox``): list messages, show one, resend failed or held ones.

Resending is idempotent: only failed and held messages are put back in line, so a
second run finds nothing to do, and a message that reached some of its recipients
before failing keeps only the others. Put back, a message is delivered by the next
sweep; its retry horizon still counts from when it was queued, so resend once the
server is back (a resent message that meets another temporary failure is held again
at once).

Not here: delivering (``dispatch``), queueing (sweep, projects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from onboarding.errors import MessageNotFound, Problem
from onboarding.services.ports import RESENDABLE, Clock, OutboxEntry, OutboxQuery, OutboxRecords, ProjectStore

AGE_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_LONGEST_AGE = timedelta(days=100 * 366)  # older than anything an outbox holds; beyond, dates cannot be counted


def parse_age(text: str) -> timedelta | None:
    """``30m``, ``6h``, ``3d`` (a whole number of minutes, hours or days, up to a century) as a duration; None for
    anything else."""
    text = text.strip().lower()
    number, unit = text[:-1], text[-1:]
    if unit not in AGE_UNITS or not number.isascii() or not number.isdigit():
        return None
    try:
        age = timedelta(**{AGE_UNITS[unit]: int(number)})
    except OverflowError:
        return None
    return age if age <= _LONGEST_AGE else None


@dataclass(frozen=True)
class OutboxListing:
    entries: tuple[OutboxEntry, ...]
    total: int  # how many match, beyond the limit too


@dataclass(frozen=True)
class Resent:
    requeued: tuple[int, ...]  # put back in line
    left: tuple[OutboxEntry, ...]  # named by id, but neither failed nor held: left as they were


class OutboxService:
    def __init__(self, *, records: OutboxRecords, projects: ProjectStore, clock: Clock) -> None:
        self._records = records
        self._projects = projects
        self._clock = clock

    def list(
        self,
        *,
        states: Sequence[str] = (),
        project: str | None = None,
        older_than: timedelta | None = None,
        limit: int | None = 100,
    ) -> OutboxListing:
        """Messages by state, project (id or external id) and age, oldest first."""
        entries, total = self._records.entries(
            self._query(states=states, project=project, older_than=older_than), limit=limit
        )
        return OutboxListing(tuple(entries), total)

    def show(self, message_id: int) -> OutboxEntry:
        entries, _ = self._records.entries(OutboxQuery(ids=(message_id,)))
        if not entries:
            raise _not_found([message_id])
        return entries[0]

    def retry(
        self,
        ids: Sequence[int] = (),
        *,
        states: Sequence[str] = RESENDABLE,
        project: str | None = None,
        older_than: timedelta | None = None,
    ) -> Resent:
        """Put failed and held messages back in line for the next sweep: those named by id (each must exist), else
        every one that matches the filters."""
        query = self._query(states=states, project=project, older_than=older_than, ids=ids)
        left: tuple[OutboxEntry, ...] = ()
        if ids:
            named, _ = self._records.entries(OutboxQuery(ids=tuple(ids)))
            missing = sorted(set(ids) - {e.id for e in named})
            if missing:
                raise _not_found(missing)
            left = tuple(e for e in named if e.state not in RESENDABLE)
        requeued = self._records.requeue(query)
        return Resent(tuple(requeued), left)

    def _query(
        self,
        *,
        states: Sequence[str],
        project: str | None,
        older_than: timedelta | None,
        ids: Sequence[int] = (),
    ) -> OutboxQuery:
        return OutboxQuery(
            ids=tuple(ids),
            states=tuple(states),
            project_id=self._projects.load(project).id if project is not None else None,
            queued_before=self._clock.now() - older_than if older_than is not None else None,
        )


def _not_found(ids: Sequence[int]) -> MessageNotFound:
    return MessageNotFound(
        "outbox",
        tuple(
            Problem(
                "message-not-found", f"no outbox message #{i}", hint="the outbox's list shows the messages it holds"
            )
            for i in ids
        ),
    )
