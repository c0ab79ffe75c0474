"""The in-memory twins of the SQL stores (projects, outbox, sweep, team members), for service tests: same
contracts, no database."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from onboarding.adapters.store.reports import (
    TtfvDefinitions,
    blueprint_id_of,
    project_ttfv_values,
    read_model_rows,
    read_model_stretches,
)
from onboarding.core.blueprint_versions import Candidate, PublishedVersion
from onboarding.core.customer_calendar import CustomerCalendar
from onboarding.core.customer_links import LINK_KEY_BYTES, LinkKey
from onboarding.core.lifecycle import OPEN, Event, ProjectState, TaskProgress, TaskState
from onboarding.core.messages import ABOUT_THE_WORK, MessageKind, OutgoingMessage, Person
from onboarding.core.nudges import Digest, Nudge, SentDigest
from onboarding.core.portfolio import (
    PortfolioFigure,
    PortfolioProject,
    PortfolioTallies,
    PortfolioTask,
    ProjectAtRisk,
    portfolio_members,
    portfolio_tallies,
)
from onboarding.core.projects import ProjectRecord, TaskRecord
from onboarding.core.sweep_days import SweepHistory
from onboarding.core.team import TeamDefault
from onboarding.core.team_members import MemberTask, SignInLink, TeamMember, TeamSession
from onboarding.core.ttfv import NONE_LABEL, Dimension, TtfvObservations, TtfvRows, local_day, observe
from onboarding.core.webhook_events import WebhookEndpoint, outbound_events, webhook_messages
from onboarding.errors import Problem, ProjectNotFound
from onboarding.services.ports import (
    QUIET,
    RESENDABLE,
    ConcurrentChange,
    FailedMessage,
    MessageLine,
    NudgeCandidate,
    NudgeCandidates,
    NudgeFilter,
    OutboxEntry,
    OutboxQuery,
    OverdueRow,
    ProjectChange,
    ProjectQuery,
    ProjectSummary,
    QueuedMessage,
    Snapshot,
    Waiting,
    WeeklyDue,
)
from onboarding.services.projects import UNSUBSCRIBED


class InMemoryProjectStore:
    def __init__(self) -> None:
        self.projects: dict[str, ProjectRecord] = {}
        self.event_log: dict[str, list[Event]] = {}
        self.outbox: dict[str, OutgoingMessage] = {}  # by idempotency key, in queueing order
        self.queued_at: dict[str, datetime] = {}  # by idempotency key: when it was queued
        # by idempotency key: why a message not delivered yet never will be (its project was cancelled);
        # InMemoryOutbox turns those still pending into suppressed ones
        self.suppressed: dict[str, str] = {}
        self.webhook_endpoints: dict[int, WebhookEndpoint] = {}  # by id (InMemoryWebhookEndpoints)

    def load(self, ref: str) -> ProjectRecord:
        for project in self.projects.values():
            if ref in (project.id, project.external_id):
                return project
        raise ProjectNotFound(
            ref,
            (
                Problem(
                    "project-not-found",
                    f"no project {ref!r}",
                    (),
                    "the list of projects shows their ids and external ids",
                ),
            ),
        )

    def load_many(self, project_ids: Sequence[str]) -> list[ProjectRecord]:
        return [self.projects[pid] for pid in dict.fromkeys(project_ids) if pid in self.projects]

    def find_external(self, external_id: str) -> ProjectRecord | None:
        return next((p for p in self.projects.values() if p.external_id == external_id), None)

    def list_projects(
        self,
        *,
        state: str | None = None,
        blueprint: str | None = None,
        segment: str | None = None,
        customer: str | None = None,
        limit: int = 200,
    ) -> list[ProjectRecord]:
        found = [
            p
            for p in self.projects.values()
            if (state is None or p.state.value == state)
            and (blueprint is None or p.blueprint_key == blueprint)
            and (segment is None or p.segment == segment)
            and (customer is None or customer.lower() in p.customer.lower())
        ]
        return sorted(found, key=lambda p: (p.kickoff_on, p.id))[:limit]

    def project_page(
        self, query: ProjectQuery, *, after: tuple[date, str] | None = None, limit: int = 50
    ) -> list[ProjectSummary]:
        found = sorted(
            (
                ProjectSummary(**{name: getattr(p, name) for name in ProjectSummary.__dataclass_fields__})
                for p in self.projects.values()
                if (query.state is None or p.state.value == query.state)
                and (query.blueprint is None or p.blueprint_key == query.blueprint)
                and (query.segment is None or p.segment == query.segment)
                and (query.customer is None or query.customer.lower() in p.customer.lower())
                and (query.at_risk_on is None or p.at_risk(query.at_risk_on))
            ),
            key=lambda s: s.sort_key,
        )
        return [s for s in found if after is None or s.sort_key > after][:limit]

    def events(self, project_id: str) -> list[Event]:
        return list(self.event_log.get(project_id, []))

    def find_externals(self, external_ids: Sequence[str]) -> dict[str, ProjectRecord]:
        wanted = set(external_ids)
        return {p.external_id: p for p in self.projects.values() if p.external_id in wanted}

    def create_many(self, items: Sequence[tuple[ProjectRecord, Sequence[Event], Sequence[OutgoingMessage]]]) -> None:
        for project, new_events, messages in items:
            self.create(project, new_events=new_events, messages=messages)

    def create(
        self, project: ProjectRecord, *, new_events: Sequence[Event], messages: Sequence[OutgoingMessage]
    ) -> None:
        if project.id in self.projects or (project.external_id and self.find_external(project.external_id)):
            raise ConcurrentChange(f"project {project.id} exists")
        self.projects[project.id] = project
        hooks = self._webhook_messages(None, project, new_events)
        self._append(project.id, new_events, [*messages, *hooks], now=project.created_at)

    def save_many(self, changes: Sequence[ProjectChange]) -> None:
        stale = [
            c.before.id
            for c in changes
            if c.before.id not in self.projects or self.projects[c.before.id].version != c.before.version
        ]
        if stale or len({c.before.id for c in changes}) != len(changes):
            raise ConcurrentChange(", ".join(stale) or "a project changed twice in one batch")
        for c in changes:
            self.projects[c.before.id] = replace(c.after, version=c.before.version + 1)
            if c.suppress_pending is not None:
                for key, message in self.outbox.items():
                    if message.project_id == c.before.id and message.kind in ABOUT_THE_WORK:
                        self.suppressed.setdefault(key, c.suppress_pending)
            hooks = self._webhook_messages(c.before, c.after, c.new_events)
            self._append(c.before.id, c.new_events, [*c.messages, *hooks], now=c.after.updated_at)

    def _webhook_messages(
        self, before: ProjectRecord | None, after: ProjectRecord, new_events: Sequence[Event]
    ) -> list[OutgoingMessage]:
        endpoints = [e for e in self.webhook_endpoints.values() if not e.disabled]
        if not endpoints:
            return []
        return webhook_messages(after, outbound_events(before, after, new_events), endpoints)

    def queue(self, messages: Sequence[OutgoingMessage], *, now: datetime) -> int:
        def cancelled(m: OutgoingMessage) -> bool:
            project = self.projects.get(m.project_id) if m.project_id is not None else None
            return project is not None and project.state is ProjectState.cancelled and m.kind in ABOUT_THE_WORK

        new = [m for m in messages if m.idempotency_key not in self.outbox and not cancelled(m)]
        for message in new:
            self.outbox[message.idempotency_key] = message
            self.queued_at[message.idempotency_key] = now
        return len(new)

    def failed_messages(self, project_id: str) -> list[FailedMessage]:
        return []  # the twin has no delivery: InMemoryOutbox keeps its own states

    def messages(self, **match: Any) -> list[OutgoingMessage]:
        return [m for m in self.outbox.values() if all(getattr(m, k) == v for k, v in match.items())]

    def _append(
        self, project_id: str, new_events: Sequence[Event], messages: Sequence[OutgoingMessage], *, now: datetime
    ) -> None:
        self.event_log.setdefault(project_id, []).extend(new_events)
        for message in messages:
            self.outbox.setdefault(message.idempotency_key, message)
            self.queued_at.setdefault(message.idempotency_key, now)


class InMemoryBlueprintCatalog:
    """The registry's twin: published versions with their texts, by key and version."""

    def __init__(self) -> None:
        self.published: dict[tuple[str, str], tuple[PublishedVersion, str]] = {}

    def versions(self, key: str | None = None) -> list[PublishedVersion]:
        return [v for v, _text in self.published.values() if key is None or v.key == key]

    def text(self, key: str, version: str) -> tuple[PublishedVersion, str] | None:
        return self.published.get((key, version))

    def published_ids(self, keys: Iterable[str]) -> dict[tuple[str, str], str]:
        wanted = set(keys)
        return {pair: v.content_id for pair, (v, _text) in self.published.items() if pair[0] in wanted}

    def publish(self, entries: Sequence[tuple[Candidate, str]], *, at: datetime, by: str) -> None:
        taken = [
            c.ref
            for c, _text in entries
            if (c.key, c.version) in self.published and self.published[c.key, c.version][0].content_id != c.content_id
        ]
        if taken:
            raise ConcurrentChange(", ".join(taken))
        for c, text in entries:
            version = PublishedVersion(c.key, c.version, c.title, c.content_id, c.source, at, by)
            self.published.setdefault((c.key, c.version), (version, text))


