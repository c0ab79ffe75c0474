"""The portfolio as the team's page lists it: filters, sort orders, the keyset cursor, and the CSV export's rows.

A page is found by its place in a sort order, never by an offset: the cursor holds
the last shown project's sort value and id, so the next page starts there however
deep it is (a 250,000-project portfolio pages as fast at its end as at its start).
A project without a value in the sort column (no go-live yet) comes after every one
with a value, in both directions.

The CSV export writes every project that matches, in the page's order; a cell that a
spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage
return first) is written with a leading apostrophe (OWASP, "CSV Injection").

References: OWASP, CSV Injection (https://owasp.org/www-community/attacks/CSV_Injection).

Not here: the queries (adapters/store/portfolio), the page (web/team/portfolio).
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from onboarding.core.lifecycle import ProjectState
from onboarding.errors import Problem, QueryInvalid

PAGE_SIZE = 50


class PortfolioSort(StrEnum):
    customer = "customer"
    kickoff = "kickoff"
    go_live = "go_live"  # projected
    committed = "committed"

    @property
    def heading(self) -> str:
        return {"customer": "Customer", "kickoff": "Kickoff", "go_live": "Go-live", "committed": "Committed"}[
            self.value
        ]


@dataclass(frozen=True, slots=True)
class PortfolioFilter:
    """Which projects the portfolio shows: every filter given must hold."""

    state: ProjectState | None = None
    blueprint: str | None = None  # a blueprint key
    segment: str | None = None
    owner: str | None = None  # the owner's (CSM's) name or address, exactly, any case for the address
    customer: str | None = None  # part of the customer's name, any case
    at_risk: bool = False  # as the portfolio report counts it (``ProjectRecord.at_risk``)
    window_jumped: bool = False  # projected go-live past the committed one


@dataclass(frozen=True, slots=True)
class PortfolioRow:
    id: str
    external_id: str | None
    customer: str
    segment: str | None
    blueprint_key: str
    blueprint_title: str
    state: ProjectState
    owner: str | None  # the name of the person bound to the owner role
    kickoff_on: date
    committed_go_live_on: date | None
    projected_go_live_on: date | None

    @property
    def window_jumped(self) -> bool:
        committed, projected = self.committed_go_live_on, self.projected_go_live_on
        return committed is not None and projected is not None and projected > committed

    def sort_value(self, sort: PortfolioSort) -> str | date | None:
        if sort is PortfolioSort.customer:
            return self.customer
        if sort is PortfolioSort.kickoff:
            return self.kickoff_on
        if sort is PortfolioSort.go_live:
            return self.projected_go_live_on
        return self.committed_go_live_on


# A place in a sort order: the sort column's value (None: the project has none) and the project's id.
Place = tuple[str | date | None, str]


def cursor_after(row: PortfolioRow, sort: PortfolioSort) -> str:
    """An opaque cursor: the row's place in the sort order."""
    value = row.sort_value(sort)
    shown = value.isoformat() if isinstance(value, date) else value
    return base64.urlsafe_b64encode(json.dumps([sort.value, shown, row.id]).encode()).decode().rstrip("=")


def read_cursor(cursor: str, sort: PortfolioSort) -> Place:
    """The place a cursor holds; ``QueryInvalid`` (``invalid-cursor``) for one not given for this sort order."""
    try:
        kind, value, pid = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if kind != sort.value or not isinstance(pid, str) or not isinstance(value, str | None):
            raise TypeError(kind)
        if value is not None and sort is not PortfolioSort.customer:
            return date.fromisoformat(value), pid
        return value, pid
    except (ValueError, TypeError):
        raise QueryInvalid(
            "cursor",
            (
                Problem(
                    "invalid-cursor",
                    "the page's place in the list was not given by this server for this order, or was altered",
                    ("cursor",),
                    "start again from the first page",
                ),
            ),
        ) from None


CSV_COLUMNS = (
    "id",
    "external_id",
    "customer",
    "segment",
    "blueprint",
    "state",
    "owner",
    "kickoff_on",
    "committed_go_live_on",
    "projected_go_live_on",
    "window_jumped",
)


def csv_cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet shows as text: dates in ISO form, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return defused(value.isoformat() if isinstance(value, date) else str(value))


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet read a cell as a formula


def defused(text: str) -> str:
    """Text a spreadsheet shows as text: one that would start a formula gets a leading ``'``."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(rows: Iterable[PortfolioRow], *, header: bool) -> str:
    """The rows as CSV lines (LF), after the header line when ``header``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            csv_cell(v)
            for v in (
                r.id,
                r.external_id,
                r.customer,
                r.segment,
                r.blueprint_key,
                r.state.value,
                r.owner,
                r.kickoff_on,
                r.committed_go_live_on,
                r.projected_go_live_on,
                r.window_jumped,
            )
        )
    return out.getvalue()
