"""The project page, its preview and the reports in headless Chromium, served by a real server: a consultant
completes a task from My tasks and sees the project re-forecast; a change is previewed, then confirmed; every
page is accessible, usable from the keyboard, readable at phone width, and as its golden screenshot."""

from __future__ import annotations

import email
import email.policy
import time
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from onboarding.adapters.store.sql import SqlProjectStore
from onboarding.bootstrap import Application
from onboarding.core.lifecycle import TaskState
from tests.pages import DESKTOP, Viewport, assert_keyboard_reachable, assert_matches_golden, check_accessibility, opened
from tests.web.test_project_page import MAX, launch
from tests.web.test_team_pages import LINK, path_of

# one database is enough for what a browser shows; tests/web/test_project_page.py runs both
sqlite_only = pytest.mark.parametrize("application", ["sqlite"], indirect=True)

DANA = "dana@vendor.example"  # bound to the csm role of the projects launched here
CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex='0']"


def sign_in(page: Page, application: Application, base: str, address: str) -> None:
    """Through the real sign-in: ask for a link, open the emailed link, press Sign in."""
    page.goto(f"{base}/team/sign-in")
    page.get_by_label("Your email address").fill(address)
    with page.expect_navigation():
        page.get_by_role("button", name="Email me a sign-in link").click()
    page.goto(base + path_of(sent_link(application, address)))
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def sent_link(application: Application, address: str) -> str:
    """The link of the sign-in email, once the server's own delivery (a background task after its answer) put it
    in the Maildir; read from the delivered files, so that the test never delivers at the same time as the server."""
    folder = Path(application.settings.effective_maildir)
    for _attempt in range(100):
        # delivered messages only: tmp/ holds a batch being staged, whose files go once linked into new/
        delivered = [*folder.glob("new/*"), *folder.glob("cur/*")]
        for message in sorted(delivered, key=lambda f: f.stat().st_mtime, reverse=True):
            parsed = email.message_from_bytes(message.read_bytes(), policy=email.policy.default)
            if address in str(parsed["To"]):
                found = LINK.search(parsed.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
                if found:
                    return found.group()
        time.sleep(0.1)
    raise AssertionError(f"no sign-in email to {address}")


def no_sideways_scroll(page: Page) -> None:
    """The page itself never scrolls sideways: wide tables and the timeline scroll inside their own regions."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] if page.viewport_size else True, width


@sqlite_only
def test_a_consultant_completes_a_task_from_my_tasks_and_sees_the_project_re_forecast(
    application: Application, live_url: str, browser: Browser
) -> None:
    with opened(browser, DESKTOP) as page:
        consultant_completes_a_task(application, live_url, page)


def consultant_completes_a_task(application: Application, live_url: str, page: Page) -> None:
    application.team_members.add("Dana Ruiz", DANA, role="member")
    pid = launch(application, kickoff="2026-11-30")  # a week in: the kickoff call is overdue
    before = SqlProjectStore(application.engine).load(pid)  # as planned at launch (read as of today, it is late)
    sign_in(page, application, live_url, DANA)
    page.goto(f"{live_url}/team")
    row = page.locator("tr", has_text="Kickoff call")
    row.get_by_role("button", name="Complete").click()
    page.get_by_text("Done: ").wait_for()
    after = application.projects.get(pid)
    assert after.task("kickoff_call").state is TaskState.done
    assert [t.key for t in after.tasks if t.due_on != before.task(t.key).due_on]  # the plan moved
    page.goto(f"{live_url}/team")
    with page.expect_navigation():
        page.get_by_role("link", name="Acme Manufacturing").first.click()
    assert page.url.endswith(f"/team/projects/{pid}")
    text = page.inner_text("main")
    assert "done 2026-12-07" in text and "plan reforecast" in text
    moved = next(t for t in after.tasks if t.due_on != before.task(t.key).due_on and t.state is TaskState.pending)
    assert f"{moved.start_on.isoformat()} to {moved.due_on.isoformat()}" in page.inner_text(f"#task-{moved.key}")


@sqlite_only
def test_a_change_is_previewed_then_confirmed_and_the_pages_are_accessible(
    application: Application, live_url: str, browser_page: Page, viewport: Viewport
) -> None:
    page = browser_page
    application.team_members.add("Max Weber", MAX, role="manager")
    pid = launch(application, kickoff="2026-11-30")
    sign_in(page, application, live_url, MAX)
    page.goto(f"{live_url}/team/projects/{pid}")
    assert page.get_by_role("heading", level=1).inner_text() == "Acme Manufacturing"
    assert page.locator("svg[role=img] g.task-bar").count() == len(application.projects.get(pid).tasks)
    assert_matches_golden(page, f"team-project-{viewport.name}")
    check_accessibility(page)
    no_sideways_scroll(page)
    assert_keyboard_reachable(page, CONTROLS, most_tabs=600)

    page.get_by_label("Task", exact=True).select_option("kickoff_call")
    page.get_by_label("Change", exact=True).select_option("complete")
    page.get_by_label("On (empty: today)").fill("2026-11-30")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview the change").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Complete: Kickoff call?"
    assert application.projects.get(pid).task("kickoff_call").state is TaskState.pending  # nothing yet
    assert "Tasks that move" in page.inner_text("main")
    assert_matches_golden(page, f"team-preview-{viewport.name}")
    check_accessibility(page)
    no_sideways_scroll(page)
    assert_keyboard_reachable(page, CONTROLS)
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm: complete").click()
    assert page.url.endswith(f"/team/projects/{pid}")
    assert application.projects.get(pid).task("kickoff_call").done_on == date(2026, 11, 30)
    assert "done 2026-11-30" in page.inner_text("#task-kickoff_call")


@sqlite_only
def test_the_reports_page_opens_the_projects_behind_a_count(
    application: Application, live_url: str, browser_page: Page, viewport: Viewport
) -> None:
    page = browser_page
    application.team_members.add("Max Weber", MAX, role="manager")
    launch(application, kickoff="2026-11-02")  # a month in, nothing done: at risk
    launch(application, customer="Beta Foods")
    sign_in(page, application, live_url, MAX)
    page.goto(f"{live_url}/team/reports")
    assert page.get_by_role("heading", level=1).inner_text() == "Onboarding report, as of 2026-12-07"
    assert_matches_golden(page, f"team-reports-{viewport.name}")
    check_accessibility(page)
    no_sideways_scroll(page)
    assert_keyboard_reachable(page, CONTROLS, most_tabs=300)
    with page.expect_navigation():
        page.get_by_role("link", name="1: At risk").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Projects at risk"
    check_accessibility(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Acme Manufacturing").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Acme Manufacturing"
