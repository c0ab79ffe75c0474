"""blueprint snapshots: each launched blueprint text kept once, not once per project

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blueprints",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blueprints")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blueprint_id", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT id, blueprint_key, blueprint_version, blueprint_title, blueprint_source, blueprint_text "
            "FROM projects"
        )
    ).all()
    known: set[str] = set()
    now = datetime.now(UTC)
    for project_id, key, version, title, source, text in rows:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if digest not in known:
            connection.execute(
                sa.text(
                    "INSERT INTO blueprints (id, key, version, title, source, text, created_at) "
                    "VALUES (:id, :key, :version, :title, :source, :text, :created_at)"
                ),
                {
                    "id": digest,
                    "key": key,
                    "version": version,
                    "title": title,
                    "source": source,
                    "text": text,
                    "created_at": now,
                },
            )
            known.add(digest)
        connection.execute(
            sa.text("UPDATE projects SET blueprint_id = :b WHERE id = :p"), {"b": digest, "p": project_id}
        )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.alter_column("blueprint_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_foreign_key(op.f("fk_projects_blueprint_id_blueprints"), "blueprints", ["blueprint_id"], ["id"])
        batch_op.create_index(op.f("ix_projects_blueprint_id"), ["blueprint_id"], unique=False)
        batch_op.drop_column("blueprint_source")
        batch_op.drop_column("blueprint_text")


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blueprint_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("blueprint_source", sa.Text(), nullable=True))
    op.execute(
        "UPDATE projects SET"
        " blueprint_text = (SELECT text FROM blueprints WHERE blueprints.id = projects.blueprint_id),"
        " blueprint_source = (SELECT source FROM blueprints WHERE blueprints.id = projects.blueprint_id)"
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_projects_blueprint_id"))
        batch_op.drop_constraint(op.f("fk_projects_blueprint_id_blueprints"), type_="foreignkey")
        batch_op.drop_column("blueprint_id")
        batch_op.alter_column("blueprint_text", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("blueprint_source", existing_type=sa.Text(), nullable=False)
    op.drop_table("blueprints")
