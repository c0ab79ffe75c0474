"""`onboarding blueprint publish | list | show | diff`, and launches and plans that name a published blueprint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from onboarding.cli import main
from tests.test_bad_inputs import BINDS, EDITED_SAAS, PAYROLL, SAAS

SAAS_TEXT = Path(SAAS).read_text()


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "a-secret-key-long-enough-for-the-settings-0123456789")
    return tmp_path


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result


def newer_saas(folder: Path) -> str:
    """The SaaS example as version 1.1.0, with one task made longer."""
    text = SAAS_TEXT.replace("version: 1.0.0", "version: 1.1.0").replace(
        "duration_business_days: 2", "duration_business_days: 4", 1
    )
    path = folder / "saas-1.1.0.yaml"
    path.write_text(text)
    return str(path)


def test_publish_list_show(data: Path) -> None:
    published = run("blueprint", "publish", SAAS, PAYROLL, "--by", "dana")
    assert published.exit_code == 0, published.output
    assert "published saas_onboarding 1.0.0" in published.output
    again = run("blueprint", "publish", SAAS)
    assert again.exit_code == 0 and "already published: saas_onboarding 1.0.0" in again.output
    listed = json.loads(run("blueprint", "list", "--format", "json").output)
    assert [(b["key"], b["latest"]) for b in listed] == [
        ("payroll_implementation", "1.0.0"),
        ("saas_onboarding", "1.0.0"),
    ]
    assert listed[1]["versions"][0]["published_by"] == "dana"
    assert "saas_onboarding" in run("blueprint", "list").output
    shown = run("blueprint", "show", "saas_onboarding")
    assert shown.exit_code == 0 and shown.output == SAAS_TEXT
    document = json.loads(run("blueprint", "show", "saas_onboarding@1.0.0", "--format", "json").output)
    assert document["latest"] is True and document["text"] == SAAS_TEXT
    assert document["blueprint"]["key"] == "saas_onboarding" and document["versions"] == ["1.0.0"]


def test_a_version_published_with_other_text_is_refused(data: Path) -> None:
    run("blueprint", "publish", SAAS)
    refused = run("blueprint", "publish", EDITED_SAAS)
    assert refused.exit_code == 1
    assert "[blueprint-version-exists]" in refused.stderr and "1.0.1" in refused.stderr
    assert run("blueprint", "show", "saas_onboarding").output == SAAS_TEXT


def test_diff_two_versions(data: Path) -> None:
    run("blueprint", "publish", SAAS, newer_saas(data))
    table = run("blueprint", "diff", "saas_onboarding", "1.0.0", "1.1.0")
    assert table.exit_code == 0, table.output
    assert "saas_onboarding 1.0.0 -> 1.1.0: 1 changed" in table.output
    assert "duration_business_days 2 -> 4" in table.output
    document = json.loads(run("blueprint", "diff", "saas_onboarding", "1.1.0", "1.0.0", "--format", "json").output)
    (change,) = document["changes"]
    assert (change["part"], change["change"], change["fields"][0]["before"]) == ("task", "changed", 4)
    same = run("blueprint", "diff", "saas_onboarding", "1.0.0", "1.0.0")
    assert "no changes" in same.output
    missing = run("blueprint", "diff", "saas_onboarding", "1.0.0", "2.0.0")
    assert missing.exit_code == 1 and "[blueprint-not-found]" in missing.stderr and "1.0.0, 1.1.0" in missing.stderr


def test_launch_and_plan_by_key(data: Path) -> None:
    run("blueprint", "publish", SAAS, newer_saas(data))
    latest = run("launch", "saas_onboarding", "--customer", "Acme", "--kickoff", "2026-12-07", *BINDS)
    assert latest.exit_code == 0, latest.output
    assert "saas_onboarding 1.1.0" in latest.output
    pinned = run("launch", "saas_onboarding@1.0.0", "--customer", "Birch", "--kickoff", "2026-12-07", *BINDS)
    assert "saas_onboarding 1.0.0" in pinned.output
    by_key = json.loads(run("plan", "saas_onboarding@1.0.0", "--kickoff", "2026-12-07", "--format", "json").output)
    by_file = json.loads(run("plan", SAAS, "--kickoff", "2026-12-07", "--format", "json").output)
    assert by_key == by_file
    typo = run("launch", "saas_onboardng", "--customer", "C", "--kickoff", "2026-12-07", *BINDS)
    assert typo.exit_code == 1 and "did you mean 'saas_onboarding'" in typo.stderr


def test_a_launch_from_a_file_publishes_it(data: Path) -> None:
    launched = run("launch", SAAS, "--customer", "Acme", "--kickoff", "2026-12-07", "--by", "crm", *BINDS)
    assert launched.exit_code == 0, launched.output
    (listed,) = json.loads(run("blueprint", "list", "--format", "json").output)
    assert (listed["key"], listed["latest"], listed["versions"][0]["published_by"]) == (
        "saas_onboarding",
        "1.0.0",
        "crm",
    )
