"""The unsubscribe pages in headless Chromium, served by a real server, at desktop and phone widths: no serious
accessibility violation (axe-core), the button reached and pressed by keyboard, and each page as its golden
screenshot. Also the browser helpers themselves: each finds what it is for."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from onboarding.adapters.email.unsubscribe import unsubscribe_token
from onboarding.bootstrap import Application, unsubscribe_secret
from tests.pages import (
    DESKTOP,
    Viewport,
    assert_keyboard_reachable,
    assert_matches_golden,
    check_accessibility,
    compare,
    focus_top,
    opened,
    screenshot,
)
from tests.web.test_unsubscribe_pages import LEE, _launch, _unsubscribed

# one database is enough for what a browser shows; tests/web/test_unsubscribe_pages.py runs both
sqlite_only = pytest.mark.parametrize("application", ["sqlite"], indirect=True)

CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea"


def _confirmation_url(application: Application, base: str) -> tuple[str, str]:
    project_id = _launch(application)
    token = unsubscribe_token(unsubscribe_secret(application.settings), email=LEE, project_id=project_id)
    return project_id, f"{base}/unsubscribe?token={token}"


@sqlite_only
def test_the_unsubscribe_pages_are_accessible_keyboard_usable_and_as_their_goldens(
    application: Application, live_url: str, browser_page: Page, viewport: Viewport
) -> None:
    page = browser_page
    project_id, url = _confirmation_url(application, live_url)

    page.goto(url)
    assert page.get_by_role("heading", level=1).inner_text() == "Stop emails about this onboarding?"
    assert "Acme <Manufacturing>" in page.inner_text("main")  # escaped in the HTML, shown as typed
    assert_matches_golden(page, f"unsubscribe-confirm-{viewport.name}")  # first: before anything has focus
    check_accessibility(page)
    assert_keyboard_reachable(page, CONTROLS)
    assert _unsubscribed(application, project_id) == []  # opening the page changed nothing

    # the button is pressed from the keyboard: focus it by tabbing, then Enter
    focus_top(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", level=1).inner_text() == "You are unsubscribed"
    assert _unsubscribed(application, project_id) == [LEE]
    check_accessibility(page)
    assert_matches_golden(page, f"unsubscribe-done-{viewport.name}")

    page.goto(url.replace("token=", "token=x"))  # an altered link
    assert page.get_by_role("heading", level=1).inner_text() == "This unsubscribe link is not valid"
    check_accessibility(page)
    assert_matches_golden(page, f"unsubscribe-refused-{viewport.name}")


@sqlite_only
def test_the_same_page_twice_gives_the_same_pixels(application: Application, live_url: str, browser: Browser) -> None:
    _, url = _confirmation_url(application, live_url)
    shots = []
    for _ in range(2):
        with opened(browser, DESKTOP) as page:
            page.goto(url)
            shots.append(screenshot(page))
    assert shots[0] == shots[1], "fonts or rendering are not deterministic: goldens would flap"


# -- the helpers find what they are for ----------------------------------------------------------------------------


def test_the_accessibility_check_fails_on_serious_violations_and_names_them(browser: Browser) -> None:
    with opened(browser, DESKTOP) as page:
        page.set_content(
            '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
            '<img src="data:,"><form><input type="text" name="reason"></form></main></body></html>'
        )
        with pytest.raises(pytest.fail.Exception) as failed:
            check_accessibility(page)
    message = str(failed.value)
    assert "[critical] image-alt" in message and "[critical] label" in message
    assert "input" in message and "https://dequeuniversity.com/rules/axe/" in message


def test_the_keyboard_check_fails_on_a_control_tab_never_reaches(browser: Browser) -> None:
    with opened(browser, DESKTOP) as page:
        page.set_content(
            '<!doctype html><html lang="en"><body><a href="#a">first</a>'
            '<div class="action" role="button">not focusable</div><button class="action">ok</button>'
            '<button class="action" hidden>not shown</button></body></html>'
        )
        assert_keyboard_reachable(page, "a, button.action")
        with pytest.raises(pytest.fail.Exception) as failed:
            assert_keyboard_reachable(page, ".action")
        assert "data-keyboard-probe" not in page.content()  # the page is left as it was
    assert "1 of 2" in str(failed.value) and "not focusable" in str(failed.value)


def test_a_changed_screenshot_is_found_and_a_diff_drawn(browser: Browser) -> None:
    with opened(browser, DESKTOP) as page:
        page.set_content("<!doctype html><html><body><p>Done on 7 December</p></body></html>")
        before = screenshot(page)
        page.set_content("<!doctype html><html><body><p>Done on 8 December</p></body></html>")
        after = screenshot(page)
    assert compare(before, before).ratio == 0
    changed = compare(after, before)
    assert 0 < changed.ratio < 0.01 and changed.diff is not None
    assert changed.diff.getpixel((0, 0)) != (255, 0, 0)
