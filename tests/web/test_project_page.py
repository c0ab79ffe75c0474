"""The team's project page over HTTP, on SQLite and PostgreSQL: the plan, timeline and history; changes that move
dates previewed and then applied; managers' changes refused to members; CSRF; errors said; user text escaped."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from onboarding.adapters.clock import FixedClock
from onboarding.bootstrap import Application
from onboarding.core.lifecycle import Action, ProjectState, TaskState
from tests.services.test_projects import PAYROLL, PEOPLE
from tests.web.test_team_pages import sign_in

D = date.fromisoformat
DANA = "dana@vendor.example"  # the CSM of the project, a member
MAX = "max@vendor.example"  # a manager
NASTY = '<script>alert("x")</script> & "Co"'
HIDDEN = re.compile(r'<input type="hidden" name="([a-z]+)" value="([^"]*)">')


def clock_of(application: Application) -> FixedClock:
    clock = application.clock
    assert isinstance(clock, FixedClock)
    return clock


def launch(
    application: Application,
    *,
    customer: str = "Acme Manufacturing",
    blueprint: str = PAYROLL,
    kickoff: str = "2026-12-07",
) -> str:
    return application.projects.launch(
        blueprint,
        customer=customer,
        kickoff_on=D(kickoff),
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02",
    ).project.id


@pytest.fixture
def team(application: Application) -> Application:
    application.team_members.add("Dana Ruiz", DANA, role="member")
    application.team_members.add("Max Weber", MAX, role="manager")
    return application


def form_of(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form that posts to ``action``."""
    start = page.index(f'action="{action}"')
    end = page.index("</form>", start)
    return dict(HIDDEN.findall(page[start:end]))


def later(application: Application, day: str) -> None:
    clock = clock_of(application)
    clock.set(D(day), at=datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC))


def test_the_page_shows_the_plan_the_timeline_the_go_live_and_the_history(
    client: TestClient, team: Application
) -> None:
    pid = launch(team)
    sign_in(client, team, DANA)
    page = client.get(f"/team/projects/{pid}")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    text = page.text
    assert "Acme Manufacturing" in text and "<svg" in text and 'class="task-bar' in text
    assert "Kickoff call" in text and "Dana Ruiz" in text and "critical" in text
    assert "Why this date" in text and "2027-04-09" in text  # committed window and projected go-live
    assert "project launched" in text  # the history
    assert 'role="region"' in text and 'tabindex="0"' in text  # tables scroll in their own region
    assert client.get("/team/projects/no-such-project").status_code == 404


def test_a_change_that_moves_dates_is_previewed_then_applied_on_confirmation(
    client: TestClient, team: Application
) -> None:
    pid = launch(team)
    later(team, "2026-12-14")
    team.projects.reforecast(pid)  # a week on, nothing done: the plan slid to today
    sign_in(client, team, DANA)
    page = client.get(f"/team/projects/{pid}").text
    before = team.projects.get(pid)
    fields = {**form_of(page, f"/team/projects/{pid}/preview"), "task": "kickoff_call", "change": "complete"}
    preview = client.post(f"/team/projects/{pid}/preview", data={**fields, "on": "2026-12-07"})
    assert preview.status_code == 200, preview.text
    assert "Tasks that move" in preview.text and "Nothing has changed yet" in preview.text
    stored = team.projects.get(pid)
    assert stored.version == before.version and stored.tasks == before.tasks  # the preview stored nothing
    confirm = form_of(preview.text, f"/team/projects/{pid}/changes")
    assert (confirm["change"], confirm["task"], confirm["on"]) == ("complete", "kickoff_call", "2026-12-07")
    applied = client.post(f"/team/projects/{pid}/changes", data=confirm, follow_redirects=False)
    assert applied.status_code == 303 and applied.headers["location"] == f"/team/projects/{pid}"
    after = team.projects.get(pid)
    assert after.task("kickoff_call").state is TaskState.done and after.task("kickoff_call").done_on == D("2026-12-07")
    assert team.projects.events(pid)[-2].actor == "Dana Ruiz"
    moved = [t for t in after.tasks if t.due_on != before.task(t.key).due_on]
    assert moved and all(t.title in html.unescape(preview.text) for t in moved)  # it named every task that moved
    assert "done 2026-12-07" in client.get(f"/team/projects/{pid}").text  # the page shows the re-forecast
    again = client.post(f"/team/projects/{pid}/changes", data=confirm)  # the page it came from is out of date
    assert again.status_code == 409 and "changed after version" in again.text


