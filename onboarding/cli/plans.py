"""The commands that read blueprints: validate, plan, schema. They never open the database, but to plan a
published blueprint named by key."""

from __future__ import annotations

import json
from datetime import date

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from onboarding.cli.blueprints import registry_needed
from onboarding.cli.edge import IsoDate, application, console, echo, fail, main
from onboarding.core.blueprint import CalendarName, blueprint_json_schema
from onboarding.core.plan_view import plan_document
from onboarding.core.planning import Plan
from onboarding.errors import OnboardingError

_TRACE_LINES_IN_TABLE = 12


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--kickoff", type=IsoDate(), help="Kickoff date for the trial plan (default: today).")
@click.option("--pay-schedule", "pay_schedule", metavar="SPEC", help="Pay schedule for the trial plan.")
def validate(files: tuple[str, ...], kickoff: date | None, pay_schedule: str | None) -> None:
    """Check blueprints: every problem at once, with line, column, code and hint.

    Where a blueprint has a launch window and a pay schedule (given or its default),
    a trial plan from the kickoff checks the window can be met.
    """
    out = console()
    failed = 0
    for result in application().planning.validate(list(files), kickoff_on=kickoff, pay_schedule=pay_schedule):
        if result.ok and result.loaded is not None:
            bp = result.loaded.blueprint
            tasks = sum(len(m.tasks) for m in bp.milestones)
            out.print(
                Text.assemble(
                    ("ok", "green"),
                    f" {result.ref}: {bp.key} {bp.version}, {len(bp.milestones)} milestones, {tasks} tasks",
                )
            )
        else:
            failed += 1
            echo(str(result.error), err=True)
    if failed:
        raise SystemExit(1)


@main.command()
@click.argument("file", metavar="KEY[@VERSION]|FILE")
@click.option("--kickoff", type=IsoDate(), required=True, help="Kickoff date, YYYY-MM-DD.")
@click.option(
    "--pay-schedule",
    "pay_schedule",
    metavar="SPEC",
    help="e.g. biweekly:2026-01-02, weekly:2026-01-02, semimonthly:15,last, monthly:last[:following].",
)
@click.option("--customer-country", "customer_country", metavar="CC", help="The customer's country, as at launch.")
@click.option("--customer-subdivision", "customer_subdivision", metavar="CODE", help="Its state or region.")
@click.option(
    "--customer-closed-day", "customer_closed_days", multiple=True, metavar="YYYY-MM-DD", help="Repeat for each."
)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def plan(
    file: str,
    kickoff: date,
    pay_schedule: str | None,
    customer_country: str | None,
    customer_subdivision: str | None,
    customer_closed_days: tuple[str, ...],
    output_format: str,
) -> None:
    """Plan a project: dated tasks, critical path, slack and the go-live with its reasons.

    The blueprint is a published one, by KEY (its latest version) or KEY@VERSION, or a FILE (not published).
    The customer's own calendar (country, subdivision, closed days) dates its tasks as a launch would.
    """
    try:
        registry_needed(file)
        result = application().planning.plan(
            file,
            kickoff_on=kickoff,
            pay_schedule=pay_schedule,
            customer_country=customer_country,
            customer_subdivision=customer_subdivision,
            customer_closed_days=customer_closed_days,
        )
    except OnboardingError as exc:
        fail(exc)
        return
    if output_format == "json":
        click.echo(json.dumps(plan_document(result), indent=2))
    else:
        _print_plan(
            result, console(), own_customer=bool(customer_country or customer_subdivision or customer_closed_days)
        )


@main.command()
def schema() -> None:
    """Print the JSON Schema of the blueprint format."""
    click.echo(json.dumps(blueprint_json_schema(), indent=2))


def _print_plan(plan: Plan, out: Console, *, own_customer: bool = False) -> None:
    title = f"{plan.blueprint_key} {plan.blueprint_version} - kickoff {plan.kickoff_on.isoformat()}"
    if plan.pay_schedule:
        title += f" - pay schedule {plan.pay_schedule.spec()}"
    if own_customer:
        key = plan.calendars[CalendarName.customer]
        title += f" - customer calendar {key.country}" + (f"-{key.subdivision}" if key.subdivision else "")
        title += f" + {len(key.closed_days)} closed days" if key.closed_days else ""
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
        out.print(f"  why: {go.reason}")
        if go.rejected:
            out.print(f"  earlier candidates rejected ({len(go.rejected)}):")
            for r in go.rejected[:_TRACE_LINES_IN_TABLE]:
                out.print(f"    {r.on.isoformat()} {r.on:%a}: {r.reason}")
            if len(go.rejected) > _TRACE_LINES_IN_TABLE:
                out.print(f"    ... and {len(go.rejected) - _TRACE_LINES_IN_TABLE} more (--format json lists all)")
    if plan.pay_dates:
        out.print(f"Pay dates in the plan's span: {', '.join(p.paid_on.isoformat() for p in plan.pay_dates)}")
    for warning in plan.warnings:
        out.print(Text.assemble(("warning:", "yellow"), f" {warning}"))
