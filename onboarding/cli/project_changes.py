"""The verbs of a live project: cancel, recommit, rebind, note, and its history."""

from __future__ import annotations

import json
from datetime import UTC, date

import click
from rich import box
from rich.table import Table

from onboarding.cli.edge import ACTOR, IsoDate, application, console, echo, fail, main, needs_database
from onboarding.core.addresses import parse_mailbox
from onboarding.core.lifecycle import Event
from onboarding.core.messages import Person
from onboarding.core.project_changes import MAX_HISTORY_LIMIT, HistoryEntry, HistoryQuery
from onboarding.errors import OnboardingError
from onboarding.services.projects import ProjectService

needs_database("cancel", "recommit", "rebind", "note", "history")


def _projects() -> ProjectService:
    return application().projects


@main.command(name="cancel")
@click.argument("project")
@click.option("--reason", required=True, help="Why the project stops; kept in its history.")
@click.option("--on", "on", type=IsoDate(), help="The day it was cancelled (default: today).")
@click.option("--by", "actor", type=ACTOR, default="cli", show_default=True)
def cancel_command(project: str, reason: str, on: date | None, actor: str) -> None:
    """Cancel a project for good: no more nudges or emails (those queued are suppressed); reports count it apart."""
    try:
        result = _projects().cancel(project, reason=reason, on=on, by=actor)
    except OnboardingError as exc:
        fail(exc)
        return
    echo(f"{result.id} is cancelled")


@main.command(name="recommit")
@click.argument("project")
@click.option("--reason", required=True, help="Why the later go-live is accepted; kept in its history.")
@click.option("--on", "on", type=IsoDate(), help="The day it was agreed (default: today).")
@click.option("--by", "actor", type=ACTOR, default="cli", show_default=True)
def recommit_command(project: str, reason: str, on: date | None, actor: str) -> None:
    """Accept the projected go-live as the new commitment (the on-time rate keeps the launch date)."""
    try:
        before = _projects().get(project).committed_go_live_on
        result = _projects().recommit(project, reason=reason, on=on, by=actor)
    except OnboardingError as exc:
        fail(exc)
        return
    was = before.isoformat() if before else "none"
    echo(f"{result.id} is committed to go live on {result.committed_go_live_on} (was {was})")


@main.command(name="rebind")
@click.argument("project")
@click.argument("role")
@click.argument("person", metavar='"Name <email>"')
@click.option("--tz", "time_zone", default="UTC", show_default=True, help="Their time zone, e.g. America/Chicago.")
@click.option("--note", help="Why; kept in the project's history.")
@click.option("--by", "actor", type=ACTOR, default="cli", show_default=True)
def rebind_command(project: str, role: str, person: str, time_zone: str, note: str | None, actor: str) -> None:
    """Bind another person to a role of the project: the emails decided from now on go to them."""
    try:
        name, email = parse_mailbox(person, loc=("person",), source="rebind")
        result = _projects().rebind(project, role, Person(name or email, email, time_zone), note=note, by=actor)
    except OnboardingError as exc:
        fail(exc)
        return
    bound = result.bindings[role]
    echo(f"{result.id}: {role} is now {bound.name} <{bound.email}> ({bound.timezone})")


@main.command(name="note")
@click.argument("project")
@click.argument("text")
@click.option("--task", help="A task of the project the note is about (default: the project).")
@click.option("--by", "actor", type=ACTOR, default="cli", show_default=True)
def note_command(project: str, text: str, task: str | None, actor: str) -> None:
    """Keep a note on the project or one of its tasks in its history."""
    try:
        _projects().note(project, text, task=task, by=actor)
    except OnboardingError as exc:
        fail(exc)
        return
    echo(f"noted on {project}" + (f" ({task})" if task else ""))


@main.command(name="history")
@click.argument("project")
@click.option("--kind", "kinds", multiple=True, metavar="KIND", help="Only events of this kind; repeat for several.")
@click.option("--task", help="Only events of this task.")
@click.option("--since", type=IsoDate(), help="Only events on or after this day (UTC).")
@click.option("--until", type=IsoDate(), help="Only events on or before this day (UTC).")
@click.option("--by", "actor", help="Only what this actor did.")
@click.option("--limit", type=click.IntRange(1, MAX_HISTORY_LIMIT), help="At most this many events.")
@click.option("--newest-first", "newest_first", is_flag=True, help="Newest first (default: oldest first).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def history_command(
    project: str,
    kinds: tuple[str, ...],
    task: str | None,
    since: date | None,
    until: date | None,
    actor: str | None,
    limit: int | None,
    fmt: str,
    *,
    newest_first: bool,
) -> None:
    """The project's event log: every change, with when, who and why."""
    query = HistoryQuery(
        kinds=kinds, task=task, since=since, until=until, actor=actor, newest_first=newest_first, limit=limit
    )
    try:
        page = _projects().history(project, query)
    except OnboardingError as exc:
        fail(exc)
        return
    if fmt == "json":
        document = {
            "project": project,
            "total": page.total,
            "events": [_event_document(h) for h in page.entries],
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("#", "at (UTC)", "by", "event", "task", "what"):
        table.add_column(column)
    for h in page.entries:
        e = h.event
        at = e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        table.add_row(str(h.seq), at, e.actor, e.kind, e.task_key or "-", summary(e))
    out = console()
    out.print(table)
    shown = len(page.entries)
    out.print(f"{shown} of {page.total} events" if shown < page.total else f"{page.total} events")


def _event_document(entry: HistoryEntry) -> dict[str, object]:
    e = entry.event
    return {
        "seq": entry.seq,
        "kind": e.kind,
        "at": e.at.astimezone(UTC).isoformat(),
        "actor": e.actor,
        "task": e.task_key,
        "data": dict(e.data),
    }


def summary(event: Event) -> str:
    """An event's data on one line: the reason, note or text first, then what changed."""
    data = event.data
    parts: list[str] = []
    if "from" in data and "to" in data:
        parts.append(f"{_shown(data['from'])} -> {_shown(data['to'])}")
    for key in ("role", "reason", "note", "text", "on"):
        if data.get(key):
            parts.append(str(data[key]) if key in ("reason", "note", "text") else f"{key} {data[key]}")
    return "; ".join(parts)


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return f"{value.get('name')} <{value.get('email')}>"
    return "none" if value is None else str(value)
