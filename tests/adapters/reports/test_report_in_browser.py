"""A real portfolio's report in headless Chromium: every chart drawn, the service's figures in the tables."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from onboarding.bootstrap import manager_report_service
from onboarding.cli import main
from onboarding.core import report_view
from onboarding.core.ttfv import TtfvGroup
from onboarding.services.manager_report import ManagerReports
from tests.adapters.reports.portfolio import build_portfolio
from tests.browser import Chromium

CHARTS = {
    "chart-ttfv-distribution": "Time to first value by blueprint (calendar days)",
    "chart-kaplan-meier": "Share of projects at first value, by days since start (Kaplan-Meier)",
    "chart-cohort-trend": "Time to first value by cohort month (calendar days)",
    "chart-bottleneck-tasks": "Bottleneck tasks: days slipped across projects",
    "chart-bottleneck-milestones": "Bottleneck milestones: days slipped across projects",
    "chart-slip-by-side": "Slip by side: customer vs vendor (days)",
}


@dataclass(frozen=True)
class Rendered:
    reports: ManagerReports
    page: Path
    dom: str


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, chromium: Chromium) -> Iterator[Rendered]:
    folder = tmp_path_factory.mktemp("portfolio")
    portfolio = build_portfolio(folder)
    service = manager_report_service(portfolio.settings, clock=portfolio.clock)
    reports = service.build(as_of=portfolio.as_of)
    page = service.write(reports, folder / "report.html")
    yield Rendered(reports, page, chromium.dom(page))


def _svg_of(dom: str, chart_id: str) -> str:
    match = re.search(rf'<svg[^>]*aria-labelledby="{chart_id}-title {chart_id}-desc"[^>]*>.*?</svg>', dom, re.DOTALL)
    assert match, f"no SVG for {chart_id} in the document"
    return match.group(0)


def test_every_chart_is_in_the_document_titled_and_drawn(rendered: Rendered) -> None:
    for chart_id, title in CHARTS.items():
        svg = _svg_of(rendered.dom, chart_id)
        assert f'<title id="{chart_id}-title">{html.escape(title)}</title>' in svg
        assert re.search(rf'<desc id="{chart_id}-desc">[^<]{{40,}}</desc>', svg)
        assert 'role="img"' in svg
        assert svg.count("<path") >= 5  # axes, ticks and the data drawn as paths
        assert f"<h3>{html.escape(title)}</h3>" in rendered.dom  # the visible caption


def test_the_charts_draw_the_portfolio(rendered: Rendered) -> None:
    distribution = _svg_of(rendered.dom, "chart-ttfv-distribution")
    for group in rendered.reports.by_blueprint.groups:
        if group.reached:
            assert f"{group.key[0]}" in distribution
    trend = _svg_of(rendered.dom, "chart-cohort-trend")
    for group in rendered.reports.by_cohort_month.groups:
        assert report_view.month(group.key[0]) in trend
    assert len(rendered.reports.by_cohort_month.groups) >= 2


def _rows(dom: str, table_id: str) -> dict[str, list[str]]:
    body = dom.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL):
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)
        ]
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


def _expected(group: TtfvGroup) -> list[str]:
    quantiles = (group.calendar_days, group.business_days, group.net_days)
    return [
        str(group.projects),
        str(group.reached),
        str(group.in_flight),
        str(group.stopped),
        *(report_view.number(v) for q in quantiles for v in (q.median, q.p75, q.p90)),
        *(report_view.percent(s.share) for s in group.within),
        f"{group.reached_on_target} of {group.reached} in {group.target_calendar_days} d"
        if group.target_calendar_days is not None and group.reached_on_target is not None
        else "n/a",
    ]


def test_the_tables_hold_what_the_service_computed(rendered: Rendered) -> None:
    by_blueprint = _rows(rendered.dom, "ttfv-by-blueprint")
    for group in rendered.reports.by_blueprint.groups:
        assert by_blueprint[group.key[0]] == _expected(group)
    assert by_blueprint["All projects"] == _expected(rendered.reports.by_blueprint.total)
    by_month = _rows(rendered.dom, "ttfv-by-cohort-month")
    for group in rendered.reports.by_cohort_month.groups:
        assert by_month[report_view.month(group.key[0])] == _expected(group)
    portfolio = rendered.reports.portfolio
    at_risk = _rows(rendered.dom, "at-risk")
    assert len(at_risk) - 1 == len(portfolio.at_risk)  # the header row besides
    for project in portfolio.at_risk:
        name = project.customer + (f" ({project.external_id})" if project.external_id else "")
        assert at_risk[name][3] == report_view.day(project.projected_go_live_on)
    slip = _rows(rendered.dom, "slip-by-side")
    for side in portfolio.slip_by_side:
        assert slip[side.side] == [str(side.tasks), str(side.slip_days), report_view.percent(side.share)]
    assert f"On-time launch rate: <strong>{report_view.percent(portfolio.on_time.rate)}</strong>" in rendered.dom


def test_the_figures_show_a_real_portfolio(rendered: Rendered) -> None:
    total = rendered.reports.by_blueprint.total
    assert total.reached >= 3 and total.in_flight >= 1 and total.stopped == 1
    assert rendered.reports.portfolio.on_time.went_live >= 1


def test_the_screenshot_is_not_blank(rendered: Rendered, chromium: Chromium, tmp_path: Path) -> None:
    import numpy as np
    from matplotlib.image import imread  # decodes the PNG (matplotlib draws the charts, so it is here anyway)

    png = chromium.screenshot(rendered.page, tmp_path / "report.png", width=1200, height=1600)
    pixels = np.round(imread(png)[:, :, :3] * 255).astype(np.uint8)
    assert pixels.shape[:2] == (1600, 1200)
    colours, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    background = colours[counts.argmax()]
    inked = np.any(pixels != background, axis=2).mean()
    assert len(colours) > 20  # text, chart colours, borders
    assert inked > 0.05  # more than a twentieth of the window is not background


def test_onboarding_report_html_writes_the_page(rendered: Rendered, tmp_path: Path) -> None:
    out = tmp_path / "from-cli.html"
    data_dir = rendered.page.parent
    result = CliRunner().invoke(
        main,
        ["report", "--html", str(out), "--as-of", rendered.reports.as_of.isoformat()],
        env={"ONBOARDING_DATA_DIR": str(data_dir)},
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"report written to {out.resolve()}"
    page = out.read_text(encoding="utf-8")
    assert page.count('<svg class="chart"') == len(CHARTS)
    assert _rows(page, "ttfv-by-blueprint")["All projects"] == _expected(rendered.reports.by_blueprint.total)
