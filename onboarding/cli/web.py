"""``onboarding web``: serve the HTTP API (and its docs at /api/docs) and the pages with uvicorn."""

from __future__ import annotations

import click

from onboarding.cli.edge import application, main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Server processes (one app each)."
)
def web(host: str, port: int, workers: int) -> None:
    """Serve the HTTP API (JSON under /api/v1, OpenAPI at /api/openapi.json, docs at /api/docs), the unsubscribe
    page customers reach from their emails (/unsubscribe: point ONBOARDING_UNSUBSCRIBE_URL at it) and the team's
    pages (/team: My tasks, the portfolio; members sign in by an emailed link)."""
    app = application()
    app.engine  # noqa: B018 - the database is made, or refused (out of date, unreachable), before the server starts
    app.close()
    import uvicorn  # here: the other commands never need the server

    # Each worker process builds its own app from the same environment (the command line's settings are the
    # environment's); the import string keeps the command line from importing the web layer.
    uvicorn.run(
        "onboarding.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )
