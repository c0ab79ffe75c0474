"""Ports: the small interfaces the services need from the outside world.

Each has a real adapter and an in-memory twin in ``onboarding.adapters``;
``bootstrap.py`` is the only place that chooses between them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from onboarding.core.blueprint import Blueprint
from onboarding.core.graph import TaskGraph
from onboarding.core.lifecycle import Event
from onboarding.core.messages import OutgoingMessage
from onboarding.core.projects import ProjectRecord, TaskRecord
from onboarding.errors import Problem


@dataclass(frozen=True)
class LoadedBlueprint:
    """A checked blueprint and where it came from."""

    source: str
    blueprint: Blueprint
    graph: TaskGraph
    # Gives a problem found later (planning) the file position of its location.
    locate: Callable[[Problem], Problem] = field(default=lambda problem: problem)
    text: str = ""  # what was read, kept with a project launched from it


class BlueprintSource(Protocol):
    def load(self, ref: str) -> LoadedBlueprint:
        """The checked blueprint named by ``ref``; raises BlueprintInvalid with every problem."""
        ...

    def parse(self, text: str, *, source: str) -> LoadedBlueprint:
        """A checked blueprint from text kept earlier (a project's snapshot)."""
        ...


class Clock(Protocol):
    def today(self) -> date: ...

    def now(self) -> datetime:
        """An aware instant (UTC)."""
        ...


class ConcurrentChange(RuntimeError):
    """The project changed since it was read; the service reads it again and retries."""


class ProjectStore(Protocol):
    """Where projects, their events and their queued emails are kept; every write is one transaction."""

    def load(self, ref: str) -> ProjectRecord:
        """The project by id or external id; raises ProjectNotFound."""
        ...

    def find_external(self, external_id: str) -> ProjectRecord | None: ...

    def list_projects(
        self,
        *,
        state: str | None = None,
        blueprint: str | None = None,
        segment: str | None = None,
        customer: str | None = None,
        limit: int = 200,
    ) -> list[ProjectRecord]: ...

    def events(self, project_id: str) -> list[Event]: ...

    def create(
        self, project: ProjectRecord, *, new_events: Sequence[Event], messages: Sequence[OutgoingMessage]
    ) -> None: ...

    def save(
        self,
        project: ProjectRecord,
        *,
        new_events: Sequence[Event],
        messages: Sequence[OutgoingMessage],
        changed_tasks: Sequence[TaskRecord] | None = None,
    ) -> ProjectRecord:
        """Write a project read at ``project.version``; raises ConcurrentChange if it changed since."""
        ...


@dataclass(frozen=True)
class QueuedMessage:
    """A message claimed from the outbox for delivery; ``attempts`` counts this one."""

    id: int
    message: OutgoingMessage
    attempts: int


class Outbox(Protocol):
    """Emails waiting to leave: claimed in batches, then marked sent, retried or failed."""

    def claim(self, *, now: datetime, worker: str, limit: int, lease: timedelta) -> list[QueuedMessage]: ...

    def sent(self, message_id: int, *, at: datetime) -> None: ...

    def retry(self, message_id: int, *, at: datetime, error: str) -> None: ...

    def failed(self, message_id: int, *, error: str) -> None: ...


class DeliveryError(Exception):
    """A message could not be handed over; ``code`` and ``detail`` say what the server or network said."""

    def __init__(self, detail: str, *, code: int | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class TemporaryDeliveryError(DeliveryError):
    """Try again later: connection refused or reset, a time-out, an SMTP 4xx reply."""


class PermanentDeliveryError(DeliveryError):
    """Do not try again: an SMTP 5xx reply, recipients refused."""


class Renderer(Protocol):
    def render(self, message: OutgoingMessage, *, now: datetime) -> bytes:
        """The complete RFC 5322 message."""
        ...


class Transport(Protocol):
    def deliver(self, raw: bytes, *, message_key: str, recipients: Sequence[str]) -> None:
        """Hand a message over; raises TemporaryDeliveryError or PermanentDeliveryError."""
        ...
