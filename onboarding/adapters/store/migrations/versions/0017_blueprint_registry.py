"""blueprint registry: published versions among the blueprint texts, one text per key and version

The ``blueprints`` table already kept each launched blueprint text once; a
published version is one of its rows, marked with when and by whom it was
published, at most one per key and version (a partial unique index). Texts that
projects were launched from before become published versions: for each key and
version, the first one stored (the later ones, if a file was edited without a new
version, stay snapshots of their projects only).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLISHED = "published_at IS NOT NULL"


# Plain ALTER TABLE ... ADD / DROP COLUMN on both databases: no table is copied (projects refer to this one, so
# a copy would break their foreign keys on SQLite).


def upgrade() -> None:
    op.add_column("blueprints", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("blueprints", sa.Column("published_by", sa.String(length=200), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, key, version, created_at FROM blueprints ORDER BY created_at, id"))
    first: dict[tuple[str, str], tuple[str, object]] = {}
    for blueprint_id, key, version, created_at in rows:
        first.setdefault((key, version), (blueprint_id, created_at))
    if first:
        connection.execute(
            sa.text("UPDATE blueprints SET published_at = :at, published_by = 'launch' WHERE id = :id"),
            [{"at": created_at, "id": blueprint_id} for blueprint_id, created_at in first.values()],
        )
    op.create_index(
        "uq_blueprints_published",
        "blueprints",
        ["key", "version"],
        unique=True,
        sqlite_where=sa.text(PUBLISHED),
        postgresql_where=sa.text(PUBLISHED),
    )


def downgrade() -> None:
    op.drop_index("uq_blueprints_published", table_name="blueprints")
    op.execute("ALTER TABLE blueprints DROP COLUMN published_by")
    op.execute("ALTER TABLE blueprints DROP COLUMN published_at")
