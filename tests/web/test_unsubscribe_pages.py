"""The unsubscribe pages end to end: a real customer email's link and List-Unsubscribe URL lead to a confirmation
page that changes nothing, whose form's POST (or a one-click POST, RFC 8058) records the opt-out once; later
emails about the project leave that person out; a forged or altered link gets a 400 page and changes nothing."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from onboarding.adapters.email.unsubscribe import unsubscribe_token
from onboarding.bootstrap import Application, unsubscribe_secret
from onboarding.core.lifecycle import Action
from onboarding.errors import UnsubscribeRefused
from onboarding.settings import Settings
from tests.services.test_projects import PAYROLL, PEOPLE
from tests.web.conftest import TODAY

LEE = "lee@acme.example"


def _launch(application: Application) -> str:
    return application.projects.launch(
        PAYROLL,
        customer="Acme <Manufacturing>",
        kickoff_on=TODAY,
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02",
        actor="test",
    ).project.id


def _delivered(application: Application) -> list[EmailMessage]:
    application.sweep().deliver()
    folder = mailbox.Maildir(application.settings.effective_maildir, create=False)
    return [
        email.message_from_bytes(m.as_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for m in folder
    ]


def _to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if any(a.addr_spec == address for a in m["To"].addresses)]


def _links(message: EmailMessage) -> tuple[str, str]:
    """The https/http URL of the List-Unsubscribe header, and the unsubscribe link in the plain-text body."""
    header = re.search(r"<(https?://[^>]+)>", str(message["List-Unsubscribe"]))
    assert header is not None
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    body = re.search(r"https?://\S+/unsubscribe\?token=[\w.\-]+", text.get_content())
    assert body is not None
    return header.group(1), body.group(0)


def _unsubscribed(application: Application, project_id: str) -> list[str]:
    return [e.data["email"] for e in application.projects.events(project_id) if e.kind == "unsubscribed"]


class _Form(HTMLParser):
    """The page's form: its method, action and fields."""

    def __init__(self) -> None:
        super().__init__()
        self.method = ""
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.method, self.action = a.get("method", ""), a.get("action", "")
        elif tag == "input" and "name" in a:
            self.fields[a["name"]] = a.get("value", "")


def _assert_page_headers(headers: httpx.Headers) -> None:
    assert headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp and "frame-ancestors 'none'" in csp
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


