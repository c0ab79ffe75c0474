"""The managers' reports for the team (managers and admins): live, filtered, every count opening its projects.

``GET /team/reports`` is the managers' report as of a day (today by default):
the headline figures, time to first value grouped as asked (the filters of
``onboarding report ttfv``: ``by`` repeated, ``since``, ``until``, ``as_of``) and
portfolio health (``onboarding report portfolio``: ``as_of``, ``top``). Each count
links to ``GET /team/reports/projects?...``: the projects behind it (exactly those
the figure counts, ``ReportService.ttfv_projects`` / ``portfolio_projects``), each
linking to its project page. ``GET /team/reports/file`` gives the whole report as
the one HTML file ``onboarding report --html`` writes (charts included), to keep
or forward.

A filter that cannot be read (a day not in YYYY-MM-DD, an unknown grouping, a
period backwards) shows the page again saying which and how to fix it.

Not here: the figures (services, core), the report file's layout (adapters/reports).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from onboarding.adapters.reports.html import render_report
from onboarding.bootstrap import Application
from onboarding.core import report_view
from onboarding.core.portfolio import PortfolioFigure
from onboarding.core.ttfv import Dimension, TtfvFigure, TtfvGroup
from onboarding.errors import OnboardingError, ProblemsError
from onboarding.web.team import Manager, render

router = APIRouter(prefix="/team/reports", tags=["pages"], include_in_schema=False)

LISTED = 500  # projects listed behind a figure; the rest are counted
TOP_MOST = 1000


class FilterInvalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _day(query: Mapping[str, str], name: str) -> date | None:
    text = query.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterInvalid(f"{name.replace('_', ' ')}: {text[:40]!r} is not a day; give it as YYYY-MM-DD") from None


def _dimensions(values: Sequence[str]) -> tuple[Dimension, ...]:
    names = [v for v in values if v]
    known = [d.value for d in Dimension]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise FilterInvalid(f"no grouping {unknown[0][:40]!r}: group by {', '.join(known)}")
    return tuple(dict.fromkeys(Dimension(n) for n in names)) or (Dimension.blueprint,)


def _top(query: Mapping[str, str]) -> int:
    text = query.get("top", "").strip() or "10"
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= TOP_MOST:
        raise FilterInvalid(f"top: {text[:20]!r} is not a number from 1 to {TOP_MOST}")
    return int(text)


def _said(error: OnboardingError | FilterInvalid) -> list[str]:
    if isinstance(error, FilterInvalid):
        return [error.message]
    if isinstance(error, ProblemsError):
        return [p.message + (f": {p.hint}" if p.hint else "") for p in error.problems]
    return [str(error)]


class Links:
    """The links of one report's counts to the projects behind them (the report's day and filters kept)."""

    def __init__(self, *, as_of: date, by: Sequence[Dimension], since: date | None, until: date | None) -> None:
        self.as_of, self.by, self.since, self.until = as_of, by, since, until

    def ttfv(self, figure: str, group: TtfvGroup) -> str:
        query: list[tuple[str, str]] = [("report", "ttfv"), ("figure", figure), ("as_of", self.as_of.isoformat())]
        query += [("by", d.value) for d in self.by]
        query += [("key", value) for value in group.key]
        query += [(name, day.isoformat()) for name, day in (("since", self.since), ("until", self.until)) if day]
        return "/team/reports/projects?" + urlencode(query)

    def portfolio(self, figure: str, item: str | None = None) -> str:
        query = [("report", "portfolio"), ("figure", figure), ("as_of", self.as_of.isoformat())]
        if item is not None:
            query.append(("item", item))
        return "/team/reports/projects?" + urlencode(query)


@router.get("", response_class=HTMLResponse)
def reports(request: Request, member: Manager) -> HTMLResponse:
    """The managers' report as of a day, with its filters; changes nothing."""
    del member  # the role is the permission
    application: Application = request.app.state.application
    query = request.query_params
    filters: dict[str, Any] = {
        "as_of": query.get("as_of", ""),
        "since": query.get("since", ""),
        "until": query.get("until", ""),
        "top": query.get("top", "10"),
        "by": query.getlist("by") or [Dimension.blueprint.value],
    }
    try:
        as_of = _day(query, "as_of") or application.clock.today()
        since, until = _day(query, "since"), _day(query, "until")
        by = _dimensions(query.getlist("by"))
        top = _top(query)
        ttfv = application.reports.ttfv(by=by, since=since, until=until, as_of=as_of)
        portfolio = application.reports.portfolio(as_of=as_of, top=top, at_risk_limit=report_view.AT_RISK_SHOWN)
    except (OnboardingError, FilterInvalid) as error:
        return render(
            request, "team/reports.html", status=400, problems=_said(error), filters=filters, dimensions=list(Dimension)
        )
    return render(
        request,
        "team/reports.html",
        problems=[],
        filters=filters,
        dimensions=list(Dimension),
        as_of=as_of,
        ttfv=ttfv,
        portfolio=portfolio,
        headline=report_view.headline(ttfv.total, portfolio),
        links=Links(as_of=as_of, by=by, since=since, until=until),
        group_name=report_view.group_name,
        number=report_view.number,
        percent=report_view.percent,
        reasons=report_view.risk_reasons,
        at_risk_shown=report_view.AT_RISK_SHOWN,
        file_link="/team/reports/file?" + urlencode({"as_of": as_of.isoformat()}),
    )


