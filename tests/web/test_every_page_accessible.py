"""Every page the other browser tests do not check for accessibility, in headless Chromium at desktop and phone
widths: the customer's Done and Stuck confirmations, the pages after an action and the refusals (an onboarding on
hold or ended too); the team's sign-in with a mistake, a form out of date, a link that does not work, the demo
sign-in and its refusal, a page not for the member's role, a project not found, a report list (and its refusal).
On each: no serious accessibility violation (axe-core), a label on every field, no sideways scroll of the page,
every link and button reached by keyboard.

One server and one data set serve every page (a page that acts launches its own project); a second, empty
application made by the demo serves the demo sign-in. The calendar feeds are not HTML and are not here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright._impl._api_structures import SetCookieParam
from playwright.sync_api import Browser, Page

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.bootstrap import Application
from onboarding.core.lifecycle import Action
from onboarding.settings import Settings
from tests.pages import DESKTOP, Viewport, assert_keyboard_reachable, check_accessibility, live_server, opened
from tests.web.conftest import TODAY
from tests.web.test_customer_pages import HIDDEN_WORK, LEE, PEOPLE
from tests.web.test_project_page import MAX
from tests.web.test_project_page import launch as launch_payroll
from tests.web.test_project_page_in_browser import sign_in

DANA = "dana@vendor.example"  # a member
NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
ACTIONS = "a[href], button"
FIELDS = "input:not([type=hidden]), select, textarea"


@dataclass(frozen=True)
class World:
    application: Application
    base: str
    demo_base: str  # a database the demo made
    member: list[SetCookieParam]  # the session cookies of Dana, a member, and of Max, a manager
    manager: list[SetCookieParam]

    def customer_token(self, *, done: bool = False) -> str:
        """Lee's link to a new project whose kickoff call is done (and Lee's Connect SSO, if ``done``)."""
        project = self.application.projects.launch(
            HIDDEN_WORK, customer="Acme <Manufacturing>", kickoff_on=TODAY, bindings=PEOPLE
        ).project
        self.application.projects.change_task(project.id, "kickoff_call", Action.complete, by="dana")
        if done:
            self.application.projects.change_task(project.id, "connect_sso", Action.complete, by="dana")
        return self.application.customer_links.token_for(project.id, LEE)


def _application(folder: Path, *, demo: bool = False) -> Application:
    (folder / "data").mkdir(parents=True)
    application = Application(Settings(data_dir=folder / "data", secret_key="k" * 40), clock=FixedClock(TODAY, at=NOW))
    if demo:
        SqlSweepStore(application.engine).mark_simulation(at=datetime.now(UTC))
    return application


def _cookies_of(browser: Browser, application: Application, base: str, address: str) -> list[SetCookieParam]:
    """Signed in through the real sign-in (the emailed link); the browser's cookies after it."""
    with opened(browser, DESKTOP) as page:
        sign_in(page, application, base, address)
        assert page.url == f"{base}/team"
        return [
            {"name": c["name"], "value": c["value"], "url": base}
            for c in page.context.cookies()
            if c["name"] and c["value"]
        ]


