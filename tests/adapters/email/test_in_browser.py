"""Every kind of email the engine sends, opened in a real browser (headless Chromium): what a person sees.

The HTML part of each rendered email is loaded by Chromium with a network log. The
checks: the key facts (customer, dates, tasks, go-live) are in the text the browser
renders (its ``innerText``: a hidden preheader does not count); a customer email
shows nothing internal; the page asks the network for nothing (inline CSS, no
remote images, scripts or fonts); every link is absolute; and a screenshot shows a
styled card with text on it, not a blank page. The checks are shown to fail on a
page that breaks them.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.rendering import MessageRenderer, day
from onboarding.adapters.store.memory import InMemoryProjectStore
from onboarding.core.lifecycle import Action, TaskState
from onboarding.core.messages import EMAIL_KINDS, MessageKind, OutgoingMessage, Person
from onboarding.core.status import spread_weekday
from onboarding.services.projects import ProjectService
from tests.adapters.email import samples
from tests.adapters.email.png import read_png
from tests.browser import FLAGS, Chromium

ROOT = Path(__file__).parents[3]
NOW = datetime(2026, 2, 2, 15, 30, tzinfo=UTC)
RENDERER = MessageRenderer(
    sender=Person(name="Vendor Onboarding", email="onboarding@vendor.example"),
    domain="onboarding.vendor.example",
    unsubscribe_url="https://onboarding.vendor.example/unsubscribe",
    unsubscribe_secret=b"browser-test-key",
    product_name="Vendor Onboarding",
)
# Appended to a copy of the email (never to what is screenshotted or sent): writes the
# text the browser lays out into the document, where --dump-dom shows it.
VISIBLE_TEXT_PROBE = '<script>document.body.setAttribute("data-visible-text", document.body.innerText)</script>'
PAGE_BACKGROUND = bytes.fromhex("f3f4f6")  # STYLES["body"]: the inline CSS was applied
CARD = bytes.fromhex("ffffff")
LOADS_SOMETHING = frozenset({"img", "script", "link", "iframe", "frame", "object", "embed", "video", "audio", "source"})


# -- loading a page -----------------------------------------------------------------


@dataclass
class Document(HTMLParser):
    """What --dump-dom printed, read back: tags, links, inline styles and the probe's text."""

    tags: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    visible_text: str = ""
    preheader: list[str] = field(default_factory=list)
    _in_preheader: int = 0

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append(tag)
        if tag == "a":
            self.links.append(values.get("href", ""))
        self.sources += [values[name] for name in ("src", "srcset", "background", "poster", "data") if name in values]
        if "style" in values:
            self.styles.append(values["style"])
        if tag == "body":
            self.visible_text = " ".join(values.get("data-visible-text", "").split())
        if self._in_preheader:
            self._in_preheader += 1
        elif tag == "div" and "display:none" in values.get("style", ""):
            self._in_preheader = 1

    def handle_endtag(self, tag: str) -> None:
        if self._in_preheader:
            self._in_preheader -= 1

    def handle_data(self, data: str) -> None:
        if self._in_preheader:
            self.preheader.append(data)


@dataclass(frozen=True)
class Page:
    html: Path  # the email's HTML part as it was sent
    document: Document  # the document Chromium built from it
    requests: list[str]  # what the page asked the network for


def html_part(raw: bytes) -> str:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    part = parsed.get_body(("html",))
    assert part is not None, "no HTML part"
    content = part.get_content()
    assert isinstance(content, str)
    return content


