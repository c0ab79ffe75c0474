"""The team's pages in headless Chromium, served by a real server: a consultant asks for a sign-in link, takes it
from the Maildir, signs in, finds the task in My tasks and completes it in place (htmx); then the portfolio. At
desktop and phone widths: no serious accessibility violation, every control reached by keyboard, each page as its
golden screenshot."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Page

from onboarding.bootstrap import Application
from tests.pages import Viewport, assert_keyboard_reachable, assert_matches_golden, check_accessibility
from tests.web.test_team_pages import DANA, LINK, launch

# one database is enough for what a browser shows; tests/web/test_team_pages.py runs both
sqlite_only = pytest.mark.parametrize("application", ["sqlite"], indirect=True)

CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, summary"


def _sign_in_link(application: Application, address: str) -> str:
    """The link of the sign-in email to ``address``, once the server's delivery put it in the Maildir."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not (Path(application.settings.effective_maildir) / "new").is_dir():
            time.sleep(0.05)  # the server's delivery makes the folder: never race it to
            continue
        folder = mailbox.Maildir(application.settings.effective_maildir, create=False)
        for m in folder:
            message: EmailMessage = email.message_from_bytes(m.as_bytes(), policy=email.policy.default)  # type: ignore[assignment]
            if message["Subject"] == "Your sign-in link" and any(
                a.addr_spec == address for a in message["To"].addresses
            ):
                body = message.get_body(preferencelist=("plain",))
                assert body is not None
                found = LINK.search(body.get_content())
                assert found is not None
                return found.group()
        time.sleep(0.1)
    raise AssertionError(f"no sign-in email to {address} reached the Maildir")


@sqlite_only
def test_a_consultant_signs_in_and_completes_a_task_in_place(
    application: Application, live_url: str, browser_page: Page, viewport: Viewport
) -> None:
    page = browser_page
    project = launch(application, customer="Acme <Manufacturing>")
    application.team_members.add("Dana Ruiz", DANA, role="manager")

    page.goto(f"{live_url}/team")  # not signed in: to the sign-in page
    assert page.url == f"{live_url}/team/sign-in"
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in to the team's pages"
    assert_matches_golden(page, f"team-sign-in-{viewport.name}")
    check_accessibility(page)
    assert_keyboard_reachable(page, CONTROLS)

    page.get_by_label("Your email address").fill(DANA)
    with page.expect_navigation():
        page.get_by_role("button", name="Email me a sign-in link").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"
    check_accessibility(page)

    link = _sign_in_link(application, DANA)
    page.goto(re.sub(r"^https?://[^/]+", live_url, link))
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in as Dana Ruiz?"
    check_accessibility(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url == f"{live_url}/team"
    assert page.get_by_role("heading", level=1).inner_text() == "My tasks"
    row = page.locator(f"#task-{project}-kickoff_call")
    assert "Kickoff call" in row.inner_text()
    assert "Acme <Manufacturing>" in row.inner_text()  # escaped in the HTML, shown as typed
    assert_matches_golden(page, f"team-my-tasks-{viewport.name}")
    check_accessibility(page)
    assert_keyboard_reachable(page, CONTROLS)

    page.evaluate("window.stillThisPage = true")  # gone if the page were loaded again
    row.get_by_role("button", name="Complete").click()
    page.locator(f"#task-{project}-kickoff_call .done").wait_for()
    assert page.evaluate("window.stillThisPage === true")  # the row was swapped in place, by htmx
    assert "Done: Kickoff call" in page.locator(f"#task-{project}-kickoff_call").inner_text()
    assert application.projects.get(project).task("kickoff_call").state.value == "done"
    check_accessibility(page)

    page.get_by_role("link", name="Portfolio").click()
    page.wait_for_url(f"{live_url}/team/portfolio")
    assert page.get_by_role("heading", level=1).inner_text() == "Portfolio"
    assert "Acme <Manufacturing>" in page.locator("table").inner_text()
    assert_matches_golden(page, f"team-portfolio-{viewport.name}")
    check_accessibility(page)
    assert_keyboard_reachable(page, CONTROLS)


def _signed_in_at_my_tasks(page: Page, application: Application, live_url: str) -> None:
    """Sign in as Dana through the sign-in page and the emailed link; My tasks open."""
    page.goto(f"{live_url}/team/sign-in")
    page.get_by_label("Your email address").fill(DANA)
    with page.expect_navigation():
        page.get_by_role("button", name="Email me a sign-in link").click()
    page.goto(re.sub(r"^https?://[^/]+", live_url, _sign_in_link(application, DANA)))
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", level=1).inner_text() == "My tasks"


@sqlite_only
def test_a_refused_change_in_place_shows_why_and_changes_nothing(
    application: Application, live_url: str, browser_page: Page
) -> None:
    """htmx swaps only a 2xx by default: a refusal (a stale form, 403) would leave the button doing nothing. It
    shows the refusal's page instead; a server error or a lost connection is said in the row."""
    page = browser_page
    project = launch(application)
    application.team_members.add("Dana Ruiz", DANA, role="manager")
    _signed_in_at_my_tasks(page, application, live_url)
    row = page.locator(f"#task-{project}-kickoff_call")

    page.route("**/team/tasks/**", lambda route: route.abort("connectionrefused"))
    row.get_by_role("button", name="Complete").click()
    row.get_by_role("alert").wait_for()
    assert "did not reach the server" in row.get_by_role("alert").inner_text()
    page.unroute("**/team/tasks/**")

    page.route("**/team/tasks/**", lambda route: route.fulfill(status=502, body="Bad Gateway"))
    row.get_by_role("button", name="Complete").click()
    page.get_by_text("The server could not make the change").wait_for()
    assert row.get_by_role("alert").count() == 1  # said once, in place of what was said before
    page.unroute("**/team/tasks/**")
    check_accessibility(page)

    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'stale')")
    row.get_by_role("button", name="Complete").click()
    page.get_by_role("heading", level=1, name="This form is out of date").wait_for()
    assert page.get_by_role("navigation", name="Team pages").is_visible()  # the whole page, not a row
    assert page.title().startswith("This form is out of date")
    assert application.projects.get(project).task("kickoff_call").state.value != "done"
    check_accessibility(page)

    page.reload()  # as the page advises: a fresh form works
    page.locator(f"#task-{project}-kickoff_call").get_by_role("button", name="Complete").click()
    page.locator(f"#task-{project}-kickoff_call .done").wait_for()
    assert application.projects.get(project).task("kickoff_call").state.value == "done"
