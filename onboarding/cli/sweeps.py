"""The sweep from the command line (``onboarding sweep``, its dry run) and the lines that say which emails wait."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import click

from onboarding.adapters.clock import FixedClock, SystemClock
from onboarding.cli.edge import EXIT_MAIL_UNAVAILABLE, IsoDate, application, cell, echo, fail, main
from onboarding.core.sweep_days import sweep_instant
from onboarding.errors import OnboardingError
from onboarding.services.ports import Clock, Waiting
from onboarding.services.sweep import SweepPreview


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
        deciding = application().sweep(clock=clock, deliver=False)  # no dispatcher: no mail folder or key file made
        if dry_run:
            _print_preview(deciding.preview(deliver=not no_deliver))
            return
        deciding.check()  # a refused sweep makes nothing, not even the mail folder
        report = (deciding if no_deliver else application().sweep(clock=clock, deliver=True)).run()
    except OnboardingError as exc:
        fail(exc)
        return
    d = report.delivered
    echo(
        f"sweep {report.as_of.isoformat()}: re-forecast {report.reforecast} projects, "
        f"{report.automated} automated tasks run, {report.overdue_tasks} overdue tasks, "
        f"{report.nudges} nudges in {report.digests} digests ({report.deferred} deferred), "
        f"{report.status_emails} status emails; delivered {d.sent}, retrying {d.retried}, failed {d.failed}, "
        f"held {d.held}" + (f"; {d.quiet} weekly updates without news left unsent" if d.quiet else "")
    )
    if d.released:
        echo(f"outbox: {d.released} emails claimed by runs that are gone were released and taken again")
    for line in waiting_lines(d.waiting):
        echo(f"outbox: {line}")
    if d.unavailable:
        echo(
            f"mail server unavailable: {d.unavailable}; {d.retried + d.deferred} message(s) wait for the next sweep"
            " (nothing is lost; check the ONBOARDING_SMTP_* settings and the server)",
            err=True,
        )
    elif d.out_of_time:
        echo(
            f"delivery stopped at its deadline (ONBOARDING_DELIVERY_DEADLINE_SECONDS); {d.retried + d.deferred}"
            " message(s) and any not yet claimed wait for the next sweep",
            err=True,
        )
    if report.not_replanned:
        count = len(report.not_replanned)
        echo(f"{count} project(s) could not be re-planned and were left as they were:", err=True)
        for line in report.not_replanned:
            echo(f"  {line}", err=True)
        sys.exit(1)
    if d.unavailable:
        sys.exit(EXIT_MAIL_UNAVAILABLE)


def _print_preview(preview: SweepPreview) -> None:
    """A dry run's lists, one item a line; projects that could not be re-planned on stderr, exit 1."""
    echo(f"dry run: sweep as of {preview.at:%Y-%m-%d %H:%M} UTC; nothing recorded, changed or sent")
    echo(f"would re-forecast {len(preview.reforecast)} project(s):")
    for r in preview.reforecast:
        move = (
            f"go-live {cell(r.go_live_from)} -> {cell(r.go_live_to)}"
            if r.go_live_from != r.go_live_to
            else f"go-live stays {cell(r.go_live_to)}"
        )
        late = r.go_live_to is not None and r.committed_go_live_on is not None and r.go_live_to > r.committed_go_live_on
        window = f" (committed {cell(r.committed_go_live_on)}{': window jump' if late else ''})"
        echo(
            f"  {r.project_id} {r.customer}: {move}{window if r.committed_go_live_on else ''}, "
            f"{r.tasks_moved} task due date(s) move"
        )
    echo(f"would run {len(preview.automated)} automated task(s):")
    for line in preview.automated:
        echo(f"  {line}")
    nudges = sum(len(v) for v in preview.nudges.values())
    echo(
        f"would nudge {len(preview.nudges)} recipient(s) about {nudges} task(s) "
        f"({preview.overdue_tasks} overdue tasks, {preview.deferred} nudges deferred):"
    )
    for recipient, lines in sorted(preview.nudges.items()):
        echo(f"  {recipient}:")
        for line in lines:
            echo(f"    {line}")
    for verb, messages in (("queue", preview.queued), ("deliver", preview.delivered)):
        echo(f"would {verb} {len(messages)} email(s):")
        for m in messages:
            echo(f"  {m.kind} to {', '.join(m.to) or 'nobody'}: {m.subject}")
    if preview.not_replanned:
        echo(f"{len(preview.not_replanned)} project(s) could not be re-planned:", err=True)
        for line in preview.not_replanned:
            echo(f"  {line}", err=True)
        sys.exit(1)


def _at(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at is not None else "?"


def waiting_lines(waiting: Waiting) -> list[str]:
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
