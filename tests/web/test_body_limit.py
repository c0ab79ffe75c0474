"""Every request body is read to a limit: one larger is answered 413 (``payload-too-large``) and acts on nothing,
whether it says its length first or streams it in chunks; the blueprint publish, whose YAML may be large, has a
limit of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient

from onboarding.bootstrap import Application
from onboarding.web.limits import MAX_BODY_BYTES, blueprint_body_limit
from tests.services.test_projects import PAYROLL
from tests.web.conftest import Keys
from tests.web.test_projects import body, published, stored

__all__ = ["published"]  # the payroll example, published for every test here (an autouse fixture)

PROBLEM = "application/problem+json"


def _refused(response: object) -> None:
    assert response.status_code == 413, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    assert response.json()["code"] == "payload-too-large"  # type: ignore[attr-defined]


def _launch_padded_to(size: int) -> bytes:
    launch = body()
    launch["segment"] = ""
    padding = size - len(json.dumps(launch).encode())
    launch["segment"] = "x" * padding  # still a launch, of the right size
    return json.dumps(launch).encode()


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    application: Application, client: TestClient, keys: Keys
) -> None:
    before = stored(application)
    response = client.post(
        "/api/v1/projects",
        content=_launch_padded_to(MAX_BODY_BYTES + 1),
        headers={**keys.write, "content-type": "application/json"},
    )
    _refused(response)
    assert "1,048,576" in response.json()["detail"]
    assert stored(application) == before


def test_a_body_streamed_without_its_length_is_cut_at_the_limit(
    application: Application, client: TestClient, keys: Keys
) -> None:
    before = stored(application)
    raw = _launch_padded_to(3 * MAX_BODY_BYTES)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 65536):
            yield raw[start : start + 65536]

    response = client.post(
        "/api/v1/projects", content=chunks(), headers={**keys.write, "content-type": "application/json"}
    )
    _refused(response)
    assert stored(application) == before


def test_a_body_at_the_limit_is_read(application: Application, client: TestClient, keys: Keys) -> None:
    response = client.post(
        "/api/v1/projects",
        content=_launch_padded_to(MAX_BODY_BYTES),
        headers={**keys.write, "content-type": "application/json"},
    )
    assert response.status_code == 422  # read, and refused for what it says (a segment that long), not its size
    assert response.json()["code"] != "payload-too-large"


def test_pages_and_hooks_have_the_limit_too(client: TestClient) -> None:
    big = b"x" * (MAX_BODY_BYTES + 1)
    for path in ("/team/sign-in", "/hooks/launch/crm", "/unsubscribe"):
        _refused(client.post(path, content=big, headers={"content-type": "application/x-www-form-urlencoded"}))


def test_a_large_blueprint_may_be_published(application: Application, client: TestClient, keys: Keys) -> None:
    text = Path(PAYROLL).read_text(encoding="utf-8").replace("payroll_implementation", "large_payroll", 1)
    text += "# a long comment\n" * (2 * MAX_BODY_BYTES // 17)
    response = client.post("/api/v1/blueprints", json={"text": text}, headers=keys.admin)
    assert response.status_code == 201, response.text
    limit = blueprint_body_limit(application.settings.max_blueprint_bytes)
    _refused(
        client.post(
            "/api/v1/blueprints",
            content=b"x" * (limit + 1),
            headers={**keys.admin, "content-type": "application/json"},
        )
    )