def test_a_change_that_moves_no_date_applies_at_once(client: TestClient, team: Application) -> None:
    pid = launch(team)
    sign_in(client, team, DANA)
    fields = form_of(client.get(f"/team/projects/{pid}").text, f"/team/projects/{pid}/preview")
    started = client.post(
        f"/team/projects/{pid}/preview",
        data={**fields, "task": "kickoff_call", "change": "start"},
        follow_redirects=False,
    )
    assert started.status_code == 303
    assert team.projects.get(pid).task("kickoff_call").state is TaskState.in_progress


def test_a_hold_and_a_resume_that_leaves_the_window_is_previewed(client: TestClient, team: Application) -> None:
    pid = launch(team, kickoff="2026-12-07")  # kicked off today, held at once
    team.projects.hold(pid, reason="budget")
    assert isinstance(team.clock, FixedClock)
    team.clock.set(D("2027-03-01"), at=datetime(2027, 3, 1, 9, tzinfo=UTC))  # twelve weeks on hold
    fresh = launch(team, customer="Birch", kickoff="2027-03-01")
    sign_in(client, team, DANA)
    fields = form_of(client.get(f"/team/projects/{fresh}").text, f"/team/projects/{fresh}/preview")
    hold = {**fields, "change": "hold", "reason": "budget"}
    held = client.post(f"/team/projects/{fresh}/preview", data=hold, follow_redirects=False)
    assert held.status_code == 303 and team.projects.get(fresh).state is ProjectState.on_hold  # nothing moves yet
    fields = form_of(client.get(f"/team/projects/{pid}").text, f"/team/projects/{pid}/preview")
    preview = client.post(f"/team/projects/{pid}/preview", data={**fields, "change": "resume"})
    assert preview.status_code == 200 and "would leave its committed window" in preview.text
    assert team.projects.get(pid).state is ProjectState.on_hold
    confirm = form_of(preview.text, f"/team/projects/{pid}/changes")
    assert client.post(f"/team/projects/{pid}/changes", data=confirm, follow_redirects=False).status_code == 303
    after = team.projects.get(pid)
    assert after.state is ProjectState.active and after.projected_go_live_on > after.committed_go_live_on


@pytest.mark.parametrize(
    ("verb", "data"),
    [
        ("cancel", {"reason": "deal lost"}),
        ("recommit", {"reason": "customer late"}),
        ("rebind", {"role": "csm", "name": "Kim Lee", "email": "kim@vendor.example"}),
    ],
)
def test_cancel_recommit_and_rebind_are_for_managers(
    client: TestClient, team: Application, verb: str, data: dict[str, str]
) -> None:
    pid = launch(team)
    sign_in(client, team, DANA)
    page = client.get(f"/team/projects/{pid}").text
    assert f'action="/team/projects/{pid}/{verb}"' not in page and "for managers and admins" in page
    note_form = form_of(page, f"/team/projects/{pid}/notes")
    refused = client.post(f"/team/projects/{pid}/{verb}", data={**note_form, **data})
    assert refused.status_code == 403 and "not for your role" in refused.text
    assert len(team.projects.events(pid)) == 1
    client.cookies.clear()
    sign_in(client, team, MAX)
    form = form_of(client.get(f"/team/projects/{pid}").text, f"/team/projects/{pid}/{verb}")
    answer = client.post(f"/team/projects/{pid}/{verb}", data={**form, **data}, follow_redirects=False)
    if verb == "recommit":  # nothing is late yet: refused by the engine, said on the page
        assert answer.status_code == 400 and "recommit when the projected go-live is later" in answer.text
        return
    assert answer.status_code == 303, answer.text
    event = team.projects.events(pid)[-1]
    assert (event.kind, event.actor) == ({"cancel": "cancelled", "rebind": "rebound"}[verb], "Max Weber")


