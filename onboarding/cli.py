"""The command line: ``onboarding validate | plan | schema | launch | status | sweep | outbox | report ...``.

The edge of the program: it parses arguments, calls one service, prints with rich,
and turns the engine's errors into messages and exit statuses (1 for bad input,
2 for bad usage) without tracebacks.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from onboarding import __version__
from onboarding.adapters.clock import FixedClock, SystemClock
from onboarding.adapters.email.unsubscribe import read_unsubscribe_token
from onboarding.adapters.store.sql import store_failure
from onboarding.bootstrap import (
    database,
    delivery_waiting,
    manager_report_service,
    outbox_service,
    planning_service,
    project_service,
    report_service,
    require_database,
    sweep_service,
    unsubscribe_secret,
)
from onboarding.core.addresses import parse_mailbox
from onboarding.core.blueprint import blueprint_json_schema
from onboarding.core.lifecycle import Action, ProjectState
from onboarding.core.messages import Person
from onboarding.core.metrics import TTFV_COLUMNS, Dimension, portfolio_rows, ttfv_row
from onboarding.core.plan_view import plan_document
from onboarding.core.planning import Plan
from onboarding.core.projects import status_document
from onboarding.core.sweep_days import sweep_instant
from onboarding.errors import (
    AddressInvalid,
    OnboardingError,
    PlanInputInvalid,
    Problem,
    StoreUnavailable,
    UnsubscribeRefused,
    render_problem,
)
from onboarding.services.ports import OUTBOX_STATES, RESENDABLE, Clock, OutboxEntry, Waiting
from onboarding.services.reports import one_report_day
from onboarding.services.sweep import SweepPreview
from onboarding.settings import Settings, settings_problems

_TRACE_LINES_IN_TABLE = 12
EXIT_MAIL_UNAVAILABLE = 75  # sysexits' EX_TEMPFAIL: the sweep ran, its mail waits for a server that can be reached


class IsoDate(click.ParamType):  # type: ignore[type-arg]
    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2026-12-07", param, ctx)


def _console(stream: Any = None) -> Console:
    out = stream or sys.stdout
    return Console(file=out, width=None if out.isatty() else 200, highlight=False, soft_wrap=False)


def _fail(error: OnboardingError) -> None:
    click.echo(str(error), err=True)  # plain text: one problem a line, whatever the width
    raise SystemExit(1)


# Commands that read or change stored projects: run where no database is, they say so rather than make an empty one.
# `launch` makes the database; validate, plan and schema never open it.
_NEED_A_DATABASE = frozenset(
    {
        "status",
        "list",
        "report",
        "sweep",
        "outbox",
        "hold",
        "resume",
        "unsubscribe",
        *(action.value for action in Action),
    }
)


def _require_database_for(ctx: click.Context) -> None:
    top = ctx
    while top.parent is not None and top.parent.parent is not None:
        top = top.parent
    if top.parent is not None and top.info_name in _NEED_A_DATABASE:
        require_database(Settings())


class _Command(click.Command):
    """A command that, when it reads or changes stored projects, first checks that the database exists.

    The check runs once its own arguments are read, so that bad usage is said first.
    """

    def invoke(self, ctx: click.Context) -> Any:
        _require_database_for(ctx)
        return super().invoke(ctx)


class _ActingGroup(click.Command):
    """A group below the top (``report``) that acts itself, without a subcommand (``report --html``)."""

    def invoke(self, ctx: click.Context) -> Any:
        acts = ctx.invoked_subcommand is None and any(value is not None for value in ctx.params.values())
        if ctx.parent is not None and acts:
            _require_database_for(ctx)
        return super().invoke(ctx)


class _Edge(click.Group, _ActingGroup):
    """The command group where every failure becomes a message: coded, exit 1, never a traceback.

    Commands turn the engine's errors into messages themselves; what escapes them (the
    database or a file failing, an error raised before a command's own handling) is said
    here, the database's failures by the store (which file or server, what to check).
    """

    command_class = _Command
    group_class = type  # its groups (report) are of this class too

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OnboardingError as exc:
            _fail(exc)
        except SQLAlchemyError as exc:
            _fail(store_failure(exc, Settings().effective_database_url))
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            _fail(
                StoreUnavailable(
                    "onboarding",
                    (
                        Problem(
                            "file-access-failed",
                            f"cannot use{where}: {exc.strerror or exc}",
                            hint="check that the path exists, is a folder where one is expected, and may be written "
                            "(ONBOARDING_DATA_DIR, ONBOARDING_MAILDIR)",
                        ),
                    ),
                )
            )
        return None


@click.group(cls=_Edge, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="onboarding")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Onboarding projects from YAML blueprints: validate, plan, launch on a payroll-safe date."""
    if ctx.invoked_subcommand == "schema" or ctx.resilient_parsing or {"-h", "--help"} & set(sys.argv[1:]):
        return  # no settings read: the schema, help, completion
    problems = settings_problems()
    if problems:  # the other commands read the settings: say what is wrong with them before anything runs
        click.echo("\n".join(render_problem(Problem("invalid-setting", line)) for line in problems), err=True)
        raise SystemExit(1)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--kickoff", type=IsoDate(), help="Kickoff date for the trial plan (default: today).")
