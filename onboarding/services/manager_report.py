"""The managers' report: compute it, write it as one HTML file, and email it to the managers through the outbox.

``build`` asks the report service for TTFV by blueprint, by cohort month and by
each further grouping, and for portfolio health, all as of one day; ``write``
hands them to the page renderer (a port: the HTML adapter); ``queue_emails``
puts one email per manager in the outbox (headline figures in the body, the page
attached) under the key ``report:<ISO week>:<email>``, so a rerun of the same
week queues nothing new; ``deliver`` empties the outbox like the sweep does.

Not here: the figures (core/ttfv.py, core/portfolio.py, services/reports.py), the wording of
the headline and the email (core/report_view.py), HTML and charts (adapters),
the schedule (onboarding_flows/report.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from onboarding.core import report_view
from onboarding.core.messages import FigureView, Person
from onboarding.core.portfolio import PortfolioReport
from onboarding.core.ttfv import Dimension, TtfvReport
from onboarding.services.dispatch import Delivery, DispatchReport
from onboarding.services.ports import Clock, ProjectStore

MORE_GROUPINGS: tuple[Dimension, ...] = (Dimension.segment, Dimension.owner)


@dataclass(frozen=True)
class ManagerReports:
    """What one report shows: TTFV by blueprint and by cohort month, further groupings, portfolio health."""

    by_blueprint: TtfvReport
    by_cohort_month: TtfvReport
    portfolio: PortfolioReport
    more: Sequence[TtfvReport] = ()

    @property
    def as_of(self) -> date:
        return self.by_blueprint.as_of

    @property
    def headline(self) -> list[FigureView]:
        return report_view.headline(self.by_blueprint.total, self.portfolio)


class ReportFigures(Protocol):
    """The report service (``services/reports.py``) as this one uses it."""

    def ttfv(
        self,
        *,
        by: Sequence[Dimension] = ...,
        since: date | None = None,
        until: date | None = None,
        as_of: date | None = None,
    ) -> TtfvReport: ...

    def portfolio(
        self, *, as_of: date | None = None, top: int = 10, at_risk_limit: int | None = None
    ) -> PortfolioReport: ...


class ReportPages(Protocol):
    def write(self, path: Path, reports: ManagerReports) -> Path:
        """Write the report page to ``path`` (its folder made if needed); returns the path. Refuses
        (``ReportFileRefused``) a path that holds anything but a report page written there before."""
        ...


class ManagerReportService:
    def __init__(
        self,
        *,
        figures: ReportFigures,
        pages: ReportPages,
        store: ProjectStore,
        clock: Clock,
        managers: Sequence[Person],
        folder: Path,
        dispatcher: Delivery | None = None,
    ) -> None:
        self._figures = figures
        self._pages = pages
        self._store = store
        self._clock = clock
        self._managers = tuple(managers)
        self._folder = folder
        self._dispatcher = dispatcher

    @property
    def managers(self) -> tuple[Person, ...]:
        return self._managers

    def build(self, *, as_of: date | None = None, more: Sequence[Dimension] = MORE_GROUPINGS) -> ManagerReports:
        """Every part of the report as of one day (today by default)."""
        day = as_of or self._clock.today()
        return ManagerReports(
            by_blueprint=self._figures.ttfv(by=(Dimension.blueprint,), as_of=day),
            by_cohort_month=self._figures.ttfv(by=(Dimension.cohort_month,), as_of=day),
            portfolio=self._figures.portfolio(as_of=day, at_risk_limit=report_view.AT_RISK_SHOWN),
            more=tuple(self._figures.ttfv(by=(dimension,), as_of=day) for dimension in more),
        )

    def default_path(self, as_of: date) -> Path:
        """Where a report as of ``as_of`` goes when no path is given: the reports folder, named by its day."""
        return self._folder / f"onboarding-report-{as_of.isoformat()}.html"

    def write(self, reports: ManagerReports, path: Path) -> Path:
        return self._pages.write(path, reports)

    def queue_emails(self, reports: ManagerReports, *, page: str) -> int:
        """Queue the week's email to every manager (``page``: the report's HTML); returns how many were new."""
        messages = report_view.manager_report_messages(
            self._managers,
            as_of=reports.as_of,
            figures=reports.headline,
            portfolio=reports.portfolio,
            report_html=page,
        )
        return self._store.queue(messages, now=self._clock.now())

    def deliver(self) -> DispatchReport:
        return self._dispatcher.deliver_due() if self._dispatcher is not None else DispatchReport()
