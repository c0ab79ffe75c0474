"""Customer emails carry their recipient's signed links: View your onboarding, Done, Stuck and Snooze on each of
their open tasks listed, and (status and kickoff) the calendar feeds; in the HTML and the text part alike."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from onboarding.adapters.email.customer_links import CustomerLinkSigner
from onboarding.adapters.email.rendering import MessageRenderer
from onboarding.adapters.store.memory import InMemoryCustomerLinkKeys
from onboarding.core.customer_links import LinkKey, read_customer_link
from onboarding.core.lifecycle import ProjectState
from onboarding.core.messages import OutgoingMessage, Person
from tests.adapters.email import samples

SECRET = b"s" * 40
NOW = datetime(2026, 2, 2, 9, tzinfo=UTC)
BASE = "https://onboarding.example.com"
URL = re.compile(re.escape(BASE) + r"/c/([A-Za-z0-9_.-]+)(/[A-Za-z0-9_./-]*)?")


@pytest.fixture
def keys() -> InMemoryCustomerLinkKeys:
    return InMemoryCustomerLinkKeys()


def renderer(keys: InMemoryCustomerLinkKeys | None) -> MessageRenderer:
    return MessageRenderer(
        sender=Person("Vendor Onboarding", "onboarding@vendor.example"),
        domain="vendor.example",
        unsubscribe_url="https://onboarding.example.com/unsubscribe",
        unsubscribe_secret=SECRET,
        product_name="Vendor Onboarding",
        customer_links=None
        if keys is None
        else CustomerLinkSigner(secret=SECRET, public_url=BASE + "/", keys=keys, now=lambda: NOW),
    )


def with_keys(message: OutgoingMessage, field: str, name: str, keys_: list[str]) -> OutgoingMessage:
    context: dict[str, Any] = dict(message.context)
    context[field] = [{**item, name: key} for item, key in zip(context[field], keys_, strict=False)]
    return replace(message, context=context)


def parts(raw: bytes) -> tuple[str, str]:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def links(body: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2) or "") for m in URL.finditer(body)]


def test_a_status_email_links_its_recipient_to_the_page_the_actions_and_the_feeds(
    keys: InMemoryCustomerLinkKeys,
) -> None:
    message = with_keys(samples.status_message(), "needs_from_you", "key", ["confirm_bank", "approve_import"])
    text, html = parts(renderer(keys).render(message, now=NOW))
    for body in (text, html):
        found = links(body)
        paths = [path for _token, path in found]
        assert "" in paths  # View your onboarding
        for key in ("confirm_bank", "approve_import"):
            for action in ("done", "stuck", "snooze"):
                assert f"/tasks/{key}/{action}" in paths
        assert "/project.ics" in paths and "/mine.ics" in paths
        tokens = {token for token, _path in found}
        assert len(tokens) == 1  # one recipient, one project: one token
        link = read_customer_link(
            tokens.pop(),
            secret=SECRET,
            link_key=keys.link_key(message.project_id or ""),
            project_state=ProjectState.active,
            ended_on=None,
            today=NOW.date(),
        )
        assert (link.project_id, link.email) == (message.project_id, message.to[0].email)
    assert "View your onboarding" in text and "View your onboarding" in html


def test_only_the_customers_own_open_tasks_get_actions(keys: InMemoryCustomerLinkKeys) -> None:
    message = samples.status_message()  # no task keys: the tasks are not the reader's to act on
    text, html = parts(renderer(keys).render(message, now=NOW))
    assert "/tasks/" not in text and "/tasks/" not in html
    assert "View your onboarding" in text


def test_a_kickoff_email_links_the_page_the_feeds_and_the_recipients_tasks(keys: InMemoryCustomerLinkKeys) -> None:
    message = samples.kickoff_message()
    message = with_keys(message, "your_tasks", "key", [f"t{i}" for i in range(len(message.context["your_tasks"]))])
    text, html = parts(renderer(keys).render(message, now=NOW))
    for body in (text, html):
        paths = [path for _token, path in links(body)]
        assert "" in paths and "/project.ics" in paths and "/mine.ics" in paths
        assert "/tasks/t0/done" in paths


def test_a_nudge_digest_links_each_customer_task_of_its_project(keys: InMemoryCustomerLinkKeys) -> None:
    message = samples.nudge_digest_message()
    message = replace(message, customer_facing=True)
    message = with_keys(message, "items", "task_key", ["late_one"])
    text, html = parts(renderer(keys).render(message, now=NOW))
    for body in (text, html):
        paths = [path for _token, path in links(body)]
        assert "/tasks/late_one/done" in paths and "/tasks/late_one/snooze" in paths
        assert paths.count("") == len(message.context["items"])  # each item's project page


def test_vendor_emails_and_renderers_without_a_signer_carry_no_customer_links(keys: InMemoryCustomerLinkKeys) -> None:
    vendor = with_keys(samples.nudge_digest_message(), "items", "task_key", ["late_one"])  # not customer-facing
    for raw in (
        renderer(keys).render(vendor, now=NOW),
        renderer(keys).render(samples.window_jump_message(), now=NOW),
        renderer(None).render(with_keys(samples.status_message(), "needs_from_you", "key", ["confirm_bank"]), now=NOW),
    ):
        text, html = parts(raw)
        assert not links(text) and not links(html)


class CountedKeys(InMemoryCustomerLinkKeys):
    """Counts the reads: one at a time, or together."""

    def __init__(self) -> None:
        super().__init__()
        self.one = self.together = 0

    def ensure_link_key(self, project_id: str, *, now: datetime) -> LinkKey:
        self.one += 1
        return super().ensure_link_key(project_id, now=now)

    def ensure_link_keys(self, project_ids: Iterable[str], *, now: datetime) -> dict[str, LinkKey]:
        self.together += 1
        return {p: InMemoryCustomerLinkKeys.ensure_link_key(self, p, now=now) for p in project_ids}


def test_a_batch_prepared_together_reads_its_keys_once_and_renders_the_same_bytes() -> None:
    base = samples.status_message()
    batch = [replace(base, idempotency_key=f"{base.idempotency_key}:{n}", project_id=f"p-{n % 3}") for n in range(6)]
    batch = [replace(m, context={**m.context, "project": {**m.context["project"], "id": m.project_id}}) for m in batch]
    keys = CountedKeys()
    one_by_one = renderer(keys)
    expected = [one_by_one.render(message, now=NOW) for message in batch]
    assert (keys.one, keys.together) == (6, 0)  # each email reads its project's key

    together = renderer(keys)
    together.prepare(batch)
    assert [together.render(message, now=NOW) for message in batch] == expected
    assert (keys.one, keys.together) == (6, 1)  # the batch read its three projects' keys at once
    keys.rotate_link_key("p-0", now=NOW)
    together.prepare(())  # forgotten: the next email reads its key again, and honours the rotation
    rotated = together.render(batch[0], now=NOW)
    assert keys.one == 7 and rotated != expected[0]
