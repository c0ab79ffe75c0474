"""The reports as CSV: text a person typed (a customer, an owner, a segment) is never a spreadsheet formula."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from onboarding.core.report_csv import portfolio_csv, ttfv_csv
from onboarding.core.ttfv import Dimension
from tests.adapters.reports import samples

FORMULAS = ('=HYPERLINK("http://evil.example/x","Past")', "+1+1", "-2+3", "@SUM(A1)", "\tx")


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_a_group_named_like_a_formula_is_text() -> None:
    groups = tuple(replace(samples.PAYROLL, key=(name,)) for name in FORMULAS)
    report = replace(samples.BY_BLUEPRINT, dimensions=(Dimension.segment,), groups=groups)
    keys = [row[0] for row in _cells(ttfv_csv(report))[1:]]
    assert keys == ["'" + name for name in FORMULAS]


def test_a_project_at_risk_named_like_a_formula_is_text_and_numbers_stay_numbers() -> None:
    risky = replace(samples.PORTFOLIO.at_risk[0], external_id="=EXT2", customer=FORMULAS[0], owner="=CSM()")
    report = replace(samples.PORTFOLIO, at_risk=(risky,))
    rows = _cells(portfolio_csv(report))
    texts = [value for section, _item, _measure, value in rows[1:] if section == "at_risk"]
    assert "'=EXT2" in [item for section, item, _m, _v in rows[1:] if section == "at_risk"]
    assert "'" + FORMULAS[0] in texts and "'=CSM()" in texts
    assert not any(value.startswith(("=", "+", "@")) for row in rows for value in row)
    slips = [value for section, _i, measure, value in rows[1:] if section == "slip_by_side" and value]
    assert all(not value.startswith("'") for value in slips)  # figures, negative ones included, are numbers
