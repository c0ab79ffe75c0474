"""The managers' report as one self-contained HTML file: headline figures, charts and tables.

``render_report`` fills ``templates/report.html.j2`` with the TTFV reports (by
blueprint, by cohort month, and any other grouping asked for) and the portfolio
report; ``HtmlReportPages`` writes it to a file (the ``ReportPages`` port). Everything the page needs is inside
it: the charts are inline SVG (``charts.py``), the styles a ``<style>`` block;
there is no script and nothing is fetched, so it opens the same from a disk, a
mail attachment or a file share. Each chart has a title and a text alternative;
each table has header cells with their scope.

The template runs under jinja2's ``StrictUndefined`` and HTML autoescaping, like
the email templates; the SVG markup is the one value marked safe (matplotlib
writes it, and every text in it is escaped there).

Not here: the figures (``core/ttfv.py``, ``core/portfolio.py``), headline figures and wording
(``core/report_view.py``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from onboarding.adapters.reports import charts
from onboarding.core import report_view
from onboarding.core.ttfv import TtfvReport
from onboarding.errors import Problem, ReportFileRefused
from onboarding.services.manager_report import ManagerReports
from onboarding.services.ports import Clock


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("onboarding.adapters.reports", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    environment.filters["number"] = report_view.number
    environment.filters["percent"] = report_view.percent
    environment.filters["day"] = report_view.day
    environment.filters["month"] = report_view.month
    environment.filters["group_name"] = report_view.group_name
    environment.filters["breakable"] = breakable
    environment.globals["risk_reasons"] = report_view.risk_reasons
    return environment


def breakable(text: str) -> Markup:
    """``text`` escaped, with a line-break opportunity after each ``_`` and ``-`` (long blueprint keys wrap)."""
    return Markup(str(escape(text)).replace("_", "_<wbr>").replace("-", "-<wbr>"))  # noqa: S704 - escaped first


_ENVIRONMENT = _environment()
# What the head of every report page carries (``report.html.j2``): a file without it is not the engine's to replace.
GENERATOR = '<meta name="generator" content="onboarding report">'
_HEAD_BYTES = 1024  # the page's head holds it within its first lines


class HtmlReportPages:
    """Writes report pages, stamped with the clock's time."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock

    def write(self, path: Path, reports: ManagerReports) -> Path:
        return write_report(path, reports, generated_at=self._clock.now())


def render_report(reports: ManagerReports, *, generated_at: datetime, title: str = "Onboarding report") -> str:
    """The report page for ``reports`` (``generated_at``, an aware instant, is printed in UTC)."""
    if generated_at.tzinfo is None:
        raise ValueError(f"generated_at must be an aware datetime, got {generated_at!r}")
    ttfv = reports.by_blueprint
    portfolio = reports.portfolio
    page_charts = {
        "distribution": charts.ttfv_distribution(ttfv.groups),
        "cohorts": charts.cohort_trend(reports.by_cohort_month.groups),
        "kaplan_meier": charts.kaplan_meier(ttfv.groups, total=ttfv.total),
        "bottleneck_tasks": charts.bottlenecks(portfolio.bottleneck_tasks, kind="tasks"),
        "bottleneck_milestones": charts.bottlenecks(portfolio.bottleneck_milestones, kind="milestones"),
        "slip_by_side": charts.slip_by_side(portfolio.slip_by_side),
    }
    template = _ENVIRONMENT.get_template("report.html.j2")
    return template.render(
        title=title,
        as_of=ttfv.as_of,
        generated=generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        headline=reports.headline,
        ttfv_tables=[_table_name(r) for r in (ttfv, reports.by_cohort_month, *reports.more)],
        portfolio=portfolio,
        at_risk_shown=report_view.AT_RISK_SHOWN,
        # matplotlib's SVG: every text in it was escaped when it was written
        charts={name: replace(c, svg=Markup(c.svg)) for name, c in page_charts.items()},  # noqa: S704
    )


def write_report(path: Path, reports: ManagerReports, *, generated_at: datetime) -> Path:
    """Render the report and write it to ``path`` (UTF-8), making its folder if needed: a new file, or in place of
    a report page written there before, never of anything else (``check_report_path``).

    The page is written whole beside it first, then put in place in one step (a link, or a rename over an earlier
    report): a crash leaves the earlier file as it was, never half a page.
    """
    check_report_path(path)
    page = render_report(reports, generated_at=generated_at).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.draft")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(page)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(draft, path)  # a new file: never in place of one made meanwhile
        except OSError:  # there is one (made meanwhile, or a report before), or the file system has no links
            check_report_path(path)  # replaced only if it is a report page too
            os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return path


def check_report_path(path: Path) -> None:
    """Refuse (``ReportFileRefused``) a path a report page may not be written to: one that holds anything but a
    page the engine wrote (which carries ``GENERATOR`` in its head), a folder, or a symbolic link. Nothing is made."""
    if not (path.exists() or path.is_symlink()):
        return
    if path.is_symlink() or not path.is_file():
        why = "is a symbolic link" if path.is_symlink() else "is not a file"
    else:
        with path.open("rb") as file:
            head = file.read(_HEAD_BYTES)
        if head.startswith(b"<!DOCTYPE html>") and GENERATOR.encode("ascii") in head:
            return
        why = "holds something that is not a report page the engine wrote"
    raise ReportFileRefused(
        str(path),
        (
            Problem(
                "report-file-not-ours",
                f"{path} {why}: the report is not written there",
                ("html",),
                "give another path: a new file, or a report the engine wrote before; the engine never writes over "
                "a file it did not write",
            ),
        ),
    )


def _table_name(report: TtfvReport) -> tuple[str, TtfvReport]:
    return " and ".join(d.value.replace("-", " ") for d in report.dimensions), report
