"""Shared test helpers: building blueprints from plain values, and the golden-file switch."""

from __future__ import annotations

from typing import Any

import pytest

pytest_plugins = ["tests.stores", "tests.browser", "tests.pages", "tests.days"]  # stores; Chromium; pages; today


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False, help="rewrite golden files")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def blueprint_data(
    tasks: list[dict[str, Any]],
    *,
    milestones: list[dict[str, Any]] | None = None,
    vendor: dict[str, Any] | None = None,
    customer: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A blueprint as plain values: one milestone holding ``tasks`` unless ``milestones`` is given."""
    return {
        "key": "test_blueprint",
        "version": "1.0.0",
        "title": "Test blueprint",
        "roles": {
            "csm": {"title": "CSM", "side": "vendor"},
            "engineer": {"title": "Engineer", "side": "vendor", "escalation": "csm"},
            "admin": {"title": "Customer admin", "side": "customer"},
        },
        "calendars": {"vendor": vendor or {"country": "US"}, "customer": customer or {"country": "US"}},
        "milestones": milestones or [{"key": "work", "title": "Work", "tasks": tasks}],
        **extra,
    }
