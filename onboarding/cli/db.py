"""``onboarding db upgrade``: bring the database's schema to this engine's, once, on purpose."""

from __future__ import annotations

from onboarding.cli.edge import application, echo, main


@main.group()
def db() -> None:
    """The database itself: upgrade its schema after installing a new version of the engine."""


@db.command()
def upgrade() -> None:
    """Upgrade the database's schema to this engine's (making the database if there is none).

    Safe to run again, and from several machines at once: it takes a lock and does
    only what is left. Stop the sweep and the web server first, and take a backup.
    """
    before, after = application().upgrade()
    if before == after:
        echo(f"the database is at schema {after} already: nothing to do")
    elif before is None:
        echo(f"database made at schema {after}")
    else:
        echo(f"database schema upgraded from {before} to {after}")
