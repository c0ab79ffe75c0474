"""The weekly report flow: the managers' report written as HTML, emailed through the outbox, its headline published.

Three task runs and an artifact: build and write the report (reads the database,
draws the charts), queue one email per manager (ONBOARDING_MANAGERS; keyed
``report:<ISO week>:<email>``, so a rerun of the same week queues nothing new),
deliver the outbox (the one step that retries: it talks to a mail server), then a
Prefect markdown artifact with the headline figures. ``onboarding_flows.serve`` runs it
every Monday at 07:00 UTC. Run it once with

    python -m onboarding_flows.report [--as-of DATE] [--out report.html]

The report goes to ``<data folder>/reports/onboarding-report-<as-of>.html`` unless
``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from onboarding.adapters.clock import FixedClock, SystemClock
from onboarding.adapters.reports.html import check_report_path
from onboarding.core.messages import FigureView
from onboarding.core.report_view import headline_markdown
from onboarding.errors import ReportFileRefused
from onboarding.services.manager_report import ManagerReports, ManagerReportService
from onboarding.services.ports import Clock
from onboarding_flows.application import application

SIMULATED = FixedClock(date(2026, 1, 1))  # moved to each run's --as-of day
ARTIFACT_KEY = "onboarding-report"


@cache
def _built(*, simulated: bool) -> ManagerReportService:
    """One service per process, on the real or the simulated clock."""
    clock: Clock = SIMULATED if simulated else SystemClock()
    return application().manager_report(clock=clock)


def _service(as_of: date | None) -> ManagerReportService:
    if as_of is None:
        return _built(simulated=False)
    SIMULATED.set(as_of)
    return _built(simulated=True)


@dataclass(frozen=True)
class WrittenReport:
    path: Path
    reports: ManagerReports

    @property
    def headline(self) -> list[FigureView]:
        return self.reports.headline


@task(cache_policy=NO_CACHE)
def write_report(as_of: date | None, out: Path | None) -> WrittenReport:
    svc = _service(as_of)
    reports = svc.build(as_of=as_of)
    path = out or svc.default_path(reports.as_of)
    return WrittenReport(svc.write(reports, path), reports)


@task(cache_policy=NO_CACHE)
def queue_emails(as_of: date | None, written: WrittenReport) -> int:
    return _service(as_of).queue_emails(written.reports, page=written.path.read_text(encoding="utf-8"))


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[5, 30, 120])
def deliver(as_of: date | None) -> dict[str, Any]:
    return asdict(_service(as_of).deliver())


def report_run_name() -> str:
    """``report-2026-W49``: the ISO week reported on (``--as-of``, or today in UTC for a scheduled run)."""
    as_of = flow_run.parameters.get("as_of")
    day = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of or SystemClock().today()
    week = day.isocalendar()
    return f"report-{week.year}-W{week.week:02d}"


@flow(name="report", flow_run_name=report_run_name)
def report(as_of: date | None = None, out: str | None = None) -> dict[str, Any]:
    """Write the managers' report, email it to them through the outbox, publish its headline figures."""
    written = write_report(as_of, Path(out) if out else None)
    queued = queue_emails(as_of, written)
    delivered = deliver(as_of)
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=headline_markdown(written.headline, as_of=written.reports.as_of),
        description=f"Headline figures of the onboarding report; the full report: {written.path}",
    )
    return {
        "as_of": written.reports.as_of.isoformat(),
        "path": str(written.path),
        "queued": queued,
        "delivered": delivered,
        "headline": {figure["label"]: figure["value"] for figure in written.headline},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--as-of", type=date.fromisoformat, help="Report as of this day (default: today).")
    parser.add_argument("--out", help="Where to write the HTML report.")
    args = parser.parse_args()
    if args.out:
        try:
            check_report_path(Path(args.out))  # before the run: it never writes over a file it did not write
        except ReportFileRefused as refused:
            problem = refused.problems[0]
            parser.error(f"--out: {problem.message} ({problem.hint})  [{problem.code}]")
    summary = report(args.as_of, args.out)
    print(f"report written to {summary['path']}; {summary['queued']} emails queued, delivered {summary['delivered']}")


if __name__ == "__main__":
    main()
