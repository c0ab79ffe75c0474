"""The FastAPI application: ``create_app(application)`` for a process's ``Application``.

OpenAPI at ``/api/openapi.json``, browsable docs at ``/api/docs``; every error as
problem+json (``problems``); the unsubscribe pages customers reach from their emails at
``/unsubscribe`` (``unsubscribe``, no key); the team's pages under ``/team`` (``team``, signed in
by an emailed link) with their scripts and stylesheet under ``/static``. ``app_from_environment`` is the
factory the server's workers call (``onboarding web``): settings from the environment, one
``Application`` per worker process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from onboarding import __version__
from onboarding.bootstrap import Application
from onboarding.web import customer, hooks, problems, unsubscribe
from onboarding.web.api import api, health
from onboarding.web.limits import BodyLimit, limits
from onboarding.web.redirects import RelativeRedirects
from onboarding.web.team import my_tasks, portfolio, projects, reports, session, sign_in

STATIC = Path(__file__).parent / "static"

DESCRIPTION = """\
The onboarding engine over HTTP: launch projects from published blueprints, move their
tasks, read their plans, history and reports, look after the outbox.

Every request carries an API key (`Authorization: Bearer <key>`, made with
`onboarding api-key create NAME --scope read|write|admin`); changes are recorded under
the key's name. Errors are `application/problem+json` (RFC 9457) with the engine's
problem codes. Writes are safe to retry (an external id, an `Idempotency-Key`).
"""


def create_app(application: Application | None = None) -> FastAPI:
    application = application or Application()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        application.close()

    app = FastAPI(
        title="Onboarding engine",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.application = application
    problems.install(app)
    app.include_router(health.router)
    app.include_router(api)
    app.include_router(hooks.router)  # /hooks: signed by the sender, no API key
    app.include_router(unsubscribe.router)  # /unsubscribe: the signed token is the permission, no API key
    app.include_router(customer.router)  # /c/{token}: customers' status pages, actions, calendars (signed links)
    # /team: the team's pages, signed in by an emailed link (a session cookie, no API key)
    session.install(app)
    app.include_router(sign_in.router)
    app.include_router(my_tasks.router)
    app.include_router(portfolio.router)
    app.include_router(projects.router)
    app.include_router(reports.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")  # htmx, team.js and the pages' stylesheet
    app.add_middleware(RelativeRedirects)  # a trailing slash's redirect names a path, never the Host header's site
    # outermost: no route reads more of a body than its limit
    app.add_middleware(BodyLimit, limit_of=limits(application.settings.max_blueprint_bytes))
    return app


def app_from_environment() -> FastAPI:
    """One worker's app: settings from the environment; its database is opened once, on the first request."""
    return create_app(Application())
