"""The managers' report in words: how its figures are written, its headline figures, and the weekly email.

One way of writing figures serves the HTML report, its email and the Prefect
artifact: day counts as whole numbers (interpolated quantiles with one decimal),
shares as whole percentages, dates so that no reader can take the day for the
month (``Mon 30 Nov 2026``), cohort months as ``Nov 2026``, and a missing figure
(no project reached value yet, nobody followed that long) as ``n/a``, never zero.

``cohort_trend_points`` says what the cohort-trend chart shows of each cohort
month: the Kaplan-Meier median (projects still in flight censored, not dropped,
so a young cohort whose few projects at value were quick does not read as the
fastest) and the share still in flight.

``headline`` picks the figures a manager reads first; ``manager_report_messages``
addresses the weekly email to each manager under the key
``report:<ISO week>:<email>``, so a rerun of the same week never sends twice.

Not here: computing the figures (``ttfv.py``, ``portfolio.py``), charts and HTML (adapters),
templates and delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from onboarding.core.messages import (
    AtRiskView,
    AttachmentView,
    FigureView,
    ManagerReportContext,
    MessageKind,
    OutgoingMessage,
    Person,
)
from onboarding.core.portfolio import PortfolioReport, ProjectAtRisk, RiskReason
from onboarding.core.ttfv import TtfvGroup

AT_RISK_IN_EMAIL: Final = 10
# The most a page or a terminal lists of the projects at risk, most at risk first, with how many there are in all:
# at a quarter of a million projects there may be tens of thousands. The CSV and JSON exports list every one.
AT_RISK_SHOWN: Final = 25

MISSING: Final = "n/a"
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def number(value: float | None) -> str:
    """A day count: whole numbers as they are, interpolated quantiles with one decimal."""
    if value is None:
        return MISSING
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def percent(share: float | None) -> str:
    """A share between 0 and 1 as a whole percentage."""
    return MISSING if share is None else f"{100 * share:.0f}%"


def day(value: date | None) -> str:
    """``Mon 30 Nov 2026``."""
    if value is None:
        return MISSING
    return f"{_WEEKDAYS[value.weekday()]} {value.day} {_MONTHS[value.month - 1]} {value.year}"


def month(value: str) -> str:
    """A cohort month ``2026-11`` as ``Nov 2026`` (anything else as it is)."""
    year, _, number_of_month = value.partition("-")
    if (
        (year + number_of_month).isascii()
        and year.isdigit()
        and number_of_month.isdigit()
        and 1 <= int(number_of_month) <= 12
    ):
        return f"{_MONTHS[int(number_of_month) - 1]} {year}"
    return value


def group_name(group: TtfvGroup) -> str:
    """A group's key values joined, or ``all projects`` for the report's total."""
    return " / ".join(group.key) if group.key else "all projects"


def shortened(text: str, limit: int = 48) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def iso_week(value: date) -> str:
    """The ISO week of a day, ``2026-W49``."""
    year, week, _ = value.isocalendar()
    return f"{year}-W{week:02d}"


def days(value: float | None) -> str:
    """A day count with its unit: ``45 days``, ``1 day``, ``n/a``."""
    if value is None:
        return MISSING
    return f"{number(value)} day" if value == 1 else f"{number(value)} days"


@dataclass(frozen=True, slots=True)
class CohortPoint:
    """One cohort month of the cohort-trend chart: the numbers behind its point and its label."""

    month: str  # YYYY-MM, as grouped
    label: str  # Nov 2026
    projects: int  # started
    reached: int
    in_flight: int
    stopped: int
    km_median_days: int | None  # Kaplan-Meier median of calendar days to value; None until half reached it
    followed_days: int | None  # the longest any project of the cohort has been followed: the median is beyond
    # it while km_median_days is None; None when no project started

    @property
    def in_flight_share(self) -> float | None:
        return self.in_flight / self.projects if self.projects else None


def cohort_trend_points(groups: Sequence[TtfvGroup]) -> tuple[CohortPoint, ...]:
    """What the cohort-trend chart shows of each cohort month (groups of a report by cohort month)."""
    return tuple(
        CohortPoint(
            month=group_name(g),
            label=month(group_name(g)),
            projects=g.projects,
            reached=g.reached,
            in_flight=g.in_flight,
            stopped=g.stopped,
            km_median_days=g.km_median_calendar_days,
            followed_days=g.km_curve[-1].day if g.km_curve else None,
        )
        for g in groups
    )


def cohort_point_text(point: CohortPoint) -> str:
    """A cohort's point in words (the chart's text alternative)."""
    if point.km_median_days is not None:
        median = f"median {days(point.km_median_days)} (Kaplan-Meier)"
    elif point.followed_days is not None:
        median = f"median not reached yet (over {days(point.followed_days)})"
    else:
        median = "no project started"
    share = percent(point.in_flight_share)
    return f"{point.label}: {median}, {point.in_flight} of {point.projects} still in flight ({share})"


def headline(total: TtfvGroup, portfolio: PortfolioReport) -> list[FigureView]:
    """The figures a manager reads first: TTFV over every project, launches on time, projects at risk, slip."""
    within_90 = next((s for s in total.within if s.days == 90), None)
    on_time = portfolio.on_time
    customer = next((s for s in portfolio.slip_by_side if s.side == "customer"), None)
    return [
        {
            "label": "Projects",
            "value": str(portfolio.projects),
            "note": f"{portfolio.active} active"
            + (f", {portfolio.cancelled} cancelled" if portfolio.cancelled else ""),
        },
        {
            "label": "Reached first value",
            "value": f"{total.reached} of {total.projects}",
            "note": f"{total.in_flight} in flight, {total.stopped} stopped (value task skipped or project cancelled)",
        },
        {
            "label": "Median time to first value",
            "value": days(total.calendar_days.median),
            "note": f"business days {number(total.business_days.median)}, "
            f"net of on-hold {number(total.net_days.median)}",
        },
        {
            "label": "p90 time to first value",
            "value": days(total.calendar_days.p90),
            "note": f"p75 {days(total.calendar_days.p75)}",
        },
        {
            "label": "At first value within 90 days",
            "value": percent(within_90.share if within_90 else None),
            "note": "Kaplan-Meier estimate, projects in flight included",
        },
        {
            "label": "On-time launches",
            "value": percent(on_time.rate),
            "note": f"{on_time.on_time} of {on_time.went_live} go-lives inside the window committed at launch",
        },
        {
            "label": "Projects at risk",
            "value": str(portfolio.at_risk_total),
            "note": "go-live projected past the window, overdue customer tasks, or blocked",
        },
        {
            "label": "Slip on the customer side",
            "value": percent(customer.share if customer else None),
            "note": f"{customer.slip_days if customer else 0} of "
            f"{sum(s.slip_days for s in portfolio.slip_by_side)} days slipped",
        },
    ]


def risk_reasons(project: ProjectAtRisk) -> list[str]:
    """Why a project is at risk, in words."""
    words = {
        RiskReason.window: f"go-live projected {days(project.days_past_window)} past the committed window",
        RiskReason.overdue_customer: f"{project.overdue_customer_tasks} overdue customer "
        + ("task" if project.overdue_customer_tasks == 1 else "tasks"),
        RiskReason.blocked: f"blocked for {days(project.days_blocked)}",
    }
    return [words[reason] for reason in project.reasons]


def at_risk_view(project: ProjectAtRisk) -> AtRiskView:
    return {
        "customer": project.customer,
        "external_id": project.external_id,
        "blueprint": project.blueprint_key,
        "owner": project.owner,
        "committed_on": project.committed_go_live_on.isoformat() if project.committed_go_live_on else None,
        "projected_on": project.projected_go_live_on.isoformat() if project.projected_go_live_on else None,
        "reasons": risk_reasons(project),
    }


def headline_markdown(figures: Sequence[FigureView], *, as_of: date) -> str:
    """The headline figures as a markdown table (the Prefect artifact of the weekly report)."""
    lines = [
        f"# Onboarding report, {day(as_of)}",
        "",
        "| figure | value | |",
        "|---|---:|---|",
    ]
    lines += [f"| {_cell(f['label'])} | {_cell(f['value'])} | {_cell(f['note'])} |" for f in figures]
    return "\n".join(lines) + "\n"


def manager_report_messages(
    managers: Sequence[Person],
    *,
    as_of: date,
    figures: Sequence[FigureView],
    portfolio: PortfolioReport,
    report_html: str,
) -> list[OutgoingMessage]:
    """One weekly report email per manager, the full HTML report attached, keyed by ISO week and address."""
    week = iso_week(as_of)
    median = next((f["value"] for f in figures if f["label"] == "Median time to first value"), MISSING)
    subject = f"Onboarding report {week}: median time to first value {median}, {portfolio.at_risk_total} at risk"
    attachment: AttachmentView = {
        "filename": f"onboarding-report-{as_of.isoformat()}.html",
        "content_type": "text/html",
        "text": report_html,
    }
    messages = []
    for manager in managers:
        context: ManagerReportContext = {
            "recipient_name": manager.name or manager.email,
            "as_of": as_of.isoformat(),
            "period": week,
            "headline": list(figures),
            "at_risk": [at_risk_view(p) for p in portfolio.at_risk[:AT_RISK_IN_EMAIL]],
            "at_risk_total": portfolio.at_risk_total,
            "attachments": [attachment],
        }
        messages.append(
            OutgoingMessage(
                idempotency_key=f"report:{week}:{manager.email.lower()}",
                kind=MessageKind.manager_report,
                to=(manager,),
                subject=subject,
                context=context,
                customer_facing=False,
            )
        )
    return messages


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")