def page_requests(netlog: Path) -> list[str]:
    """URLs the page itself requested (the browser's own background traffic has another isolation key)."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start_job
        and (
            event["params"].get("network_isolation_key", "").startswith("file://")
            or event["params"].get("initiator") == "null"  # the opaque origin of a file:// page
        )
    ]


def open_page(chromium: Chromium, html: str, folder: Path) -> Page:
    folder.mkdir(parents=True, exist_ok=True)
    sent = folder / "email.html"
    sent.write_text(html, encoding="utf-8")
    probed = folder / "email-probed.html"
    assert html.count("</body>") == 1
    probed.write_text(html.replace("</body>", VISIBLE_TEXT_PROBE + "</body>"), encoding="utf-8")
    netlog = folder / "net.json"
    result = subprocess.run(
        [
            chromium.executable,
            *FLAGS,
            f"--user-data-dir={chromium.profile}",
            f"--log-net-log={netlog}",
            "--dump-dom",
            probed.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    document = Document()
    document.feed(result.stdout)
    document.close()
    assert document.visible_text, "the probe wrote no text: the page did not load or lay out"
    return Page(sent, document, page_requests(netlog))


# -- what each email must show ------------------------------------------------------


def key_facts(message: OutgoingMessage) -> list[str]:
    """What a reader must be able to see, taken from the message's own context."""
    c: Any = message.context
    if message.kind is MessageKind.kickoff:
        return [
            c["recipient_name"],
            c["project"]["customer"],
            f"kicks off on {day(c['kickoff_on'])}",
            c["role_title"],
            f"Projected go-live: {day(c['go_live']['projected_on'])}",
            *(f"{t['title']} {t['milestone']} {t.get('description', '')} {day(t['due_on'])}" for t in c["your_tasks"]),
            *(m["title"] for m in c["milestones"]),
        ]
    if message.kind is MessageKind.status:
        return [
            c["recipient_name"],
            f"{c['project']['customer']}: onboarding status",
            f"as of {day(c['as_of'])}",
            f"Projected go-live: {day(c['go_live']['projected_on'])}",
            f"Later than the committed date, {day(c['go_live']['committed_on'])}",
            c["go_live"]["reason"],
            *(f"{t['title']} {t['milestone']} {day(t['done_on'])}" for t in c["done_recently"]),
            *(f"{t['title']} {t['milestone']} {t['owner_name']} {day(t['due_on'])}" for t in c["next_up"]),
            *(
                f"{t['title']} {t['milestone']} {t.get('description', '')} {t['owner_name']} {day(t['due_on'])}"
                for t in c["needs_from_you"]
            ),
            "Overdue by 6 business days",
            c["vendor_contact"]["email"],
        ]
    if message.kind is MessageKind.nudge_digest:
        return [
            c["recipient_name"],
            *(
                f"{i['task_title']} {i['milestone']} {i.get('description', '')}"
                + (
                    f" Assigned to {i['owner_name']}; you are receiving this as their escalation contact."
                    * i["escalated"]
                )
                + f" {i['project']['customer']} {i['project']['blueprint_title']}"
                + (f" Contact: {i['contact']['name']}" if len(c.get("contacts", [])) > 1 else "")
                + f" {day(i['due_on'])}"
                + f" {i['days_overdue']} business day{'s' * (i['days_overdue'] != 1)} overdue"
                for i in c["items"]
            ),
        ]
    if message.kind is MessageKind.window_jump:
        return [
            c["recipient_name"],
            f"{c['project']['customer']} onboarding ({c['project']['blueprint_title']}, {c['project']['external_id']})",
            f"Committed go-live: {day(c['committed_on'])}",
            f"New projected go-live: {day(c['projected_on'])}",
            c["cause"],
            *(
                f"{t['title']} {t['milestone']} {t['owner_name']} {day(t['expected_on'])} "
                + (
                    f"done {day(t['done_on'])}"
                    if t["done_on"]
                    else f"still open (now projected {day(t['projected_on'])})"
                )
                + f" {t['slip_days']}"
                for t in c["causes"]
            ),
            c["explanation"],
            *(f"{day(r['date'])} {r['reason']}" for r in c["rejected"]),
        ]
    if message.kind is MessageKind.manager_report:
        return [
            c["recipient_name"],
            f"Onboarding report, week {c['period']}",
            f"as of {day(c['as_of'])}",
            *(f"{f['label']} {f['note']} {f['value']}".replace("  ", " ") for f in c["headline"]),
            *(f"{p['customer']}" for p in c["at_risk"]),
            *("; ".join(p["reasons"]) for p in c["at_risk"]),
        ]
    if message.kind is MessageKind.team_sign_in:
        return [c["recipient_name"], "Sign in to the team's pages", c["link"], f"within {c['expires_minutes']} minutes"]
    assert message.kind is MessageKind.automated
    return [
        c["subject"],
        f"{c['project']['blueprint_title']} onboarding for {c['project']['customer']}",
        *(line.strip() for line in c["body"].splitlines() if line.strip()),
    ]


def internal_to(message: OutgoingMessage) -> list[str]:
    """What only the vendor knows about the message: its key, the project's ids."""
    project: Any = message.context.get("project") or {}
    return [message.idempotency_key, *(v for v in (project.get("id"), project.get("external_id")) if v)]


