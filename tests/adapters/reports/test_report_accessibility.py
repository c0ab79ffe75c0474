"""The managers' report page in headless Chromium, at desktop and phone widths: no serious or critical
accessibility violation (axe-core)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page

from onboarding.adapters.reports.html import write_report
from onboarding.core.ttfv import Dimension
from onboarding.services.manager_report import ManagerReports
from tests.adapters.reports import samples
from tests.pages import assert_keyboard_reachable, check_accessibility


def test_the_report_has_no_serious_accessibility_violation(browser_page: Page, tmp_path: Path) -> None:
    more = replace(samples.BY_BLUEPRINT, dimensions=(Dimension.segment,))
    reports = ManagerReports(samples.BY_BLUEPRINT, samples.BY_MONTH, samples.PORTFOLIO, more=(more,))
    page = write_report(tmp_path / "report.html", reports, generated_at=datetime(2027, 2, 26, 7, tzinfo=UTC))
    browser_page.goto(page.resolve().as_uri())
    assert browser_page.locator("svg[role=img]").count() >= 6  # the charts are drawn
    check_accessibility(browser_page)
    if browser_page.locator("a[href]").count():
        assert_keyboard_reachable(browser_page, "a[href]")