@click.option("--pay-schedule", "pay_schedule", metavar="SPEC", help="Pay schedule for the trial plan.")
def validate(files: tuple[str, ...], kickoff: date | None, pay_schedule: str | None) -> None:
    """Check blueprints: every problem at once, with line, column, code and hint.

    Where a blueprint has a launch window and a pay schedule (given or its default),
    a trial plan from the kickoff checks the window can be met.
    """
    out = _console()
    failed = 0
    for result in planning_service().validate(list(files), kickoff_on=kickoff, pay_schedule=pay_schedule):
        if result.ok and result.loaded is not None:
            bp = result.loaded.blueprint
            tasks = sum(len(m.tasks) for m in bp.milestones)
            out.print(
                f"[green]ok[/green] {escape(result.ref)}: {bp.key} {bp.version}, "
                f"{len(bp.milestones)} milestones, {tasks} tasks"
            )
        else:
            failed += 1
            click.echo(str(result.error), err=True)
    if failed:
        raise SystemExit(1)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kickoff", type=IsoDate(), required=True, help="Kickoff date, YYYY-MM-DD.")
@click.option(
    "--pay-schedule",
    "pay_schedule",
    metavar="SPEC",
    help="e.g. biweekly:2026-01-02, weekly:2026-01-02, semimonthly:15,last, monthly:last[:following].",
)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def plan(file: str, kickoff: date, pay_schedule: str | None, output_format: str) -> None:
    """Plan a project: dated tasks, critical path, slack and the go-live with its reasons."""
    try:
        result = planning_service().plan(file, kickoff_on=kickoff, pay_schedule=pay_schedule)
    except OnboardingError as exc:
        _fail(exc)
        return
    if output_format == "json":
        click.echo(json.dumps(plan_document(result), indent=2))
    else:
        _print_plan(result, _console())


@main.command()
def schema() -> None:
    """Print the JSON Schema of the blueprint format."""
    click.echo(json.dumps(blueprint_json_schema(), indent=2))


