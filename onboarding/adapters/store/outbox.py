"""The outbox in SQL: claim due messages, then record each one sent, retried or failed.

Two dispatchers never take the same row: PostgreSQL claims with ``FOR UPDATE SKIP
LOCKED``; SQLite takes its write lock first (``BEGIN IMMEDIATE``), so claims
there happen one at a time. A claim older than the lease is taken again, for the
process holding it may have died mid-delivery; delivery is idempotent by key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update

from onboarding.adapters.store.sql import events, outbox, writing
from onboarding.core.messages import MessageKind, OutgoingMessage, Person
from onboarding.services.ports import QueuedMessage
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
        if only:
            with self.engine.connect() as connection:
                row = connection.execute(
                    select(outbox.c.recipients, outbox.c.cc).where(outbox.c.id == message_id)
                ).one()
            values["recipients"] = [p for p in row.recipients if p["email"] in only]
            values["cc"] = [p for p in (row.cc or []) if p["email"] in only]
        self._set(message_id, **values)

    def failed(self, message_id: int, *, error: str) -> None:
        self._set(message_id, status="failed", last_error=error, claimed_by=None)

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

    def failures(self, project_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    outbox.c.idempotency_key,
                    outbox.c.kind,
                    outbox.c.subject,
                    outbox.c.last_error,
                    outbox.c.attempts,
                    outbox.c.recipients,
                )
                .where(outbox.c.project_id == project_id, outbox.c.status == "failed")
                .order_by(outbox.c.id)
            )
            return [dict(r._mapping) for r in rows]

    def _set(self, message_id: int, **values: Any) -> None:
        with writing(self.engine) as connection:
            connection.execute(update(outbox).where(outbox.c.id == message_id).values(**values))


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
    return QueuedMessage(id=row["id"], message=message, attempts=row["attempts"] + 1)
