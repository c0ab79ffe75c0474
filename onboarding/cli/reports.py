"""The managers' reports: ``onboarding report`` (--html), ``report ttfv`` and ``report portfolio``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table
from rich.text import Text

from onboarding.adapters.reports.html import check_report_path
from onboarding.cli.edge import IsoDate, application, cell, console, echo, fail, main, plain
from onboarding.core.report_csv import portfolio_csv, ttfv_csv, ttfv_header, ttfv_table_rows
from onboarding.core.report_view import AT_RISK_SHOWN
from onboarding.core.ttfv import Dimension, ttfv_row
from onboarding.errors import OnboardingError, ReportFileRefused
from onboarding.services.reports import one_report_day


@main.group(invoke_without_command=True)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    callback=lambda _ctx, _param, path: _report_file(path),
    help="Write the whole report (charts and tables) as one HTML file to open in a browser (a new file, or one "
    "the engine wrote before).",
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
            service = application().manager_report()
            written = service.write(service.build(as_of=as_of), html_path)
        except OnboardingError as exc:
            fail(exc)
            return
        echo(f"report written to {written.resolve()}")
    elif ctx.invoked_subcommand is None:
        echo(ctx.get_help())


def _report_file(path: Path | None) -> Path | None:
    """The --html path, refused as bad usage (before anything is read) when it holds a file the engine did not
    write: the report never goes over one."""
    if path is not None:
        try:
            check_report_path(path)
        except ReportFileRefused as refused:
            problem = refused.problems[0]
            raise click.BadParameter(f"{problem.message} ({problem.hint})  [{problem.code}]") from None
    return path


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
        result = application().reports.ttfv(by=dimensions, since=since, until=until, as_of=day)
    except OnboardingError as exc:
        fail(exc)
        return
    if output_format == "json":
        click.echo(json.dumps(plain(result), indent=2))
        return
    if output_format == "csv":
        click.echo(ttfv_csv(result), nl=False)
        return
    header = ttfv_header(result)
    rows = ttfv_table_rows(result)
    out = console()
    period = f" starting {since or '...'} to {until or '...'}" if since or until else ""
    out.print(Text(f"Time to first value as of {result.as_of.isoformat()}{period}", style="bold"))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in header:
        table.add_column(name, no_wrap=True, justify="left" if name in (d.value for d in Dimension) else "right")
    shares = {i for i, name in enumerate(header) if name.startswith("≤")}

    def cells(row: list[Any]) -> list[str]:
        return [f"{v:.0%}" if i in shares and v is not None else cell(v) for i, v in enumerate(row)]

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
        shown = AT_RISK_SHOWN if output_format == "table" else None  # the exports list every project at risk
        result = application().reports.portfolio(as_of=day, top=top, at_risk_limit=shown)
    except OnboardingError as exc:
        fail(exc)
        return
    if output_format == "json":
        click.echo(json.dumps(plain(result), indent=2))
        return
    if output_format == "csv":
        click.echo(portfolio_csv(result), nl=False)
        return
    out = console()
    o = result.on_time
    rate = f"{o.rate:.0%}" if o.rate is not None else "-"
    out.print(
        Text(
            f"Portfolio as of {result.as_of.isoformat()}: {result.projects} projects, {result.active} open"
            + (f", {result.cancelled} cancelled (counted apart)" if result.cancelled else ""),
            style="bold",
        )
    )
    out.print(f"on-time launches: {rate} ({o.on_time} of {o.on_time + o.late} went live inside the committed window)")
    if o.recommitted:
        out.print(f"  {o.recommitted} of them went live after a recommit (measured against the launch commitment)")
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
            cell(r.committed_go_live_on),
            cell(r.projected_go_live_on),
            str(r.days_past_window),
            str(r.overdue_customer_tasks),
            str(r.days_blocked),
        )
    out.print(risk)
    if result.at_risk_total > len(result.at_risk):
        out.print(
            f"The {len(result.at_risk)} most at risk of {result.at_risk_total:,}, most days past their window first; "
            "--format csv lists them all."
        )
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
                cell(b.median_slip_days),
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
            cell(w.days.median),
            cell(w.days.p90),
        )
    out.print(sides)