@pytest.fixture(scope="module")
def world(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("every-page")
    application = _application(folder / "main")
    demo = _application(folder / "demo", demo=True)
    for app in (application, demo):
        app.team_members.add("Dana Ruiz", DANA, role="member")
        app.team_members.add("Max Weber", MAX, role="manager")
    launch_payroll(application, kickoff="2026-11-02")  # a month in, nothing done: at risk
    try:
        with live_server(application) as base, live_server(demo) as demo_base:
            yield World(
                application,
                base,
                demo_base,
                member=_cookies_of(browser, application, base, DANA),
                manager=_cookies_of(browser, application, base, MAX),
            )
    finally:
        application.close()
        demo.close()


def heading(page: Page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


def submit(page: Page, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


# -- the pages: each opens its page in ``page`` and says it is the one ----------------------------------------------


def customer_confirm_done(world: World, page: Page, token: str | None = None) -> None:
    page.goto(f"{world.base}/c/{token or world.customer_token()}/tasks/connect_sso/done")
    assert heading(page) == "Mark this task done?"


def customer_confirm_stuck(world: World, page: Page) -> None:
    page.goto(f"{world.base}/c/{world.customer_token()}/tasks/connect_sso/stuck")
    assert heading(page) == "Tell us what is in the way"


def customer_stuck_without_a_reason(world: World, page: Page) -> None:
    customer_confirm_stuck(world, page)
    page.get_by_label("What is in the way? (required)").fill("   ")  # passes the browser's check, not ours
    submit(page, "Report that we are stuck")
    assert heading(page) == "Tell us what is in the way"
    assert page.get_by_role("alert").is_visible()


def customer_marked_done(world: World, page: Page) -> None:
    customer_confirm_done(world, page)
    submit(page, "Yes, it is done")
    assert heading(page) == "Thank you: marked done"


def customer_reported_stuck(world: World, page: Page) -> None:
    customer_confirm_stuck(world, page)
    page.get_by_label("What is in the way? (required)").fill("Our identity provider <admin> is on leave")
    submit(page, "Report that we are stuck")
    assert page.get_by_role("heading", level=1).is_visible()
    assert "/stuck" in page.url and "is on leave" not in heading(page)


def customer_form_forged(world: World, page: Page) -> None:
    customer_confirm_done(world, page)
    page.locator("input[name=csrf]").evaluate("(e) => { e.value = 'forged'; }")
    submit(page, "Yes, it is done")
    assert heading(page) == "Please confirm again"


def customer_task_already_done(world: World, page: Page) -> None:
    page.goto(f"{world.base}/c/{world.customer_token(done=True)}/tasks/connect_sso/done")
    assert heading(page) == "Nothing more is needed for this task"


def customer_task_not_yours(world: World, page: Page) -> None:
    page.goto(f"{world.base}/c/{world.customer_token()}/tasks/configure/done")  # the engineer's
    assert heading(page) == "This task is not on your list"


def customer_link_altered(world: World, page: Page) -> None:
    token = world.customer_token()
    page.goto(f"{world.base}/c/{token[:-4]}AAAA/tasks/connect_sso/done")
    assert heading(page) == "This link is not valid"


def customer_link_replaced(world: World, page: Page) -> None:
    token = world.customer_token()
    project_id = world.application.customer_links.open(token).project.id
    world.application.customer_links.rotate(project_id)
    page.goto(f"{world.base}/c/{token}")
    assert heading(page) == "This link was replaced"


def customer_onboarding_on_hold(world: World, page: Page) -> None:
    token = world.customer_token()
    world.application.projects.hold(world.application.customer_links.open(token).project.id, by="dana")
    customer_confirm_done(world, page, token)
    submit(page, "Yes, it is done")
    assert heading(page) == "Your onboarding is paused"


def customer_onboarding_ended(world: World, page: Page) -> None:
    token = world.customer_token()
    project_id = world.application.customer_links.open(token).project.id
    world.application.projects.cancel(project_id, reason="the customer left", by="dana")
    page.goto(f"{world.base}/c/{token}")
    assert heading(page) == "This onboarding has ended"


def team_sign_in_mistyped(world: World, page: Page) -> None:
    page.goto(f"{world.base}/team/sign-in")
    page.get_by_label("Your email address").fill("dana at vendor")
    # the server's answer is what is looked at, not the browser's own check of the field
    page.locator("form").first.evaluate("(form) => { form.noValidate = true; }")
    submit(page, "Email me a sign-in link")
    assert heading(page) == "Sign in to the team's pages"
    assert "name@example.com" in page.inner_text("main")


def team_form_out_of_date(world: World, page: Page) -> None:
    page.goto(f"{world.base}/team/sign-in")
    page.get_by_label("Your email address").fill(DANA)
    page.locator("input[name=csrf]").evaluate("(e) => { e.value = 'stale'; }")
    submit(page, "Email me a sign-in link")
    assert heading(page) == "This form is out of date"


def team_sign_in_link_unknown(world: World, page: Page) -> None:
    page.goto(f"{world.base}/team/sign-in/not-a-link-we-made")
    assert heading(page) == "This sign-in link does not work"


def team_demo_sign_in(world: World, page: Page) -> None:
    page.goto(f"{world.demo_base}/team/demo-sign-in")
    assert heading(page) == "Sign in to the demo"


def team_demo_sign_in_refused(world: World, page: Page) -> None:
    page.goto(f"{world.base}/team/demo-sign-in")
    assert heading(page) == "Demo sign-in is not available here"


def team_not_for_this_role(world: World, page: Page) -> None:
    page.context.add_cookies(world.member)
    page.goto(f"{world.base}/team/reports")
    assert heading(page) == "This page is not for your role"


def team_project_not_found(world: World, page: Page) -> None:
    page.context.add_cookies(world.member)
    page.goto(f"{world.base}/team/projects/no-such-project")
    assert page.get_by_role("heading", level=1).is_visible()
    assert "no-such-project" in page.inner_text("main")


def team_report_list(world: World, page: Page) -> None:
    page.context.add_cookies(world.manager)
    page.goto(f"{world.base}/team/reports")
    with page.expect_navigation():
        page.locator("a[href^='/team/reports/projects?']").first.click()
    assert heading(page).startswith("Projects ")
    assert page.locator("main a[href^='/team/projects/']").count()


def team_report_list_refused(world: World, page: Page) -> None:
    page.context.add_cookies(world.manager)
    page.goto(f"{world.base}/team/reports/projects?report=nothing")
    assert page.get_by_role("heading", level=1).is_visible()
    assert "follow a count" in page.inner_text("main")


PAGES: dict[str, Callable[[World, Page], None]] = {
    f.__name__.replace("_", "-"): f
    for f in (
        customer_confirm_done,
        customer_confirm_stuck,
        customer_stuck_without_a_reason,
        customer_marked_done,
        customer_reported_stuck,
        customer_form_forged,
        customer_task_already_done,
        customer_task_not_yours,
        customer_link_altered,
        customer_link_replaced,
        customer_onboarding_on_hold,
        customer_onboarding_ended,
        team_sign_in_mistyped,
        team_form_out_of_date,
        team_sign_in_link_unknown,
        team_demo_sign_in,
        team_demo_sign_in_refused,
        team_not_for_this_role,
        team_project_not_found,
        team_report_list,
        team_report_list_refused,
    )
}


def unlabelled_fields(page: Page) -> list[str]:
    """The shown fields with no name for assistive technology: no <label> of theirs, no aria-label(ledby)."""
    found: list[str] = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((e) => e.checkVisibility())
            .filter((e) => e.labels.length === 0 && !(e.getAttribute('aria-label') || '').trim()
                && !(e.getAttribute('aria-labelledby') || '').split(/\\s+/).some((id) => id
                    && (document.getElementById(id)?.textContent || '').trim()))
            .map((e) => e.outerHTML.slice(0, 200))""",
        FIELDS,
    )
    return found


@pytest.mark.parametrize("opens", PAGES.values(), ids=PAGES.keys())
def test_the_page_is_accessible_labelled_fits_and_is_usable_by_keyboard(
    world: World, browser: Browser, viewport: Viewport, opens: Callable[[World, Page], None]
) -> None:
    with opened(browser, viewport) as page:
        opens(world, page)
        check_accessibility(page)
        assert unlabelled_fields(page) == [], "a field has no label"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport.width, f"{page.url} scrolls sideways at {viewport.width} px: {width} px wide"
        if page.locator(ACTIONS).count():
            assert_keyboard_reachable(page, ACTIONS, most_tabs=300)


def test_the_label_check_finds_a_field_without_a_label(browser: Browser) -> None:
    with opened(browser, DESKTOP) as page:
        page.set_content(
            '<label for="a">A</label><input id="a"><input aria-label="B"><span id="c">C</span>'
            '<select aria-labelledby="c"></select><label>D <textarea></textarea></label>'
            '<input name="unnamed"><input aria-labelledby="nowhere"><input type="hidden" name="h">'
        )
        assert unlabelled_fields(page) == ['<input name="unnamed">', '<input aria-labelledby="nowhere">']