class InMemoryWebhookEndpoints:
    """The webhook endpoints' twin, kept in an InMemoryProjectStore (whose changes queue their messages)."""

    def __init__(self, store: InMemoryProjectStore) -> None:
        self.store = store

    def add(self, *, url: str, events: Sequence[str], secret: str, created_at: datetime) -> WebhookEndpoint:
        endpoint = WebhookEndpoint(len(self.store.webhook_endpoints) + 1, url, tuple(events), secret, created_at)
        self.store.webhook_endpoints[endpoint.id] = endpoint
        return endpoint

    def endpoints(self, *, include_disabled: bool = False) -> list[WebhookEndpoint]:
        return [e for e in self.store.webhook_endpoints.values() if include_disabled or not e.disabled]

    def disable(self, endpoint_id: int) -> WebhookEndpoint | None:
        endpoint = self.store.webhook_endpoints.get(endpoint_id)
        if endpoint is None:
            return None
        self.store.webhook_endpoints[endpoint_id] = replace(endpoint, disabled=True)
        return self.store.webhook_endpoints[endpoint_id]

    def by_ids(self, ids: Iterable[int]) -> dict[int, WebhookEndpoint]:
        return {i: self.store.webhook_endpoints[i] for i in ids if i in self.store.webhook_endpoints}


