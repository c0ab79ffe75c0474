"""The demo ends with its team and how to browse it: its members sign in without email on its database only.

No Prefect here: the demo's database is made as the demo makes it (marked a simulation), with one project.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.bootstrap import Application, database
from onboarding.settings import Settings
from onboarding.web.app import create_app
from onboarding_flows import demo
from tests.services.test_projects import PAYROLL, PEOPLE


def test_the_demos_team_signs_in_without_email_and_finds_its_tasks(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="k" * 40)
    engine = database(settings)
    SqlSweepStore(engine).mark_simulation(at=datetime.now(UTC))
    engine.dispose()
    application = Application(settings)
    project = application.projects.launch(
        PAYROLL,
        customer="Acme",
        kickoff_on=date.today(),
        bindings=PEOPLE,  # Dana Ruiz is its CSM, as in the demo
        pay_schedule="biweekly:2026-01-02",
        actor="demo",
    ).project
    demo.demo_team(settings)
    assert [(m.name, m.role.value) for m in application.team_members.members()] == [
        ("Dana Ruiz", "manager"),
        ("Ivo Petrov", "member"),
        ("Sam Okafor", "admin"),
    ]
    with TestClient(create_app(application)) as client:
        page = client.get("/team/demo-sign-in")
        assert page.status_code == 200 and "Demo" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        signed = client.post("/team/demo-sign-in", data={"email": "dana@vendor.example", "csrf": csrf.group(1)})
        assert signed.status_code == 200 and "My tasks" in signed.text
        assert f"/team/projects/{project.id}" in signed.text and "Kickoff call" in signed.text
        found = demo.customer_link(settings, [project.id])
        assert found is not None
        company, person, link = found
        assert company == "Acme" and person in {p.name for p in PEOPLE.values()}
        status = client.get(link.removeprefix(settings.effective_public_url))
        assert status.status_code == 200 and "Acme" in status.text


def test_the_demo_says_how_to_browse_it(tmp_path: Path) -> None:
    said = demo.how_to_browse(tmp_path, "http://localhost:8080")
    assert f"ONBOARDING_DATA_DIR={tmp_path} onboarding web" in said
    assert "http://localhost:8080/team/demo-sign-in" in said and "Dana Ruiz" in said


def test_the_demo_gives_a_customers_status_page_link(tmp_path: Path) -> None:
    said = demo.how_to_browse(tmp_path, "http://localhost:8080", customer=("Acme", "Lee Park", "http://x/c/abc"))
    assert "Lee Park of Acme" in said and "http://x/c/abc" in said
