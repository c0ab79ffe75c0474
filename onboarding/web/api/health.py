"""``GET /api/health``: whether the server is up and its database answers at the expected schema."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from onboarding import __version__
from onboarding.adapters.store.sql import schema_revisions
from onboarding.web.deps import App

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    schema_revision: str | None


@router.get("/api/health", response_model=Health, summary="The server is up and its database answers")
def health(app: App) -> Health:
    current, _head = schema_revisions(app.engine)
    return Health(status="ok", version=__version__, schema_revision=current)