TTFV_WORDS = {
    TtfvFigure.projects: "started",
    TtfvFigure.reached: "that reached first value",
    TtfvFigure.in_flight: "still in flight",
    TtfvFigure.stopped: "stopped (value task skipped or project cancelled)",
    TtfvFigure.unstarted: "whose start day is unknown",
}
PORTFOLIO_WORDS = {
    PortfolioFigure.projects: "in the portfolio (cancelled ones apart)",
    PortfolioFigure.open: "open (active or on hold)",
    PortfolioFigure.cancelled: "cancelled",
    PortfolioFigure.recommitted: "whose go-live commitment was moved",
    PortfolioFigure.went_live: "that went live",
    PortfolioFigure.on_time: "that went live on time (inside the window committed at launch)",
    PortfolioFigure.late: "that went live late",
    PortfolioFigure.without_window: "that went live with no committed date",
    PortfolioFigure.went_live_recommitted: "that went live after a recommit",
    PortfolioFigure.at_risk: "at risk",
    PortfolioFigure.bottleneck_task: "where the task {item} slipped",
    PortfolioFigure.bottleneck_milestone: "where the milestone {item} slipped",
    PortfolioFigure.slip: "with a task that slipped on the {item} side",
}


@router.get("/projects", response_class=HTMLResponse)
def projects_behind(request: Request, member: Manager) -> HTMLResponse:
    """The projects a count of the report counts, each a link to its page; changes nothing."""
    del member
    application: Application = request.app.state.application
    query = request.query_params
    try:
        as_of = _day(query, "as_of") or application.clock.today()
        report, figure_name = query.get("report", ""), query.get("figure", "")
        if report == "ttfv" and figure_name in {f.value for f in TtfvFigure}:
            figure = TtfvFigure(figure_name)
            by = _dimensions(query.getlist("by"))
            key = query.getlist("key")
            since, until = _day(query, "since"), _day(query, "until")
            ids = application.reports.ttfv_projects(figure, by=by, key=key, since=since, until=until, as_of=as_of)
            group = " / ".join(key) if key else "all projects"
            grouping = " and ".join(d.value.replace("-", " ") for d in by)
            title = f"Projects {TTFV_WORDS[figure]}: {group}"
            detail = f"time to first value by {grouping}, as of {as_of.isoformat()}"
        elif report == "portfolio" and figure_name in {f.value for f in PortfolioFigure}:
            portfolio_figure = PortfolioFigure(figure_name)
            item = query.get("item") or None
            ids = application.reports.portfolio_projects(portfolio_figure, item=item, as_of=as_of)
            title = "Projects " + PORTFOLIO_WORDS[portfolio_figure].format(item=item or "")
            detail = f"portfolio health as of {as_of.isoformat()}"
        else:
            raise FilterInvalid("this link does not name a figure of the report: open the report and follow a count")
        found = {p.id: p for p in application.projects.get_many(list(ids[:LISTED]))}
    except (OnboardingError, FilterInvalid) as error:
        return render(request, "team/report_projects.html", status=400, problems=_said(error), title="No list")
    return render(
        request,
        "team/report_projects.html",
        problems=[],
        title=title,
        detail=detail,
        total=len(ids),
        projects=[found[i] for i in ids[:LISTED] if i in found],
        back="/team/reports?" + urlencode({"as_of": as_of.isoformat()}),
    )


@router.get("/file")
def report_file(request: Request, member: Manager) -> Response:
    """The whole report as one HTML file (what ``onboarding report --html`` writes), to save."""
    del member
    application: Application = request.app.state.application
    try:
        as_of = _day(request.query_params, "as_of") or application.clock.today()
        service = application.manager_report()
        page = render_report(service.build(as_of=as_of), generated_at=application.clock.now().astimezone(UTC))
    except (OnboardingError, FilterInvalid) as error:
        return render(request, "team/report_projects.html", status=400, problems=_said(error), title="No report")
    return Response(
        page,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="onboarding-report-{as_of.isoformat()}.html"',
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