def assert_what_a_person_sees(page: Page, message: OutgoingMessage) -> None:
    seen, source = page.document.visible_text, page.html.read_text(encoding="utf-8")
    for fact in key_facts(message):
        assert " ".join(fact.split()) in seen, f"{message.kind}: {fact!r} not shown"
    preheader = " ".join("".join(page.document.preheader).split())
    assert preheader and preheader not in seen, "the preheader must be in the document but hidden"
    assert not re.search(r"\b(None|True|False|undefined|nan)\b|\{\{|\{%|\[object", seen), seen
    if message.customer_facing:
        for secret in internal_to(message):
            assert secret not in seen and secret not in source, f"{message.kind}: {secret!r} leaks to the customer"
        assert "Unsubscribe from these emails" in seen
    else:
        assert "unsubscribe" not in seen.lower()


def assert_self_contained(page: Page) -> None:
    document = page.document
    assert page.requests == [], f"the page loaded {page.requests}"
    assert document.tags.count("script") == 1, "only the test's probe may be a script"
    assert not LOADS_SOMETHING.intersection(tag for tag in document.tags if tag != "script"), document.tags
    assert document.sources == [], document.sources
    assert "style" not in document.tags  # mail clients drop <style>: everything is inline
    assert not any(re.search(r"url\(|@import|expression\(", style, re.IGNORECASE) for style in document.styles)


def assert_links_absolute(page: Page) -> None:
    for link in page.document.links:
        parts = urlsplit(link)
        if parts.scheme == "mailto":
            assert re.fullmatch(r"[^@\s]+@[^@\s]+", parts.path), link
        else:
            assert parts.scheme == "https" and parts.netloc, f"not an absolute https link: {link!r}"


def assert_not_blank(png: Path) -> None:
    image = read_png(png)
    colours = image.pixels()
    total = image.width * image.height
    (_, most), *_ = colours.most_common(1)
    ink = sum(n for colour, n in colours.items() if sum(colour) < 3 * 110)  # dark text
    assert most < 0.9 * total, "one colour fills the page"
    assert colours[PAGE_BACKGROUND] > 0.05 * total and colours[CARD] > 0.2 * total, "no grey page around a white card"
    assert ink > 0.003 * total, f"hardly any text drawn ({ink} dark pixels)"
    assert len(colours) > 50  # anti-aliased text, borders, coloured status words


# -- the tests ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", EMAIL_KINDS, ids=str)
def test_every_email_reads_well_in_a_browser(chromium: Chromium, tmp_path: Path, kind: MessageKind) -> None:
    message = samples.ALL[kind]()
    html = html_part(RENDERER.render(message, now=NOW))
    page = open_page(chromium, html, tmp_path)

    assert_what_a_person_sees(page, message)
    assert_self_contained(page)
    assert_links_absolute(page)
    if kind is MessageKind.status:  # escaped task text stays text
        assert "Approve the <script>alert(1)</script> & Sons import" in page.document.visible_text
    if kind is MessageKind.team_sign_in:  # the sign-in link is a link
        assert message.context["link"] in page.document.links
    if kind is MessageKind.automated:  # a URL in the blueprint's text is a link, without the full stop after it
        assert "https://sandbox.example/globex?a=1&b=2" in page.document.links
    if message.customer_facing:
        assert RENDERER.unsubscribe_link(message) in page.document.links
    assert_not_blank(chromium.screenshot(page.html, tmp_path / f"{kind.value}.png", width=700, height=1100))


def test_a_status_email_built_by_the_engine_hides_internal_tasks(chromium: Chromium, tmp_path: Path) -> None:
    blueprint = ROOT / "blueprints" / "hr-platform-beside-payroll.yaml"
    loaded = FileBlueprints().load(str(blueprint))
    people = {
        key: Person(f"{key.replace('_', ' ').title()}", f"{key}@{role.side.value}.example", "America/New_York")
        for key, role in loaded.blueprint.roles.items()
    }
    clock = FixedClock(date(2026, 12, 4))
    service = ProjectService(
        store=InMemoryProjectStore(), blueprints=FileBlueprints(), clock=clock, sender=samples.DANA
    )
    project = service.launch(str(blueprint), customer="Initech", kickoff_on=date(2026, 12, 7), bindings=people).project
    # the project's own weekday of the week of Monday 14 December (its digest is spread), 10:00 in New York
    day = date(2026, 12, 14) + timedelta(days=spread_weekday(project.id))
    clock.set(day, at=datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC))
    for task in ("kickoff_call", "provision_tenant"):
        service.change_task(project.id, task, Action.complete, by="test")
    project = service.get(project.id)
    internal = [t for t in project.tasks if not t.customer_visible]
    assert any(t.state is TaskState.done for t in internal)  # done internal work is what a report would show
    messages = service.status_messages(project, service.blueprint_of(project), weekly_sent_on={})
    assert messages and all(m.customer_facing for m in messages)

    message = messages[0]
    page = open_page(chromium, html_part(RENDERER.render(message, now=clock.now())), tmp_path)
    seen, source = page.document.visible_text, page.html.read_text(encoding="utf-8")
    assert "Kickoff call" in seen and "Initech: onboarding status" in seen
    for task in internal:
        assert task.title not in seen and task.title not in source, f"internal task {task.title!r} shown"
    for secret in internal_to(message):
        assert secret not in source
    assert_self_contained(page)
    assert_links_absolute(page)


