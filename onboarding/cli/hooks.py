"""``onboarding hook add | list | remove | test``: the systems allowed to launch projects by signed posts.

A source's deliveries arrive at ``POST /hooks/launch/SOURCE`` of ``onboarding web``;
these commands configure them. A secret is never printed back.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich import box
from rich.table import Table

from onboarding.cli.edge import application, console, echo, fail, main, needs_database
from onboarding.core.hook_mapping import MappedLaunch
from onboarding.core.hook_signatures import Scheme
from onboarding.errors import HookMappingInvalid, OnboardingError, Problem

needs_database("hook")


@main.group()
def hook() -> None:
    """Sources that launch projects by signed posts to /hooks/launch/SOURCE (a CRM: HubSpot, Salesforce...)."""


MAX_FILE_BYTES = 1024 * 1024  # a mapping or payload file: as much as the server reads of a delivery


def _read(path: str, *, what: str) -> bytes:
    """The file (``-``: standard input), read to at most one byte past ``MAX_FILE_BYTES`` (a device or a pipe
    may never end)."""
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        else:
            with Path(path).open("rb") as file:
                raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise HookMappingInvalid(
            path, (Problem("file-not-found", f"cannot read the {what}: {exc.strerror or exc}", hint="check the path"),)
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise HookMappingInvalid(
            path,
            (
                Problem(
                    "file-too-large",
                    f"the {what} goes on past the limit of {MAX_FILE_BYTES:,} bytes",
                    hint=f"give a {what} file of at most {MAX_FILE_BYTES:,} bytes",
                ),
            ),
        )
    return raw


def _secret_line() -> str:
    """The first line of standard input, read to at most ``MAX_FILE_BYTES`` characters (it may never end)."""
    line = sys.stdin.readline(MAX_FILE_BYTES + 1)
    if len(line) > MAX_FILE_BYTES and not line.endswith("\n"):
        raise HookMappingInvalid(
            "--secret",
            (
                Problem(
                    "file-too-large",
                    f"the secret goes on past {MAX_FILE_BYTES:,} characters",
                    hint="give the secret alone on the first line of standard input",
                ),
            ),
        )
    return line.strip()


@hook.command(name="add")
@click.argument("source")
@click.option(
    "--secret",
    required=True,
    help="The secret the sender signs with (HubSpot: the app's client secret); - reads it from standard input.",
)
@click.option(
    "--mapping", "mapping_file", required=True, metavar="FILE", help="The YAML mapping from payload to launch."
)
@click.option(
    "--scheme",
    type=click.Choice([s.value for s in Scheme]),
    default=Scheme.generic.value,
    show_default=True,
    help="generic: X-Onboarding-Signature; hubspot: HubSpot's v3 request signature.",
)
@click.option(
    "--public-url",
    "public_url",
    metavar="URL",
    help="The address the sender calls, when a proxy stands in front (https://onboarding.example.com).",
)
@click.option("--replace", is_flag=True, help="Replace the source of that name (its secret, mapping and URL).")
def hook_add(
    source: str, secret: str, mapping_file: str, scheme: str, public_url: str | None, *, replace: bool
) -> None:
    """Allow SOURCE to launch projects: its secret, its signature scheme and its mapping (checked first)."""
    if secret == "-":  # noqa: S105 - read from standard input: kept out of the shell history and the process list
        try:
            secret = _secret_line()
        except OnboardingError as error:
            fail(error)
            return
    try:
        raw = _read(mapping_file, what="mapping")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise HookMappingInvalid(
                mapping_file, (Problem("not-utf8", f"byte {exc.start} is not UTF-8", hint="save the file as UTF-8"),)
            ) from None
        added = application().hooks.add_source(
            source, secret=secret, mapping_text=text, scheme=Scheme(scheme), public_url=public_url, replace=replace
        )
    except HookMappingInvalid as error:
        fail(HookMappingInvalid(mapping_file, error.problems))
        return
    except OnboardingError as error:
        fail(error)
        return
    where = f"{added.public_url}/hooks/launch/{added.name}" if added.public_url else f"/hooks/launch/{added.name}"
    echo(f"{'replaced' if replace else 'added'} {added.name} ({added.scheme.value} signatures): POST {where}")


@hook.command(name="list")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def hook_list(output_format: str) -> None:
    """The hook sources (never their secrets)."""
    sources = application().hooks.sources()
    rows = [
        {
            "source": s.name,
            "scheme": s.scheme.value,
            "public_url": s.public_url,
            "path": f"/hooks/launch/{s.name}",
            "created_at": s.created_at.isoformat(),
        }
        for s in sources
    ]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        echo("no hook sources; add one with `onboarding hook add SOURCE --secret ... --mapping FILE`")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("source", "scheme", "public URL", "path", "added"):
        table.add_column(column, no_wrap=True)
    for s in sources:
        table.add_row(
            s.name, s.scheme.value, s.public_url or "", f"/hooks/launch/{s.name}", f"{s.created_at:%Y-%m-%d %H:%M}"
        )
    console().print(table)


@hook.command(name="remove")
@click.argument("source")
def hook_remove(source: str) -> None:
    """Stop SOURCE from launching projects (the projects it launched stay)."""
    try:
        application().hooks.remove_source(source)
    except OnboardingError as error:
        fail(error)
        return
    echo(f"removed {source}")


@hook.command(name="test")
@click.argument("source")
@click.argument("payload_file", metavar="PAYLOAD_FILE")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def hook_test(source: str, payload_file: str, output_format: str) -> None:
    """What a delivery of PAYLOAD_FILE (JSON; - for standard input) to SOURCE would launch; launches nothing."""
    try:
        mapped = application().hooks.dry_run(source, _read(payload_file, what="payload"))
    except OnboardingError as error:
        fail(error)
        return
    document = _mapped_document(mapped)
    if output_format == "json":
        click.echo(json.dumps(document, indent=2))
        return
    for key, value in document.items():
        if key != "bindings":
            echo(f"{key:<18} {value if value is not None else '-'}")
    for role, person in mapped.bindings.items():
        echo(f"{'bind ' + role:<18} {person.name} <{person.email}> ({person.timezone})")


def _mapped_document(mapped: MappedLaunch) -> dict[str, object]:
    return {
        "blueprint": mapped.blueprint,
        "customer": mapped.customer,
        "kickoff_on": mapped.kickoff_on.isoformat(),
        "external_id": mapped.external_id,
        "delivery_id": mapped.delivery_id,
        "pay_schedule": mapped.pay_schedule,
        "segment": mapped.segment,
        "contract_signed_on": mapped.contract_signed_on.isoformat() if mapped.contract_signed_on else None,
        "bindings": {
            role: {"name": p.name, "email": p.email, "time_zone": p.timezone} for role, p in mapped.bindings.items()
        },
    }
