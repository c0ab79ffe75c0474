"""Running projects: launch, the task commands, hold, resume, unsubscribe, status, list, and customer links
(`project link`, `project rotate-links`)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import click
from rich import box
from rich.table import Table
from rich.text import Text

from onboarding.cli.blueprints import registry_needed
from onboarding.cli.edge import ACTOR, IsoDate, Line, application, console, echo, fail, main, needs_database
from onboarding.cli.sweeps import waiting_lines
from onboarding.core.addresses import parse_mailbox
from onboarding.core.lifecycle import Action, ProjectState
from onboarding.core.messages import Person
from onboarding.errors import AddressInvalid, OnboardingError, PlanInputInvalid, Problem


def _bindings(specs: tuple[str, ...]) -> dict[str, Person]:
    """``role=Name <email>[;tz=Area/City]`` each -> {role: Person}, the address read by the engine's one rule.

    Every binding that cannot be read is reported at once (``PlanInputInvalid``);
    the launch service checks the rest (known roles, time zones, names).
    """
    out: dict[str, Person] = {}
    problems: list[Problem] = []
    seen: set[str] = set()
    for spec in specs:
        role, sep, rest = spec.partition("=")
        role = role.strip()
        who, _, options = rest.partition(";")
        if not sep or not role:
            problems.append(
                Problem(
                    "invalid-binding",
                    f"cannot read the binding {spec!r}",
                    ("bind",),
                    'write ROLE="Name <email>", optionally followed by ;tz=America/Chicago',
                )
            )
            continue
        if role in seen:
            problems.append(
                Problem("invalid-binding", f"{role!r} is bound twice", ("bind", role), "give each role one --bind")
            )
            continue
        seen.add(role)
        tz = "UTC"
        given_tz = False
        for option in filter(None, (o.strip() for o in options.split(";"))):
            key, _, value = option.partition("=")
            if key.strip() != "tz":
                problems.append(
                    Problem(
                        "invalid-binding", f"unknown option {key!r} in {spec!r}", ("bind", role), "only tz=Area/City"
                    )
                )
            elif given_tz:
                problems.append(
                    Problem("invalid-binding", f"two time zones in {spec!r}", ("bind", role), "give tz= once")
                )
            given_tz = given_tz or key.strip() == "tz"
            tz = value.strip()
        try:
            name, email = parse_mailbox(who, loc=("bind", role), source="launch")
        except AddressInvalid as error:
            problems += error.problems
            continue
        out[role] = Person(name or email, email, tz)
    if problems:
        raise PlanInputInvalid("launch", tuple(problems))
    return out


@main.command()
@click.argument("blueprint", metavar="KEY[@VERSION]|FILE")
@click.option("--customer", required=True, type=Line(200), help="The customer's name.")
@click.option("--kickoff", type=IsoDate(), required=True, help="Kickoff date, YYYY-MM-DD.")
@click.option("--pay-schedule", "pay_schedule", metavar="SPEC", help="Default: the blueprint's.")
@click.option(
    "--bind",
    "binds",
    multiple=True,
    metavar='ROLE="Name <email>[;tz=Zone]"',
    help="Bind a role to a person; repeat for every role the team's defaults do not cover (`onboarding team`).",
)
@click.option("--segment", type=Line(64), help="e.g. smb, mid-market, enterprise.")
@click.option(
    "--external-id",
    "external_id",
    type=Line(128),
    help="Your CRM id: launching it again with the same inputs shows the project; with others it is refused.",
)
@click.option(
    "--contract-signed",
    "contract_signed",
    type=IsoDate(),
    help="The day the contract was signed (TTFV starts here when the blueprint says so).",
)
@click.option(
    "--customer-country",
    "customer_country",
    metavar="CC",
    help="The customer's country (ISO 3166-1 alpha-2): its public holidays date the customer's tasks "
    "(default: the blueprint's customer calendar).",
)
@click.option(
    "--customer-subdivision",
    "customer_subdivision",
    metavar="CODE",
    help="The customer's state or region in that country (or in the blueprint's customer country), e.g. QC.",
)
@click.option(
    "--customer-closed-day",
    "customer_closed_days",
    multiple=True,
    metavar="YYYY-MM-DD",
    help="A day the customer is closed besides its public holidays; repeat for each.",
)
@click.option(
    "--customer-tz",
    "customer_time_zone",
    metavar="ZONE",
    help="The customer's time zone (IANA), for its days in reports and its people bound without ;tz=.",
)
@click.option("--by", "actor", type=ACTOR, default="cli", show_default=True)
def launch(
    blueprint: str,
    customer: str,
    kickoff: date,
    pay_schedule: str | None,
    binds: tuple[str, ...],
    segment: str | None,
    external_id: str | None,
    contract_signed: date | None,
    customer_country: str | None,
    customer_subdivision: str | None,
    customer_closed_days: tuple[str, ...],
    customer_time_zone: str | None,
    actor: str,
) -> None:
    """Launch a project from a blueprint: plan it, store it, queue the kickoff emails.

    Roles not bound with --bind take the team's default for the segment (`onboarding team`).
    The blueprint is a published one, by KEY (its latest version) or KEY@VERSION, or a FILE, published with the
    launch (refused if its version was published with other text).
    """
    try:
        registry_needed(blueprint)
        bindings = _bindings(binds)
        result = application().projects.launch(
            blueprint,
            customer=customer,
            kickoff_on=kickoff,
            bindings=bindings,
            pay_schedule=pay_schedule,
            segment=segment,
            external_id=external_id,
            actor=actor,
            contract_signed_on=contract_signed,
            customer_country=customer_country,
            customer_subdivision=customer_subdivision,
            customer_closed_days=customer_closed_days,
            customer_time_zone=customer_time_zone,
        )
    except OnboardingError as exc:
        fail(exc)
        return
    p = result.project
    verb = "launched" if result.created else "exists already (same external id, same inputs):"
    go = f", go-live {p.committed_go_live_on.isoformat()}" if p.committed_go_live_on else ""
    echo(
        f"{verb} {p.id} for {p.customer}: {p.blueprint_key} {p.blueprint_version}, "
        f"kickoff {p.kickoff_on.isoformat()}{go}, finish {p.finish_on.isoformat()}"
    )
    if p.customer_calendar is not None:
        echo(f"  customer calendar: {p.customer_calendar.describe()} (the project's own)")
    defaulted = sorted(role for role in p.bindings if role not in bindings)
    if result.created and defaulted:
        people = ", ".join(f"{role}={p.bindings[role].name} <{p.bindings[role].email}>" for role in defaulted)
        echo(f"  from team defaults: {people}")


def _task_command(action: Action) -> click.Command:
    @click.argument("project")
    @click.argument("task")
    @click.option("--on", "on", type=IsoDate(), help="The day it happened (default: today).")
    @click.option("--by", "actor", type=ACTOR, default="cli", show_default=True)
    @click.option("--reason", help="Recorded with the event.")
    @click.option("--force", is_flag=True, help="Do it although predecessors are not done (recorded as forced).")
    @click.option(
        "--force-date",
        is_flag=True,
        help="Record --on although it is before the kickoff, a predecessor or the task's start (recorded).",
    )
    def command(
        project: str, task: str, on: date | None, actor: str, reason: str | None, *, force: bool, force_date: bool
    ) -> None:
        try:
            result = application().projects.change_task(
                project, task, action, on=on, by=actor, reason=reason, force=force, force_date=force_date
            )
        except OnboardingError as exc:
            fail(exc)
            return
        t = result.task(task)
        go = result.projected_go_live_on
        echo(
            f"{result.id}: {task} is {t.state.value}"
            + (f"; projected go-live {go.isoformat()}" if go else "")
            + (
                ""
                if go is None or result.committed_go_live_on is None or go <= result.committed_go_live_on
                else f" (committed {result.committed_go_live_on.isoformat()}: window jump)"
            )
        )

    command.__doc__ = f"{action.value.capitalize()} a task, re-forecast the plan and record the event."
    return main.command(name=action.value)(command)


for _action in Action:
    _task_command(_action)


@main.command(name="hold")
@click.argument("project")
@click.option("--reason")
@click.option("--on", "on", type=IsoDate(), help="The day the hold began (default: today).")
@click.option("--by", "actor", type=ACTOR, default="cli", show_default=True)
def hold_command(project: str, reason: str | None, on: date | None, actor: str) -> None:
    """Put a project on hold (its clock stops)."""
    try:
        result = application().projects.hold(project, on=on, by=actor, reason=reason)
    except OnboardingError as exc:
        fail(exc)
        return
    echo(f"{result.id} is on hold")


@main.command(name="resume")
@click.argument("project")
@click.option("--on", "on", type=IsoDate(), help="The day the hold ended (default: today).")
@click.option("--by", "actor", type=ACTOR, default="cli", show_default=True)
def resume_command(project: str, on: date | None, actor: str) -> None:
    """Resume a held project and re-forecast it."""
    try:
        result = application().projects.resume(project, on=on, by=actor)
    except OnboardingError as exc:
        fail(exc)
        return
    echo(f"{result.id} is active again")


@main.command()
@click.argument("token")
def unsubscribe(token: str) -> None:
    """Record the opt-out an unsubscribe link asks for (TOKEN: its token= value) as an event of its project."""
    try:
        done = application().unsubscribe.confirm(token)
    except OnboardingError as exc:
        fail(exc)
        return
    said = "recorded" if done.recorded_now else "was already recorded"
    echo(f"{done.email} unsubscribed from {done.project_id}: {said}")


@main.command()
@click.argument("project")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def status(project: str, output_format: str) -> None:
    """A project's milestones, tasks, overdue work and go-live against the committed window."""
    try:
        view = application().status.status(project)
    except OnboardingError as exc:
        fail(exc)
        return
    record, failed, waiting = view.project, view.failed, view.waiting
    document = view.as_json()
    if output_format == "json":
        click.echo(json.dumps(document, indent=2))
        return
    out = console()
    go = document["go_live"]
    out.print(
        Text(
            f"{record.customer} ({record.id}) - {record.blueprint_title} {record.blueprint_version} - "
            f"{record.state.value}",
            style="bold",
        )
    )
    if isinstance(go, dict):
        style = "green" if go["in_committed_window"] else "bold red"
        out.print(Text(f"go-live projected {go['projected_on']}, committed {go['committed_on']}", style=style))
    own = record.customer_calendar
    out.print(
        Text(
            f"customer calendar: {own.describe()} (the project's own)" if own else "customer calendar: the blueprint's"
        )
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("milestone / task", "owner", "state", "start", "due", ""):
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    tasks: list[dict[str, Any]] = document["tasks"]
    for m in document["milestones"]:
        table.add_row(Text(m["title"], style="bold"), "", m["state"], m["start_on"], m["due_on"], "")
        for t in (t for t in tasks if t["milestone"] == m["key"]):
            flag = "OVERDUE" if t["overdue"] else ("critical" if t["critical"] else "")
            table.add_row(
                "  " + t["key"],
                t["owner"] or t["owner_role"],
                t["state"],
                t["start_on"],
                t["due_on"],
                flag,
                style="red" if t["overdue"] else None,
            )
    out.print(table)
    for line in waiting_lines(waiting):
        out.print(Text(f"emails {line}", style="bold red" if "stranded" in line else ""))
    for f in failed:
        out.print(
            Text(
                f"undelivered {f.kind} email #{f.id} ({f.state}) to {', '.join(f.recipients)}: {f.subject} "
                f"({f.attempts} attempts: {f.error})",
                style="bold red",
            )
        )
    if failed:
        out.print(f"resend with `onboarding outbox retry --project {record.external_id or record.id}`")


@main.command(name="list")
@click.option("--state", type=click.Choice([s.value for s in ProjectState]))
@click.option("--blueprint")
@click.option("--segment")
@click.option("--customer", help="Part of the customer's name.")
@click.option(
    "--at-risk",
    "at_risk",
    is_flag=True,
    help="Only projects at risk, as the portfolio report counts them (past their window, customer work overdue, "
    "blocked or on hold).",
)
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_command(
    state: str | None,
    blueprint: str | None,
    segment: str | None,
    customer: str | None,
    *,
    at_risk: bool,
    limit: int,
    output_format: str,
) -> None:
    """The portfolio: projects with their state and go-live, by kickoff (the first LIMIT)."""
    found = (
        application()
        .projects.page(
            state=state, blueprint=blueprint, segment=segment, customer=customer, at_risk=at_risk, limit=limit
        )
        .projects
    )
    rows = [
        {
            "id": p.id,
            "external_id": p.external_id,
            "customer": p.customer,
            "segment": p.segment,
            "blueprint": p.blueprint_key,
            "state": p.state.value,
            "kickoff_on": p.kickoff_on.isoformat(),
            "committed_go_live_on": p.committed_go_live_on.isoformat() if p.committed_go_live_on else None,
            "projected_go_live_on": p.projected_go_live_on.isoformat() if p.projected_go_live_on else None,
        }
        for p in found
    ]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("id", "customer", "segment", "blueprint", "state", "kickoff", "go-live committed", "projected"):
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    for r in rows:
        late = (
            r["projected_go_live_on"]
            and r["committed_go_live_on"]
            and (r["projected_go_live_on"] > r["committed_go_live_on"])
        )
        table.add_row(
            r["id"],
            r["customer"],
            r["segment"] or "",
            r["blueprint"],
            r["state"],
            r["kickoff_on"],
            r["committed_go_live_on"] or "",
            r["projected_go_live_on"] or "",
            style="red" if late else None,
        )
    console().print(table)


@main.group(name="project")
def project_group() -> None:
    """A project's customer links: a customer person's status-page link, and renewing them all."""


needs_database("project")


@project_group.command(name="link")
@click.argument("project")
@click.argument("email")
def link_command(project: str, email: str) -> None:
    """Print the status-page link of the customer person EMAIL on PROJECT (its id or external id).

    The link opens their status page with no account, and lets them mark their tasks done, stuck or snoozed;
    it works until the project ends or its links are renewed (`onboarding project rotate-links`).
    """
    try:
        echo(application().customer_links.link_for(project, email))
    except OnboardingError as exc:
        fail(exc)


@project_group.command(name="rotate-links")
@click.argument("project")
def rotate_links_command(project: str) -> None:
    """Renew PROJECT's link key: every customer link of it sent so far stops working; emails from now on carry
    new ones, and `onboarding project link` prints them."""
    try:
        generation = application().customer_links.rotate(project)
    except OnboardingError as exc:
        fail(exc)
        return
    echo(f"every customer link of {project} sent before now is revoked (link key {generation})")
