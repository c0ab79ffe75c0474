"""The app's front door: health, OpenAPI and docs, keys and scopes, and problem+json for every error."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.testclient import TestClient
from sqlalchemy import text

from onboarding.bootstrap import Application
from onboarding.errors import Problem, ProjectNotFound
from onboarding.services.keys import ApiKey
from onboarding.web.app import create_app
from onboarding.web.deps import Admin, Reader, Writer
from onboarding.web.redirects import RelativeRedirects
from tests.web.conftest import Keys, bearer

PROBLEM = "application/problem+json"


def test_health_says_the_server_and_its_schema_answer(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["schema_revision"]


def test_openapi_and_docs_are_served_where_documented(client: TestClient) -> None:
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "Onboarding engine"
    assert "/api/health" in spec.json()["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8443", "127.0.0.1:8000"])
def test_a_trailing_slash_is_redirected_on_the_server_asked_never_to_the_host_header(
    client: TestClient, host: str
) -> None:
    """The redirect that drops a trailing slash names only the path: a Host header (which any client may set, and
    a shared cache may key on) never becomes the site a page sends its readers to."""
    for path, to in [
        ("/team/", "/team"),
        ("/api/health/", "/api/health"),
        ("/unsubscribe/?token=x%2By", "/unsubscribe?token=x%2By"),
    ]:
        answer = client.get(path, headers={"Host": host}, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (307, to), path
    assert client.get("/api/health/").json()["status"] == "ok"  # followed, on the same server


def test_only_a_redirect_to_the_claimed_host_is_made_a_path() -> None:
    """Another site's URL is left as it is; a path that would read as a site (``//evil.example``) stays a path."""
    app = FastAPI()

    @app.get("/elsewhere")
    def elsewhere() -> RedirectResponse:
        return RedirectResponse("https://docs.example/guide?x=1")

    @app.get("/double")
    def double() -> RedirectResponse:
        return RedirectResponse("http://testserver//evil.example/x#top")

    client = TestClient(RelativeRedirects(app))
    assert client.get("/elsewhere", follow_redirects=False).headers["location"] == "https://docs.example/guide?x=1"
    assert client.get("/double", follow_redirects=False).headers["location"] == "/evil.example/x#top"


def test_an_unknown_path_is_a_problem_document(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "not-found"
    assert body["status"] == 404
    assert body["type"] == "urn:onboarding:problem:not-found"
    assert body["instance"] == "/api/v1/nothing-here"


def _guarded(application: Application) -> FastAPI:
    """The app with routes that need each scope, and one that raises an engine error."""
    app = create_app(application)
    router = APIRouter(prefix="/probe")

    @router.get("/read")
    def read(key: Reader) -> dict[str, str]:
        return {"actor": key.name}

    @router.post("/write")
    def write(key: Writer) -> dict[str, str]:
        return {"actor": key.name}

    @router.post("/admin")
    def admin(key: Admin) -> dict[str, str]:
        return {"actor": key.name}

    @router.get("/missing")
    def missing(_key: Reader) -> ApiKey:
        raise ProjectNotFound("project", (Problem("project-not-found", "no project 'x'", ("project",), "list them"),))

    app.include_router(router)
    return app


def test_keys_and_scopes(application: Application, keys: Keys) -> None:
    with TestClient(_guarded(application)) as c:
        no_key = c.get("/probe/read")
        assert no_key.status_code == 401
        assert no_key.headers["content-type"] == PROBLEM
        assert no_key.headers["www-authenticate"].startswith("Bearer")
        assert no_key.json()["code"] == "not-authenticated"
        assert c.get("/probe/read", headers=bearer("onb_not-a-key")).status_code == 401
        assert c.get("/probe/read", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401

        assert c.get("/probe/read", headers=keys.read).json() == {"actor": "read-key"}
        refused = c.post("/probe/write", headers=keys.read)
        assert refused.status_code == 403
        assert refused.json()["code"] == "not-permitted"
        assert c.post("/probe/write", headers=keys.write).json() == {"actor": "write-key"}
        assert c.post("/probe/admin", headers=keys.write).status_code == 403
        assert c.post("/probe/admin", headers=keys.admin).json() == {"actor": "admin-key"}
        assert c.post("/probe/write", headers=keys.admin).status_code == 200

        application.keys.revoke("write-key")
        revoked = c.post("/probe/write", headers=keys.write)
        assert revoked.status_code == 401
        assert "revoked" in revoked.json()["detail"]

        missing = c.get("/probe/missing", headers=keys.read)
        assert missing.status_code == 404
        assert missing.json()["problems"] == [
            {"code": "project-not-found", "message": "no project 'x'", "loc": "project", "hint": "list them"}
        ]


def test_keys_are_kept_hashed(application: Application) -> None:
    made = application.keys.create("crm", scope="write")  # type: ignore[arg-type]
    with application.engine.connect() as connection:
        stored = connection.execute(text("SELECT key_hash, prefix FROM api_keys")).all()
    assert made.secret.startswith("onb_")
    assert all(made.secret not in (h, p) or p == made.secret[:10] for h, p in stored)
    assert all(made.secret != h for h, _ in stored)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/team/nope", 404),
        ("GET", "/team/sign-in/..%2f..", 404),
        ("PUT", "/team", 405),
        ("GET", "/c/", 404),
        ("DELETE", "/c/some-token", 405),
        ("GET", "/unsubscribe/x", 404),
    ],
)
def test_an_error_on_a_page_is_a_page(client: TestClient, method: str, path: str, status: int) -> None:
    answer = client.request(method, path)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html"), answer.headers["content-type"]
    assert "<h1>" in answer.text and "Traceback" not in answer.text
    if status == 405:
        assert "allow" in answer.headers


def test_an_error_under_the_api_stays_a_problem_document(client: TestClient) -> None:
    answer = client.get("/api/v1/nope")
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"
