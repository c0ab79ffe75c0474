"""``onboarding team set | list | unset``: the team's default people for vendor roles, by segment; and
``onboarding team add | members | remove``: the members who sign in to the team's pages.

A launch binds the roles it is not given to these (``core/team`` says how). A member
signs in with a link emailed to the address given here (``services/team_members``).
"""

from __future__ import annotations

import json

import click
from rich import box
from rich.table import Table

from onboarding.cli.edge import application, console, echo, fail, main, needs_database
from onboarding.core.addresses import parse_mailbox
from onboarding.core.messages import Person
from onboarding.core.team import ANY_SEGMENT, TeamDefault
from onboarding.core.team_members import TeamMember, TeamRole
from onboarding.errors import OnboardingError

needs_database("team")  # `onboarding db upgrade` (or a launch) makes the database


def _document(default: TeamDefault) -> dict[str, str]:
    return {
        "role": default.role,
        "segment": default.segment,
        "name": default.person.name,
        "email": default.person.email,
        "timezone": default.person.timezone,
        "updated_at": default.updated_at.isoformat(),
        "updated_by": default.updated_by,
    }


def _shown(default: TeamDefault) -> str:
    p = default.person
    return f"{default.role} ({default.segment}): {p.name} <{p.email}>" + (
        f";tz={p.timezone}" if p.timezone != "UTC" else ""
    )


@main.group()
def team() -> None:
    """Team members who sign in to the team's pages; default people for vendor roles, by segment."""


@team.command(name="set")
@click.argument("role")
@click.argument("person", metavar='"Name <email>"')
@click.option("--segment", help=f"The segment it is the default for (default: {ANY_SEGMENT}, every segment).")
@click.option("--tz", "timezone", default="UTC", show_default=True, help="The person's time zone (IANA).")
@click.option("--by", "actor", default="cli", show_default=True)
def set_default(role: str, person: str, segment: str | None, timezone: str, actor: str) -> None:
    """Make PERSON the default for ROLE (a vendor role) in a segment, in place of the one there was."""
    try:
        name, email = parse_mailbox(person, loc=("person",), source="team default")
        done = application().team.set(role, Person(name or email, email, timezone), segment=segment, by=actor)
    except OnboardingError as exc:
        fail(exc)
        return
    echo(f"set {_shown(done.default)}" + (f" (was {_shown(done.replaced)})" if done.replaced else ""))
    if not done.known_role:
        echo(f"  note: no blueprint launched here has a role {role!r} yet", err=True)


@team.command(name="list")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_defaults(output_format: str) -> None:
    """Every default: role, segment, person and zone, and who set it when."""
    defaults = application().team.defaults()
    if output_format == "json":
        click.echo(json.dumps([_document(d) for d in defaults], indent=2))
        return
    if not defaults:
        echo("no team defaults: every role is bound at launch")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("role", "segment", "person", "time zone", "set"):
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    for d in defaults:
        table.add_row(
            d.role,
            d.segment,
            f"{d.person.name} <{d.person.email}>",
            d.person.timezone,
            f"{d.updated_at:%Y-%m-%d %H:%M} by {d.updated_by}",
        )
    console().print(table)


@team.command(name="unset")
@click.argument("role")
@click.option("--segment", help=f"The segment (default: {ANY_SEGMENT}).")
def unset_default(role: str, segment: str | None) -> None:
    """Remove the default for ROLE in a segment: launches then bind it themselves (or take the any default)."""
    try:
        removed = application().team.unset(role, segment=segment)
    except OnboardingError as exc:
        fail(exc)
        return
    echo(f"unset {_shown(removed)}")


def _member_document(member: TeamMember) -> dict[str, str | None]:
    return {
        "name": member.name,
        "email": member.email,
        "role": member.role.value,
        "added_at": member.added_at.isoformat(),
        "added_by": member.added_by,
        "removed_at": member.removed_at.isoformat() if member.removed_at else None,
    }


@team.command(name="add")
@click.argument("person", metavar='"Name <email>"')
@click.option(
    "--role",
    type=click.Choice([r.value for r in TeamRole]),
    default=TeamRole.member.value,
    show_default=True,
    help="member: My tasks, the portfolio, project pages; manager: also the reports; admin: everything.",
)
@click.option("--by", "actor", default="cli", show_default=True)
def add_member(person: str, role: str, actor: str) -> None:
    """Make PERSON a team member, who signs in to the team's pages by a link emailed to that address."""
    try:
        name, email = parse_mailbox(person, loc=("person",), source="team member")
        done = application().team_members.add(name, email, role=role, by=actor)
    except OnboardingError as exc:
        fail(exc)
        return
    m, before = done.member, done.before
    if before is not None and before.active:
        echo(f"changed {m.name} <{m.email}>: {before.role.value} -> {m.role.value}")
    else:
        echo(f"added {m.name} <{m.email}> as {m.role.value}" + (" (again)" if before is not None else ""))


@team.command(name="members")
@click.option("--all", "include_removed", is_flag=True, help="Removed members too.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_members(*, include_removed: bool, output_format: str) -> None:
    """The team members: name, address, role, and when they were added (and removed)."""
    members = application().team_members.members(include_removed=include_removed)
    if output_format == "json":
        click.echo(json.dumps([_member_document(m) for m in members], indent=2))
        return
    if not members:
        echo('no team members: add one with onboarding team add "Name <email>" --role member')
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("name", "email", "role", "added", *(["removed"] if include_removed else [])):
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    for m in members:
        removed = [f"{m.removed_at:%Y-%m-%d %H:%M}" if m.removed_at else ""] if include_removed else []
        table.add_row(m.name, m.email, m.role.value, f"{m.added_at:%Y-%m-%d %H:%M} by {m.added_by}", *removed)
    console().print(table)


@team.command(name="remove")
@click.argument("email")
def remove_member(email: str) -> None:
    """Remove the member with EMAIL: signed out at once, and no sign-in link works for it any more."""
    try:
        removed = application().team_members.remove(email)
    except OnboardingError as exc:
        fail(exc)
        return
    echo(f"removed {removed.name} <{removed.email}> ({removed.role.value}); their sessions are ended")
