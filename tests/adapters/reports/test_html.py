"""The report page from hand-built report values: charts with titles and text, tables with headers, nothing fetched."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from onboarding.adapters.reports import charts
from onboarding.adapters.reports.html import check_report_path, render_report, write_report
from onboarding.core import report_view
from onboarding.core.ttfv import Dimension
from onboarding.errors import ReportFileRefused
from onboarding.services.manager_report import ManagerReports
from tests.adapters.reports import samples

GENERATED = datetime(2027, 2, 26, 7, 0, tzinfo=UTC)
CHARTS = (
    "chart-ttfv-distribution",
    "chart-kaplan-meier",
    "chart-cohort-trend",
    "chart-bottleneck-tasks",
    "chart-bottleneck-milestones",
    "chart-slip-by-side",
)


class _Page(HTMLParser):
    """Tags with their attributes, ids, external references and the text of table cells."""

    VOID = frozenset({"meta", "br", "link", "img", "input", "hr", "source", "path", "use", "rect", "line", "circle"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: list[str] = []
        self.references: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
        for name in ("src", "href", "xlink:href"):
            value = attributes.get(name)
            if value and not value.startswith("#"):
                self.references.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def page() -> str:
    more = replace(samples.BY_BLUEPRINT, dimensions=(Dimension.segment,))
    return render_report(
        ManagerReports(samples.BY_BLUEPRINT, samples.BY_MONTH, samples.PORTFOLIO, more=(more,)), generated_at=GENERATED
    )


def test_every_chart_is_an_inline_svg_with_a_title_and_a_text_alternative(page: str) -> None:
    tags = parsed(page).tags
    svgs = {attrs.get("aria-labelledby"): attrs for tag, attrs in tags if tag == "svg"}
    for chart in CHARTS:
        assert f"{chart}-title {chart}-desc" in svgs, chart
        assert svgs[f"{chart}-title {chart}-desc"]["role"] == "img"
        title = re.search(rf'<title id="{chart}-title">([^<]+)</title>', page)
        desc = re.search(rf'<desc id="{chart}-desc">([^<]+)</desc>', page)
        assert title and desc and len(desc.group(1)) > 40
    assert len(svgs) == len(CHARTS)


def test_the_page_is_self_contained(page: str) -> None:
    found = parsed(page)
    assert found.references == []  # no script, stylesheet, image or font from anywhere
    assert not any(tag in {"script", "link", "img", "iframe", "object"} for tag, _ in found.tags)
    assert "url(http" not in page and "@import" not in page and "@font-face" not in page


def test_ids_are_unique_across_charts(page: str) -> None:
    ids = parsed(page).ids
    assert len(ids) == len(set(ids))


def test_tables_have_header_cells_with_scope(page: str) -> None:
    tags = parsed(page).tags
    headers = [attrs for tag, attrs in tags if tag == "th"]
    assert headers and all(attrs.get("scope") in {"col", "colgroup", "row"} for attrs in headers)
    tables = [attrs.get("id") for tag, attrs in tags if tag == "table"]
    assert tables == [
        "ttfv-by-blueprint",
        "ttfv-by-cohort-month",
        "ttfv-by-segment",
        "at-risk",
        "bottleneck-tasks",
        "bottleneck-milestones",
        "slip-by-side",
        "wait-before-start",
    ]


def _row(page: str, table: str, header: str) -> list[str]:
    """The cells of the row of ``table`` whose header cell reads ``header``."""
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL):
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)
        ]
        if cells and cells[0] == header:
            return cells[1:]
    raise AssertionError(f"no row {header!r} in {table}")


def test_the_tables_hold_the_figures(page: str) -> None:
    assert _row(page, "ttfv-by-blueprint", "payroll-implementation") == (
        ["9", "6", "2", "1", "60", "63", "75", "42.9", "45", "53.6", "60", "63", "75", "0%", "44%", "67%", "n/a"]
    )
    assert _row(page, "ttfv-by-blueprint", "All projects")[:4] == ["18", "10", "7", "1"]
    assert _row(page, "ttfv-by-blueprint", "hr-platform-beside-payroll")[-1] == "3 of 4 in 30 d"
    assert _row(page, "ttfv-by-cohort-month", "Dec 2026")[:4] == ["7", "4", "2", "1"]
    assert _row(page, "at-risk", "Acme <Manufacturing> (CRM-1000)")[:4] == [
        "payroll-implementation",
        "Dana Ruiz",
        "Fri 15 Jan 2027",
        "Fri 2 Apr 2027",
    ]
    assert _row(page, "bottleneck-tasks", "Send the employee census") == [
        "payroll-implementation",
        "5",
        "38",
        "7",
        "15",
    ]
    assert _row(page, "slip-by-side", "customer") == ["11", "59", "91%"]
    assert _row(page, "wait-before-start", "customer") == ["40", "1", "3", "6.5", "2.1"]


def test_text_is_escaped_in_tables_and_charts(page: str) -> None:
    assert "<Manufacturing>" not in page and "Acme &lt;Manufacturing&gt;" in page
    assert "saas-onboarding <b>" not in page
    assert "saas-onboarding &lt;b&gt;&amp;" in page


def test_empty_reports_render_with_what_is_missing_said() -> None:
    no_groups = replace(samples.BY_BLUEPRINT, groups=())
    portfolio = replace(
        samples.PORTFOLIO, at_risk=(), at_risk_total=0, bottleneck_tasks=(), bottleneck_milestones=(), slip_by_side=()
    )
    page = render_report(
        ManagerReports(no_groups, replace(samples.BY_MONTH, groups=()), portfolio), generated_at=GENERATED
    )
    for phrase in (
        "No project has reached first value yet.",
        "No cohort has reached first value yet.",
        "No project is at risk.",
        "No task slipped.",
        "No milestones slipped.",
    ):
        assert phrase in page
    assert page.count("<svg") == len(CHARTS)


def test_generated_time_is_written_in_utc() -> None:
    eastern = GENERATED.astimezone(timezone(timedelta(hours=-5)))
    page = render_report(
        ManagerReports(samples.BY_BLUEPRINT, samples.BY_MONTH, samples.PORTFOLIO), generated_at=eastern
    )
    assert "generated 2027-02-26 07:00 UTC" in page and "As of Fri 26 Feb 2027" in page
    with pytest.raises(ValueError, match="aware"):
        render_report(
            ManagerReports(samples.BY_BLUEPRINT, samples.BY_MONTH, samples.PORTFOLIO),
            generated_at=GENERATED.replace(tzinfo=None),
        )


def test_write_report_makes_the_folder(tmp_path: Path) -> None:
    path = write_report(
        tmp_path / "reports" / "report.html",
        ManagerReports(samples.BY_BLUEPRINT, samples.BY_MONTH, samples.PORTFOLIO),
        generated_at=GENERATED,
    )
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


REPORTS = ManagerReports(samples.BY_BLUEPRINT, samples.BY_MONTH, samples.PORTFOLIO)


def test_a_report_replaces_a_report_written_there_before(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_report(path, REPORTS, generated_at=GENERATED)
    write_report(path, REPORTS, generated_at=GENERATED + timedelta(days=7))
    assert "generated 2027-03-05 07:00 UTC" in path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # nothing left beside it


@pytest.mark.parametrize(
    "before",
    [
        "my notes\n",  # any file of the user's
        "",  # an empty one
        "<!DOCTYPE html>\n<html><head><title>Onboarding report</title></head></html>\n",  # a page like it
    ],
)
def test_a_file_the_engine_did_not_write_is_never_overwritten(tmp_path: Path, before: str) -> None:
    path = tmp_path / "notes.html"
    path.write_text(before, encoding="utf-8")
    with pytest.raises(ReportFileRefused) as refused:
        check_report_path(path)
    assert str(path) in str(refused.value) and "another path" in str(refused.value)
    with pytest.raises(ReportFileRefused):
        write_report(path, REPORTS, generated_at=GENERATED)
    assert path.read_text(encoding="utf-8") == before
    assert [p.name for p in tmp_path.iterdir()] == ["notes.html"]  # no half-written page left beside it


def test_a_link_or_a_folder_is_not_a_report_file(tmp_path: Path) -> None:
    report = write_report(tmp_path / "report.html", REPORTS, generated_at=GENERATED)
    page = report.read_text(encoding="utf-8")
    link = tmp_path / "latest.html"
    link.symlink_to(report)
    folder = tmp_path / "folder.html"
    folder.mkdir()
    for path in (link, folder):
        with pytest.raises(ReportFileRefused):
            write_report(path, REPORTS, generated_at=GENERATED + timedelta(days=1))
    assert link.is_symlink() and report.read_text(encoding="utf-8") == page
    assert list(folder.iterdir()) == []


def test_a_new_path_is_checked_and_written(tmp_path: Path) -> None:
    path = tmp_path / "new" / "report.html"
    check_report_path(path)  # nothing there: a report may go there
    assert not path.parent.exists()  # the check makes nothing
    write_report(path, REPORTS, generated_at=GENERATED)
    check_report_path(path)  # the engine's own report: may be replaced


def test_a_large_portfolio_gives_a_page_of_the_same_size() -> None:
    from onboarding.adapters.reports import charts
    from onboarding.core.ttfv import Quantiles

    days = tuple(sorted(10 + (i * 7919) % 191 for i in range(50_000)))  # 50,000 projects, 10 to 200 days
    big = replace(samples.PAYROLL, reached=len(days), reached_calendar_days=days, calendar_days=Quantiles(90, 140, 180))
    small = charts.ttfv_distribution([samples.PAYROLL])
    large = charts.ttfv_distribution([big])
    assert large.svg.count("<use") <= charts.MAX_DOTS + 50
    assert len(large.svg) < 3 * len(small.svg) + 100_000
    assert "at most 300 a group" in large.description


def test_long_keys_may_wrap_and_stay_escaped() -> None:
    from onboarding.adapters.reports.html import breakable

    assert str(breakable("hr_platform-x")) == "hr_<wbr>platform-<wbr>x"
    assert str(breakable("<b>_&")) == "&lt;b&gt;_<wbr>&amp;"


def test_the_cohort_trend_draws_kaplan_meier_medians_and_the_share_still_in_flight() -> None:
    groups = samples.BY_MONTH.groups
    points = report_view.cohort_trend_points(groups)
    # Nov: 6 projects, half at value on day 45; Dec: 7, four of them by day 63; Jan 2027: 1 of 5 on day 47,
    # the others in flight: no median yet, whatever the median of the one at value (47) says.
    assert [(p.label, p.km_median_days, p.followed_days, p.in_flight, p.projects) for p in points] == [
        ("Nov 2026", 45, 75, 1, 6),
        ("Dec 2026", 63, 63, 2, 7),
        ("Jan 2027", None, 47, 4, 5),
    ]
    chart = charts.cohort_trend(groups)
    assert "Jan 2027: median not reached yet (over 47 days), 4 of 5 still in flight (80%)" in chart.description
    for point in points:
        assert report_view.cohort_point_text(point) in chart.description
    drawn = html.unescape(chart.svg)
    for text in ("1/6 in flight", "2/7 in flight", "4/5 in flight", "> 47", "median (Kaplan-Meier)"):
        assert text in drawn


def test_a_long_list_at_risk_shows_the_most_at_risk_and_how_many_there_are() -> None:
    first = samples.PORTFOLIO.at_risk[0]
    many = tuple(
        replace(first, project_id=f"p{n:05d}", customer=f"Customer {n:05d}", days_past_window=40_000 - n)
        for n in range(30_000)
    )
    page = render_report(
        ManagerReports(
            samples.BY_BLUEPRINT, samples.BY_MONTH, replace(samples.PORTFOLIO, at_risk=many, at_risk_total=len(many))
        ),
        generated_at=GENERATED,
    )
    shown = report_view.AT_RISK_SHOWN
    table = page.split('id="at-risk"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == shown + 1  # the header row and the most at risk
    assert "Customer 00000" in table and f"Customer {shown - 1:05d}" in table and f"Customer {shown:05d}" not in page
    assert f"The {shown} most at risk of 30,000" in page
    assert "onboarding report portfolio --format csv" in page
