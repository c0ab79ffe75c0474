"""Pages in a real browser: the app served by a real server, looked at by headless Chromium through Playwright.

- ``browser`` (fixture, one per test module): Debian's Chromium driven by Playwright's sync API; no browser is
  ever downloaded. Without Chromium the tests that use it skip, except under CI=true, where they fail.
- ``viewport`` (fixture, parametrized): ``DESKTOP`` (1280x900) and ``PHONE`` (390x844, scale 1, mobile);
  ``browser_page`` is a fresh page of a fresh context at that size. ``opened(browser, viewport)`` makes one
  anywhere else.
- ``live_server(application)``: ``create_app(application)`` served by uvicorn in a background thread on a free
  port, as a context manager yielding its base URL (``live_url`` is the fixture of it for the ``application``
  fixture of tests/web/conftest.py).
- ``check_accessibility(page)``: axe-core injected into the page; fails on any violation of impact serious or
  critical. axe-core is pinned in tests/package.json and tests/package-lock.json and installed by
  ``make test`` (``npm ci --prefix tests``); without it the check fails under CI=true and skips otherwise.
- ``assert_matches_golden(page, name)``: a full-page screenshot against tests/golden/pages/<name>.png, within
  a small share of differing pixels. ``pytest --update-golden`` (or ``UPDATE_GOLDENS=1``) rewrites the
  goldens; on a mismatch the actual screenshot and a diff image are written next to the golden
  (``<name>.actual.png``, ``<name>.diff.png``, not committed) and the message names them.
- ``assert_keyboard_reachable(page, selector)``: tabs through the page from its top and checks that every
  matching control receives focus.

The goldens are pixels of this machine's Chromium and fonts (Arial is Liberation Sans here); the same page
rendered twice gives the same bytes (tests/web/test_pages_in_browser.py holds that).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image, ImageChops
from playwright.sync_api import Browser, Page, sync_playwright

from onboarding.bootstrap import Application
from onboarding.web.app import create_app

TESTS = Path(__file__).parent
GOLDEN_PAGES = TESTS / "golden" / "pages"
AXE = TESTS / "node_modules" / "axe-core" / "axe.min.js"

# Same pixels for the same page: no LCD subpixel text, no hinting differences, sRGB, no scrollbars.
CHROMIUM_ARGS = (
    "--no-sandbox",  # tests run as root here
    "--disable-gpu",
    "--font-render-hinting=none",
    "--disable-lcd-text",
    "--force-color-profile=srgb",
    "--hide-scrollbars",
)


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


def _missing(what: str) -> None:
    """Skip, or fail under CI=true, where everything the browser tests need must be there."""
    if _in_ci():
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(what + " is missing")


# -- the browser ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewport:
    name: str
    width: int
    height: int
    mobile: bool


DESKTOP = Viewport("desktop", 1280, 900, mobile=False)
PHONE = Viewport("phone", 390, 844, mobile=True)


def chromium_executable() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not one per session: while Playwright's sync API is started, the main
    thread has an asyncio loop running, and asyncio.run() in any later test would fail."""
    executable = chromium_executable()
    if executable is None:
        _missing("headless Chromium (apt-get install chromium)")
        raise AssertionError("unreachable")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        yield launched
        launched.close()


@contextmanager
def opened(browser: Browser, viewport: Viewport) -> Iterator[Page]:
    """A fresh page in a fresh context (no cookies, no cache) of the given size, in UTC, English, light."""
    context = browser.new_context(
        viewport={"width": viewport.width, "height": viewport.height},
        device_scale_factor=1,
        is_mobile=viewport.mobile,
        has_touch=viewport.mobile,
        locale="en-US",
        timezone_id="UTC",
        color_scheme="light",
        reduced_motion="reduce",
    )
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(params=[DESKTOP, PHONE], ids=lambda v: v.name)
def viewport(request: pytest.FixtureRequest) -> Viewport:
    assert isinstance(request.param, Viewport)
    return request.param


