"""The outbox in SQL: claim due messages, then record each one sent, retried, failed or held; list messages and
put failed and held ones back in line (``onboarding outbox``).

Two dispatchers never take the same row: PostgreSQL claims with ``FOR UPDATE SKIP
LOCKED``; SQLite takes its write lock first (``BEGIN IMMEDIATE``), so claims
there happen one at a time. A claim older than the lease is taken again, for the
process holding it may have died mid-delivery; delivery is idempotent by key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select, update

from onboarding.adapters.store.sql import events, outbox, writing
from onboarding.core.messages import MessageKind, OutgoingMessage, Person
from onboarding.services.ports import RESENDABLE, OutboxEntry, OutboxQuery, QueuedMessage
from onboarding.services.projects import UNSUBSCRIBED


class SqlOutbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"  # make_engine begins its writing transactions IMMEDIATE

    def claim(self, *, now: datetime, worker: str, limit: int, lease: timedelta) -> list[QueuedMessage]:
        due = and_(
            outbox.c.next_attempt_at <= now,
            or_(
                outbox.c.status == "pending",
                and_(outbox.c.status == "sending", outbox.c.claimed_at < now - lease),
            ),
        )
        with writing(self.engine) as connection:
            query = select(outbox).where(due).order_by(outbox.c.id).limit(limit)
            if not self._sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = [r._mapping for r in connection.execute(query)]
            if rows:
                connection.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([r["id"] for r in rows]))
                    .values(status="sending", claimed_by=worker, claimed_at=now, attempts=outbox.c.attempts + 1)
                )
        return [_queued(r) for r in rows]

    def sent(self, message_id: int, *, at: datetime) -> None:
        self._set(message_id, status="sent", sent_at=at, last_error=None, claimed_by=None)

    def retry(self, message_id: int, *, at: datetime, error: str, only: Sequence[str] = ()) -> None:
        values: dict[str, Any] = {"status": "pending", "next_attempt_at": at, "last_error": error, "claimed_by": None}
        self._set(message_id, **values, **self._narrowed(message_id, only))

    def failed(self, message_id: int, *, error: str, only: Sequence[str] = ()) -> None:
        self._set(message_id, status="failed", last_error=error, claimed_by=None, **self._narrowed(message_id, only))

    def held(self, message_id: int, *, error: str) -> None:
        self._set(message_id, status="held", last_error=error, claimed_by=None)

    def defer(self, message_ids: Sequence[int], *, at: datetime, error: str | None) -> None:
        if not message_ids:
            return
        values: dict[str, Any] = {
            "status": "pending",
            "next_attempt_at": at,
            "claimed_by": None,
            "attempts": outbox.c.attempts - 1,  # the claim counted an attempt that was not made
        }
        if error is not None:
            values["last_error"] = error
        with writing(self.engine) as connection:
            connection.execute(
                update(outbox).where(outbox.c.id.in_(list(message_ids)), outbox.c.status == "sending").values(**values)
            )

    def _narrowed(self, message_id: int, only: Sequence[str]) -> dict[str, Any]:
        """The recipients and copies cut down to ``only`` (nothing to change when it is empty)."""
        if not only:
            return {}
        with self.engine.connect() as connection:
            row = connection.execute(select(outbox.c.recipients, outbox.c.cc).where(outbox.c.id == message_id)).one()
        return {
            "recipients": [p for p in row.recipients if p["email"] in only],
            "cc": [p for p in (row.cc or []) if p["email"] in only],
        }

    def suppressed(self, message_id: int, *, at: datetime, reason: str) -> None:
        self._set(message_id, status="suppressed", sent_at=None, last_error=reason, claimed_by=None)

    def opted_out(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """From the projects' event logs (``unsubscribed`` events), by the events' project index."""
        wanted = {(project, email.lower()): (project, email) for project, email in pairs}
        if not wanted:
            return set()
        found: set[tuple[str, str]] = set()
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(events.c.project_id, events.c.data).where(
                    events.c.project_id.in_(sorted({p for p, _ in wanted})), events.c.kind == UNSUBSCRIBED
                )
            )
            for project_id, data in rows:
                pair = wanted.get((project_id, str(data.get("email", "")).lower()))
                if pair is not None:
                    found.add(pair)
        return found

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
            return {status: int(n) for status, n in rows}

    def entries(self, query: OutboxQuery, *, limit: int | None = None) -> tuple[list[OutboxEntry], int]:
        where = _matching(query)
        with self.engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(outbox).where(*where)).scalar_one()
            statement = select(outbox).where(*where).order_by(outbox.c.id)
            if limit is not None:
                statement = statement.limit(limit)
            return [_entry(r._mapping) for r in connection.execute(statement)], int(total)

    def requeue(self, query: OutboxQuery, *, at: datetime) -> list[int]:
        with writing(self.engine) as connection:
            statement = (
                update(outbox)
                .where(*_matching(query), outbox.c.status.in_(RESENDABLE))
                .values(status="pending", next_attempt_at=at, claimed_by=None)
                .returning(outbox.c.id)
            )
            return sorted(int(i) for i in connection.execute(statement).scalars())

    def _set(self, message_id: int, **values: Any) -> None:
        with writing(self.engine) as connection:
            connection.execute(update(outbox).where(outbox.c.id == message_id).values(**values))


def _matching(query: OutboxQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.ids:
        where.append(outbox.c.id.in_(query.ids))
    if query.states:
        where.append(outbox.c.status.in_(query.states))
    if query.project_id is not None:
        where.append(outbox.c.project_id == query.project_id)
    if query.queued_before is not None:
        where.append(outbox.c.created_at < query.queued_before)
    return where


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # SQLite keeps UTC without its zone


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        id=row["id"],
        key=row["idempotency_key"],
        kind=row["kind"],
        project_id=row["project_id"],
        subject=row["subject"],
        recipients=tuple(p["email"] for p in (*row["recipients"], *(row["cc"] or []))),
        state=row["status"],
        attempts=row["attempts"],
        queued_at=_aware(row["created_at"]),
        next_attempt_at=_aware(row["next_attempt_at"]),
        sent_at=_aware(row["sent_at"]) if row["sent_at"] is not None else None,
        last_error=row["last_error"],
    )


def _queued(row: Any) -> QueuedMessage:
    message = OutgoingMessage(
        idempotency_key=row["idempotency_key"],
        kind=MessageKind(row["kind"]),
        to=tuple(Person(**p) for p in row["recipients"]),
        subject=row["subject"],
        context=row["context"],
        customer_facing=row["customer_facing"],
        project_id=row["project_id"],
        reply_to=row["reply_to"],
        cc=tuple(Person(**p) for p in row["cc"] or []),
        key_email=row["key_email"],
        key_on=row["key_on"],
        key_reason=row["key_reason"],
    )
    queued_at = _aware(row["created_at"]) if row["created_at"] is not None else None
    return QueuedMessage(id=row["id"], message=message, attempts=row["attempts"] + 1, queued_at=queued_at)
