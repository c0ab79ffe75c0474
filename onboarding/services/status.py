"""A project's status as people and machines read it: its plan and work as of today, its undelivered emails.

``StatusService.status(ref)`` gathers what ``onboarding status`` prints and what
``GET /api/v1/projects/{id}`` answers: the project (by id or external id), the core's
status document (milestones, tasks with their target and projected dates, overdue
work, go-live against the committed window), the emails that failed or are held,
and what the outbox has not handed over yet. Both edges render the same view.

Not here: the status rules themselves (``core/projects.status_document``), tables and
wording (the edges).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from onboarding.core.projects import ProjectRecord, status_document
from onboarding.services.ports import Clock, FailedMessage, ProjectStore, Waiting


@dataclass(frozen=True, slots=True)
class ProjectStatusView:
    """One project's status as of a day: the project, its status document, its undelivered emails."""

    project: ProjectRecord
    as_of: date
    document: dict[str, object]  # core.projects.status_document
    failed: tuple[FailedMessage, ...]  # emails that failed or are held: they go only when resent
    waiting: Waiting  # emails not handed over yet, and since when

    def as_json(self) -> dict[str, Any]:
        """The whole view as JSON-ready values (ISO days and UTC instants)."""
        return {
            **self.document,
            "failed_emails": [
                {
                    "id": f.id,
                    "state": f.state,
                    "kind": f.kind,
                    "subject": f.subject,
                    "to": list(f.recipients),
                    "attempts": f.attempts,
                    "error": f.error,
                }
                for f in self.failed
            ],
            "waiting_emails": waiting_document(self.waiting),
        }


def waiting_document(waiting: Waiting) -> dict[str, Any]:
    def iso(at: datetime | None) -> str | None:
        return at.astimezone(UTC).isoformat() if at is not None else None

    return {
        "pending": waiting.pending,
        "pending_since": iso(waiting.pending_since),
        "claimed": waiting.claimed,
        "claimed_since": iso(waiting.claimed_since),
        "stranded": waiting.stranded,
        "stranded_since": iso(waiting.stranded_since),
        "stranded_until": iso(waiting.stranded_until),
    }


class WaitingSource(Protocol):
    """What the outbox has not handed over yet, of one project (``Application.delivery_waiting``)."""

    def __call__(self, project_id: str) -> Waiting: ...


class StatusService:
    def __init__(
        self,
        *,
        store: ProjectStore,
        waiting: WaitingSource,
        clock: Clock,
        as_of_today: Callable[[ProjectRecord], ProjectRecord],
    ) -> None:
        self._store = store
        self._waiting = waiting
        self._clock = clock
        self._as_of_today = as_of_today  # the dates of late work as they stand today (``ProjectService``)

    def status(self, ref: str) -> ProjectStatusView:
        """The project by id or external id, as of today; raises ``ProjectNotFound``."""
        project = self._as_of_today(self._store.load(ref))
        today = self._clock.today()
        return ProjectStatusView(
            project=project,
            as_of=today,
            document=status_document(project, today=today),
            failed=tuple(self._store.failed_messages(project.id)),
            waiting=self._waiting(project.id),
        )
