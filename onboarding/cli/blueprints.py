"""``onboarding blueprint publish | list | show | diff``: the blueprint registry from the shell.

A launch or a plan names what is published here by key (``onboarding launch KEY[@VERSION]``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table

from onboarding.bootstrap import require_database
from onboarding.cli.edge import ACTOR, application, console, echo, main
from onboarding.core.blueprint_diff import BlueprintDiff, Change, ChangeKind, diff_document
from onboarding.core.blueprint_versions import PublishedVersion, parse_blueprint_ref
from onboarding.services.blueprints import ShownBlueprint

_MARK = {ChangeKind.added: "+", ChangeKind.removed: "-", ChangeKind.changed: "~"}
_STYLE = {ChangeKind.added: "green", ChangeKind.removed: "red", ChangeKind.changed: "yellow"}


def registry_needed(ref: str) -> None:
    """For a command given a published blueprint's KEY[@VERSION] (not a file of that name): refuse to run where
    no database is (``database-not-found``) rather than make an empty one that publishes nothing."""
    if parse_blueprint_ref(ref) is not None and not Path(ref).exists():
        require_database(application().settings)


def _require_database() -> None:
    """list, show and diff read the registry: run where no database is, they say so rather than make one
    (publish makes it, as a launch does)."""
    require_database(application().settings)


@main.group()
def blueprint() -> None:
    """The blueprint registry: publish blueprint files as versions, list and show them, diff two versions.

    Launches and plans name a published blueprint by KEY (its latest version) or KEY@VERSION.
    """


@blueprint.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--by", "actor", type=ACTOR, default="cli", show_default=True, help="Who publishes (recorded with each version)."
)
def publish(files: tuple[str, ...], actor: str) -> None:
    """Check and publish blueprint FILES, all or none.

    The same text again changes nothing; a version published with other text is refused: raise the file's version.
    """
    results = application().blueprints.publish(list(files), by=actor)
    for file, result in zip(files, results, strict=True):
        v = result.version
        if result.created:
            echo(f"published {v.key} {v.version} from {file}")
        else:
            echo(f"already published: {v.key} {v.version} (the same text as {file}); nothing changed")


def _version_document(v: PublishedVersion) -> dict[str, Any]:
    return {
        "key": v.key,
        "version": v.version,
        "title": v.title,
        "content_id": v.content_id,
        "source": v.source,
        "published_at": v.published_at.isoformat(),
        "published_by": v.published_by,
    }


@blueprint.command(name="list")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_blueprints(output_format: str) -> None:
    """Every published blueprint: its latest version (by semantic-version order) and every version."""
    _require_database()
    listed = application().blueprints.list()
    if output_format == "json":
        document = [
            {
                "key": b.key,
                "title": b.latest.title,
                "latest": b.latest.version,
                "versions": [_version_document(v) for v in b.versions],
            }
            for b in listed
        ]
        click.echo(json.dumps(document, indent=2))
        return
    if not listed:
        echo("no blueprint is published yet (publish one with `onboarding blueprint publish FILE`)")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("key", "latest", "title", "versions", "published", "by"):
        table.add_column(column, no_wrap=column != "title", overflow="ellipsis")
    for b in listed:
        table.add_row(
            b.key,
            b.latest.version,
            b.latest.title,
            ", ".join(v.version for v in b.versions),
            f"{b.latest.published_at:%Y-%m-%d %H:%M}",
            b.latest.published_by,
        )
    console().print(table)


def _shown_document(shown: ShownBlueprint) -> dict[str, Any]:
    return {
        **_version_document(shown.version),
        "latest": shown.latest,
        "versions": [v.version for v in shown.versions],
        "blueprint": shown.loaded.blueprint.model_dump(mode="json", by_alias=True),
        "text": shown.text,
    }


@blueprint.command()
@click.argument("ref", metavar="KEY[@VERSION]")
@click.option("--format", "output_format", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def show(ref: str, output_format: str) -> None:
    """A published blueprint: the latest version of KEY, or KEY@VERSION.

    yaml prints the text exactly as published (save it to edit a new version); json adds when and by whom it was
    published, the versions of its key, and the blueprint as checked.
    """
    _require_database()
    shown = application().blueprints.show(ref)
    if output_format == "json":
        click.echo(json.dumps(_shown_document(shown), indent=2))
    else:
        click.echo(shown.text, nl=not shown.text.endswith("\n"))


@blueprint.command()
@click.argument("key")
@click.argument("before", metavar="A")
@click.argument("after", metavar="B")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def diff(key: str, before: str, after: str, output_format: str) -> None:
    """What changed from version A of KEY to version B: roles, milestones, tasks, dependencies, calendars, the launch
    window and other settings, each added (+), removed (-) or changed (~)."""
    _require_database()
    found = application().blueprints.diff(key, before, after)
    if output_format == "json":
        click.echo(json.dumps(diff_document(found), indent=2))
        return
    _print_diff(found)


def _print_diff(found: BlueprintDiff) -> None:
    out = console()
    head = f"{found.key} {found.from_version} -> {found.to_version}"
    if found.empty:
        out.print(f"{head}: no changes")
        return
    counts = ", ".join(
        f"{n} {kind.value}" for kind in ChangeKind if (n := sum(1 for c in found.changes if c.kind is kind))
    )
    table = Table(title=f"{head}: {counts}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("part", no_wrap=True)
    table.add_column("key", no_wrap=True, overflow="fold")
    table.add_column("change", overflow="fold")
    for change in found.changes:
        table.add_row(
            _MARK[change.kind],
            change.part.value,
            change.key,
            _what(change),
            style=_STYLE[change.kind],
        )
    out.print(table)


def _what(change: Change) -> str:
    if change.fields:
        return "; ".join(f"{f.field} {_value(f.before)} -> {_value(f.after)}" for f in change.fields)
    if change.kind is ChangeKind.changed:
        return f"{_value(change.before)} -> {_value(change.after)}"
    return _value(change.after if change.kind is ChangeKind.added else change.before)


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_value(v)}" for k, v in value.items() if v is not None and v != [] and v != {})
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if value is None:
        return "none"
    return str(value)
