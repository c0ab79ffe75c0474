"""The portfolio (``/team/portfolio``): every project, filtered, sorted by a column, a page at a time; and
``/team/portfolio.csv``, every project that matches, streamed.

Filters, sort and the page's place are query parameters (a GET changes nothing, and
a filtered page is a link to share): ``state``, ``blueprint``, ``segment``, ``owner``,
``customer``, ``at_risk=1``, ``window_jumped=1``, ``sort`` (customer, kickoff,
go_live, committed), ``order`` (asc, desc) and ``cursor`` (the next page's place).

Not here: the queries and the cursor (``services/portfolio``, ``core/portfolio_page``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from onboarding.bootstrap import Application
from onboarding.core.lifecycle import ProjectState
from onboarding.core.portfolio_page import PAGE_SIZE, PortfolioFilter, PortfolioSort
from onboarding.errors import QueryInvalid
from onboarding.web.team.pages import HEADERS, render
from onboarding.web.team.session import SignedIn

router = APIRouter(tags=["team pages"], include_in_schema=False)

PATH = "/team/portfolio"
_FILTERS = ("state", "blueprint", "segment", "owner", "customer", "at_risk", "window_jumped")
_LONGEST = 320  # a filter's text: an address is the longest thing one holds


@dataclass(frozen=True, slots=True)
class Asked:
    """What the query parameters ask for, read; ``problems``: what could not be read (shown, then left out)."""

    filters: PortfolioFilter
    sort: PortfolioSort
    descending: bool
    cursor: str | None
    problems: tuple[str, ...]
    given: dict[str, str]  # the filters as given (for the form and the links)


def _asked(request: Request) -> Asked:
    params = request.query_params
    problems: list[str] = []
    given = {k: params.get(k, "").strip()[:_LONGEST] for k in _FILTERS if params.get(k, "").strip()}
    state = None
    if "state" in given:
        try:
            state = ProjectState(given["state"])
        except ValueError:
            problems.append(f"There is no project state {given.pop('state')!r}: the filter is left out.")
    try:
        sort = PortfolioSort(params.get("sort", PortfolioSort.kickoff.value))
    except ValueError:
        problems.append("The list cannot be sorted that way: it is sorted by kickoff.")
        sort = PortfolioSort.kickoff
    descending = params.get("order") == "desc"
    filters = PortfolioFilter(
        state=state,
        blueprint=given.get("blueprint"),
        segment=given.get("segment"),
        owner=given.get("owner"),
        customer=given.get("customer"),
        at_risk=given.get("at_risk") == "1",
        window_jumped=given.get("window_jumped") == "1",
    )
    return Asked(filters, sort, descending, params.get("cursor") or None, tuple(problems), given)


def _link(asked: Asked, **changes: str | None) -> str:
    values: dict[str, str] = {**asked.given, "sort": asked.sort.value, "order": "desc" if asked.descending else "asc"}
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return f"?{urlencode(values)}"


def _application(request: Request) -> Application:
    app: Application = request.app.state.application
    return app


@router.get(PATH, response_class=HTMLResponse)
def portfolio(request: Request, member: SignedIn) -> HTMLResponse:
    asked = _asked(request)
    service = _application(request).portfolio
    problems = list(asked.problems)
    try:
        page = service.page(
            asked.filters, sort=asked.sort, descending=asked.descending, cursor=asked.cursor, limit=PAGE_SIZE
        )
    except QueryInvalid:
        problems.append("That page's place in the list is not valid (the link was altered or cut): here is the first.")
        page = service.page(asked.filters, sort=asked.sort, descending=asked.descending, limit=PAGE_SIZE)
    columns = {
        s.value: {
            "sort": s,
            "link": _link(asked, sort=s.value, order="desc" if s is asked.sort and not asked.descending else "asc"),
            "aria": ("descending" if asked.descending else "ascending") if s is asked.sort else None,
        }
        for s in PortfolioSort
    }
    return render(
        request,
        "team/portfolio.html",
        page=page,
        asked=asked,
        choices=service.choices(),
        states=list(ProjectState),
        columns=columns,
        problems=problems,
        next_link=_link(asked, cursor=page.next_cursor) if page.next_cursor else None,
        first_link=_link(asked) if asked.cursor else None,
        csv_link=f"{PATH}.csv{_link(asked)}",
        status=400 if problems else 200,
    )


@router.get(PATH + ".csv")
def portfolio_csv(request: Request, member: SignedIn) -> Response:
    """Every project the filters match, as CSV, streamed in the page's order."""
    asked = _asked(request)
    if asked.problems:
        return render(
            request,
            "team/refused.html",
            status=400,
            heading="This export cannot be made",
            explanation=" ".join(asked.problems),
            advice="Go back to the portfolio, choose the filters there, and export again.",
        )
    lines: Iterator[str] = _application(request).portfolio.csv(
        asked.filters, sort=asked.sort, descending=asked.descending
    )
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in lines),
        media_type="text/csv; charset=utf-8",
        headers={
            **HEADERS,
            "Content-Disposition": 'attachment; filename="portfolio.csv"',
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
        },
    )