class InMemoryOutbox:
    """The outbox twin over an InMemoryProjectStore's queued messages."""

    def __init__(self, store: InMemoryProjectStore) -> None:
        self.store = store
        self.state: dict[str, dict[str, Any]] = {}
        self._keys: list[str] = []  # by id - 1: each id's key (a quiet update, renamed, keeps its id)
        self.runs: dict[str, bool] = {}  # run name -> alive; ``kill`` marks one gone, as a crash would
        self._next_run = 0

    def begin_run(self) -> str:
        self._next_run += 1
        name = f"run:{self._next_run}"
        self.runs[name] = True
        return name

    def kill(self, run: str) -> None:
        """The run's process died: its claims stay ``sending`` until another run releases them."""
        self.runs[run] = False

    def release_gone(self, *, run: str) -> int:
        gone = {name for name, alive in self.runs.items() if not alive and name != run}
        released = 0
        for row in self.state.values():
            if row["status"] == "sending" and row["claimed_by"] in gone:
                row.update(status="pending", claimed_by=None, claimed_at=None)
                released += 1
        for name in gone:
            del self.runs[name]
        return released

    def end_run(self, run: str) -> None:
        for row in self.state.values():
            if row["status"] == "sending" and row["claimed_by"] == run:
                row.update(status="pending", claimed_by=None, claimed_at=None)
        self.runs.pop(run, None)

    def waiting(self, *, lease: timedelta, project_id: str | None = None) -> Waiting:
        pending = claimed = stranded = 0
        claimed_since: list[datetime] = []
        stranded_since: list[datetime] = []
        for key, message in self.store.outbox.items():
            row = self._row(key)
            if project_id is not None and message.project_id != project_id:
                continue
            if row["status"] == "pending":
                pending += 1
            elif row["status"] == "sending" and self.runs.get(row["claimed_by"], False):
                claimed += 1
                claimed_since.append(row["claimed_at"])
            elif row["status"] == "sending":
                stranded += 1
                stranded_since.append(row["claimed_at"])
        return Waiting(  # the twin's store keeps no queueing time
            pending,
            None,
            claimed,
            min(claimed_since, default=None),
            stranded,
            min(stranded_since, default=None),
            None,
        )

    def _row(self, key: str) -> dict[str, Any]:
        if key not in self.state:
            for queued in self.store.outbox:  # ids in queueing order, as the table's, never given twice
                if queued not in self.state:
                    self._keys.append(queued)
                    self.state[queued] = {
                        "id": len(self._keys),
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": None,
                        "claimed_at": None,
                        "claimed_by": None,
                        "last_error": None,
                        "sent_at": None,
                    }
        row = self.state[key]
        if row["status"] == "pending" and key in self.store.suppressed:
            row.update(status="suppressed", last_error=self.store.suppressed[key])
        return row

    def claim(self, *, now: datetime, worker: str, limit: int, lease: timedelta) -> list[QueuedMessage]:
        claimed: list[QueuedMessage] = []
        for key, message in self.store.outbox.items():
            row = self._row(key)
            due = row["next_attempt_at"] is None or row["next_attempt_at"] <= now
            stale = row["status"] == "sending" and row["claimed_at"] < now - lease
            if due and (row["status"] == "pending" or stale) and len(claimed) < limit:
                row.update(status="sending", claimed_at=now, claimed_by=worker, attempts=row["attempts"] + 1)
                queued_at = self.store.queued_at.get(key)
                claimed.append(QueuedMessage(row["id"], message, row["attempts"], queued_at=queued_at))
        return claimed

    def _by_id(self, message_id: int) -> dict[str, Any]:
        return self._row(self._keys[message_id - 1])

    def _ours(self, message_id: int, run: str) -> dict[str, Any] | None:
        """The message's row while its outcome may be written by ``run`` (``ports.Outbox``), else None."""
        row = self._by_id(message_id)
        mine = row["status"] == "sending" and row["claimed_by"] == run
        return row if mine or (row["status"] == "pending" and row["claimed_by"] is None) else None

    def sent(self, message_id: int, *, at: datetime, run: str) -> None:
        if (row := self._ours(message_id, run)) is not None:
            row.update(status="sent", sent_at=at, claimed_by=None)

    def sent_many(self, message_ids: Sequence[int], *, at: datetime, run: str) -> None:
        for message_id in message_ids:
            self.sent(message_id, at=at, run=run)

    def retry(self, message_id: int, *, at: datetime, error: str, run: str, only: Sequence[str] = ()) -> None:
        if (row := self._ours(message_id, run)) is not None:
            row.update(status="pending", next_attempt_at=at, last_error=error, claimed_by=None)
            self._narrow(message_id, only)

    def _narrow(self, message_id: int, only: Sequence[str]) -> None:
        if only:
            key = self._keys[message_id - 1]
            message = self.store.outbox[key]
            self.store.outbox[key] = replace(
                message,
                to=tuple(p for p in message.to if p.email in only),
                cc=tuple(p for p in message.cc if p.email in only),
            )

    def failed(self, message_id: int, *, error: str, run: str, only: Sequence[str] = ()) -> None:
        if (row := self._ours(message_id, run)) is not None:
            row.update(status="failed", last_error=error, claimed_by=None)
            self._narrow(message_id, only)

    def held(self, message_id: int, *, error: str, run: str) -> None:
        if (row := self._ours(message_id, run)) is not None:
            row.update(status="held", last_error=error, claimed_by=None)

    def defer(self, message_ids: Sequence[int], *, at: datetime, error: str | None, run: str) -> None:
        for message_id in message_ids:
            row = self._by_id(message_id)
            if row["status"] == "sending" and row["claimed_by"] == run:
                row.update(status="pending", next_attempt_at=at, attempts=row["attempts"] - 1, claimed_by=None)
                if error is not None:
                    row["last_error"] = error

    def suppressed(self, message_id: int, *, at: datetime, reason: str, run: str) -> None:
        if (row := self._ours(message_id, run)) is not None:
            row.update(status="suppressed", last_error=reason, claimed_by=None)

    def quiet(self, message_ids: Sequence[int], *, run: str) -> None:
        for message_id in message_ids:
            row = self._ours(message_id, run)
            key = self._keys[message_id - 1]
            if row is None or self.store.outbox[key].key_reason != "weekly":
                continue
            renamed = f"quiet:{message_id}"
            self.store.outbox[renamed] = self.store.outbox.pop(key)
            self.store.queued_at[renamed] = self.store.queued_at.pop(key)
            self.state[renamed] = self.state.pop(key)
            self._keys[message_id - 1] = renamed
            row.update(status="suppressed", last_error=QUIET, claimed_by=None)

    def opted_out(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        return {
            (project, email)
            for project, email in pairs
            if any(
                e.kind == UNSUBSCRIBED and str(e.data.get("email", "")).lower() == email.lower()
                for e in self.store.event_log.get(project, [])
            )
        }

    def entries(self, query: OutboxQuery, *, limit: int | None = None) -> tuple[list[OutboxEntry], int]:
        found = [self._entry(key) for key in self.store.outbox if self._matches(key, query)]
        return (found if limit is None else found[:limit]), len(found)

    def requeue(self, query: OutboxQuery) -> list[int]:
        keys = [k for k in self.store.outbox if self._matches(k, query) and self._row(k)["status"] in RESENDABLE]
        for key in keys:
            self.store.suppressed.pop(key, None)  # put back in line by hand: delivered even if its project ended
            due = self.store.queued_at.get(key, datetime.min.replace(tzinfo=UTC))  # due from when it was queued
            self._row(key).update(status="pending", next_attempt_at=due, claimed_by=None)
        return sorted(self._row(key)["id"] for key in keys)

    def _matches(self, key: str, query: OutboxQuery) -> bool:
        row, message = self._row(key), self.store.outbox[key]
        queued_at = self.store.queued_at.get(key)
        return (
            (not query.ids or row["id"] in query.ids)
            and (not query.states or row["status"] in query.states)
            and (query.project_id is None or message.project_id == query.project_id)
            and (query.queued_before is None or (queued_at is not None and queued_at < query.queued_before))
        )

    def _entry(self, key: str) -> OutboxEntry:
        row, message = self._row(key), self.store.outbox[key]
        queued_at = self.store.queued_at.get(key, datetime.min.replace(tzinfo=UTC))
        return OutboxEntry(
            id=row["id"],
            key=key,
            kind=message.kind.value,
            project_id=message.project_id,
            subject=message.subject,
            recipients=tuple(p.email for p in (*message.to, *message.cc)),
            state=row["status"],
            attempts=row["attempts"],
            queued_at=queued_at,
            next_attempt_at=row["next_attempt_at"] or queued_at,
            sent_at=row["sent_at"],
            last_error=row["last_error"],
        )

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for key in self.store.outbox:
            status = self._row(key)["status"]
            counts[status] = counts.get(status, 0) + 1
        return counts


class InMemoryReportStore:
    """The report store's twin: the same answers, folded from an InMemoryProjectStore's projects and event log."""

    def __init__(self, store: InMemoryProjectStore) -> None:
        self.store = store
        self._definitions = TtfvDefinitions()

    def _rows(self) -> list[dict[str, Any]]:
        return [
            project_ttfv_values(p, self.store.event_log.get(p.id, []), self._definitions)
            for p in self.store.projects.values()
        ]

    def ttfv_observations(
        self,
        *,
        as_of: date,
        dimensions: Sequence[Dimension],
        since: date | None = None,
        until: date | None = None,
    ) -> TtfvObservations:
        rows = read_model_rows(self._rows())
        return observe(rows, as_of=as_of, dimensions=dimensions, since=since, until=until)

    def ttfv_rows(
        self,
        *,
        dimensions: Sequence[Dimension],
        key: Sequence[str],
        since: date | None = None,
        until: date | None = None,
    ) -> tuple[TtfvRows, list[str]]:
        del dimensions, key, since, until  # every project: the core picks the group's (the SQL store narrows first)
        return read_model_stretches(self._rows())

    def snapshots(self, ids: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        wanted = None if ids is None else set(ids)
        found = {
            blueprint_id_of(p.blueprint_text): (p.blueprint_text, p.blueprint_source)
            for p in self.store.projects.values()
        }
        return {k: v for k, v in found.items() if wanted is None or k in wanted}

    def portfolio_tallies(
        self, *, as_of: date, predecessors: Mapping[str, Mapping[str, tuple[str, ...]]]
    ) -> PortfolioTallies:
        return portfolio_tallies(self.portfolio_projects(predecessors=predecessors), as_of=as_of)

    def portfolio_at_risk(self, *, as_of: date) -> tuple[ProjectAtRisk, ...]:
        return self.portfolio_tallies(as_of=as_of, predecessors={}).at_risk

    def portfolio_members(self, figure: PortfolioFigure, *, as_of: date, item: str | None) -> tuple[str, ...]:
        return portfolio_members(self.portfolio_projects(predecessors={}), figure, as_of=as_of, item=item)

    def portfolio_projects(
        self, *, predecessors: Mapping[str, Mapping[str, tuple[str, ...]]]
    ) -> list[PortfolioProject]:
        facts = {r["project_id"]: r for r in self._rows()}
        out: list[PortfolioProject] = []
        for p in sorted(self.store.projects.values(), key=lambda p: p.id):
            graph = predecessors.get(blueprint_id_of(p.blueprint_text), {})
            blocked: dict[str, date] = {}
            for e in self.store.event_log.get(p.id, []):
                if e.kind == "task_blocked" and e.task_key is not None:
                    blocked[e.task_key] = (
                        date.fromisoformat(str(e.data["on"])) if "on" in e.data else local_day(e.at, "UTC")
                    )
            tasks = tuple(
                PortfolioTask(
                    key=t.key,
                    title=t.title,
                    milestone_key=t.milestone_key,
                    milestone_title=t.milestone_title,
                    side=t.side,
                    state=t.state.value,
                    started_on=t.started_on,
                    done_on=t.done_on,
                    target_due_on=t.target_due_on,
                    launch=t.launch,
                    predecessors=graph.get(t.key, ()),
                    blocked_since=blocked.get(t.key) if t.state.value == "blocked" else None,
                )
                for t in p.tasks
            )
            out.append(
                PortfolioProject(
                    project_id=p.id,
                    external_id=p.external_id,
                    customer=p.customer,
                    blueprint_key=p.blueprint_key,
                    owner=facts[p.id]["owner"] or NONE_LABEL,
                    state=p.state.value,
                    kickoff_on=p.kickoff_on,
                    committed_go_live_on=p.committed_go_live_on,
                    projected_go_live_on=p.projected_go_live_on,
                    tasks=tasks,
                    held_since=facts[p.id]["held_since"],
                    first_committed_go_live_on=p.first_committed_go_live_on,
                    recommits=p.recommits,
                )
            )
        return out


@dataclass(frozen=True, slots=True)
class RecordedNudge:
    key: str
    project_id: str
    task_key: str
    due_version: int
    number: int
    level: int
    recipient: str
    digest_key: str
    created_at: datetime
    digest_on: date | None = None


class InMemorySweepStore:
    """The sweep store's twin over an InMemoryProjectStore: the same questions, asked of its projects."""

    def __init__(self, store: InMemoryProjectStore, *, outbox: InMemoryOutbox | None = None) -> None:
        self.store = store
        self.outbox = outbox  # whose delivery state ``outbox_due`` reads (without it, every message is pending)
        self.nudges: dict[str, RecordedNudge] = {}  # by key, in recording order
        self.swept: dict[date, int] = {}  # sweeps per day swept
        self.simulation = False
        self.weekly_due: dict[str, WeeklyDue] = {}  # by project, as the SQL store keeps it beside the project's row

    def outbox_due(self, *, now: datetime, lease: timedelta) -> list[MessageLine]:
        due: list[MessageLine] = []
        for key, message in self.store.outbox.items():
            row = self.outbox.state.get(key) if self.outbox is not None else None
            if key in self.store.suppressed and (row is None or row["status"] == "pending"):
                continue  # its project was cancelled: suppressed, never delivered
            if row is not None:
                stale = row["status"] == "sending" and row["claimed_at"] < now - lease
                if not (row["next_attempt_at"] is None or row["next_attempt_at"] <= now) or not (
                    row["status"] == "pending" or stale
                ):
                    continue
            emails = tuple(p.email for p in (*message.to, *message.cc))
            due.append(MessageLine(message.kind.value, emails, message.subject))
        return due

    def sweep_history(self) -> SweepHistory:
        return SweepHistory(latest_swept_on=max(self.swept, default=None), simulation=self.simulation)

    def record_sweep(self, *, at: datetime, ran_at: datetime) -> bool:
        day = at.astimezone(UTC).date()
        if any(swept > day for swept in self.swept):
            return False
        self.swept[day] = self.swept.get(day, 0) + 1
        return True

    def mark_simulation(self, *, at: datetime) -> None:
        if self.store.projects or self.swept:
            raise RuntimeError("only a new, empty database can be marked as a simulation")
        self.simulation = True

    def _active(self) -> list[ProjectRecord]:
        return sorted((p for p in self.store.projects.values() if p.state is ProjectState.active), key=_by_id)

    def projects_to_replan(self, *, today: date) -> list[str]:
        return [p.id for p in self._active() if (after := p.sweep_after) is not None and after < today]

    def ready_automated(self, *, today: date) -> list[tuple[str, str]]:
        soon = today + timedelta(days=4)
        return [
            (p.id, t.key)
            for p in self._active()
            for t in sorted(p.tasks, key=_by_position)
            if t.kind == "automated" and t.state is TaskState.pending and t.start_on <= soon
        ]

    def active_projects(self) -> list[str]:
        return [p.id for p in self._active()]

    def overdue_rows(self, *, today: date) -> list[OverdueRow]:
        return [_overdue_row(p, t) for p in self._active() for t in p.overdue(today)]

    def active_blueprints(self) -> list[str]:
        return sorted({blueprint_id(p) for p in self._active()})

    def own_customer_calendars(self) -> dict[str, tuple[str, CustomerCalendar]]:
        return {
            p.id: (blueprint_id(p), replace(p.customer_calendar, time_zone=None))
            for p in self._active()
            if p.customer_calendar is not None and p.customer_calendar.changes_calendar
        }

    def time_zones(self) -> list[str]:
        return sorted({p.timezone for project in self.store.projects.values() for p in project.bindings.values()})

    def nudge_candidates(self, *, today: date, may_be_due: NudgeFilter) -> NudgeCandidates:
        def passes(task: TaskRecord, due_before: date | None, nudged_before: date | None) -> bool:
            last = task.last_nudged_on
            return (
                due_before is not None
                and nudged_before is not None
                and task.target_due_on < due_before
                and (last is None or last < nudged_before)
            )

        f = may_be_due
        overdue = 0
        rows: list[NudgeCandidate] = []
        for project in self._active():
            for task in project.overdue(today):
                overdue += 1
                owner = project.bindings.get(task.owner_role)
                if passes(task, f.due_before, f.nudged_before) or (
                    owner is not None
                    and owner.timezone in f.ahead_zones
                    and passes(task, f.ahead_due_before, f.ahead_nudged_before)
                ):
                    rows.append(
                        NudgeCandidate(
                            project_id=project.id,
                            task_key=task.key,
                            owner_role=task.owner_role,
                            side=task.side,
                            due_on=task.target_due_on,
                            due_version=task.due_version,
                            nudges_sent=task.nudges_sent,
                            last_nudged_on=task.last_nudged_on,
                            customer=project.customer,
                            blueprint_title=project.blueprint_title,
                            blueprint_id=blueprint_id(project),
                        )
                    )
        return NudgeCandidates(overdue=overdue, rows=rows, people=self.bindings_of(r.project_id for r in rows))

    def snapshots_of(self, project_ids: Iterable[str]) -> dict[str, Snapshot]:
        wanted = set(project_ids)
        return {
            p.id: Snapshot(blueprint_id(p), p.kickoff_on, p.customer, p.version)
            for p in self.store.projects.values()
            if p.id in wanted
        }

    def progress_of(
        self, project_ids: Iterable[str], *, keys: Iterable[str] | None = None
    ) -> dict[str, dict[str, TaskProgress]]:
        wanted = set(project_ids)
        only = None if keys is None else set(keys)
        return {
            p.id: {key: TaskProgress(done.state) for key, done in p.progress.items() if only is None or key in only}
            for p in self.store.projects.values()
            if p.id in wanted
        }

    def bindings_of(self, project_ids: Iterable[str]) -> dict[str, dict[str, Person]]:
        wanted = set(project_ids)
        return {p.id: dict(p.bindings) for p in self.store.projects.values() if p.id in wanted and p.bindings}

    def blueprint_texts(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        wanted = set(ids)
        return {
            blueprint_id(p): (p.blueprint_text, p.blueprint_source)
            for p in self.store.projects.values()
            if blueprint_id(p) in wanted
        }

    def digests_since(self, since: datetime) -> list[SentDigest]:
        return sorted(
            {
                SentDigest(n.recipient, n.digest_on, n.digest_key)
                for n in self.nudges.values()
                if n.created_at >= since and n.digest_on is not None
            }
        )

    def record_nudges(self, decided: Sequence[Nudge], digests: Sequence[Digest], *, now: datetime) -> int:
        fresh = [n for n in dict.fromkeys(decided) if n.key not in self.nudges]
        for n in fresh:
            self.nudges[n.key] = RecordedNudge(
                n.key,
                n.project_id,
                n.task_key,
                n.due_version,
                n.number,
                n.level,
                n.recipient.email,
                n.digest_key,
                now,
                n.digest_on,
            )
            project = self.store.projects[n.project_id]
            tasks = tuple(
                t._replace(nudges_sent=t.nudges_sent + 1, last_nudged_on=n.nudged_on)
                if t.key == n.task_key and t.due_version == n.due_version
                else t
                for t in project.tasks
            )
            self.store.projects[n.project_id] = replace(project, tasks=tasks)
        wanted = {n.digest_key for n in fresh}
        self.store.queue([d.message() for d in digests if d.key in wanted], now=now)
        return len(fresh)

    def weekly_status_sent(self, project_ids: Iterable[str]) -> dict[str, dict[str, date]]:
        wanted = set(project_ids)
        out: dict[str, dict[str, date]] = {}
        for message in self.store.outbox.values():
            if message.kind is not MessageKind.status or message.key_reason != "weekly":
                continue
            project_id, email, as_of = message.project_id, message.key_email, message.key_on
            if project_id in wanted and email is not None and as_of is not None:
                known = out.setdefault(project_id, {})
                if email not in known or known[email] < as_of:
                    known[email] = as_of
        return out

    def weekly_unsettled(self, project_ids: Sequence[str], *, now: datetime) -> list[str]:
        def settled(project: ProjectRecord) -> bool:
            due = self.weekly_due.get(project.id)
            return due is not None and due.version == project.version and (due.due_at is None or due.due_at > now)

        return [p for p in project_ids if p in self.store.projects and not settled(self.store.projects[p])]

    def weekly_unsettled_active(self, *, now: datetime) -> list[str]:
        return self.weekly_unsettled(self.active_projects(), now=now)

    def record_weekly_due(self, due: Mapping[str, WeeklyDue]) -> None:
        self.weekly_due.update(due)


def blueprint_id(project: ProjectRecord) -> str:
    """The id the SQL store gives the project's blueprint snapshot: the SHA-256 of its text."""
    return hashlib.sha256(project.blueprint_text.encode("utf-8")).hexdigest()


def _overdue_row(project: ProjectRecord, task: TaskRecord) -> OverdueRow:
    return OverdueRow(
        project_id=project.id,
        task_key=task.key,
        task_title=task.title,
        milestone_title=task.milestone_title,
        owner_role=task.owner_role,
        side=task.side,
        due_on=task.target_due_on,
        due_version=task.due_version,
        nudges_sent=task.nudges_sent,
        last_nudged_on=task.last_nudged_on,
        customer=project.customer,
        blueprint_key=project.blueprint_key,
        blueprint_version=project.blueprint_version,
        blueprint_title=project.blueprint_title,
        blueprint_id=blueprint_id(project),
    )


def _by_id(project: ProjectRecord) -> str:
    return project.id


def _by_position(task: TaskRecord) -> int:
    return task.position


class InMemoryTeamStore:
    """The in-memory twin of ``SqlTeamStore``."""

    def __init__(self) -> None:
        self._defaults: dict[tuple[str, str], TeamDefault] = {}

    def team_defaults(self) -> list[TeamDefault]:
        return [self._defaults[k] for k in sorted(self._defaults)]

    def set_team_default(self, default: TeamDefault) -> None:
        self._defaults[default.role, default.segment] = default

    def unset_team_default(self, role: str, segment: str) -> bool:
        return self._defaults.pop((role, segment), None) is not None


class InMemoryCustomerLinkKeys:
    """The in-memory twin of ``SqlCustomerLinkKeys``."""

    def __init__(self) -> None:
        self._keys: dict[str, LinkKey] = {}

    def link_key(self, project_id: str) -> LinkKey | None:
        return self._keys.get(project_id)

    def ensure_link_key(self, project_id: str, *, now: datetime) -> LinkKey:
        if project_id not in self._keys:
            self._keys[project_id] = LinkKey(secrets.token_bytes(LINK_KEY_BYTES), 1)
        return self._keys[project_id]

    def ensure_link_keys(self, project_ids: Iterable[str], *, now: datetime) -> dict[str, LinkKey]:
        return {p: self.ensure_link_key(p, now=now) for p in project_ids}

    def rotate_link_key(self, project_id: str, *, now: datetime) -> LinkKey:
        before = self._keys.get(project_id)
        self._keys[project_id] = LinkKey(secrets.token_bytes(LINK_KEY_BYTES), before.generation + 1 if before else 1)
        return self._keys[project_id]


class InMemoryTeamMemberStore:
    """The in-memory twin of ``SqlTeamMemberStore``; its emails go to ``projects``' outbox, its tasks are theirs."""

    def __init__(self, projects: InMemoryProjectStore) -> None:
        self._projects = projects
        self._members: dict[str, TeamMember] = {}
        self.links: dict[str, SignInLink] = {}
        self.sessions: dict[str, TeamSession] = {}

    def members(self, *, include_removed: bool = False) -> list[TeamMember]:
        found = [m for m in self._members.values() if include_removed or m.active]
        return sorted(found, key=lambda m: (m.name, m.email))

    def member(self, email: str) -> TeamMember | None:
        return self._members.get(email)

    def save_member(self, member: TeamMember) -> None:
        self._members[member.email] = member

    def remove_member(self, email: str, *, at: datetime) -> bool:
        member = self._members.get(email)
        if member is None or not member.active:
            return False
        self._members[email] = replace(member, removed_at=at)
        for key, session in self.sessions.items():
            if session.email == email and session.ended_at is None:
                self.sessions[key] = replace(session, ended_at=at)
        return True

    def add_sign_in_link(self, link: SignInLink, message: OutgoingMessage) -> None:
        self.links[link.token_digest] = link
        self._projects.queue([message], now=link.created_at)

    def sign_in_link(self, token_digest: str) -> SignInLink | None:
        return self.links.get(token_digest)

    def sign_in_links_since(self, email: str, since: datetime) -> int:
        return sum(1 for link in self.links.values() if link.email == email and link.created_at > since)

    def use_sign_in_link(self, token_digest: str, session: TeamSession) -> bool:
        link = self.links.get(token_digest)
        if link is None or link.used_at is not None:
            return False
        self.links[token_digest] = replace(link, used_at=session.created_at)
        self.sessions[session.secret_digest] = session
        return True

    def start_session(self, session: TeamSession) -> None:
        self.sessions[session.secret_digest] = session

    def session(self, secret_digest: str) -> TeamSession | None:
        return self.sessions.get(secret_digest)

    def end_session(self, secret_digest: str, *, at: datetime) -> None:
        session = self.sessions.get(secret_digest)
        if session is not None and session.ended_at is None:
            self.sessions[secret_digest] = replace(session, ended_at=at)

    def forget_ended(self, before: datetime) -> int:
        links = [k for k, link in self.links.items() if link.expires_at < before]
        sessions = [
            k
            for k, s in self.sessions.items()
            if s.expires_at < before or (s.ended_at is not None and s.ended_at < before)
        ]
        for key in links:
            del self.links[key]
        for key in sessions:
            del self.sessions[key]
        return len(links) + len(sessions)

    def open_tasks_of(self, email: str, *, limit: int) -> tuple[list[MemberTask], int]:
        found = [
            MemberTask(
                project_id=p.id,
                customer=p.customer,
                blueprint_title=p.blueprint_title,
                task_key=t.key,
                title=t.title,
                milestone_title=t.milestone_title,
                role=t.owner_role,
                state=t.state.value,
                due_on=t.due_on,
                target_due_on=t.target_due_on,
            )
            for p in sorted(self._projects.projects.values(), key=lambda p: p.id)
            if p.state is ProjectState.active
            for t in p.tasks
            if t.state in OPEN and t.owner_role in p.bindings and p.bindings[t.owner_role].email == email
        ]
        found.sort(key=lambda m: (m.target_due_on, m.due_on, m.project_id))
        return found[:limit], len(found)
