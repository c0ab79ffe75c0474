"""key columns: what outbox and nudge keys are made of, in columns, so that no query splits a key

The sweep read the recipient and the day back out of idempotency keys by
splitting them on ':' (``status:{project}:{email}:weekly:{as_of}``,
``digest:{email}:{day}``), which breaks on any address holding a ':'. The outbox
now keeps the recipient a key is per, the day it is for and a status email's
reason (``key_email``, ``key_on``, ``key_reason``); a nudge keeps its digest's
local day (``digest_on``).

Existing rows: each status email gets its parts from its key, read once here
knowing its project id (the key is ``status:{project_id}:`` then the email, the
reason and the day or milestone, the last two free of ':'). Nudges get
``digest_on`` for the last three days, the only ones the daily cap reads; older
rows keep it empty.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 12:40:00.000000

"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REASONS = ("weekly", "milestone_complete")
_CHUNK = 5000


# Plain ALTER TABLE ... ADD COLUMN on both databases: no table is copied.


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("outbox", sa.Column("key_email", sa.String(length=320), nullable=True))
    op.add_column("outbox", sa.Column("key_on", sa.Date(), nullable=True))
    op.add_column("outbox", sa.Column("key_reason", sa.String(length=32), nullable=True))
    op.add_column("nudges", sa.Column("digest_on", sa.Date(), nullable=True))
    connection = op.get_bind()
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.BigInteger),
        sa.column("idempotency_key", sa.String),
        sa.column("project_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("context", sa.JSON),
        sa.column("key_email", sa.String),
        sa.column("key_on", sa.Date),
        sa.column("key_reason", sa.String),
    )
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.idempotency_key, outbox.c.project_id, outbox.c.context).where(
            outbox.c.kind == "status"
        )
    ).all()
    updates = [parts for row in rows if (parts := _status_parts(*row)) is not None]
    for start in range(0, len(updates), _CHUNK):
        connection.execute(
            outbox.update()
            .where(outbox.c.id == sa.bindparam("row_id"))
            .values(key_email=sa.bindparam("email"), key_on=sa.bindparam("on"), key_reason=sa.bindparam("reason")),
            updates[start : start + _CHUNK],
        )
    nudges = sa.table(
        "nudges",
        sa.column("key", sa.String),
        sa.column("digest_key", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("digest_on", sa.Date),
    )
    recent = connection.execute(
        sa.select(nudges.c.key, nudges.c.digest_key).where(nudges.c.created_at >= datetime.now(UTC) - timedelta(days=3))
    ).all()
    days = [{"nudge_key": key, "on": on} for key, digest in recent if (on := _digest_day(digest)) is not None]
    for start in range(0, len(days), _CHUNK):
        connection.execute(
            nudges.update().where(nudges.c.key == sa.bindparam("nudge_key")).values(digest_on=sa.bindparam("on")),
            days[start : start + _CHUNK],
        )
    op.create_index("ix_outbox_status_sent", "outbox", ["project_id", "kind", "key_reason", "key_email", "key_on"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_outbox_status_sent", table_name="outbox")
    for table, column in (
        ("nudges", "digest_on"),
        ("outbox", "key_reason"),
        ("outbox", "key_on"),
        ("outbox", "key_email"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def _status_parts(row_id: int, key: str, project_id: str | None, context: object) -> dict[str, object] | None:
    """A status email's recipient, day and reason, from its key and context (None when they cannot be told)."""
    prefix = f"status:{project_id}:"
    if project_id is None or not key.startswith(prefix):
        return None
    email, reason, last = [*key[len(prefix) :].rsplit(":", 2), "", ""][:3]
    if reason not in _REASONS or not email:
        return None
    as_of = context.get("as_of") if isinstance(context, dict) else None
    try:
        on = date.fromisoformat(str(as_of if as_of is not None else last))
    except ValueError:
        return None
    return {"row_id": row_id, "email": email, "on": on, "reason": reason}


def _digest_day(digest_key: str) -> date | None:
    """The local day of ``digest:{email}:{day}`` or ``digest:{email}:{day}:{n}`` (the day and n hold no ':')."""
    head, _, last = digest_key.rpartition(":")
    candidate = head.rpartition(":")[2] if last.isdigit() else last
    try:
        return date.fromisoformat(candidate)
    except ValueError:
        return None
