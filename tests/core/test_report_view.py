"""The report in words: how figures are written, the headline figures, the weekly email per manager."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from onboarding.core import report_view
from onboarding.core.messages import MessageKind, Person
from onboarding.core.portfolio import OnTimeLaunches, RiskReason, SlipBySide
from onboarding.core.ttfv import Dimension, Quantiles, TtfvRows, ttfv_report
from tests.adapters.reports import samples

PAT = Person("Pat Lee", "Pat.Lee@Vendor.example")
OLA = Person("", "ola@vendor.example")


@pytest.mark.parametrize(("value", "written"), [(None, "n/a"), (0.0, "0"), (47.0, "47"), (33.56, "33.6"), (1.0, "1")])
def test_numbers(value: float | None, written: str) -> None:
    assert report_view.number(value) == written


def test_days_shares_dates_and_months() -> None:
    assert [report_view.days(v) for v in (None, 1.0, 2.0, 12.5)] == ["n/a", "1 day", "2 days", "12.5 days"]
    assert [report_view.percent(v) for v in (None, 0.0, 0.555, 1.0)] == ["n/a", "0%", "56%", "100%"]
    assert report_view.day(date(2026, 3, 4)) == "Wed 4 Mar 2026"  # never 03/04: day and month cannot be swapped
    assert report_view.day(None) == "n/a"
    assert [report_view.month(v) for v in ("2026-11", "2027-01", "(none)", "2026-13")] == [
        "Nov 2026",
        "Jan 2027",
        "(none)",
        "2026-13",
    ]


@pytest.mark.parametrize(
    ("day", "week"),
    [(date(2026, 11, 30), "2026-W49"), (date(2027, 1, 1), "2026-W53"), (date(2027, 1, 4), "2027-W01")],
)
def test_iso_week_across_the_year_end(day: date, week: str) -> None:
    assert report_view.iso_week(day) == week


def test_headline_figures_from_the_reports() -> None:
    figures = {f["label"]: (f["value"], f["note"]) for f in report_view.headline(samples.TOTAL, samples.PORTFOLIO)}
    assert figures == {
        "Projects": ("18", "8 active"),
        "Reached first value": ("10 of 18", "7 in flight, 1 stopped (value task skipped or project cancelled)"),
        "Median time to first value": ("47 days", "business days 33.6, net of on-hold 47"),
        "p90 time to first value": ("75 days", "p75 60 days"),
        "At first value within 90 days": ("56%", "Kaplan-Meier estimate, projects in flight included"),
        "On-time launches": ("78%", "7 of 9 go-lives inside the window committed at launch"),
        "Projects at risk": ("2", "go-live projected past the window, overdue customer tasks, or blocked"),
        "Slip on the customer side": ("91%", "59 of 65 days slipped"),
    }


def test_headline_figures_of_an_empty_portfolio_say_n_a_not_zero() -> None:
    empty_total = replace(
        samples.SAAS,
        key=(),
        projects=0,
        in_flight=0,
        calendar_days=Quantiles(),
        business_days=Quantiles(),
        net_days=Quantiles(),
        within=(),
        km_curve=(),
    )
    portfolio = replace(
        samples.PORTFOLIO,
        projects=0,
        active=0,
        on_time=OnTimeLaunches(0, 0, 0, None),
        at_risk=(),
        at_risk_total=0,
        slip_by_side=(SlipBySide("customer", 0, 0, None), SlipBySide("vendor", 0, 0, None)),
    )
    values = {f["label"]: f["value"] for f in report_view.headline(empty_total, portfolio)}
    assert values["Median time to first value"] == "n/a"
    assert values["At first value within 90 days"] == "n/a"
    assert values["On-time launches"] == "n/a"
    assert values["Slip on the customer side"] == "n/a"
    assert values["Projects at risk"] == "0"


def test_risk_reasons_in_words() -> None:
    acme, globex = samples.PORTFOLIO.at_risk
    assert report_view.risk_reasons(acme) == [
        "go-live projected 77 days past the committed window",
        "3 overdue customer tasks",
    ]
    assert report_view.risk_reasons(globex) == ["blocked for 12 days"]
    one = replace(acme, overdue_customer_tasks=1, days_past_window=1, reasons=(RiskReason.overdue_customer,))
    assert report_view.risk_reasons(one) == ["1 overdue customer task"]


def test_one_email_per_manager_keyed_by_iso_week_and_address() -> None:
    figures = report_view.headline(samples.TOTAL, samples.PORTFOLIO)
    messages = report_view.manager_report_messages(
        [PAT, OLA], as_of=date(2027, 1, 1), figures=figures, portfolio=samples.PORTFOLIO, report_html="<p>r</p>"
    )
    assert [m.idempotency_key for m in messages] == [
        "report:2026-W53:pat.lee@vendor.example",
        "report:2026-W53:ola@vendor.example",
    ]
    assert [m.to for m in messages] == [(PAT,), (OLA,)]
    assert all(m.kind is MessageKind.manager_report and not m.customer_facing for m in messages)
    context = messages[1].context
    assert context["recipient_name"] == "ola@vendor.example"  # no name given: the address
    assert context["period"] == "2026-W53" and context["as_of"] == "2027-01-01"
    assert context["attachments"] == [
        {"filename": "onboarding-report-2027-01-01.html", "content_type": "text/html", "text": "<p>r</p>"}
    ]
    assert context["at_risk_total"] == 2
    assert context["at_risk"][0]["reasons"] == report_view.risk_reasons(samples.PORTFOLIO.at_risk[0])
    assert context["at_risk"][0]["committed_on"] == "2027-01-15"
    assert messages[0].subject == "Onboarding report 2026-W53: median time to first value 47 days, 2 at risk"


def test_the_email_lists_at_most_ten_projects_at_risk() -> None:
    many = replace(samples.PORTFOLIO, at_risk=samples.PORTFOLIO.at_risk * 6, at_risk_total=12)
    (message,) = report_view.manager_report_messages(
        [PAT], as_of=samples.AS_OF, figures=[], portfolio=many, report_html=""
    )
    assert len(message.context["at_risk"]) == 10 and message.context["at_risk_total"] == 12


def test_headline_markdown_table() -> None:
    figures = [
        {"label": "Median time to first value", "value": "47 days", "note": ""},
        {"label": "Odd | label", "value": "1", "note": "two\nlines"},
    ]
    assert report_view.headline_markdown(figures, as_of=date(2026, 11, 30)) == (
        "# Onboarding report, Mon 30 Nov 2026\n"
        "\n"
        "| figure | value | |\n"
        "|---|---:|---|\n"
        "| Median time to first value | 47 days |  |\n"
        "| Odd \\| label | 1 | two lines |\n"
    )


def test_the_cohort_trend_shows_the_kaplan_meier_median_and_the_share_still_in_flight() -> None:
    """A young cohort whose one project at value was quick is not read as the fastest: its Kaplan-Meier
    median is not reached yet, and most of it is still in flight."""
    starts = ["2026-11-02"] * 4 + ["2026-12-20"] * 4
    values = ["2026-11-12", "2026-11-22", "2026-12-02", None, "2026-12-25", None, None, None]
    rows = TtfvRows.build(
        blueprint=["payroll"] * 8,
        version=["payroll@1"] * 8,
        segment=[None] * 8,
        owner=[None] * 8,
        start=starts,
        value=values,
        stopped=[None] * 8,
        held_days=[0] * 8,
        calendar=[0] * 8,
        target=[None] * 8,
    )
    report = ttfv_report(rows, as_of=date(2026, 12, 30), dimensions=[Dimension.cohort_month])
    _, december = report.groups
    assert december.calendar_days.median == 5.0  # what the chart used to draw: the fastest cohort
    points = report_view.cohort_trend_points(report.groups)
    assert points == (
        report_view.CohortPoint(
            month="2026-11",
            label="Nov 2026",
            projects=4,
            reached=3,
            in_flight=1,
            stopped=0,
            km_median_days=20,  # 10, 20, 30 reached; one in flight since 58 days: 1/4, 2/4 at day 20
            followed_days=58,
        ),
        report_view.CohortPoint(
            month="2026-12",
            label="Dec 2026",
            projects=4,
            reached=1,
            in_flight=3,
            stopped=0,
            km_median_days=None,  # 1 of 4 by day 5, the other three followed 10 days: not half yet
            followed_days=10,
        ),
    )
    assert [p.in_flight_share for p in points] == [0.25, 0.75]
    assert [report_view.cohort_point_text(p) for p in points] == [
        "Nov 2026: median 20 days (Kaplan-Meier), 1 of 4 still in flight (25%)",
        "Dec 2026: median not reached yet (over 10 days), 3 of 4 still in flight (75%)",
    ]