def test_a_form_without_its_csrf_token_changes_nothing(client: TestClient, team: Application) -> None:
    pid = launch(team)
    sign_in(client, team, DANA)
    fields = form_of(client.get(f"/team/projects/{pid}").text, f"/team/projects/{pid}/preview")
    for path, data in (
        ("preview", {"task": "kickoff_call", "change": "complete", "version": fields["version"]}),
        ("changes", {"task": "kickoff_call", "change": "complete"}),
        ("notes", {"text": "hello"}),
        ("preview", {"task": "kickoff_call", "change": "complete", "csrf": "forged"}),
    ):
        answer = client.post(f"/team/projects/{pid}/{path}", data=data)
        assert answer.status_code == 403 and "out of date" in answer.text
    assert len(team.projects.events(pid)) == 1


def test_not_signed_in_is_sent_to_sign_in(client: TestClient, team: Application) -> None:
    pid = launch(team)
    answer = client.get(f"/team/projects/{pid}", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/team/sign-in"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"task": "kickoff_call", "change": "complete", "on": "07/12/2026"}, "is not a day"),
        ({"task": "kickoff_call", "change": "complete", "on": "2026-12-09"}, "after today"),
        ({"task": "kikoff_call", "change": "complete"}, "kickoff_call"),
        ({"task": "kickoff_call", "change": "explode"}, "no change"),
        ({"task": "validate_employee_data", "change": "complete"}, "waiting for"),
    ],
)
def test_a_refused_change_shows_the_page_again_with_what_was_wrong(
    client: TestClient, team: Application, data: dict[str, str], said: str
) -> None:
    pid = launch(team)
    sign_in(client, team, DANA)
    fields = form_of(client.get(f"/team/projects/{pid}").text, f"/team/projects/{pid}/preview")
    answer = client.post(f"/team/projects/{pid}/preview", data={**fields, **data})
    assert answer.status_code == 400
    assert 'class="problem" role="alert"' in answer.text and said in answer.text
    assert "Traceback" not in answer.text and "Acme Manufacturing" in answer.text
    assert len(team.projects.events(pid)) == 1


def test_a_task_already_done_is_said(client: TestClient, team: Application) -> None:
    pid = launch(team)
    team.projects.change_task(pid, "kickoff_call", Action.complete)
    sign_in(client, team, DANA)
    fields = form_of(client.get(f"/team/projects/{pid}").text, f"/team/projects/{pid}/preview")
    answer = client.post(f"/team/projects/{pid}/preview", data={**fields, "task": "kickoff_call", "change": "complete"})
    assert answer.status_code == 400 and "done" in answer.text and "Traceback" not in answer.text


def test_user_text_is_escaped_everywhere(client: TestClient, team: Application, tmp_path: Path) -> None:
    text = Path(PAYROLL).read_text(encoding="utf-8")
    text = text.replace("title: Payroll system implementation", f"title: '{NASTY}'", 1)
    text = text.replace("key: payroll_implementation", "key: payroll_nasty", 1)
    text = text.replace("{key: kickoff_call, title: Kickoff call,", f"{{key: kickoff_call, title: '{NASTY}',", 1)
    nasty_file = tmp_path / "nasty.yaml"
    nasty_file.write_text(text, encoding="utf-8")
    pid = launch(team, customer=NASTY, blueprint=str(nasty_file), kickoff="2026-11-02")
    sign_in(client, team, DANA)
    fields = form_of(client.get(f"/team/projects/{pid}").text, f"/team/projects/{pid}/notes")
    client.post(f"/team/projects/{pid}/notes", data={**fields, "text": NASTY})
    page = client.get(f"/team/projects/{pid}").text
    assert "<script>alert" not in page
    assert page.count("&lt;script&gt;alert") >= 4  # customer, blueprint title, task title, note
    fields = form_of(page, f"/team/projects/{pid}/preview")
    preview = client.post(
        f"/team/projects/{pid}/preview",
        data={**fields, "task": "kickoff_call", "change": "complete", "on": "2026-11-02"},
    )
    assert preview.status_code == 200 and "<script>alert" not in preview.text and "&lt;script&gt;" in preview.text
