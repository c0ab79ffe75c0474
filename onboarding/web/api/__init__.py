"""The JSON API under ``/api/v1``: one router module per resource, gathered here.

A new resource is a module with a ``router`` (an ``APIRouter`` with its own prefix
and tags), added to ``ROUTERS``.
"""

from __future__ import annotations

from fastapi import APIRouter

from onboarding.web.api import (
    blueprints,
    health,
    hook_sources,
    outbox,
    plans,
    project_changes,
    projects,
    reports,
    team_defaults,
    webhooks,
)

ROUTERS: list[APIRouter] = [
    projects.router,
    project_changes.router,
    blueprints.router,
    plans.router,
    reports.router,
    outbox.router,
    webhooks.router,
    hook_sources.router,
    team_defaults.router,
]

api = APIRouter(prefix="/api/v1")
for _router in ROUTERS:
    api.include_router(_router)

__all__ = ["api", "health"]
