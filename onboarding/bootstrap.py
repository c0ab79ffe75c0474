"""The one place that builds adapters from settings and hands them to services."""

from __future__ import annotations

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import SystemClock
from onboarding.adapters.store.sql import SqlProjectStore, make_engine, migrate
from onboarding.core.messages import Person
from onboarding.services.planning import PlanningService
from onboarding.services.projects import ProjectService
from onboarding.settings import Settings


def planning_service(settings: Settings | None = None) -> PlanningService:
    settings = settings or Settings()
    return PlanningService(blueprints=FileBlueprints(max_bytes=settings.max_blueprint_bytes), clock=SystemClock())


def project_service(settings: Settings | None = None) -> ProjectService:
    """Projects in the configured database, migrated to the latest schema first."""
    settings = settings or Settings()
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    return ProjectService(
        store=SqlProjectStore(engine),
        blueprints=FileBlueprints(max_bytes=settings.max_blueprint_bytes),
        clock=SystemClock(),
        sender=Person(settings.sender_name, settings.sender_email),
    )
