"""Whole dumps of a database and a Maildir, to prove that a command changed nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, MetaData, select


def database_dump(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table (the schema's own bookkeeping included), as sorted text."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted(tuple(repr(v) for v in row) for row in connection.execute(select(table)))
            for name, table in sorted(metadata.tables.items())
        }


def folder_dump(folder: Path) -> dict[str, bytes]:
    """Every file under a folder (a Maildir, say) by its relative path, with its bytes."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
