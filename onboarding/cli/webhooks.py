"""``onboarding webhook add | list | remove``: endpoints subscribed to signed outbound events (Standard Webhooks).

A secret made here is printed once, when the endpoint is added; lists never show secrets.
"""

from __future__ import annotations

import json
from typing import Any

import click
from rich import box
from rich.table import Table

from onboarding.cli.edge import application, console, echo, main, needs_database
from onboarding.core.webhook_events import EVENT_TYPES, WebhookEndpoint

needs_database("webhook")

_LARGEST_ID = 2**63 - 1  # the databases' largest integer: a larger number is a usage error, not a traceback


def _document(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "created_at": endpoint.created_at.isoformat(),
        "removed": endpoint.disabled,
    }


@main.group()
def webhook() -> None:
    """Signed outbound events: subscribe an endpoint, list the endpoints, remove one."""


@webhook.command()
@click.argument("url")
@click.option("--events", required=True, help=f"Event types, separated by commas: {', '.join(EVENT_TYPES)}.")
@click.option("--secret", help="whsec_ and the base64 of 24 to 64 random bytes (default: one is made, printed once).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def add(url: str, events: str, secret: str | None, output_format: str) -> None:
    """POST the event types given to URL, as JSON signed with the endpoint's secret, from the next change on."""
    added = application().webhooks.add(url, events=events.split(","), secret=secret)
    endpoint = added.endpoint
    if output_format == "json":
        document = _document(endpoint)
        if added.secret_made:
            document["secret"] = endpoint.secret
        click.echo(json.dumps(document, indent=2))
        return
    echo(f"webhook {endpoint.id}: {endpoint.url} ({', '.join(endpoint.events)})")
    if added.secret_made:
        echo(endpoint.secret)
        echo(
            "its signing secret: shown this once, keep it now (the receiver checks each webhook-signature with it)",
            err=True,
        )


@webhook.command(name="list")
@click.option("--all", "include_removed", is_flag=True, help="Removed endpoints too.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_endpoints(output_format: str, *, include_removed: bool) -> None:
    """The endpoints, oldest first: id, URL, event types, when added (never their secrets)."""
    endpoints = application().webhooks.list(include_removed=include_removed)
    if output_format == "json":
        click.echo(json.dumps([_document(e) for e in endpoints], indent=2))
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("id", "url", "events", "added", "removed"):
        table.add_column(column, no_wrap=True)
    for e in endpoints:
        table.add_row(
            str(e.id),
            e.url,
            ", ".join(e.events),
            f"{e.created_at:%Y-%m-%d %H:%M}",
            "removed" if e.disabled else "",
            style="dim" if e.disabled else None,
        )
    out = console()
    out.print(table)
    out.print(f"{len(endpoints)} endpoint(s)")


@webhook.command()
@click.argument("endpoint_id", metavar="ID", type=click.IntRange(1, _LARGEST_ID))
def remove(endpoint_id: int) -> None:
    """Stop sending to endpoint ID: nothing more is queued for it, and what is queued is not delivered."""
    endpoint = application().webhooks.remove(endpoint_id)
    echo(f"webhook {endpoint.id} removed: {endpoint.url}")
