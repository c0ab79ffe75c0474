"""The managers' reports for the team over HTTP, on SQLite and PostgreSQL: live with their filters, each count
opening exactly the projects behind it, for managers only, user text escaped."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from onboarding.bootstrap import Application
from onboarding.core.lifecycle import Action
from tests.web.test_project_page import MAX, NASTY, launch
from tests.web.test_team_pages import sign_in

DANA = "dana@vendor.example"
COUNT_LINK = re.compile(r'<a href="(/team/reports/projects\?[^"]+)" aria-label="[^"]*">(\d+)</a>')
PROJECT_ROW = re.compile(r'<th scope="row"><a href="/team/projects/([^"]+)">')


@pytest.fixture
def portfolio(application: Application) -> Application:
    application.team_members.add("Dana Ruiz", DANA, role="member")
    application.team_members.add("Max Weber", MAX, role="manager")
    late = launch(application, customer=NASTY, kickoff="2026-11-02")  # nothing done for a month: at risk
    started = launch(application, customer="Beta Foods", kickoff="2026-11-16")
    application.projects.change_task(started, "kickoff_call", Action.complete)
    gone = launch(application, customer="Gamma Tools")
    application.projects.cancel(gone, reason="deal lost")
    application.projects.reforecast(late)
    return application


def test_every_count_opens_exactly_the_projects_it_counts(client: TestClient, portfolio: Application) -> None:
    sign_in(client, portfolio, MAX)
    page = client.get("/team/reports")
    assert page.status_code == 200, page.text
    links = COUNT_LINK.findall(page.text)
    assert len(links) > 10
    opened = 0
    for link, count in links:
        listed = client.get(html.unescape(link))
        assert listed.status_code == 200, link
        rows = PROJECT_ROW.findall(listed.text)
        figure = html.unescape(link)
        if "figure=slip" in figure:  # the figure counts tasks; its projects each have one of them at least
            assert len(rows) <= int(count)
        else:
            assert len(rows) == int(count), figure
        opened += int(count) > 0
    assert opened > 3
    at_risk = next(link for link, _count in links if "figure=at-risk" in link)
    listed = client.get(html.unescape(at_risk)).text
    assert "&lt;script&gt;alert" in listed and "<script>alert" not in listed  # the customer's name, escaped
    project = PROJECT_ROW.findall(listed)[0]
    assert client.get(f"/team/projects/{project}").status_code == 200  # each links to its project page


def test_the_filters_of_the_cli_report_are_taken(client: TestClient, portfolio: Application) -> None:
    sign_in(client, portfolio, MAX)
    filters = [("by", "segment"), ("by", "owner"), ("as_of", "2026-12-07"), ("top", "3")]
    page = client.get("/team/reports", params=filters)
    assert page.status_code == 200 and "Time to first value by segment and owner" in page.text
    assert "by=segment" in html.unescape(page.text) and "as_of=2026-12-07" in html.unescape(page.text)
    earlier = client.get("/team/reports", params={"since": "2026-11-10"})
    assert earlier.status_code == 200
    for params, said in (
        ({"as_of": "yesterday"}, "is not a day"),
        ({"by": "colour"}, "no grouping"),
        ({"since": "2026-12-01", "until": "2026-11-01"}, "after it ends"),
        ({"top": "0"}, "from 1 to"),
    ):
        refused = client.get("/team/reports", params=params)
        assert refused.status_code == 400 and said in refused.text and "Traceback" not in refused.text
    two_values = {"report": "ttfv", "figure": "reached", "by": "owner", "key": ["a", "b"]}
    wrong = client.get("/team/reports/projects", params=two_values)
    assert wrong.status_code == 400 and "groupings" in wrong.text
    assert client.get("/team/reports/projects", params={"report": "x"}).status_code == 400


def test_reports_are_for_managers(client: TestClient, portfolio: Application) -> None:
    assert client.get("/team/reports", follow_redirects=False).status_code == 303  # not signed in
    sign_in(client, portfolio, DANA)
    for path in ("/team/reports", "/team/reports/projects?report=portfolio&figure=projects", "/team/reports/file"):
        refused = client.get(path)
        assert refused.status_code == 403 and "not for your role" in refused.text


def test_the_whole_report_is_a_file_to_save(client: TestClient, portfolio: Application) -> None:
    sign_in(client, portfolio, MAX)
    answer = client.get("/team/reports/file", params={"as_of": "2026-12-07"})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="onboarding-report-2026-12-07.html"'
    assert "<svg" in answer.text and "<script>alert" not in answer.text


def test_a_long_list_at_risk_shows_the_most_at_risk_and_opens_them_all(
    client: TestClient, portfolio: Application
) -> None:
    from onboarding.core.report_view import AT_RISK_SHOWN

    for n in range(AT_RISK_SHOWN):  # with those already at risk, more than the page lists
        portfolio.projects.reforecast(launch(portfolio, customer=f"Late {n:02d}", kickoff="2026-11-02"))
    total = len(portfolio.reports.portfolio().at_risk)
    assert total > AT_RISK_SHOWN
    sign_in(client, portfolio, MAX)
    page = client.get("/team/reports").text
    table = page.split('<table id="at-risk">', 1)[1].split("</table>", 1)[0]
    assert len(PROJECT_ROW.findall(table)) == AT_RISK_SHOWN
    said = re.search(r"The (\d+) most at risk of <a href=\"([^\"]+)\">(\d+) projects at risk</a>", page)
    assert said is not None and (int(said[1]), int(said[3])) == (AT_RISK_SHOWN, total)
    listed = client.get(html.unescape(said[2])).text
    assert len(PROJECT_ROW.findall(listed)) == total
