"""The one place that builds adapters from settings and hands them to services."""

from __future__ import annotations

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import SystemClock
from onboarding.services.planning import PlanningService
from onboarding.settings import Settings


def planning_service(settings: Settings | None = None) -> PlanningService:
    settings = settings or Settings()
    return PlanningService(blueprints=FileBlueprints(max_bytes=settings.max_blueprint_bytes), clock=SystemClock())
