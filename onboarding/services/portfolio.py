"""The portfolio page: projects filtered and sorted, a page at a time by cursor, and all of them as CSV.

Not here: the cursor, the filters and the CSV rows (``core/portfolio_page``), the
queries (adapters/store/portfolio), the page (web/team/portfolio), the portfolio
report's figures (``services/reports``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from onboarding.core.portfolio_page import (
    PAGE_SIZE,
    PortfolioFilter,
    PortfolioRow,
    PortfolioSort,
    csv_lines,
    cursor_after,
    read_cursor,
)
from onboarding.services.ports import Clock, PortfolioStore

CSV_CHUNK = 2000  # projects read at a time for the CSV export


@dataclass(frozen=True, slots=True)
class PortfolioPage:
    rows: list[PortfolioRow]
    total: int  # how many projects match the filters
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class PortfolioChoices:
    blueprints: list[tuple[str, str]]  # key, title
    segments: list[str]


class PortfolioService:
    def __init__(self, *, store: PortfolioStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def page(
        self,
        filters: PortfolioFilter,
        *,
        sort: PortfolioSort = PortfolioSort.kickoff,
        descending: bool = False,
        cursor: str | None = None,
        limit: int = PAGE_SIZE,
    ) -> PortfolioPage:
        """One page from ``cursor`` (the previous page's ``next_cursor``); ``QueryInvalid`` for a cursor not ours."""
        today = self._clock.today()
        after = read_cursor(cursor, sort) if cursor else None
        found = self._store.portfolio_rows(
            filters, today=today, sort=sort, descending=descending, after=after, limit=limit + 1
        )
        shown = found[:limit]
        more = len(found) > limit
        return PortfolioPage(
            rows=shown,
            total=self._store.portfolio_count(filters, today=today),
            next_cursor=cursor_after(shown[-1], sort) if more else None,
        )

    def choices(self) -> PortfolioChoices:
        blueprints, segments = self._store.portfolio_choices()
        return PortfolioChoices(blueprints, segments)

    def csv(self, filters: PortfolioFilter, *, sort: PortfolioSort, descending: bool) -> Iterator[str]:
        """Every matching project as CSV, a chunk of lines at a time, in the page's order (header first)."""
        today = self._clock.today()
        after = None
        header = True
        while True:
            rows = self._store.portfolio_rows(
                filters, today=today, sort=sort, descending=descending, after=after, limit=CSV_CHUNK
            )
            if rows or header:
                yield csv_lines(rows, header=header)
            header = False
            if len(rows) < CSV_CHUNK:
                return
            last = rows[-1]
            after = (last.sort_value(sort), last.id)