def test_the_link_of_a_customer_email_confirms_then_records_once(application: Application, client: TestClient) -> None:
    project_id = _launch(application)
    to_lee = _to(_delivered(application), LEE)
    assert len(to_lee) == 1
    kickoff = to_lee[0]
    assert kickoff["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header_url, body_url = _links(kickoff)
    assert header_url == body_url
    # the emails point at the page `onboarding web` serves
    assert urlsplit(header_url).path == "/unsubscribe"
    assert header_url.startswith(application.settings.unsubscribe_url + "?token=")
    path = header_url.removeprefix("http://localhost:8080")

    # opening the link (as a mail scanner would, twice) shows a confirmation page and records nothing
    for _ in range(2):
        page = client.get(path)
        assert page.status_code == 200, page.text
        _assert_page_headers(page.headers)
        assert LEE in page.text and "Acme &lt;Manufacturing&gt;" in page.text  # autoescaped
        assert "<Manufacturing>" not in page.text
    assert client.head(path).status_code == 200
    assert _unsubscribed(application, project_id) == []

    form = _Form()
    form.feed(page.text)
    assert form.method == "post"
    assert form.action.startswith("?token=")
    done = client.post("/unsubscribe" + form.action, data=form.fields)
    assert done.status_code == 200
    _assert_page_headers(done.headers)
    assert "You are unsubscribed" in done.text
    assert _unsubscribed(application, project_id) == [LEE]
    unsubscribed = [e for e in application.projects.events(project_id) if e.kind == "unsubscribed"]
    assert unsubscribed[0].actor == LEE  # the event in the project's history, by the person who asked

    again = client.post("/unsubscribe" + form.action, data=form.fields)
    assert again.status_code == 200 and "already" in again.text
    assert "already" in client.get(path).text  # the page says so, and still changes nothing
    assert _unsubscribed(application, project_id) == [LEE]

    # a later customer email about the project (the kickoff milestone's status email) leaves Lee out
    for task in ("kickoff_call", "sign_off_scope", "notify_old_provider"):
        application.projects.change_task(project_id, task, Action.complete, on=TODAY, by="test")
    later = _delivered(application)
    status_emails = [m for m in later if "status" in str(m["X-Onboarding-Key"])]
    assert status_emails  # the milestone's status email went out to the other customer recipient
    assert len(_to(later, LEE)) == 1  # the Maildir holds nothing to Lee but the kickoff email
    assert not [m for m in status_emails if any(a.addr_spec == LEE for a in m["To"].addresses)]


def test_one_click_unsubscribe_rfc_8058(application: Application, client: TestClient) -> None:
    project_id = _launch(application)
    header_url, _ = _links(_to(_delivered(application), LEE)[0])
    path = header_url.removeprefix("http://localhost:8080")
    response = client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert _unsubscribed(application, project_id) == [LEE]
    # a mail client may send it as multipart/form-data: the token in the URL is what counts
    again = client.post(path, files={"List-Unsubscribe": (None, "One-Click")})
    assert again.status_code == 200 and "already" in again.text
    assert _unsubscribed(application, project_id) == [LEE]


def test_a_forged_altered_or_missing_token_gets_a_400_page_and_changes_nothing(
    application: Application, client: TestClient
) -> None:
    project_id = _launch(application)
    secret = unsubscribe_secret(application.settings)
    good = unsubscribe_token(secret, email=LEE, project_id=project_id)
    names, signature = good.split(".")
    forged = unsubscribe_token(b"a guessed key", email=LEE, project_id=project_id)
    other_names = unsubscribe_token(secret, email="kim@acme.example", project_id=project_id).split(".")[0]
    for bad in (forged, f"{names}.{signature[:-3]}", f"{other_names}.{signature}", "not-a-token", "%00"):
        for response in (
            client.get("/unsubscribe", params={"token": bad}),
            client.post("/unsubscribe", params={"token": bad}),
            client.post("/unsubscribe", data={"token": bad}),
            client.post("/unsubscribe", params={"token": bad}, content=b"List-Unsubscribe=One-Click"),
        ):
            assert response.status_code == 400, (bad, response.text)
            _assert_page_headers(response.headers)
            assert "invalid-unsubscribe-token" in response.text and "not valid" in response.text
    for response in (client.get("/unsubscribe"), client.post("/unsubscribe")):
        assert response.status_code == 400
        assert "missing-token" in response.text
    everywhere = unsubscribe_token(secret, email=LEE, project_id=None)
    refused = client.post("/unsubscribe", params={"token": everywhere})
    assert refused.status_code == 400 and "unsubscribe-every-project" in refused.text
    unknown = unsubscribe_token(secret, email=LEE, project_id="prj-gone")
    assert client.get("/unsubscribe", params={"token": unknown}).status_code == 404
    assert client.post("/unsubscribe", params={"token": unknown}).status_code == 404
    assert _unsubscribed(application, project_id) == []


def test_the_pages_are_not_part_of_the_api_and_need_no_key(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert "/unsubscribe" not in spec["paths"]


def test_the_service_refuses_what_the_command_line_refuses(application: Application) -> None:
    with pytest.raises(UnsubscribeRefused) as info:
        application.unsubscribe.check("Zm9v.YmFy")
    assert info.value.codes == ["invalid-unsubscribe-token"]
    assert not any("--" in p.hint or "onboarding " in p.hint for p in info.value.problems)


def test_the_default_link_is_where_onboarding_web_serves_the_page(tmp_path: Path) -> None:
    url = urlsplit(Settings(data_dir=tmp_path).unsubscribe_url)
    assert (url.port, url.path) == (8080, "/unsubscribe")
    assert Settings(unsubscribe_url="https://onboarding.example.com/unsubscribe").unsubscribe_url.startswith("https:")


@pytest.mark.parametrize(
    "url", ["onboarding.example.com/unsubscribe", "ftp://x.example/u", "https:///u", "http://x/#f"]
)
def test_an_unsubscribe_url_customers_cannot_open_is_a_setting_problem(url: str) -> None:
    with pytest.raises(ValidationError, match="not an http"):
        Settings(unsubscribe_url=url)


def test_the_pages_are_plain_accessible_html(application: Application, client: TestClient) -> None:
    project_id = _launch(application)
    token = unsubscribe_token(unsubscribe_secret(application.settings), email=LEE, project_id=project_id)
    for response in (
        client.get("/unsubscribe", params={"token": token}),
        client.get("/unsubscribe", params={"token": "forged.token"}),
        client.post("/unsubscribe", params={"token": token}),
    ):
        page = response.text
        assert page.startswith("<!doctype html>") and '<html lang="en">' in page
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
        assert page.count("<h1>") == 1 and "<title>" in page
        assert "<script" not in page and "http://" not in page and "https://" not in page  # nothing fetched
        nonce = re.search(r"style-src 'nonce-([\w-]+)'", response.headers["content-security-policy"])
        assert nonce is not None and f'<style nonce="{nonce.group(1)}">' in page


def test_confirmations_sent_at_once_record_one_opt_out(application: Application) -> None:
    """A mail client's one-click POST and the person's own click, at the same moment: one event, both answered."""
    import threading

    project = _launch(application)
    token = unsubscribe_token(unsubscribe_secret(application.settings), email=LEE, project_id=project)
    barrier = threading.Barrier(4)
    answers: list[bool] = []

    def confirm() -> None:
        barrier.wait()
        answers.append(application.unsubscribe.confirm(token).recorded_now)

    threads = [threading.Thread(target=confirm) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [False, False, False, True]
    assert [e.data["email"] for e in application.projects.events(project) if e.kind == "unsubscribed"] == [LEE]
