"""Every ONBOARDING_* setting is in the README's settings table, and the table names no setting that is gone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from onboarding.settings import Settings

README = Path(__file__).parents[1] / "README.md"


def test_the_readme_table_documents_every_setting_and_only_those() -> None:
    text = README.read_text(encoding="utf-8")
    table = text.split("### Settings", 1)[1].split("\n\n|", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"`ONBOARDING_([A-Z_]+)`", table))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_settings_that_cannot_work_are_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from onboarding.settings import settings_problems

    for variable, value, said in (
        ("ONBOARDING_SMTP_USERNAME", "u", "ONBOARDING_SMTP_PASSWORD"),
        ("ONBOARDING_SMTP_PORT", "99999", "ONBOARDING_SMTP_PORT"),
        ("ONBOARDING_SMTP_TIMEOUT_SECONDS", "inf", "ONBOARDING_SMTP_TIMEOUT_SECONDS"),
    ):
        with monkeypatch.context() as env:
            env.setenv(variable, value)
            problems = settings_problems()
            assert len(problems) == 1 and said in problems[0], problems
