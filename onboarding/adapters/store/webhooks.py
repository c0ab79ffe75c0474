"""Webhook endpoints in SQL: subscribe, list, remove (kept disabled), and read those the outbox's messages name.

Not here: which changes make which events and the rows they queue (``core/webhook_events.py``, written by
``sql.py`` in each change's transaction), delivering them (``services/dispatch.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from onboarding.adapters.store.sql import endpoint_of, webhook_endpoints, writing
from onboarding.core.webhook_events import WebhookEndpoint


class SqlWebhookEndpoints:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, *, url: str, events: Sequence[str], secret: str, created_at: datetime) -> WebhookEndpoint:
        values = {"url": url, "events": list(events), "secret": secret, "created_at": created_at, "disabled": False}
        with writing(self.engine) as connection:
            new_id = connection.execute(insert(webhook_endpoints).values(**values).returning(webhook_endpoints.c.id))
            return WebhookEndpoint(int(new_id.scalar_one()), url, tuple(events), secret, created_at)

    def endpoints(self, *, include_disabled: bool = False) -> list[WebhookEndpoint]:
        query = select(webhook_endpoints).order_by(webhook_endpoints.c.id)
        if not include_disabled:
            query = query.where(webhook_endpoints.c.disabled.is_(False))
        with self.engine.connect() as connection:
            return [endpoint_of(r._mapping) for r in connection.execute(query)]

    def disable(self, endpoint_id: int) -> WebhookEndpoint | None:
        with writing(self.engine) as connection:
            row = connection.execute(
                update(webhook_endpoints)
                .where(webhook_endpoints.c.id == endpoint_id)
                .values(disabled=True)
                .returning(*webhook_endpoints.c)
            ).first()
            return None if row is None else endpoint_of(row._mapping)

    def by_ids(self, ids: Iterable[int]) -> dict[int, WebhookEndpoint]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        with self.engine.connect() as connection:
            rows = connection.execute(select(webhook_endpoints).where(webhook_endpoints.c.id.in_(wanted)))
            return {int(r.id): endpoint_of(r._mapping) for r in rows}
