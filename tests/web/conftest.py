"""The web app in-process: an ``Application`` on SQLite or PostgreSQL, a client (httpx, through Starlette's
TestClient) against the ASGI app, and API keys of each scope.

``client`` sends no key; pass ``headers=keys.write`` (``keys.read``, ``keys.admin``) to be let in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from onboarding.adapters.clock import FixedClock
from onboarding.bootstrap import Application
from onboarding.services.keys import Scope
from onboarding.settings import Settings
from onboarding.web.app import create_app
from tests.stores import _fresh_postgres

TODAY = date(2026, 12, 7)


@pytest.fixture(params=["sqlite", "postgresql"])
def application(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Application]:
    """An Application over a new database (a SQLite file, or a fresh schema of the session's PostgreSQL database),
    on a fixed clock (Monday 2026-12-07, 09:00 UTC)."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        _fresh_postgres(url).dispose()
    settings = Settings(data_dir=tmp_path / "data", database_url=url, secret_key="k" * 40)
    (tmp_path / "data").mkdir()
    app = Application(settings, clock=FixedClock(TODAY, at=datetime(2026, 12, 7, 9, tzinfo=UTC)))
    yield app
    app.close()


@pytest.fixture
def client(application: Application) -> Iterator[TestClient]:
    with TestClient(create_app(application), raise_server_exceptions=False) as c:
        yield c


@dataclass(frozen=True)
class Keys:
    read: dict[str, str]
    write: dict[str, str]
    admin: dict[str, str]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def keys(application: Application) -> Keys:
    made = {scope: application.keys.create(f"{scope.value}-key", scope=scope).secret for scope in Scope}
    return Keys(read=bearer(made[Scope.read]), write=bearer(made[Scope.write]), admin=bearer(made[Scope.admin]))
