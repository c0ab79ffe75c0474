"""The customer pages over HTTP, on SQLite and PostgreSQL: what a link opens, what it refuses, and that a GET
never changes anything while a confirmed POST does (with its anti-forgery value, from this site only)."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from onboarding.adapters.clock import FixedClock
from onboarding.bootstrap import Application
from onboarding.core.lifecycle import Action, TaskState
from onboarding.core.messages import Person
from onboarding.settings import Settings
from onboarding.web.app import create_app
from tests.web.conftest import TODAY

HIDDEN_WORK = str(Path(__file__).parents[1] / "fixtures" / "customer" / "hidden-work.yaml")
PEOPLE = {
    "csm": Person("Dana Ruiz", "dana@vendor.example"),
    "engineer": Person("Ivo Petrov", "ivo@vendor.example"),
    "admin": Person("Lee <script>alert('name')</script> Park", "lee@acme.example"),
    "sponsor": Person("Alex Brown", "alex@acme.example"),
}
LEE, ALEX = "lee@acme.example", "alex@acme.example"
# the internal work's titles and keys; each title by two words, which no token or CSRF value holds by chance
HIDDEN = ("Zqx internal", "Wpj margin", "Vqk vendor", "secret_review", "margin_check")


def launch(application: Application, customer: str = "Acme <script>alert('customer')</script>") -> str:
    project = application.projects.launch(
        HIDDEN_WORK, customer=customer, kickoff_on=date(2026, 12, 7), bindings=PEOPLE
    ).project
    application.projects.change_task(project.id, "kickoff_call", Action.complete, by="dana")
    return project.id


def path_of(application: Application, project_id: str, email: str = LEE) -> str:
    return "/c/" + application.customer_links.token_for(project_id, email)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def state(application: Application, project_id: str, task: str) -> TaskState:
    return application.projects.get(project_id).task(task).state


def assert_strict_headers(response, *, ancestors: str = "'none'") -> None:  # type: ignore[no-untyped-def]
    csp = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce is not None
    assert csp == (
        f"default-src 'none'; style-src 'nonce-{nonce.group(1)}'; form-action 'self'; "
        f"frame-ancestors {ancestors}; base-uri 'none'"
    )
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    if response.request.method != "HEAD":
        assert f'<style nonce="{nonce.group(1)}">' in response.text
        assert "<script" not in response.text  # every user text escaped, no script of ours either


def test_the_status_page_shows_the_persons_onboarding_and_nothing_internal(
    application: Application, client: TestClient
) -> None:
    pid = launch(application)
    response = client.get(path_of(application, pid))
    assert response.status_code == 200
    assert_strict_headers(response)
    page = response.text
    assert "Acme &lt;script&gt;alert(&#39;customer&#39;)&lt;/script&gt;: your onboarding" in page
    assert "Workspace &lt;script&gt;" in page  # the blueprint's title, escaped
    assert "Connect &lt;b&gt;SSO&lt;/b&gt;" in page
    assert "identity provider &amp; send us" in page
    assert "Projected go-live" in page and "Why this date" in page
    for hidden in HIDDEN:
        assert hidden not in page
    assert "/tasks/connect_sso/done" in page and "/tasks/sign_off/stuck" in page
    assert "/tasks/configure/" not in page  # vendor work is shown nowhere as an action
    assert "project.ics" in page and "mine.ics" in page
    assert client.head(path_of(application, pid)).status_code == 200


def test_one_token_never_opens_another_project_or_person(application: Application, client: TestClient) -> None:
    first, second = launch(application, "First Co"), launch(application, "Second Co")
    lee_first = client.get(path_of(application, first)).text
    alex_second = client.get(path_of(application, second, ALEX)).text
    assert "First Co" in lee_first and "Second Co" not in lee_first
    assert "Second Co" in alex_second and "First Co" not in alex_second
    assert "for Alex Brown" in alex_second and "Lee" not in alex_second.split("What we need")[0]
    # a token's names swapped under another's signature
    mine = application.customer_links.token_for(first, LEE)
    theirs = application.customer_links.token_for(second, ALEX)
    swapped = theirs.split(".")[0] + "." + mine.split(".")[1]
    response = client.get(f"/c/{swapped}")
    assert response.status_code == 403 and "customer-link-invalid" in response.text
    # and a task of another project through one's own link: not on the list, nothing changed
    refused = client.get(f"/c/{mine}/tasks/secret_review/done")
    assert refused.status_code == 404 and "task-not-yours" in refused.text


@pytest.mark.parametrize(
    "alter", [lambda t: t[:-3] + ("AAA" if t[-3:] != "AAA" else "BBB"), lambda t: t[:5], lambda t: "x" + t, str.upper]
)
def test_an_altered_link_is_refused_with_a_friendly_page(application: Application, client: TestClient, alter) -> None:  # type: ignore[no-untyped-def]
    pid = launch(application)
    token = application.customer_links.token_for(pid, LEE)
    for suffix in ("", "/tasks/connect_sso/done", "/project.ics", "/mine.ics"):
        response = client.get(f"/c/{alter(token)}{suffix}")
        assert response.status_code == 403
        assert "Traceback" not in response.text
        if not suffix.endswith(".ics"):
            assert_strict_headers(response)
            assert "This link is not valid" in response.text and "customer-link-invalid" in response.text


def test_a_revoked_link_is_refused_and_a_new_one_works(application: Application, client: TestClient) -> None:
    pid = launch(application)
    old = path_of(application, pid)
    application.customer_links.rotate(pid)
    response = client.get(old)
    assert response.status_code == 403 and "This link was replaced" in response.text
    assert_strict_headers(response)
    assert client.get(path_of(application, pid)).status_code == 200


def test_an_expired_link_is_refused(application: Application, client: TestClient) -> None:
    pid = launch(application)
    path = path_of(application, pid)
    application.projects.cancel(pid, reason="stopped", by="dana")
    for suffix in ("", "/tasks/connect_sso/done", "/project.ics"):
        response = client.get(path + suffix)
        assert response.status_code == 410
        assert "customer-link-expired" in response.text or "ended" in response.text
    assert client.head(path).status_code == 410


def test_a_get_of_an_action_link_changes_nothing(application: Application, client: TestClient) -> None:
    pid = launch(application)
    path = path_of(application, pid)
    events = len(application.projects.events(pid))
    for action in ("done", "stuck", "snooze"):
        response = client.get(f"{path}/tasks/connect_sso/{action}")
        assert response.status_code == 200
        assert_strict_headers(response)
        assert 'method="post"' in response.text
        assert client.head(f"{path}/tasks/connect_sso/{action}").status_code == 200
    assert len(application.projects.events(pid)) == events
    assert state(application, pid, "connect_sso") is TaskState.pending


def test_a_confirmed_done_records_it_as_the_customer(application: Application, client: TestClient) -> None:
    pid = launch(application)
    path = f"{path_of(application, pid)}/tasks/connect_sso/done"
    csrf = csrf_of(client.get(path).text)
    response = client.post(path, data={"csrf": csrf})
    assert response.status_code == 200 and "marked done" in response.text
    assert_strict_headers(response)
    assert state(application, pid, "connect_sso") is TaskState.done
    event = next(e for e in reversed(application.projects.events(pid)) if e.task_key == "connect_sso")
    assert event.actor == PEOPLE["admin"].name
    again = client.post(path, data={"csrf": csrf})
    assert again.status_code == 409 and "Nothing more is needed" in again.text
    assert "Connect &lt;b&gt;SSO&lt;/b&gt;" in client.get(path).text  # the already-done page names it, escaped


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        ({}, {}),
        ({"csrf": "forged"}, {}),
        ("csrf", {"Origin": "https://evil.example"}),
        ("csrf", {"Sec-Fetch-Site": "cross-site"}),
        ("other-task", {}),
    ],
)
def test_a_post_without_the_forms_token_or_from_another_site_is_refused(
    application: Application,
    client: TestClient,
    data,
    headers,  # type: ignore[no-untyped-def]
) -> None:
    pid = launch(application)
    base = path_of(application, pid)
    if data == "csrf":
        data = {"csrf": csrf_of(client.get(f"{base}/tasks/connect_sso/done").text)}
    elif data == "other-task":  # the value of another task's form
        data = {"csrf": csrf_of(client.get(f"{base}/tasks/sign_off/done").text)}
    response = client.post(f"{base}/tasks/connect_sso/done", data=data, headers=headers)
    assert response.status_code == 403 and "forged-form" in response.text
    assert state(application, pid, "connect_sso") is TaskState.pending


def test_stuck_needs_a_reason_and_tells_the_vendor(application: Application, client: TestClient) -> None:
    pid = launch(application)
    path = f"{path_of(application, pid)}/tasks/connect_sso/stuck"
    csrf = csrf_of(client.get(path).text)
    empty = client.post(path, data={"csrf": csrf, "reason": "  "})
    assert empty.status_code == 422 and 'role="alert"' in empty.text
    assert state(application, pid, "connect_sso") is TaskState.pending
    reason = "<script>alert('reason')</script> our IdP admin is away"
    response = client.post(path, data={"csrf": csrf, "reason": reason})
    assert response.status_code == 200 and "we are on it" in response.text
    assert state(application, pid, "connect_sso") is TaskState.blocked
    # the vendor's contact has the email now (the page's answer delivered it), not at the next sweep
    folder = mailbox.Maildir(application.settings.effective_maildir, create=False)
    told = [
        m
        for m in (email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in folder)
        if "our IdP admin is away" in m.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    ]
    assert len(told) == 1 and all(a.domain == "vendor.example" for a in told[0]["To"].addresses)
    assert [a.addr_spec for a in told[0]["Reply-To"].addresses] == ["lee@acme.example"]  # a name with <> is quoted
    page = client.get(path_of(application, pid)).text
    assert "Reported stuck: &ldquo;&lt;script&gt;alert(&#39;reason&#39;)&lt;/script&gt; our IdP admin" in page
    assert "<script>alert('reason')" not in page
    history = application.projects.events(pid)
    assert any(e.kind == "task_blocked" and e.data.get("reason") == reason for e in history)


def test_a_block_the_team_records_shows_as_stuck_without_its_internal_reason(
    application: Application, client: TestClient
) -> None:
    pid = launch(application)
    application.projects.change_task(
        pid, "connect_sso", Action.block, by=PEOPLE["csm"].name, reason="INTERNAL vendor margin issue"
    )
    page = client.get(path_of(application, pid)).text
    assert "Reported stuck. We are on it." in page and "INTERNAL" not in page
    # a block a customer of the project recorded shows the reason they gave
    application.projects.change_task(pid, "connect_sso", Action.unblock, by="dana")
    application.projects.change_task(
        pid, "connect_sso", Action.block, by=PEOPLE["sponsor"].name, reason="waiting on IT"
    )
    assert "Reported stuck: &ldquo;waiting on IT&rdquo;" in client.get(path_of(application, pid)).text


def test_an_action_before_kickoff_says_the_onboarding_has_not_started(
    application: Application, client: TestClient
) -> None:
    pid = application.projects.launch(
        HIDDEN_WORK, customer="Acme", kickoff_on=TODAY + timedelta(days=1), bindings=PEOPLE
    ).project.id
    path = f"{path_of(application, pid)}/tasks/connect_sso/stuck"
    answer = client.post(path, data={"csrf": csrf_of(client.get(path).text), "reason": "waiting on IT"})
    assert answer.status_code == 409 and "has not started yet" in answer.text
    assert "Something on our side failed" not in answer.text
    assert state(application, pid, "connect_sso") is TaskState.pending


def test_snooze_takes_a_day_within_the_limits(application: Application, client: TestClient) -> None:
    pid = launch(application)
    path = f"{path_of(application, pid)}/tasks/connect_sso/snooze"
    page = client.get(path).text
    csrf = csrf_of(page)
    offered = re.findall(r'<option value="([0-9-]+)"', page)
    assert offered and all(date.fromisoformat(day).weekday() < 5 for day in offered)  # business days only
    for bad in ("2030-01-01", "soon", "2026-12-07"):
        response = client.post(path, data={"csrf": csrf, "until": bad})
        assert response.status_code == 422
        assert_strict_headers(response)
    response = client.post(path, data={"csrf": csrf, "until": offered[-1]})
    assert response.status_code == 200 and "Reminders paused" in response.text
    assert "Reminders paused until" in client.get(path_of(application, pid)).text


def test_calendar_feeds_are_ics_of_what_the_customer_may_see(application: Application, client: TestClient) -> None:
    pid = launch(application)
    base = path_of(application, pid)
    project = client.get(f"{base}/project.ics")
    mine = client.get(f"{base}/mine.ics")
    for response in (project, mine):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/calendar")
        assert response.text.startswith("BEGIN:VCALENDAR")
        for hidden in HIDDEN:
            assert hidden not in response.text.replace("\r\n ", "")  # unfolded (RFC 5545)
    assert "go-live@" in project.text and "connect_sso.task@" in mine.text


def test_frame_ancestors_follow_the_setting(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    settings = Settings(
        data_dir=tmp_path / "data", secret_key="k" * 40, frame_ancestors="https://portal.example.com 'self'"
    )
    application = Application(settings, clock=FixedClock(TODAY, at=datetime(2026, 12, 7, 9, tzinfo=UTC)))
    pid = launch(application)
    with TestClient(create_app(application)) as client:
        response = client.get(path_of(application, pid))
    assert_strict_headers(response, ancestors="https://portal.example.com 'self'")
    assert "x-frame-options" not in response.headers
    application.close()


@pytest.mark.parametrize("value", ["*", "javascript:alert(1)", "https://a.example/path", "https://a.example;x"])
def test_frame_ancestors_refuses_what_is_not_an_origin(value: str) -> None:
    with pytest.raises(ValueError, match="frame source"):
        Settings(frame_ancestors=value)


def test_a_done_the_plan_cannot_take_yet_gets_a_page_that_names_no_internal_work(
    application: Application, client: TestClient
) -> None:
    pid = launch(application)
    path = f"{path_of(application, pid, ALEX)}/tasks/sign_off/done"  # waits for internal work, among others
    response = client.post(path, data={"csrf": csrf_of(client.get(path).text)})
    assert response.status_code == 409 and "cannot be marked done yet" in response.text
    assert_strict_headers(response)
    for hidden in HIDDEN:
        assert hidden not in response.text
    assert state(application, pid, "sign_off") is TaskState.pending


def test_stuck_twice_and_a_paused_onboarding_get_friendly_pages(application: Application, client: TestClient) -> None:
    pid = launch(application)
    path = f"{path_of(application, pid)}/tasks/connect_sso/stuck"
    csrf = csrf_of(client.get(path).text)
    assert client.post(path, data={"csrf": csrf, "reason": "no admin"}).status_code == 200
    again = client.post(path, data={"csrf": csrf, "reason": "still no admin"})
    assert again.status_code == 409 and "already recorded" in again.text
    application.projects.hold(pid, by="dana", reason="customer asked for a pause")
    done = f"{path_of(application, pid)}/tasks/connect_sso/done"
    paused = client.post(done, data={"csrf": csrf_of(client.get(done).text)})
    assert paused.status_code == 409 and "paused" in paused.text
    assert state(application, pid, "connect_sso") is TaskState.blocked


def test_done_on_a_stuck_task_the_plan_cannot_take_leaves_it_stuck(
    application: Application, client: TestClient
) -> None:
    pid = launch(application)
    stuck = f"{path_of(application, pid, ALEX)}/tasks/sign_off/stuck"
    client.post(stuck, data={"csrf": csrf_of(client.get(stuck).text), "reason": "waiting on legal"})
    events = len(application.projects.events(pid))
    done = f"{path_of(application, pid, ALEX)}/tasks/sign_off/done"
    response = client.post(done, data={"csrf": csrf_of(client.get(done).text)})
    assert response.status_code == 409
    assert state(application, pid, "sign_off") is TaskState.blocked
    assert len(application.projects.events(pid)) == events