def test_the_checks_catch_a_page_that_loads_remote_things_and_links_relatively(
    chromium: Chromium, tmp_path: Path
) -> None:
    html = html_part(RENDERER.render(samples.kickoff_message(), now=NOW))
    tracked = html.replace(
        "</body>",
        '<img src="http://127.0.0.1:9/open.png" width="1" height="1">'
        '<div style="background:url(http://127.0.0.1:9/bg.png)">x</div>'
        '<a href="/account">Your account</a></body>',
    )
    page = open_page(chromium, tracked, tmp_path)
    assert set(page.requests) >= {"http://127.0.0.1:9/open.png", "http://127.0.0.1:9/bg.png"}
    with pytest.raises(AssertionError, match="the page loaded"):
        assert_self_contained(page)
    with pytest.raises(AssertionError, match="/account"):
        assert_links_absolute(page)


def test_a_blank_screenshot_is_caught(chromium: Chromium, tmp_path: Path) -> None:
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    with pytest.raises(AssertionError, match="one colour fills the page"):
        assert_not_blank(chromium.screenshot(blank, tmp_path / "blank.png", width=700, height=1100))


# -- at phone width -------------------------------------------------------------------

PHONE_WIDTH = 390  # CSS pixels: a current phone held upright
# Runs inside the email, laid out in a frame ``PHONE_WIDTH`` pixels wide (headless Chromium's window is at
# least 500 wide): writes, into the page around it, the frame's width, the email's scroll width and every
# element whose box reaches past the right edge (a reader would have to scroll sideways to see it).
OVERFLOW_PROBE = (
    "<script>const w = document.documentElement.clientWidth;"
    "const wide = [...document.body.querySelectorAll('*')]"
    ".filter(e => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > w + 0.5)"
    ".map(e => e.tagName + ': ' + (e.innerText || '').trim().slice(0, 60));"
    "parent.document.body.setAttribute('data-overflow', JSON.stringify("
    "{width: w, scroll: document.documentElement.scrollWidth, wide: wide}));</script>"
)


def overflow_at(chromium: Chromium, html: str, folder: Path, *, width: int = PHONE_WIDTH) -> dict[str, Any]:
    """What reaches past the right edge of a ``width``-pixel viewport."""
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "phone.html"
    probed = escape(html.replace("</body>", OVERFLOW_PROBE + "</body>"), quote=True)
    page.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe srcdoc="{probed}" '
        f'style="width:{width}px;height:900px;border:0"></iframe></body></html>',
        encoding="utf-8",
    )
    dom = chromium.dom(page)
    found = re.search(r'<body[^>]*data-overflow="([^"]*)"', dom)
    assert found, "the probe wrote nothing: the page did not load"
    measured: dict[str, Any] = json.loads(unescape(found.group(1)))
    assert measured["width"] == width, f"the frame is {measured['width']} px wide, not {width}"
    return measured


@pytest.mark.parametrize("kind", EMAIL_KINDS, ids=str)
def test_every_email_fits_a_phone_screen_without_scrolling_sideways(
    chromium: Chromium, tmp_path: Path, kind: MessageKind
) -> None:
    html = html_part(RENDERER.render(samples.ALL[kind](), now=NOW))
    measured = overflow_at(chromium, html, tmp_path)
    assert measured["scroll"] <= PHONE_WIDTH and measured["wide"] == [], measured


def test_the_phone_check_catches_a_page_wider_than_the_screen(chromium: Chromium, tmp_path: Path) -> None:
    html = html_part(RENDERER.render(samples.status_message(), now=NOW))
    wide = html.replace(
        "</body>", '<table><tr><td style="white-space:nowrap">' + "Mon 16 Feb 2026 " * 6 + "</td></tr></table></body>"
    )
    measured = overflow_at(chromium, wide, tmp_path)
    assert measured["scroll"] > PHONE_WIDTH and measured["wide"]
