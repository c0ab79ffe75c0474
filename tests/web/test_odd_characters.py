"""Characters a browser would not send, in the places a page or a hook reads them: each is refused as bad input
(a 4xx page or problem document), never a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient

from onboarding.bootstrap import Application
from tests.web.test_hooks import add_sources
from tests.web.test_project_page import MAX, form_of, launch, team
from tests.web.test_team_pages import sign_in

__all__ = ["team"]  # the team's members (a fixture)


def test_a_form_token_with_any_character_is_a_stale_form(client: TestClient, team: Application) -> None:
    sign_in(client, team, MAX)
    pid = launch(team)
    for token in ("é", "€", "\x00"):
        answer = client.post(f"/team/projects/{pid}/notes", data={"csrf": token, "text": "hello"})
        assert answer.status_code == 403, answer.text
    assert not [e for e in team.projects.events(pid) if e.kind == "note"]


def test_a_form_token_with_any_character_before_sign_in_is_refused(client: TestClient, team: Application) -> None:
    client.get("/team/sign-in")  # the visitor's cookie
    answer = client.post("/team/sign-in", data={"csrf": "é", "email": "dana@vendor.example"})
    assert 400 <= answer.status_code < 500, answer.text


def test_a_team_path_of_any_characters_leads_to_sign_in(client: TestClient) -> None:
    for path in ("/team/projects/%E2%82%AC", "/team/projects/%C3%A9?x=%E2%82%AC", "/team/projects/x?y=\u20ac"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, (path, answer.text)


def test_digits_that_are_not_ascii_are_not_numbers(client: TestClient, team: Application) -> None:
    sign_in(client, team, MAX)
    pid = launch(team)
    page = client.get(f"/team/projects/{pid}").text
    fields = form_of(page, f"/team/projects/{pid}/notes")
    answer = client.post(f"/team/projects/{pid}/notes", data={**fields, "version": "²", "text": "hello"})
    assert answer.status_code == 400, answer.text
    assert client.get("/team/reports?top=%C2%B2").status_code == 400


def test_a_hook_timestamp_too_long_to_be_a_time_is_invalid(application: Application, client: TestClient) -> None:
    add_sources(application)
    for stamp in ("9" * 400, "9" * 5000):
        answer = client.post(
            "/hooks/launch/salesforce",
            content=b"{}",
            headers={"X-Onboarding-Timestamp": stamp, "X-Onboarding-Signature": "sha256=00"},
        )
        assert answer.status_code == 401 and answer.json()["code"] == "timestamp-invalid", answer.text


def test_a_team_form_with_escapes_that_are_not_utf8_is_unreadable(client: TestClient, team: Application) -> None:
    sign_in(client, team, MAX)
    pid = launch(team)
    fields = form_of(client.get(f"/team/projects/{pid}").text, f"/team/projects/{pid}/notes")
    body = "&".join(f"{k}={v}" for k, v in fields.items()) + "&text=%ff%fe"
    answer = client.post(
        f"/team/projects/{pid}/notes", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 400, answer.text
    assert not [e for e in team.projects.events(pid) if e.kind == "note"]


def test_a_customer_or_unsubscribe_form_that_no_page_sent_changes_nothing(client: TestClient) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    for body in ("csrf=%ff%fe&reason=x", "&".join(f"f{i}=1" for i in range(50))):
        answer = client.post("/c/some-token/tasks/some-task/stuck", content=body, headers=form)
        assert 400 <= answer.status_code < 500, answer.text
        answer = client.post("/unsubscribe", content=body.replace("csrf", "token"), headers=form)
        assert 400 <= answer.status_code < 500, answer.text