def _print_plan(plan: Plan, out: Console) -> None:
    title = f"{plan.blueprint_key} {plan.blueprint_version} - kickoff {plan.kickoff_on.isoformat()}"
    if plan.pay_schedule:
        title += f" - pay schedule {plan.pay_schedule.spec()}"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    # Numbers and dates keep their width; names shrink (with an ellipsis) on narrow terminals.
    wide = out.width >= 140
    table.add_column("milestone / task", no_wrap=True, overflow="ellipsis", min_width=16)
    table.add_column("owner", no_wrap=True, overflow="ellipsis", min_width=8, max_width=24)
    table.add_column("calendar", no_wrap=True, overflow="ellipsis", min_width=4)
    table.add_column("kind", no_wrap=True, overflow="ellipsis", min_width=5)
    table.add_column("days", justify="right", no_wrap=True, min_width=4)
    for name in ("start", "due", *(("late due",) if wide else ())):
        table.add_column(name, no_wrap=True, min_width=10)
    table.add_column("slack", justify="right", no_wrap=True, min_width=5)
    table.add_column("", no_wrap=True, min_width=8)
    by_milestone = {m.key: m for m in plan.milestones}
    current = None
    for t in plan.tasks:
        if t.task.milestone != current:
            current = t.task.milestone
            m = by_milestone[current]
            blanks = ("",) * (3 if wide else 2)
            table.add_row(
                Text(m.title, style="bold"),
                "",
                "",
                "",
                "",
                m.start_on.isoformat(),
                m.due_on.isoformat(),
                *blanks,
                style="bold",
            )
        marks = (
            ("critical" if t.critical else "")
            + (" go-live" if t.task.launch else "")
            + (" first-value" if t.task.first_value else "")
            + ("" if t.task.customer_visible else " internal")
        )
        table.add_row(
            "  " + t.task.key,
            t.task.owner,
            t.task.calendar.value,
            t.task.kind.value,
            str(t.task.duration_business_days),
            t.start_on.isoformat(),
            t.due_on.isoformat(),
            *((t.late_due_on.isoformat(),) if wide else ()),
            str(t.slack_business_days),
            marks.strip(),
            style="red" if t.critical else None,
        )
    out.print(table)
    out.print(f"Finish: {plan.finish_on.isoformat()}  (critical tasks in red: zero slack)")
    go = plan.go_live
    if go is not None:
        out.print()
        out.print(
            Text(
                f"Go-live: {go.chosen_on.isoformat()} ({go.chosen_on:%A})  task {go.task}, "
                f"earliest finish {go.earliest_on.isoformat()}, window {go.kind}",
                style="bold green",
            )
        )
        out.print(f"  why: {escape(go.reason)}")
        if go.rejected:
            out.print(f"  earlier candidates rejected ({len(go.rejected)}):")
            for r in go.rejected[:_TRACE_LINES_IN_TABLE]:
                out.print(f"    {r.on.isoformat()} {r.on:%a}: {escape(r.reason)}")
            if len(go.rejected) > _TRACE_LINES_IN_TABLE:
                out.print(f"    ... and {len(go.rejected) - _TRACE_LINES_IN_TABLE} more (--format json lists all)")
    if plan.pay_dates:
        out.print(f"Pay dates in the plan's span: {', '.join(p.paid_on.isoformat() for p in plan.pay_dates)}")
    for warning in plan.warnings:
        out.print(f"[yellow]warning:[/yellow] {escape(warning)}")


# -- running projects ----------------------------------------------------------------


def _bindings(specs: tuple[str, ...]) -> dict[str, Person]:
    """``role=Name <email>[;tz=Area/City]`` each -> {role: Person}, the address read by the engine's one rule.

    Every binding that cannot be read is reported at once (``PlanInputInvalid``);
    the launch service checks the rest (known roles, time zones, names).
    """
    out: dict[str, Person] = {}
    problems: list[Problem] = []
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
        tz = "UTC"
        for option in filter(None, (o.strip() for o in options.split(";"))):
            key, _, value = option.partition("=")
            if key.strip() != "tz":
                problems.append(
                    Problem(
                        "invalid-binding", f"unknown option {key!r} in {spec!r}", ("bind", role), "only tz=Area/City"
                    )
                )
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
@click.argument("blueprint", type=click.Path(dir_okay=False))
@click.option("--customer", required=True, help="The customer's name.")
@click.option("--kickoff", type=IsoDate(), required=True, help="Kickoff date, YYYY-MM-DD.")
@click.option("--pay-schedule", "pay_schedule", metavar="SPEC", help="Default: the blueprint's.")
@click.option(
    "--bind",
    "binds",
    multiple=True,
    metavar='ROLE="Name <email>[;tz=Zone]"',
    required=True,
    help="Bind a role to a person; repeat for every role.",
)
@click.option("--segment", help="e.g. smb, mid-market, enterprise.")
@click.option(
    "--external-id",
    "external_id",
    help="Your CRM id: launching it again with the same inputs shows the project; with others it is refused.",
)
@click.option(
    "--contract-signed",
    "contract_signed",
    type=IsoDate(),
    help="The day the contract was signed (TTFV starts here when the blueprint says so).",
)
@click.option("--by", "actor", default="cli", show_default=True)
def launch(
    blueprint: str,
    customer: str,
    kickoff: date,
    pay_schedule: str | None,
    binds: tuple[str, ...],
    segment: str | None,
    external_id: str | None,
    contract_signed: date | None,
    actor: str,
) -> None:
    """Launch a project from a blueprint: plan it, store it, queue the kickoff emails."""
    try:
        bindings = _bindings(binds)
        result = project_service().launch(
            blueprint,
            customer=customer,
            kickoff_on=kickoff,
            bindings=bindings,
            pay_schedule=pay_schedule,
            segment=segment,
            external_id=external_id,
            actor=actor,
            contract_signed_on=contract_signed,
        )
    except OnboardingError as exc:
        _fail(exc)
        return
    p = result.project
    verb = "launched" if result.created else "exists already (same external id, same inputs):"
    go = f", go-live {p.committed_go_live_on.isoformat()}" if p.committed_go_live_on else ""
    click.echo(
        f"{verb} {p.id} for {p.customer}: {p.blueprint_key} {p.blueprint_version}, "
        f"kickoff {p.kickoff_on.isoformat()}{go}, finish {p.finish_on.isoformat()}"
    )


