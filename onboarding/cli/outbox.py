"""The outbox: the emails waiting, sent, failed or held; list them, show one, resend failed and held ones."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click
from rich import box
from rich.table import Table

from onboarding.cli.edge import Age, application, cell, console, echo, fail, main
from onboarding.errors import OnboardingError
from onboarding.services.ports import OUTBOX_STATES, RESENDABLE, OutboxEntry

_OUTBOX_STATES = click.Choice(list(OUTBOX_STATES))
_LARGEST_ID = 2**63 - 1  # the databases' largest integer: a larger number is a usage error, not a traceback


def _entry_document(e: OutboxEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "state": e.state,
        "kind": e.kind,
        "project": e.project_id,
        "to": list(e.recipients),
        "subject": e.subject,
        "attempts": e.attempts,
        "queued_at": e.queued_at.isoformat(),
        "next_attempt_at": e.next_attempt_at.isoformat() if e.state == "pending" else None,
        "sent_at": e.sent_at.isoformat() if e.sent_at else None,
        "last_error": e.last_error,
        "key": e.key,
    }


@main.group()
def outbox() -> None:
    """The emails waiting, sent, failed or held: list them, show one, resend failed and held ones."""


@outbox.command(name="list")
@click.option("--state", "states", multiple=True, type=_OUTBOX_STATES, help="Repeat for several (default: all).")
@click.option("--project", help="A project's id or external id.")
@click.option("--older-than", "older_than", type=Age(), help="Queued longer ago than this: 30m, 6h, 3d.")
@click.option("--limit", type=click.IntRange(1, _LARGEST_ID), default=100, show_default=True)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def outbox_list(
    states: tuple[str, ...], project: str | None, older_than: timedelta | None, limit: int, output_format: str
) -> None:
    """Messages by state, project and age, oldest first."""
    try:
        listing = application().outbox.list(states=states, project=project, older_than=older_than, limit=limit)
    except OnboardingError as exc:
        fail(exc)
        return
    if output_format == "json":
        document = {"total": listing.total, "messages": [_entry_document(e) for e in listing.entries]}
        click.echo(json.dumps(document, indent=2))
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("id", "state", "kind", "project", "to", "queued", "tries", "last error"):
        table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=60 if name == "last error" else None)
    for e in listing.entries:
        table.add_row(
            str(e.id),
            e.state,
            e.kind,
            e.project_id or "",
            ", ".join(e.recipients),
            f"{e.queued_at:%Y-%m-%d %H:%M}",
            str(e.attempts),
            e.last_error or "",
            style="red" if e.state in RESENDABLE else None,
        )
    out = console()
    out.print(table)
    out.print(f"{len(listing.entries)} of {listing.total} message(s)")


@outbox.command(name="show")
@click.argument("message_id", metavar="ID", type=click.IntRange(1, _LARGEST_ID))
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def outbox_show(message_id: int, output_format: str) -> None:
    """One message: its state, recipients, tries and last error."""
    try:
        entry = application().outbox.show(message_id)
    except OnboardingError as exc:
        fail(exc)
        return
    document = _entry_document(entry)
    if output_format == "json":
        click.echo(json.dumps(document, indent=2))
        return
    for name, value in document.items():
        echo(f"{name + ':':<16} {', '.join(value) if isinstance(value, list) else cell(value)}")


@outbox.command(name="retry")
@click.argument("message_ids", metavar="[ID]...", nargs=-1, type=click.IntRange(1, _LARGEST_ID))
@click.option("--state", "states", multiple=True, type=click.Choice(list(RESENDABLE)), help="Default: both.")
@click.option("--project", help="A project's id or external id.")
@click.option("--older-than", "older_than", type=Age(), help="Queued longer ago than this: 30m, 6h, 3d.")
def outbox_retry(
    message_ids: tuple[int, ...], states: tuple[str, ...], project: str | None, older_than: timedelta | None
) -> None:
    """Resend failed and held messages (those named, else all that match): the next sweep delivers them.

    Idempotent: only failed and held messages are put back, and a message that reached some of its recipients
    goes to the others only.
    """
    try:
        resent = application().outbox.retry(
            message_ids, states=states or RESENDABLE, project=project, older_than=older_than
        )
    except OnboardingError as exc:
        fail(exc)
        return
    ids = ", ".join(f"#{i}" for i in resent.requeued)
    echo(f"{len(resent.requeued)} message(s) back in line for the next sweep" + (f": {ids}" if ids else ""))
    for e in resent.left:
        echo(f"#{e.id} is {e.state}, not failed or held: left as it is")
