"""``GET /api/v1/reports/ttfv`` and ``GET /api/v1/reports/portfolio``: the managers' reports, as the CLI gives them.

The query takes the command line's options (``by`` repeatable, ``since``, ``until``,
``as_of``; ``top``); the answer is the report as JSON (the CLI's ``--format json``
document), or CSV with ``?format=csv`` or ``Accept: text/csv`` (the very bytes of the
CLI's ``--format csv``). A read key is enough.

Not here: the figures (``ReportService``, ``core/ttfv``, ``core/portfolio``), the CSV rows (``core/report_csv``).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from onboarding.core.portfolio import PortfolioReport
from onboarding.core.report_csv import portfolio_csv, ttfv_csv
from onboarding.core.ttfv import Dimension, TtfvReport
from onboarding.web.deps import App, Reader

router = APIRouter(prefix="/reports", tags=["reports"])

CSV = "text/csv"
_CSV_RESPONSE = {200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "The report."}}


class Format(StrEnum):
    json = "json"
    csv = "csv"


def _wants_csv(output_format: Format | None, accept: str | None) -> bool:
    """``format`` when given, else the Accept header: CSV when it asks for text/csv before any JSON."""
    if output_format is not None:
        return output_format is Format.csv
    types = [part.split(";")[0].strip().lower() for part in (accept or "").split(",")]
    return CSV in types and ("application/json" not in types or types.index(CSV) < types.index("application/json"))


def _csv(text: str, *, name: str) -> Response:
    return Response(
        text,
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"', "Vary": "Accept"},
    )


def _json(report: TtfvReport | PortfolioReport) -> JSONResponse:
    return JSONResponse(jsonable_encoder(report), headers={"Vary": "Accept"})


FormatQuery = Annotated[
    Format | None, Query(alias="format", description="json (default) or csv; else the Accept header decides")
]
AcceptHeader = Annotated[str | None, Header(include_in_schema=False)]


@router.get(
    "/ttfv",
    response_model=TtfvReport,
    responses=_CSV_RESPONSE,  # type: ignore[arg-type]
    summary="Time to first value per group",
)
def ttfv(
    app: App,
    _key: Reader,
    by: Annotated[
        list[Dimension] | None, Query(description="Group by; repeat for several (default: blueprint).")
    ] = None,
    since: Annotated[date | None, Query(description="Projects whose TTFV starts on or after this day.")] = None,
    until: Annotated[date | None, Query(description="Projects whose TTFV starts on or before this day.")] = None,
    as_of: Annotated[date | None, Query(description="Report as of this day (default: today).")] = None,
    output_format: FormatQuery = None,
    accept: AcceptHeader = None,
) -> Response:
    """Reached and in flight, median/p75/p90 in calendar days, business days and days net of on-hold time, and
    the Kaplan-Meier share reached within 30/60/90 days, per group of ``by``, with a total."""
    dimensions = tuple(dict.fromkeys(by or ())) or (Dimension.blueprint,)
    report = app.reports.ttfv(by=dimensions, since=since, until=until, as_of=as_of)
    if _wants_csv(output_format, accept):
        return _csv(ttfv_csv(report), name=f"ttfv-{report.as_of.isoformat()}")
    return _json(report)


@router.get(
    "/portfolio",
    response_model=PortfolioReport,
    responses=_CSV_RESPONSE,  # type: ignore[arg-type]
    summary="Portfolio health",
)
def portfolio(
    app: App,
    _key: Reader,
    as_of: Annotated[date | None, Query(description="Report as of this day (default: today).")] = None,
    top: Annotated[int, Query(ge=1, le=1000, description="Bottlenecks to show.")] = 10,
    at_risk_limit: Annotated[
        int | None,
        Query(
            ge=0,
            description="List only the first N projects at risk, most days past their window first "
            "(at_risk_total counts them all); default: all of them. The CSV always lists them all.",
        ),
    ] = None,
    output_format: FormatQuery = None,
    accept: AcceptHeader = None,
) -> Response:
    """On-time launch rate, projects at risk, bottlenecks, slip by side, waits before start."""
    if _wants_csv(output_format, accept):
        report = app.reports.portfolio(as_of=as_of, top=top)
        return _csv(portfolio_csv(report), name=f"portfolio-{report.as_of.isoformat()}")
    return _json(app.reports.portfolio(as_of=as_of, top=top, at_risk_limit=at_risk_limit))