def _task_command(action: Action) -> click.Command:
    @click.argument("project")
    @click.argument("task")
    @click.option("--on", "on", type=IsoDate(), help="The day it happened (default: today).")
    @click.option("--by", "actor", default="cli", show_default=True)
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
            result = project_service().change_task(
                project, task, action, on=on, by=actor, reason=reason, force=force, force_date=force_date
            )
        except OnboardingError as exc:
            _fail(exc)
            return
        t = result.task(task)
        go = result.projected_go_live_on
        click.echo(
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
@click.option("--by", "actor", default="cli", show_default=True)
def hold_command(project: str, reason: str | None, on: date | None, actor: str) -> None:
    """Put a project on hold (its clock stops)."""
    try:
        result = project_service().hold(project, on=on, by=actor, reason=reason)
    except OnboardingError as exc:
        _fail(exc)
        return
    click.echo(f"{result.id} is on hold")


@main.command(name="resume")
@click.argument("project")
@click.option("--on", "on", type=IsoDate(), help="The day the hold ended (default: today).")
@click.option("--by", "actor", default="cli", show_default=True)
def resume_command(project: str, on: date | None, actor: str) -> None:
    """Resume a held project and re-forecast it."""
    try:
        result = project_service().resume(project, on=on, by=actor)
    except OnboardingError as exc:
        _fail(exc)
        return
    click.echo(f"{result.id} is active again")


@main.command()
@click.argument("token")
def unsubscribe(token: str) -> None:
    """Record the opt-out an unsubscribe link asks for (TOKEN: its token= value) as an event of its project."""
    settings = Settings()
    request = read_unsubscribe_token(token, secret=unsubscribe_secret(settings))
    try:
        if request is None:
            raise UnsubscribeRefused(
                "unsubscribe",
                (
                    Problem(
                        "invalid-unsubscribe-token",
                        "this token was not signed with this engine's secret key, or was altered or cut short",
                        hint="copy the whole token= value of the link; check ONBOARDING_SECRET_KEY or the data folder",
                    ),
                ),
            )
        if request.project_id is None:
            raise UnsubscribeRefused(
                "unsubscribe",
                (
                    Problem(
                        "unsubscribe-every-project",
                        f"the token is valid and asks to stop every project's emails to {request.email}",
                        hint="opt-outs are recorded per project: ask which projects, and unsubscribe from those",
                    ),
                ),
            )
        recorded = project_service(settings).unsubscribe(request.project_id, email=request.email)
    except OnboardingError as exc:
        _fail(exc)
        return
    done = "recorded" if recorded else "was already recorded"
    click.echo(f"{request.email} unsubscribed from {request.project_id}: {done}")


@main.command()
@click.argument("project")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def status(project: str, output_format: str) -> None:
    """A project's milestones, tasks, overdue work and go-live against the committed window."""
    settings = Settings()
    engine = database(settings)
    svc = project_service(settings, engine=engine)
    try:
        record = svc.get(project)
    except OnboardingError as exc:
        _fail(exc)
        return
    document = status_document(record, today=SystemClock().today())
    failed = svc.failed_messages(record.id)
    document["failed_emails"] = [
        {
            "id": f.id,
            "state": f.state,
            "kind": f.kind,
            "subject": f.subject,
            "to": list(f.recipients),
            "attempts": f.attempts,
            "error": f.error,
        }
        for f in failed
    ]
    waiting = delivery_waiting(engine=engine, project_id=record.id)
    document["waiting_emails"] = _waiting_document(waiting)
    if output_format == "json":
        click.echo(json.dumps(document, indent=2))
        return
    out = _console()
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
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("milestone / task", "owner", "state", "start", "due", ""):
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    tasks: list[dict[str, Any]] = document["tasks"]  # type: ignore[assignment]
    for m in document["milestones"]:  # type: ignore[attr-defined]
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
    for line in _waiting_lines(waiting):
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
@click.option("--limit", type=int, default=200, show_default=True)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_command(
    state: str | None, blueprint: str | None, segment: str | None, customer: str | None, limit: int, output_format: str
) -> None:
    """The portfolio: projects with their state and go-live."""
    found = project_service().list_projects(
        state=state, blueprint=blueprint, segment=segment, customer=customer, limit=limit
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
    _console().print(table)


@main.command()
@click.option(
    "--as-of",
    "as_of",
    type=IsoDate(),
    help="Sweep as of this day: today or an earlier day not before the latest day already swept "
    "(a catch-up, oldest missed day first); a later day only on a simulation database such as the demo's.",
)
@click.option(
    "--at",
    "at_time",
    metavar="HH:MM",
    help="The time of day, UTC (nudges respect each person's local hours); default: now for today, "
    "17:00 for an earlier day.",
)
@click.option("--no-deliver", is_flag=True, help="Decide and queue, but leave the outbox for later.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Decide everything and print what would be re-forecast, run, nudged, queued and delivered; "
    "write and send nothing.",
)
def sweep(as_of: date | None, at_time: str | None, *, no_deliver: bool, dry_run: bool) -> None:
    """Run one sweep now: re-forecast, automated tasks, nudges, status emails, delivery."""
    try:
        wall = SystemClock()
        instant = sweep_instant(as_of, at_time, now=wall.now())
        clock: Clock = wall if as_of is None and at_time is None else FixedClock(instant.date(), at=instant)
        deciding = sweep_service(clock=clock, deliver=False)  # no dispatcher: no mail folder or key file made
        if dry_run:
            _print_preview(deciding.preview(deliver=not no_deliver))
            return
        deciding.check()  # a refused sweep makes nothing, not even the mail folder
        report = (deciding if no_deliver else sweep_service(clock=clock, deliver=True)).run()
    except OnboardingError as exc:
        _fail(exc)
        return
    d = report.delivered
    click.echo(
        f"sweep {report.as_of.isoformat()}: re-forecast {report.reforecast} projects, "
        f"{report.automated} automated tasks run, {report.overdue_tasks} overdue tasks, "
        f"{report.nudges} nudges in {report.digests} digests ({report.deferred} deferred), "
        f"{report.status_emails} status emails; delivered {d.sent}, retrying {d.retried}, failed {d.failed}, "
        f"held {d.held}"
    )
    if d.released:
        click.echo(f"outbox: {d.released} emails claimed by runs that are gone were released and taken again")
    for line in _waiting_lines(d.waiting):
        click.echo(f"outbox: {line}")
    if d.unavailable:
        click.echo(
            f"mail server unavailable: {d.unavailable}; {d.retried + d.deferred} message(s) wait for the next sweep"
            " (nothing is lost; check the ONBOARDING_SMTP_* settings and the server)",
            err=True,
        )
    elif d.out_of_time:
        click.echo(
            f"delivery stopped at its deadline (ONBOARDING_DELIVERY_DEADLINE_SECONDS); {d.retried + d.deferred}"
            " message(s) and any not yet claimed wait for the next sweep",
            err=True,
        )
    if report.not_replanned:
        count = len(report.not_replanned)
        click.echo(f"{count} project(s) could not be re-planned and were left as they were:", err=True)
        for line in report.not_replanned:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    if d.unavailable:
        sys.exit(EXIT_MAIL_UNAVAILABLE)


def _print_preview(preview: SweepPreview) -> None:
    """A dry run's lists, one item a line; projects that could not be re-planned on stderr, exit 1."""
    click.echo(f"dry run: sweep as of {preview.at:%Y-%m-%d %H:%M} UTC; nothing recorded, changed or sent")
    click.echo(f"would re-forecast {len(preview.reforecast)} project(s):")
    for r in preview.reforecast:
        move = (
            f"go-live {_cell(r.go_live_from)} -> {_cell(r.go_live_to)}"
            if r.go_live_from != r.go_live_to
            else f"go-live stays {_cell(r.go_live_to)}"
        )
        late = r.go_live_to is not None and r.committed_go_live_on is not None and r.go_live_to > r.committed_go_live_on
        window = f" (committed {_cell(r.committed_go_live_on)}{': window jump' if late else ''})"
        click.echo(
            f"  {r.project_id} {r.customer}: {move}{window if r.committed_go_live_on else ''}, "
            f"{r.tasks_moved} task due date(s) move"
        )
    click.echo(f"would run {len(preview.automated)} automated task(s):")
    for line in preview.automated:
        click.echo(f"  {line}")
    nudges = sum(len(v) for v in preview.nudges.values())
    click.echo(
        f"would nudge {len(preview.nudges)} recipient(s) about {nudges} task(s) "
        f"({preview.overdue_tasks} overdue tasks, {preview.deferred} nudges deferred):"
    )
    for recipient, lines in sorted(preview.nudges.items()):
        click.echo(f"  {recipient}:")
        for line in lines:
            click.echo(f"    {line}")
    for verb, messages in (("queue", preview.queued), ("deliver", preview.delivered)):
        click.echo(f"would {verb} {len(messages)} email(s):")
        for m in messages:
            click.echo(f"  {m.kind} to {', '.join(m.to) or 'nobody'}: {m.subject}")
    if preview.not_replanned:
        click.echo(f"{len(preview.not_replanned)} project(s) could not be re-planned:", err=True)
        for line in preview.not_replanned:
            click.echo(f"  {line}", err=True)
        sys.exit(1)


def _at(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at is not None else "?"


def _waiting_lines(waiting: Waiting) -> list[str]:
    """What is not handed over yet, and since when: one line for each kind of wait."""
    lines = []
    if waiting.pending:
        lines.append(f"{waiting.pending} waiting to be sent, the oldest queued {_at(waiting.pending_since)}")
    if waiting.claimed:
        lines.append(f"{waiting.claimed} being delivered by a run at work since {_at(waiting.claimed_since)}")
    if waiting.stranded:
        then = (
            f"taken again after the lease, by {_at(waiting.stranded_until)}"
            if waiting.stranded_until is not None
            else "released by the next delivery"
        )
        lines.append(
            f"{waiting.stranded} stranded since {_at(waiting.stranded_since)}, claimed by a run that is gone "
            f"or cannot be told alive: {then}"
        )
    return lines


def _waiting_document(waiting: Waiting) -> dict[str, Any]:
    def iso(at: datetime | None) -> str | None:
        return at.astimezone(UTC).isoformat() if at is not None else None

    return {
        "pending": waiting.pending,
        "pending_since": iso(waiting.pending_since),
        "claimed": waiting.claimed,
        "claimed_since": iso(waiting.claimed_since),
        "stranded": waiting.stranded,
        "stranded_since": iso(waiting.stranded_since),
        "stranded_until": iso(waiting.stranded_until),
    }


# -- manager reports ---------------------------------------------------------------------------------------------


@main.group(invoke_without_command=True)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the whole report (charts and tables) as one HTML file to open in a browser.",
)
@click.option(
    "--as-of",
    "as_of",
    type=IsoDate(),
    help="Every report as of this day (default: today): the HTML report and the ttfv and portfolio reports.",
)
@click.pass_context
def report(ctx: click.Context, html_path: Path | None, as_of: date | None) -> None:
    """Manager reports: time to first value (ttfv) and portfolio health (portfolio), or all of it as HTML (--html)."""
    if html_path is not None:
        try:
            service = manager_report_service()
            written = service.write(service.build(as_of=as_of), html_path)
        except OnboardingError as exc:
            _fail(exc)
            return
        click.echo(f"report written to {written.resolve()}")
    elif ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


_FORMATS = click.Choice(["table", "json", "csv"])


def _report_group_as_of(ctx: click.Context) -> date | None:
    """The ``--as-of`` given before the subcommand (``report --as-of DAY ttfv``)."""
    day = ctx.parent.params.get("as_of") if ctx.parent is not None else None
    return day if isinstance(day, date) else None


@report.command(name="ttfv")
@click.option(
    "--by",
    "by",
    multiple=True,
    type=click.Choice([d.value for d in Dimension]),
    help="Group by; repeat for several (default: blueprint).",
)
@click.option("--since", type=IsoDate(), help="Projects whose TTFV starts on or after this day.")
@click.option("--until", type=IsoDate(), help="Projects whose TTFV starts on or before this day.")
@click.option("--as-of", "as_of", type=IsoDate(), help="Report as of this day (default: today).")
@click.option("--format", "output_format", type=_FORMATS, default="table", show_default=True)
@click.pass_context
def report_ttfv(
    ctx: click.Context,
    by: tuple[str, ...],
    since: date | None,
    until: date | None,
    as_of: date | None,
    output_format: str,
) -> None:
    """Time to first value per group: reached and in flight, median/p75/p90 in calendar days, business days
    and days net of on-hold time, and the Kaplan-Meier share reached within 30/60/90 days."""
    dimensions = tuple(Dimension(b) for b in by) or (Dimension.blueprint,)
    try:
        day = one_report_day(_report_group_as_of(ctx), as_of)
        result = report_service().ttfv(by=dimensions, since=since, until=until, as_of=day)
    except OnboardingError as exc:
        _fail(exc)
        return
    if output_format == "json":
        click.echo(json.dumps(_plain(result), indent=2))
        return
    header = [*(d.value for d in result.dimensions), *TTFV_COLUMNS]
    rows = [[*g.key, *ttfv_row(g)] for g in result.groups]
    if output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return
    out = _console()
    period = f" starting {since or '...'} to {until or '...'}" if since or until else ""
    out.print(Text(f"Time to first value as of {result.as_of.isoformat()}{period}", style="bold"))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in header:
        table.add_column(name, no_wrap=True, justify="left" if name in (d.value for d in Dimension) else "right")
    shares = {i for i, name in enumerate(header) if name.startswith("≤")}

    def cells(row: list[Any]) -> list[str]:
        return [f"{v:.0%}" if i in shares and v is not None else _cell(v) for i, v in enumerate(row)]

    for row in rows:
        table.add_row(*cells(row))
    padding = [""] * (len(result.dimensions) - 1)
    table.add_row(*cells(["all", *padding, *ttfv_row(result.total)]), style="bold")
    out.print(table)
    out.print(
        "days: cd = calendar, bd = business (customer calendar), net = calendar net of on-hold time; "
        "≤30d/≤60d/≤90d: Kaplan-Meier share reached within, in-flight projects censored"
    )


@report.command(name="portfolio")
@click.option("--as-of", "as_of", type=IsoDate(), help="Report as of this day (default: today).")
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True, help="Bottlenecks to show.")
@click.option("--format", "output_format", type=_FORMATS, default="table", show_default=True)
@click.pass_context
def report_portfolio(ctx: click.Context, as_of: date | None, top: int, output_format: str) -> None:
    """Portfolio health: on-time launch rate, projects at risk, bottlenecks, slip by side, waits before start."""
    try:
        day = one_report_day(_report_group_as_of(ctx), as_of)
        result = report_service().portfolio(as_of=day, top=top)
    except OnboardingError as exc:
        _fail(exc)
        return
    if output_format == "json":
        click.echo(json.dumps(_plain(result), indent=2))
        return
    if output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["section", "item", "measure", "value"])
        writer.writerows(portfolio_rows(result))
        return
    out = _console()
    o = result.on_time
    rate = f"{o.rate:.0%}" if o.rate is not None else "-"
    out.print(
        Text(
            f"Portfolio as of {result.as_of.isoformat()}: {result.projects} projects, {result.active} open",
            style="bold",
        )
    )
    out.print(f"on-time launches: {rate} ({o.on_time} of {o.on_time + o.late} went live inside the committed window)")
    risk = Table(title="At risk", box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    for name in (
        "project",
        "customer",
        "blueprint",
        "owner",
        "committed",
        "projected",
        "days past",
        "overdue (customer)",
        "days blocked",
    ):
        risk.add_column(name, no_wrap=True)
    for r in result.at_risk:
        risk.add_row(
            r.external_id or r.project_id,
            r.customer,
            r.blueprint_key,
            r.owner,
            _cell(r.committed_go_live_on),
            _cell(r.projected_go_live_on),
            str(r.days_past_window),
            str(r.overdue_customer_tasks),
            str(r.days_blocked),
        )
    out.print(risk)
    for title, found in (
        ("Bottleneck tasks", result.bottleneck_tasks),
        ("Bottleneck milestones", result.bottleneck_milestones),
    ):
        table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
        for name in ("blueprint", "key", "title", "projects", "slip days", "median", "max"):
            table.add_column(name, no_wrap=True)
        for b in found:
            table.add_row(
                b.blueprint_key,
                b.key,
                b.title,
                str(b.projects),
                str(b.slip_days),
                _cell(b.median_slip_days),
                str(b.max_slip_days),
            )
        out.print(table)
    sides = Table(
        title="Slip and wait before start, by side", box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left"
    )
    for name in ("side", "tasks slipped", "slip days", "share", "tasks started", "wait median", "wait p90"):
        sides.add_column(name, no_wrap=True)
    waits = {w.side: w for w in result.wait_before_start}
    for s in result.slip_by_side:
        w = waits[s.side]
        sides.add_row(
            s.side,
            str(s.tasks),
            str(s.slip_days),
            f"{s.share:.0%}" if s.share is not None else "-",
            str(w.tasks),
            _cell(w.days.median),
            _cell(w.days.p90),
        )
    out.print(sides)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _plain(value: Any) -> Any:
    """A report as JSON-ready values: dataclasses become objects, days ISO text."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- the outbox -------------------------------------------------------------------------------------------------


_AGE_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class Age(click.ParamType):  # type: ignore[type-arg]
    name = "AGE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        text = str(value).strip().lower()
        number, unit = text[:-1], text[-1:]
        if unit not in _AGE_UNITS or not number.isdigit():
            self.fail(
                f"{value!r} is not an age; write a whole number of minutes, hours or days: 30m, 6h, 3d", param, ctx
            )
        return timedelta(**{_AGE_UNITS[unit]: int(number)})


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
        listing = outbox_service().list(states=states, project=project, older_than=older_than, limit=limit)
    except OnboardingError as exc:
        _fail(exc)
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
    out = _console()
    out.print(table)
    out.print(f"{len(listing.entries)} of {listing.total} message(s)")


@outbox.command(name="show")
@click.argument("message_id", metavar="ID", type=click.IntRange(1, _LARGEST_ID))
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def outbox_show(message_id: int, output_format: str) -> None:
    """One message: its state, recipients, tries and last error."""
    try:
        entry = outbox_service().show(message_id)
    except OnboardingError as exc:
        _fail(exc)
        return
    document = _entry_document(entry)
    if output_format == "json":
        click.echo(json.dumps(document, indent=2))
        return
    for name, value in document.items():
        click.echo(f"{name + ':':<16} {', '.join(value) if isinstance(value, list) else _cell(value)}")


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
        resent = outbox_service().retry(
            message_ids, states=states or RESENDABLE, project=project, older_than=older_than
        )
    except OnboardingError as exc:
        _fail(exc)
        return
    ids = ", ".join(f"#{i}" for i in resent.requeued)
    click.echo(f"{len(resent.requeued)} message(s) back in line for the next sweep" + (f": {ids}" if ids else ""))
    for e in resent.left:
        click.echo(f"#{e.id} is {e.state}, not failed or held: left as it is")


@main.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--data",
    default="demo-data",
    show_default=True,
    help="Folder for the demo's database and Maildir: made by the demo and replaced on its next run; "
    "a folder holding anything else is refused, untouched.",
)
@click.option("--projects", type=int, default=30, show_default=True)
@click.option("--days", type=int, default=120, show_default=True)
def demo(data: str, projects: int, days: int) -> None:
    """Launch a portfolio and live through ~4 months of it, sweeping every working day through Prefect."""
    _run_flow_module("flows.demo", "--data", data, "--projects", str(projects), "--days", str(days))


@main.command()
@click.option("--cron", help="When the sweep runs (UTC).  [default: */15 * * * *]")
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Sweep every SECONDS instead of on a cron (for trials and tests).",
)
@click.option("--report-cron", default="0 7 * * 1", show_default=True, help="When the managers' report goes (UTC).")
def serve(cron: str | None, interval: float | None, report_cron: str) -> None:
    """Serve the sweep and the weekly report on their schedules against a Prefect server (see README)."""
    if cron is not None and interval is not None:
        raise click.UsageError("give the sweep --cron or --interval, not both")
    when = ["--interval", str(interval)] if interval is not None else ["--cron", cron or "*/15 * * * *"]
    # This process turns into the one serving the flows (exec, not a child process): a stop signal (systemd,
    # docker stop, kill) reaches Prefect's runner, which shuts down; a child would go on serving, orphaned.
    import os  # here, not at the top: the other commands never replace their process

    os.execv(sys.executable, [sys.executable, "-m", "flows.serve", *when, "--report-cron", report_cron])  # noqa: S606 - our own module


def _run_flow_module(module: str, *args: str) -> None:
    """Flows run in their own process: this package never imports Prefect."""
    result = subprocess.run([sys.executable, "-m", module, *args], check=False)  # noqa: S603 - our own module
    raise SystemExit(result.returncode)


if __name__ == "__main__":  # pragma: no cover
    main()