@pytest.fixture
def browser_page(browser: Browser, viewport: Viewport) -> Iterator[Page]:
    with opened(browser, viewport) as page:
        yield page


# -- the server ----------------------------------------------------------------------------------------------------


@contextmanager
def live_server(application: Application) -> Iterator[str]:
    """``create_app(application)`` served by uvicorn on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    config = uvicorn.Config(
        create_app(application), host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the live server did not start")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def live_url(application: Application) -> Iterator[str]:
    with live_server(application) as url:
        yield url


# -- accessibility -------------------------------------------------------------------------------------------------

_SERIOUS = ("serious", "critical")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of the page as it is now (every rule axe runs by default)."""
    if not AXE.exists():
        _missing(f"axe-core ({AXE.relative_to(TESTS.parent)}: npm ci --prefix tests, which make test runs)")
    # evaluated through the DevTools protocol: the page's own Content-Security-Policy stays on and still allows it
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    assert isinstance(result, list)
    return result


def describe_violations(violations: Sequence[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node['html'][:200]}")
            lines += [f"      {line}" for line in str(node.get("failureSummary", "")).splitlines()]
    return "\n".join(lines)


def check_accessibility(page: Page) -> None:
    """Fail on any axe-core violation of impact serious or critical, listed with where and how to fix it."""
    serious = [v for v in axe_violations(page) if v.get("impact") in _SERIOUS]
    if serious:
        pytest.fail(f"accessibility violations on {page.url}:\n{describe_violations(serious)}", pytrace=False)


# -- keyboard ------------------------------------------------------------------------------------------------------

_PROBE = "data-keyboard-probe"


def focus_top(page: Page) -> None:
    """Put the keyboard at the top of the page, as on a page just opened: the next Tab goes to its first control.

    (A focused element removed at once leaves the browser's sequential focus starting point where it was.)
    """
    page.evaluate(
        """() => {
            const start = document.createElement('span');
            start.tabIndex = -1;
            document.body.prepend(start);
            start.focus();
            start.remove();
            window.scrollTo(0, 0);
        }"""
    )


def assert_keyboard_reachable(page: Page, selector: str, *, most_tabs: int = 200) -> None:
    """Tab through the page from its top: every shown element matching ``selector`` must receive focus (one
    hidden, as by ``display: none`` or a closed ``<details>``, is not asked for)."""
    count = page.evaluate(
        """([selector, probe]) => {
            const found = [...document.querySelectorAll(selector)].filter((e) => e.checkVisibility());
            found.forEach((element, i) => element.setAttribute(probe, String(i)));
            return found.length;
        }""",
        [selector, _PROBE],
    )
    assert count, f"nothing on {page.url} matches {selector!r}"
    focus_top(page)
    wanted = set(range(count))
    reached: set[int] = set()
    seen: list[str] = []
    try:
        for _ in range(most_tabs):
            page.keyboard.press("Tab")
            focused = page.evaluate(
                """(probe) => {
                    const a = document.activeElement;
                    if (!a || a === document.body) return [null, 'body'];
                    return [a.getAttribute(probe), a.outerHTML.slice(0, 120)];
                }""",
                _PROBE,
            )
            mark, html = focused
            if mark is not None:
                reached.add(int(mark))
            if html in seen[:1] or (html == "body" and seen):
                break  # back where tabbing started: the whole page went round
            seen.append(html)
            if reached == wanted:
                return
        missing = page.evaluate(
            "([selector, probe, reached]) => [...document.querySelectorAll(`[${probe}]`)]"
            ".filter(e => !reached.includes(Number(e.getAttribute(probe)))).map(e => e.outerHTML.slice(0, 200))",
            [selector, _PROBE, sorted(reached)],
        )
        pytest.fail(
            f"not reachable by keyboard on {page.url} ({len(missing)} of {count} matching {selector!r}):\n"
            + "\n".join(f"    {m}" for m in missing)
            + "\nfocus went through:\n"
            + "\n".join(f"    {s}" for s in seen),
            pytrace=False,
        )
    finally:
        page.evaluate(
            "(probe) => document.querySelectorAll(`[${probe}]`).forEach(e => e.removeAttribute(probe))", _PROBE
        )


# -- goldens -------------------------------------------------------------------------------------------------------

_update_from_option = False


def pytest_configure(config: pytest.Config) -> None:
    global _update_from_option  # noqa: PLW0603 - the --update-golden switch of tests/conftest.py, read once
    _update_from_option = bool(config.getoption("--update-golden", default=False))


def updating_goldens() -> bool:
    return _update_from_option or os.environ.get("UPDATE_GOLDENS") == "1"


def screenshot(page: Page) -> bytes:
    """The whole page as PNG bytes, without a blinking caret or animations."""
    return page.screenshot(full_page=True, animations="disabled", caret="hide", scale="css")


@dataclass(frozen=True)
class Difference:
    ratio: float  # the share of pixels that differ
    diff: Image.Image | None  # the golden, greyed, with differing pixels in red (None: sizes differ)
    reason: str


def compare(actual: bytes, golden: bytes, *, channel_tolerance: int = 8) -> Difference:
    """How far two screenshots are apart: pixels whose colour differs by more than ``channel_tolerance`` in
    any channel, as a share of all pixels."""
    a = Image.open(BytesIO(actual)).convert("RGB")
    g = Image.open(BytesIO(golden)).convert("RGB")
    if a.size != g.size:
        return Difference(1.0, None, f"size {a.size[0]}x{a.size[1]}, golden {g.size[0]}x{g.size[1]}")
    delta = ImageChops.difference(a, g).convert("L")  # not exact per channel, close enough to find changes
    mask = delta.point(lambda v: 255 if v > channel_tolerance else 0)
    changed = mask.histogram()[255]
    ratio = changed / (a.size[0] * a.size[1])
    diff = Image.composite(
        Image.new("RGB", g.size, (255, 0, 0)), Image.blend(g.convert("L").convert("RGB"), g, 0.3), mask
    )
    return Difference(ratio, diff, f"{changed} pixels differ ({ratio:.3%})")


def assert_matches_golden(page: Page, name: str, *, tolerance: float = 0.002) -> None:
    """The page's full screenshot against tests/golden/pages/<name>.png: at most ``tolerance`` of its pixels
    differing. Rewritten with ``pytest --update-golden`` or ``UPDATE_GOLDENS=1``."""
    golden = GOLDEN_PAGES / f"{name}.png"
    actual_path, diff_path = golden.with_suffix(".actual.png"), golden.with_suffix(".diff.png")
    actual = screenshot(page)
    if updating_goldens():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(actual)
        actual_path.unlink(missing_ok=True)
        diff_path.unlink(missing_ok=True)
        return
    if not golden.exists():
        actual_path.parent.mkdir(parents=True, exist_ok=True)
        actual_path.write_bytes(actual)
        pytest.fail(
            f"no golden {golden}; the page as shown now is in {actual_path}: "
            "run pytest --update-golden (or UPDATE_GOLDENS=1) and review the image",
            pytrace=False,
        )
    difference = compare(actual, golden.read_bytes())
    if difference.ratio <= tolerance:
        actual_path.unlink(missing_ok=True)
        diff_path.unlink(missing_ok=True)
        return
    actual_path.write_bytes(actual)
    if difference.diff is not None:
        difference.diff.save(diff_path)
    pytest.fail(
        f"{page.url} does not match {golden} at {page.viewport_size}: {difference.reason}, "
        f"more than {tolerance:.2%}.\n    actual: {actual_path}\n    diff:   "
        + (str(diff_path) if difference.diff is not None else "(none: the sizes differ)")
        + "\nIf the change is deliberate: pytest --update-golden (or UPDATE_GOLDENS=1), and review the images.",
        pytrace=False,
    )
