"""`onboarding project link | rotate-links` on the CLI's own SQLite database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from onboarding.adapters.clock import FixedClock
from onboarding.bootstrap import Application
from onboarding.errors import CustomerLinkRefused
from onboarding.settings import Settings
from tests.services.test_projects import PEOPLE
from tests.test_project_changes_cli import project, run

__all__ = ["project"]  # the fixture, used by name


@pytest.fixture(autouse=True)
def public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages at a public URL, for the CLI tests' launched project (``project``: CRM-7)."""
    monkeypatch.setenv("ONBOARDING_PUBLIC_URL", "https://onboarding.example.com")


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
