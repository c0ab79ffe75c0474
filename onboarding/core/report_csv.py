"""The manager reports as CSV text: one header row, then one row per group or per measure.

Every edge that offers CSV (the command line, the HTTP API) sends these same bytes,
so that a spreadsheet or a script reads one format whichever way the report came.
Lines end in LF; empty figures are empty cells; text that would start a spreadsheet formula
(``=``, ``+``, ``-``, ``@``...) starts with ``'``.

Not here: the figures (``ttfv``, ``portfolio``), the table and JSON presentations (the edges).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from onboarding.core.portfolio import PortfolioReport, portfolio_rows
from onboarding.core.portfolio_page import defused
from onboarding.core.ttfv import TTFV_COLUMNS, TtfvReport, ttfv_row

PORTFOLIO_COLUMNS = ("section", "item", "measure", "value")


def ttfv_header(report: TtfvReport) -> list[str]:
    """One column per dimension of the report, then ``TTFV_COLUMNS``."""
    return [*(d.value for d in report.dimensions), *TTFV_COLUMNS]


def ttfv_table_rows(report: TtfvReport) -> list[list[object]]:
    """Each group's key, then its figures (``ttfv_row``)."""
    return [[*g.key, *ttfv_row(g)] for g in report.groups]


def ttfv_csv(report: TtfvReport) -> str:
    return _csv(ttfv_header(report), ttfv_table_rows(report))


def portfolio_csv(report: PortfolioReport) -> str:
    return _csv(PORTFOLIO_COLUMNS, portfolio_rows(report))


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    # text is what people typed (customers, owners, segments): never a formula; figures stay numbers
    writer.writerows([defused(v) if isinstance(v, str) else v for v in row] for row in rows)
    return out.getvalue()
