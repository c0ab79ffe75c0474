"""`onboarding project link | rotate-links` on the CLI's own SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from onboarding.adapters.clock import FixedClock
from onboarding.bootstrap import Application, database, project_service
from onboarding.cli import main
from onboarding.errors import CustomerLinkRefused
from onboarding.settings import Settings
from tests.services.test_projects import PAYROLL, PEOPLE


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A project launched in the CLI's own database (a fresh data folder); its id."""
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "a-secret-key-long-enough-for-the-settings-0123456789")
    monkeypatch.setenv("ONBOARDING_PUBLIC_URL", "https://onboarding.example.com")
    engine: Engine = database(Settings())
    svc = project_service(Settings(), clock=FixedClock(date(2026, 11, 30)), engine=engine)
    launched = svc.launch(
        PAYROLL,
        customer="Acme",
        kickoff_on=date(2026, 11, 30),
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02",
        external_id="CRM-7",
    )
    yield launched.project.id
    engine.dispose()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_link_prints_the_persons_status_page_and_rotate_revokes_it(project: str) -> None:
    code, out, err = run("project", "link", "CRM-7", "LEE@acme.example")
    assert code == 0, err
    url = out.strip()
    assert url.startswith("https://onboarding.example.com/c/")
    token = url.rsplit("/", 1)[1]
    application = Application(Settings(), clock=FixedClock(date(2026, 11, 30)))
    try:
        assert application.customer_links.status(token).person_name == PEOPLE["customer_payroll_admin"].name
        code, out, err = run("project", "rotate-links", project)
        assert code == 0, err
        assert "revoked" in out
        with pytest.raises(CustomerLinkRefused) as refused:
            application.customer_links.status(token)
        assert refused.value.codes == ["customer-link-revoked"]
        code, again, err = run("project", "link", project, "lee@acme.example")
        assert code == 0 and again.strip() != url
    finally:
        application.close()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("project", "link", "CRM-7", "dana@vendor.example"), "customer-not-on-project"),
        (("project", "link", "nope", "lee@acme.example"), "project-not-found"),
        (("project", "rotate-links", "nope"), "project-not-found"),
    ],
)
def test_bad_input_says_what_to_do_and_changes_nothing(project: str, args: tuple[str, ...], code: str) -> None:
    exit_code, out, err = run(*args)
    assert exit_code == 1 and out == ""
    assert f"[{code}]" in err and "Traceback" not in err
    assert "onboarding" in err  # the hint names the command that helps


def test_link_refuses_where_there_is_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path / "data"))
    exit_code, _out, err = run("project", "link", "p", "lee@acme.example")
    assert exit_code == 1 and "database-not-found" in err
    assert not (tmp_path / "data" / "onboarding.db").exists()
