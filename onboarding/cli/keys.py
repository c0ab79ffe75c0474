"""``onboarding api-key create | list | revoke``: the keys the HTTP API admits.

A key is printed once, when made; the database keeps only its SHA-256.
"""

from __future__ import annotations

import json

import click
from rich import box
from rich.table import Table

from onboarding.cli.edge import application, console, echo, main, needs_database
from onboarding.services.keys import ApiKey, Scope

needs_database("api-key")


def _document(key: ApiKey) -> dict[str, str | None]:
    return {
        "name": key.name,
        "scope": key.scope.value,
        "prefix": key.prefix,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


@main.group(name="api-key")
def api_key() -> None:
    """Keys for the HTTP API: make one (shown once), list them, revoke one."""


@api_key.command()
@click.argument("name")
@click.option("--scope", type=click.Choice([s.value for s in Scope]), required=True, help="read < write < admin.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def create(name: str, scope: str, output_format: str) -> None:
    """Make a key named NAME (changes made with it are recorded under NAME) and print it, once."""
    made = application().keys.create(name, scope=Scope(scope))
    if output_format == "json":
        click.echo(json.dumps({**_document(made.key), "key": made.secret}, indent=2))
        return
    echo(made.secret)
    echo(
        f"API key {made.key.name!r} ({made.key.scope.value}): shown this once, keep it now "
        "(send it as 'Authorization: Bearer <key>')",
        err=True,
    )


@api_key.command(name="list")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_keys(output_format: str) -> None:
    """Every key: its name, scope, first characters, when made and when revoked."""
    keys = application().keys.list()
    if output_format == "json":
        click.echo(json.dumps([_document(k) for k in keys], indent=2))
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("name", "scope", "key", "created", "revoked"):
        table.add_column(column, no_wrap=True)
    for k in keys:
        table.add_row(
            k.name,
            k.scope.value,
            k.prefix + "...",
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
            style="dim" if k.revoked_at else None,
        )
    console().print(table)


@api_key.command()
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke the key named NAME: requests carrying it are refused from now on."""
    key = application().keys.revoke(name)
    echo(f"API key {key.name!r} revoked")
