"""A customer in headless Chromium: from a nudge email's Done link to a done task, and the status and
confirmation pages at desktop and phone widths (accessible, usable by keyboard, as their goldens).

The application lives on 16 Dec 2026 (a simulation database, so its sweeps may run as of that day): the
project kicked off on 7 Dec, and Lee's task "Connect SSO", due 9 Dec, is overdue.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.bootstrap import Application
from onboarding.core.lifecycle import Action, TaskState
from onboarding.settings import Settings
from tests.pages import (
    DESKTOP,
    Viewport,
    assert_keyboard_reachable,
    assert_matches_golden,
    check_accessibility,
    focus_top,
    live_server,
    opened,
)
from tests.web.test_customer_pages import HIDDEN_WORK, LEE, PEOPLE

CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea"
SWEPT_AT = datetime(2026, 12, 16, 16, tzinfo=UTC)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Application, str]]:
    """An application on 16 Dec 2026 with one project (its kickoff call done); the project's id."""
    (tmp_path / "data").mkdir()
    settings = Settings(data_dir=tmp_path / "data", secret_key="k" * 40)
    application = Application(settings, clock=FixedClock(SWEPT_AT.date(), at=SWEPT_AT))
    SqlSweepStore(application.engine).mark_simulation(at=datetime.now(UTC))
    project = application.projects.launch(
        HIDDEN_WORK, customer="Acme Manufacturing", kickoff_on=date(2026, 12, 7), bindings=PEOPLE
    ).project
    application.projects.change_task(project.id, "kickoff_call", Action.complete, by="dana", on=date(2026, 12, 7))
    application.projects.change_task(project.id, "secret_review", Action.complete, by="dana", on=date(2026, 12, 8))
    yield application, project.id
    application.close()


def nudges_to(application: Application, address: str) -> list[email.message.EmailMessage]:
    """The reminders in the Maildir addressed to ``address``, oldest first."""
    found = []
    for message in mailbox.Maildir(application.settings.effective_maildir, create=False):
        parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
        if address in str(parsed["To"]) and parsed["X-Onboarding-Key"].startswith("digest:"):
            found.append(parsed)
    return found


def link_in(message: email.message.EmailMessage, label: str, *, base: str) -> str:
    """The link after ``label:`` in the text part, moved onto the live server (its path kept)."""
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf"{label}: (\S+)", text)
    assert found is not None, text
    return base + urlsplit(found.group(1)).path


def task_state(application: Application, project_id: str, task: str) -> TaskState:
    return application.projects.get(project_id).task(task).state


def test_a_customer_marks_a_task_done_from_the_nudge_email(world: tuple[Application, str], browser: Browser) -> None:
    application, project_id = world
    application.sweep(clock=FixedClock(SWEPT_AT.date(), at=SWEPT_AT)).run()
    (nudge,) = nudges_to(application, LEE)
    assert "Connect <b>SSO</b>" in nudge.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    with live_server(application) as base, opened(browser, DESKTOP) as page:
        done_url = link_in(nudge, "Done", base=base)

        # a mail scanner fetches the link: a plain GET, no form post
        scanned = page.request.get(done_url)
        assert scanned.status == 200 and 'method="post"' in scanned.text()
        assert task_state(application, project_id, "connect_sso") is TaskState.pending

        page.goto(done_url)
        assert page.get_by_role("heading", level=1).inner_text() == "Mark this task done?"
        assert "Connect <b>SSO</b>" in page.inner_text("main")  # escaped in the HTML, shown as typed
        assert task_state(application, project_id, "connect_sso") is TaskState.pending
        with page.expect_navigation():
            page.get_by_role("button", name="Yes, it is done").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Thank you: marked done"
        assert task_state(application, project_id, "connect_sso") is TaskState.done

        page.get_by_role("link", name="See your onboarding").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text() == "Acme Manufacturing: your onboarding"
        needs = page.inner_text("section[aria-labelledby=needs]")
        assert "Connect <b>SSO</b>" not in needs and "Sign off the set-up" in needs  # no longer asked for
        setup = page.get_by_role("row").filter(has_text="Set-up").inner_text()
        assert "2/3" in setup  # the kickoff call and now Connect SSO, of the three steps a customer sees

        page.goto(done_url)  # the same link again: a friendly page, nothing to do
        assert page.get_by_role("heading", level=1).inner_text() == "Nothing more is needed for this task"

    later = datetime(2026, 12, 18, 16, tzinfo=UTC)
    application.sweep(clock=FixedClock(later.date(), at=later)).run()
    assert len(nudges_to(application, LEE)) == 1  # the next sweep sends no reminder for the done task


def test_the_status_and_confirmation_pages_are_accessible_usable_and_as_their_goldens(
    world: tuple[Application, str], browser_page: Page, viewport: Viewport
) -> None:
    application, project_id = world
    token = application.customer_links.token_for(project_id, LEE)
    with live_server(application) as base:
        page = browser_page
        page.goto(f"{base}/c/{token}")
        assert page.get_by_role("heading", level=1).inner_text() == "Acme Manufacturing: your onboarding"
        assert "Zqx internal" not in page.content() and "Wpj margin" not in page.content()
        assert_matches_golden(page, f"customer-status-{viewport.name}")
        check_accessibility(page)
        assert_keyboard_reachable(page, CONTROLS)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport.width, "the page scrolls sideways"

        page.goto(f"{base}/c/{token}/tasks/connect_sso/snooze")
        assert page.get_by_role("heading", level=1).inner_text() == "Pause the reminders for this task?"
        assert_matches_golden(page, f"customer-confirm-snooze-{viewport.name}")
        check_accessibility(page)
        assert_keyboard_reachable(page, CONTROLS)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport.width

        # the form is used from the keyboard: the date field, then the button
        focus_top(page)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "until"
        page.keyboard.press("Tab")
        while page.evaluate("document.activeElement.tagName") != "BUTTON":
            page.keyboard.press("Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_role("heading", level=1).inner_text() == "Reminders paused"
        check_accessibility(page)

        page.goto(f"{base}/c/{token[:-4]}AAAA")
        assert page.get_by_role("heading", level=1).inner_text() == "This link is not valid"
        check_accessibility(page)
    assert task_state(application, project_id, "connect_sso") is TaskState.pending
