"""The one place that builds adapters from settings and hands them to services: the ``Application``.

A process (a command, the web server, a flow run) builds one ``Application`` from its
settings; its database is opened once, on first use, and its services are made once
and shared. Opening never upgrades an existing database's schema: that is
``Application.upgrade`` (``onboarding db upgrade``), run once, on purpose.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from functools import cached_property

from sqlalchemy import Engine

from onboarding.adapters import calendar_feeds
from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import LaterClock, SystemClock
from onboarding.adapters.email.customer_links import CustomerLinkSigner
from onboarding.adapters.email.rendering import MessageRenderer
from onboarding.adapters.email.transports import MaildirTransport, SmtpTransport
from onboarding.adapters.email.unsubscribe import SignedUnsubscribeTokens, secret_key
from onboarding.adapters.forked_batches import ForkedBatches
from onboarding.adapters.hook_mappings import YamlMappings
from onboarding.adapters.reports.html import HtmlReportPages
from onboarding.adapters.store.blueprints import SqlBlueprintCatalog
from onboarding.adapters.store.customer_links import SqlCustomerLinkKeys
from onboarding.adapters.store.hooks import SqlHookStore
from onboarding.adapters.store.idempotency import SqlIdempotencyStore
from onboarding.adapters.store.keys import SqlApiKeyStore
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.portfolio import SqlPortfolioStore
from onboarding.adapters.store.reports import SqlReportStore
from onboarding.adapters.store.sql import (
    SqlProjectStore,
    database_missing,
    make_engine,
    open_database,
    schema_revisions,
)
from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.adapters.store.team import SqlTeamStore
from onboarding.adapters.store.team_members import SqlTeamMemberStore
from onboarding.adapters.store.webhooks import SqlWebhookEndpoints
from onboarding.adapters.webhook_delivery import HttpWebhookPoster
from onboarding.adapters.webhooks import HttpWebhooks
from onboarding.core.messages import Person
from onboarding.services.blueprints import BlueprintRegistry
from onboarding.services.customer_links import CustomerLinkService
from onboarding.services.dispatch import Delivery, Dispatcher, ParallelDispatch, waiting
from onboarding.services.hooks import HookService
from onboarding.services.keys import ApiKeyService
from onboarding.services.launches import LaunchService
from onboarding.services.manager_report import ManagerReportService
from onboarding.services.outbox import OutboxService
from onboarding.services.planning import PlanningService
from onboarding.services.portfolio import PortfolioService
from onboarding.services.ports import Clock, Transport, Waiting
from onboarding.services.projects import ProjectService
from onboarding.services.reports import ReportService
from onboarding.services.side_by_side import side_by_side
from onboarding.services.status import StatusService
from onboarding.services.sweep import SweepService
from onboarding.services.team import TeamService
from onboarding.services.team_members import TeamMemberService
from onboarding.services.unsubscribe import UnsubscribeService
from onboarding.services.webhooks import WebhookService
from onboarding.settings import Settings


def planning_service(settings: Settings | None = None) -> PlanningService:
    settings = settings or Settings()
    return PlanningService(blueprints=FileBlueprints(max_bytes=settings.max_blueprint_bytes), clock=SystemClock())


def database(settings: Settings, *, create: bool = True) -> Engine:
    """The configured database at the latest schema: a new one is given it; an older one is refused.

    Raises ``StoreUnavailable`` saying what to check when it cannot be used
    (``database-out-of-date`` when its schema is older than this engine's); with
    ``create=False``, also when its SQLite file does not exist (it is not made).
    """
    return open_database(settings.effective_database_url, create=create)


def require_database(settings: Settings) -> None:
    """Raise ``StoreUnavailable`` (``database-not-found``) when the configured SQLite file does not exist.

    For the commands that read or change what is stored: run from the wrong folder, they
    would otherwise make an empty database there and report nothing.
    """
    missing = database_missing(settings.effective_database_url)
    if missing is not None:
        raise missing


def blueprint_registry(settings: Settings, *, clock: Clock, engine: Engine) -> BlueprintRegistry:
    """The blueprint registry of the configured database; blueprint files read with the configured limit."""
    return BlueprintRegistry(
        catalog=SqlBlueprintCatalog(engine),
        blueprints=FileBlueprints(max_bytes=settings.max_blueprint_bytes),
        clock=clock,
    )


def project_service(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    registry: BlueprintRegistry | None = None,
) -> ProjectService:
    """Projects in the configured database, launched from its published blueprints or from files it publishes."""
    settings = settings or Settings()
    engine = engine or database(settings)
    clock = clock or SystemClock()
    return ProjectService(
        store=SqlProjectStore(engine),
        blueprints=FileBlueprints(max_bytes=settings.max_blueprint_bytes),
        clock=clock,
        sender=Person(settings.sender_name, settings.sender_email),
        team=SqlTeamStore(engine),
        registry=registry or blueprint_registry(settings, clock=clock, engine=engine),
    )


def transport(settings: Settings) -> Transport:
    """SMTP when a host is set, else the Maildir folder."""
    if settings.smtp_host:
        return SmtpTransport(
            settings.smtp_host,
            settings.smtp_port,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout_seconds=settings.smtp_timeout_seconds,
            local_hostname=None,
        )
    return MaildirTransport(settings.effective_maildir, batched=True)


def unsubscribe_secret(settings: Settings) -> bytes:
    """The key that signs unsubscribe links: ONBOARDING_SECRET_KEY, else the data folder's own."""
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    return secret_key(configured, data_dir=settings.data_dir)


def renderer(settings: Settings, *, engine: Engine, clock: Clock) -> MessageRenderer:
    """The emails' renderer: the sender, unsubscribe links and customers' signed links of the settings."""
    secret = unsubscribe_secret(settings)
    return MessageRenderer(
        sender=Person(settings.sender_name, settings.sender_email),
        domain=settings.mail_domain,
        unsubscribe_url=settings.unsubscribe_url,
        unsubscribe_secret=secret,
        product_name=settings.sender_name,
        customer_links=CustomerLinkSigner(
            secret=secret,
            public_url=settings.effective_public_url,
            keys=SqlCustomerLinkKeys(engine),
            now=clock.now,
        ),
    )


# Messages a delivery run claims at a time. A Maildir batch shares one flush to disk and one transaction; over
# SMTP each message is recorded sent as the server takes it, and smaller batches share a few hundred messages
# out over every connection.
MAILDIR_BATCH = 200
SMTP_BATCH = 50


def dispatcher(settings: Settings, *, engine: Engine, clock: Clock) -> Delivery:
    """The outbox's delivery: over SMTP, ``smtp_connections`` dispatchers at once (``ParallelDispatch``), each
    with its own connection and renderer; to the Maildir, one."""
    if settings.smtp_host and settings.smtp_connections > 1:
        return ParallelDispatch(
            [_dispatcher(settings, engine=engine, clock=clock) for _ in range(settings.smtp_connections)]
        )
    return _dispatcher(settings, engine=engine, clock=clock)


def _dispatcher(settings: Settings, *, engine: Engine, clock: Clock) -> Dispatcher:
    return Dispatcher(
        outbox=SqlOutbox(engine),
        renderer=renderer(settings, engine=engine, clock=clock),
        transport=transport(settings),
        clock=clock,
        batch=SMTP_BATCH if settings.smtp_host else MAILDIR_BATCH,
        retry_horizon=timedelta(hours=settings.delivery_retry_horizon_hours),
        backoff_cap=timedelta(minutes=settings.delivery_backoff_cap_minutes),
        deadline_seconds=settings.delivery_deadline_seconds,
        webhooks=HttpWebhookPoster(),
        endpoints=SqlWebhookEndpoints(engine),
        webhook_timeout_seconds=settings.webhook_timeout_seconds,
        composer=project_service(settings, clock=clock, engine=engine),
    )


def delivery_waiting(*, engine: Engine, project_id: str | None = None) -> Waiting:
    """What the outbox has not handed over yet (of every project or one), and since when."""
    return waiting(SqlOutbox(engine), project_id=project_id)


def sweep_service(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    deliver: bool = True,
    engine: Engine | None = None,
    forked: bool = True,
) -> SweepService:
    """The sweep over the configured database, delivering to SMTP or the Maildir.

    It acts as of ``clock`` (default: the system's); the system clock says what now
    really is, so that a sweep never runs in the future of a real database. It never
    makes a database: a scheduled sweep started where there is none says so
    (``database-not-found``) instead of sweeping an empty one.

    Its batches go side by side in forked processes (``ForkedBatches``); with ``forked=False``, in threads, for a
    process whose other threads a fork would not copy (a Prefect flow run's).
    """
    settings = settings or Settings()
    clock = clock or SystemClock()
    engine = engine or database(settings, create=False)
    blueprints = FileBlueprints(max_bytes=settings.max_blueprint_bytes)
    store = SqlSweepStore(engine)
    # Emails leave, and are dated, no earlier than now: a catch-up sweep's, dated on the missed day, would sort
    # below the customer's newer mail. A simulation (the demo's database) lives by its own clock, before or after now.
    sending = clock if deliver and store.sweep_history().simulation else LaterClock(clock)
    return SweepService(
        store=store,
        projects=project_service(settings, clock=clock, engine=engine),
        blueprints=blueprints,
        clock=clock,
        wall_clock=SystemClock(),
        dispatcher=dispatcher(settings, engine=engine, clock=sending) if deliver else None,
        webhooks=HttpWebhooks(),
        sender=Person(settings.sender_name, settings.sender_email),
        workers=settings.sweep_workers or _sweep_workers(engine, forked=forked),
        spread=ForkedBatches(engine) if forked else side_by_side,
    )


def _sweep_workers(engine: Engine, *, forked: bool) -> int:
    """How many batches a sweep works at once by default: two processes where there are two cores (SQLite's work
    is a process's own: each plans while the other writes), two threads on PostgreSQL (one computes while the
    other waits on the server); on SQLite, threads gain nothing (one interpreter, one writer)."""
    if forked and (os.cpu_count() or 1) > 1:
        return 2
    return 2 if engine.dialect.name == "postgresql" else 1


def report_service(
    settings: Settings | None = None, *, clock: Clock | None = None, engine: Engine | None = None
) -> ReportService:
    """The manager reports over the configured database."""
    settings = settings or Settings()
    return ReportService(
        store=SqlReportStore(engine or database(settings)),
        blueprints=FileBlueprints(max_bytes=settings.max_blueprint_bytes),
        clock=clock or SystemClock(),
    )


def manager_report_service(
    settings: Settings | None = None, *, clock: Clock | None = None, engine: Engine | None = None
) -> ManagerReportService:
    """The managers' report over the configured database, written to ``<data folder>/reports``.

    Its figures are as of the given clock's day; its emails leave now, by the system
    clock (a report about a past or simulated day is still sent today).
    """
    settings = settings or Settings()
    clock = clock or SystemClock()
    engine = engine or database(settings, create=False)  # a report of no database is a mistake, not a new one
    return ManagerReportService(
        figures=report_service(settings, clock=clock, engine=engine),
        pages=HtmlReportPages(clock=SystemClock()),
        store=SqlProjectStore(engine),
        clock=SystemClock(),  # its emails are queued and leave now, whatever day the figures are for
        managers=[Person(name, email) for name, email in settings.manager_addresses],
        folder=settings.data_dir / "reports",
        dispatcher=dispatcher(settings, engine=engine, clock=SystemClock()),
    )


def outbox_service(
    settings: Settings | None = None, *, clock: Clock | None = None, engine: Engine | None = None
) -> OutboxService:
    """The outbox of the configured database, to list and resend by hand."""
    settings = settings or Settings()
    engine = engine or database(settings, create=False)
    return OutboxService(records=SqlOutbox(engine), projects=SqlProjectStore(engine), clock=clock or SystemClock())


class Application:
    """Settings, the database and the services over it, for one process: the CLI, the web app and the flows.

    The database opens on first use: made at the latest schema when ``create`` and it
    does not exist, refused when its schema is older (``database-out-of-date``). Each
    service is built once and kept. ``clock`` is the system's unless one is given
    (tests, a sweep as of another day).
    """

    def __init__(self, settings: Settings | None = None, *, clock: Clock | None = None, create: bool = True) -> None:
        self.settings = settings or Settings()
        self.clock: Clock = clock or SystemClock()
        self._create = create

    @cached_property
    def engine(self) -> Engine:
        return database(self.settings, create=self._create)

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the database's schema to this engine's (making the database if need be): (revision before, after)."""
        url = self.settings.effective_database_url
        missing = database_missing(url)
        before = None
        if missing is None:
            engine = make_engine(url)
            try:
                before, _head = schema_revisions(engine)
            finally:
                engine.dispose()
        upgraded = open_database(url, create=True, upgrade=True)
        try:
            _before, after = schema_revisions(upgraded)
        finally:
            upgraded.dispose()
        return before, after

    @cached_property
    def planning(self) -> PlanningService:
        """Plans of files, and of published blueprints (the database opened only for those)."""
        return PlanningService(
            blueprints=FileBlueprints(max_bytes=self.settings.max_blueprint_bytes),
            clock=self.clock,
            registry=lambda: self.blueprints,
        )

    @cached_property
    def blueprints(self) -> BlueprintRegistry:
        return blueprint_registry(self.settings, clock=self.clock, engine=self.engine)

    @cached_property
    def projects(self) -> ProjectService:
        return project_service(self.settings, clock=self.clock, engine=self.engine, registry=self.blueprints)

    @cached_property
    def launches(self) -> LaunchService:
        """Launches safe to retry: by external id and by idempotency key (the HTTP API's)."""
        return LaunchService(projects=self.projects, keys=SqlIdempotencyStore(self.engine), clock=self.clock)

    @cached_property
    def status(self) -> StatusService:
        """A project's status with its undelivered emails (``onboarding status``, ``GET /api/v1/projects/{id}``)."""
        return StatusService(
            store=SqlProjectStore(self.engine),
            waiting=self.delivery_waiting,
            clock=self.clock,
            as_of_today=self.projects.as_of_today,
        )

    @cached_property
    def reports(self) -> ReportService:
        return report_service(self.settings, clock=self.clock, engine=self.engine)

    @cached_property
    def outbox(self) -> OutboxService:
        return outbox_service(self.settings, clock=self.clock, engine=self.engine)

    @cached_property
    def unsubscribe(self) -> UnsubscribeService:
        return UnsubscribeService(
            tokens=SignedUnsubscribeTokens(unsubscribe_secret(self.settings)), projects=self.projects
        )

    @cached_property
    def customer_links(self) -> CustomerLinkService:
        """Customers' signed links: status pages, their done, stuck and snooze, calendar feeds."""
        return CustomerLinkService(
            keys=SqlCustomerLinkKeys(self.engine),
            projects=self.projects,
            feeds=calendar_feeds,
            secret=unsubscribe_secret(self.settings),
            public_url=self.settings.effective_public_url,
            domain=self.settings.mail_domain,
            clock=self.clock,
            sender=Person(self.settings.sender_name, self.settings.sender_email),
        )

    @cached_property
    def team(self) -> TeamService:
        """The team's default people for vendor roles, by segment."""
        return TeamService(
            store=SqlTeamStore(self.engine),
            snapshots=SqlReportStore(self.engine),
            blueprints=FileBlueprints(max_bytes=self.settings.max_blueprint_bytes),
            clock=self.clock,
        )

    @cached_property
    def team_members(self) -> TeamMemberService:
        """The people who sign in to the team's pages, their sign-in links and sessions."""
        sweeps = SqlSweepStore(self.engine)
        return TeamMemberService(
            store=SqlTeamMemberStore(self.engine),
            clock=self.clock,
            public_url=self.settings.effective_public_url,
            session_lifetime=timedelta(hours=self.settings.team_session_hours),
            is_demo=lambda: sweeps.sweep_history().simulation,
            projects=self.projects,
        )

    @cached_property
    def portfolio(self) -> PortfolioService:
        """The portfolio page's projects: filtered, sorted, by cursor, and as CSV."""
        return PortfolioService(store=SqlPortfolioStore(self.engine), clock=self.clock)

    @cached_property
    def keys(self) -> ApiKeyService:
        return ApiKeyService(store=SqlApiKeyStore(self.engine), clock=self.clock)

    @cached_property
    def hooks(self) -> HookService:
        """Inbound hooks: sources, and deliveries that launch through ``projects`` (waiting, with ``time.sleep``,
        for the same delivery launched by another request)."""
        return HookService(
            store=SqlHookStore(self.engine),
            projects=self.projects,
            mappings=YamlMappings(),
            clock=self.clock,
            pause=time.sleep,
        )

    @cached_property
    def webhooks(self) -> WebhookService:
        return WebhookService(endpoints=SqlWebhookEndpoints(self.engine), clock=self.clock)

    def sweep(self, *, clock: Clock | None = None, deliver: bool = True, forked: bool = True) -> SweepService:
        return sweep_service(
            self.settings, clock=clock or self.clock, deliver=deliver, engine=self.engine, forked=forked
        )

    def manager_report(self, *, clock: Clock | None = None) -> ManagerReportService:
        return manager_report_service(self.settings, clock=clock or self.clock, engine=self.engine)

    def delivery(self, *, clock: Clock | None = None) -> Delivery:
        """The outbox's delivery, as of ``clock`` (default: the application's)."""
        return dispatcher(self.settings, engine=self.engine, clock=clock or self.clock)

    def deliver_outbox(self) -> None:
        """Deliver what the outbox holds due now (a sign-in email must not wait for the next sweep)."""
        self.delivery().deliver_due()

    def delivery_waiting(self, project_id: str | None = None) -> Waiting:
        return delivery_waiting(engine=self.engine, project_id=project_id)

    def close(self) -> None:
        """Let go of the database's connections (when the process is done with it)."""
        if "engine" in self.__dict__:
            self.engine.dispose()
