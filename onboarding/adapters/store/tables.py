"""Row classes (SQLAlchemy 2, typed), kept apart from the domain values in ``core/projects.py``.

Dates that are days are ``Date`` columns (never text, so SQLite compares them as
dates do); instants are aware and stored in UTC. Names of constraints and indexes
follow one convention so that migrations are the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT autoincrement on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")
OPEN_STATES = "state IN ('pending', 'in_progress', 'blocked')"
READY_AUTOMATED = "kind = 'automated' AND state = 'pending'"
# The portfolio report's partial indexes: tasks finished after their target, launch tasks done, blocked tasks.
DONE_LATE = "state = 'done' AND done_on > target_due_on"
LAUNCHED = "launch AND state = 'done'"
BLOCKED = "state = 'blocked'"
WAITING_STATES = ("pending", "sending")  # the outbox's messages not handed over yet
WAITING = "status IN ({})".format(", ".join(f"'{state}'" for state in WAITING_STATES))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


PUBLISHED = "published_at IS NOT NULL"
_PUBLISHED = text(PUBLISHED)  # (the table's own ``text`` column hides the function in its class body)


class BlueprintRow(Base):
    """A blueprint text, kept once (its id is the SHA-256 of the text): what projects were launched from, and
    the registry's published versions.

    A row with ``published_at`` is a published version; at most one row is published
    per key and version. A row without is a snapshot only: a project was launched
    from a text whose version was published with another text before the registry
    refused such launches.
    """

    __tablename__ = "blueprints"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        # One text per published key and version; the registry lists and finds versions by key from here.
        Index(
            "uq_blueprints_published",
            "key",
            "version",
            unique=True,
            sqlite_where=_PUBLISHED,
            postgresql_where=_PUBLISHED,
        ),
    )


class ProjectRow(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    customer: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str | None] = mapped_column(String(64), index=True)
    blueprint_key: Mapped[str] = mapped_column(String(64), index=True)
    blueprint_version: Mapped[str] = mapped_column(String(32))
    blueprint_title: Mapped[str] = mapped_column(String(200))
    blueprint_id: Mapped[str] = mapped_column(ForeignKey("blueprints.id"), index=True)
    kickoff_on: Mapped[date] = mapped_column(Date)
    pay_schedule: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    committed_go_live_on: Mapped[date | None] = mapped_column(Date)
    projected_go_live_on: Mapped[date | None] = mapped_column(Date)
    finish_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The last day its plan holds as it is (``core.projects.replan_after``): a sweep re-plans it after that.
    replan_after: Mapped[date | None] = mapped_column(Date)
    # The customer's own calendar and time zone given at launch (0021); all null: the blueprint's.
    customer_country: Mapped[str | None] = mapped_column(String(2))
    customer_subdivision: Mapped[str | None] = mapped_column(String(32))
    customer_closed_days: Mapped[str | None] = mapped_column(Text)  # ISO dates, sorted, comma-separated
    customer_time_zone: Mapped[str | None] = mapped_column(String(64))
    # The go-live committed at launch, once a recommit moved ``committed_go_live_on`` (0018); how many recommits.
    first_committed_go_live_on: Mapped[date | None] = mapped_column(Date)
    recommits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The last day a re-forecast moved the projected go-live: news for the weekly status update (0026).
    go_live_moved_on: Mapped[date | None] = mapped_column(Date)
    # The earliest instant a weekly update can next be due to one of its readers, as a sweep found it at the
    # project's ``version`` (0031; ``core.status.weekly_next_due_at``): null at that version, none ever is. A
    # later version (a rebind, an upgrade, a kickoff moved: any change) is asked again.
    weekly_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    weekly_due_version: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        # The nudge decision reads these of many projects at once: each project's from this index alone.
        Index("ix_projects_nudge", "id", "state", "blueprint_id", "customer", "blueprint_title"),
        # The sweep's question: which active projects' plans move today.
        Index("ix_projects_replan", "state", "replan_after", "id"),
        # The portfolio page's sort orders, each a keyset from any place (0024).
        Index("ix_projects_by_customer", "customer", "id"),
        Index("ix_projects_by_kickoff", "kickoff_on", "id"),
        Index("ix_projects_by_go_live", "projected_go_live_on", "id"),
        Index("ix_projects_by_committed", "committed_go_live_on", "id"),
    )


class TeamDefaultRow(Base):
    """The person a vendor role takes by default at launch, per segment (``any``: every segment without its own)."""

    __tablename__ = "team_defaults"

    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    segment: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(200))


class CustomerLinkKeyRow(Base):
    """A project's link key: the random value that, with the engine's secret, signs its customer links
    (``core/customer_links``). Rotating it (a new value, the next generation) revokes every link made before."""

    __tablename__ = "customer_link_keys"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    link_key: Mapped[str] = mapped_column(String(64))  # URL-safe base64 of the random bytes
    generation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TeamMemberRow(Base):
    """Someone who signs in to the team's pages (``core/team_members``); removed, kept with when (0024)."""

    __tablename__ = "team_members"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)  # canonical
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # member, manager or admin
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    added_by: Mapped[str] = mapped_column(String(200))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TeamSignInLinkRow(Base):
    """A sign-in link emailed to a member: only the SHA-256 of its token is kept; used once, then kept used."""

    __tablename__ = "team_sign_in_links"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TeamSessionRow(Base):
    """A member's signed-in session: only the SHA-256 of the cookie's secret is kept."""

    __tablename__ = "team_sessions"

    secret_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class BindingRow(Base):
    __tablename__ = "bindings"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")

    __table_args__ = (
        # The sweep asks which zones people are in (to know whose day has begun): a few skips over this index.
        Index("ix_bindings_timezone", "timezone"),
        # The nudge decision reads the people of many projects at once: each project's from this index alone.
        Index("ix_bindings_people", "project_id", "role", "name", "email", "timezone"),
        # My tasks asks which roles of which projects a person holds (0024).
        Index("ix_bindings_email", "email", "project_id", "role"),
    )


class TaskRow(Base):
    __tablename__ = "tasks"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    milestone_key: Mapped[str] = mapped_column(String(64))
    milestone_title: Mapped[str] = mapped_column(String(200))
    owner_role: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(16))
    calendar: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    duration_business_days: Mapped[int] = mapped_column(Integer)
    customer_visible: Mapped[bool] = mapped_column(Boolean)
    first_value: Mapped[bool] = mapped_column(Boolean)
    launch: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))
    started_on: Mapped[date | None] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    start_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)  # projected: moves with every re-forecast
    # Expected by: the due date given when its predecessors actually finished (no "not before today").
    # Overdue means open past this date; nudges follow it.
    target_due_on: Mapped[date] = mapped_column(Date)
    late_due_on: Mapped[date] = mapped_column(Date)
    slack_business_days: Mapped[int] = mapped_column(Integer)
    critical: Mapped[bool] = mapped_column(Boolean)
    due_version: Mapped[int] = mapped_column(Integer, default=1)
    nudges_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_nudged_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        # The sweep's questions, answered from the index alone: open tasks due before today, and the nudge
        # decision's filter (far enough past the target date, long enough after the last nudge) with what the
        # ladder reads, so that overdue tasks not due a nudge today are never read. The one index of open tasks
        # by target date (0030): each more costs every task row a re-forecast re-dates.
        Index(
            "ix_tasks_open_nudge",
            "target_due_on",
            "last_nudged_on",
            "project_id",
            "key",
            "due_version",
            "nudges_sent",
            "owner_role",
            "side",
            "state",  # named by the condition: SQLite covers a query only with every column it reads
            sqlite_where=text(OPEN_STATES),
            postgresql_where=text(OPEN_STATES),
        ),
        # The sweep's automated tasks that may be ready: pending ones by their projected start, from the index
        # alone (a portfolio of human work leaves it empty, and the sweep reads nothing).
        Index(
            "ix_tasks_ready_automated",
            "start_on",
            "project_id",
            "position",
            "key",
            "kind",
            "state",
            sqlite_where=text(READY_AUTOMATED),
            postgresql_where=text(READY_AUTOMATED),
        ),
        # The portfolio report's slips, launches and blocks, each read from its index alone (every column the
        # query names is in it): a portfolio on time reads next to nothing.
        Index(
            "ix_tasks_done_late",
            "project_id",
            "key",
            "milestone_key",
            "side",
            "state",
            "done_on",
            "target_due_on",
            sqlite_where=text(DONE_LATE),
            postgresql_where=text(DONE_LATE),
        ),
        Index(
            "ix_tasks_launched",
            "project_id",
            "done_on",
            "launch",
            "state",
            sqlite_where=text(LAUNCHED),
            postgresql_where=text(LAUNCHED),
        ),
        Index(
            "ix_tasks_blocked",
            "project_id",
            "key",
            "side",
            "state",
            "target_due_on",
            sqlite_where=text(BLOCKED),
            postgresql_where=text(BLOCKED),
        ),
    )


class EventRow(Base):
    """The append-only log: rows are inserted, never updated or deleted."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    task_key: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_events_project", "project_id", "id"), Index("ix_events_kind_at", "kind", "at"))


class ProjectTtfvRow(Base):
    """The TTFV read model: one row per project, folded from its events, rewritten in the same transaction
    as every event the project appends (``adapters/store/reports.py`` computes it and can rebuild it)."""

    __tablename__ = "project_ttfv"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    blueprint_id: Mapped[str] = mapped_column(String(64))
    blueprint_key: Mapped[str] = mapped_column(String(64))
    blueprint_version: Mapped[str] = mapped_column(String(32))
    segment: Mapped[str | None] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(200))
    start_on: Mapped[date | None] = mapped_column(Date)
    value_on: Mapped[date | None] = mapped_column(Date)
    stopped_on: Mapped[date | None] = mapped_column(Date)
    # The same days as day numbers (days since 1970-01-01): the report compares and subtracts them in SQL,
    # the same way on SQLite and PostgreSQL.
    start_day: Mapped[int | None] = mapped_column(Integer)
    value_day: Mapped[int | None] = mapped_column(Integer)
    stopped_day: Mapped[int | None] = mapped_column(Integer)
    cohort_month: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM of the start day
    calendar_days: Mapped[int | None] = mapped_column(Integer)  # value_on - start_on, when value was reached
    business_days: Mapped[int | None] = mapped_column(Integer)  # on the customer calendar, when value was reached
    held_days: Mapped[int] = mapped_column(Integer, default=0)
    held_since: Mapped[date | None] = mapped_column(Date)
    target_calendar_days: Mapped[int | None] = mapped_column(Integer)
    # Once value is reached or the value task skipped (on closed_day), the observation no longer depends on
    # the report's day: it is kept packed in one integer (see reports.pack_observation), so that the report
    # groups by plain columns, in index order, without sorting the portfolio.
    closed_day: Mapped[int | None] = mapped_column(Integer)
    observation: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index(
            "ix_project_ttfv_closed", "blueprint_key", "target_calendar_days", "observation", "closed_day", "start_day"
        ),
        Index("ix_project_ttfv_open", "blueprint_key", "target_calendar_days", "start_day", "closed_day"),
    )


class ProjectTtfvUndoneRow(Base):
    """Part of the TTFV read model: the days a project's value task stood completed (value reached) or skipped
    before a later change undid it, so that a report as of one of those days gives the figures as they stood.
    ``project_ttfv`` holds the project's state now; a project has rows here only if its value was undone."""

    __tablename__ = "project_ttfv_undone"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    closed_day: Mapped[int] = mapped_column(Integer, primary_key=True)  # day number of the value (or skip)
    undone_day: Mapped[int] = mapped_column(Integer)  # day number of the first day it no longer stood
    observation: Mapped[int] = mapped_column(BigInteger)  # packed as project_ttfv.observation

    __table_args__ = (Index("ix_project_ttfv_undone_days", "undone_day", "closed_day"),)


class NudgeRow(Base):
    """One nudge decided for one task at one due-date version; its key makes it happen once."""

    __tablename__ = "nudges"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    task_key: Mapped[str] = mapped_column(String(64))
    due_version: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(320))
    digest_key: Mapped[str] = mapped_column(String(400))
    digest_on: Mapped[date | None] = mapped_column(Date)  # the recipient's local day of the digest (0009)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    # The sweep's count of each recipient's emails today reads the last two days' nudges, never the history,
    # which grows by tens of thousands a day at scale (0029).
    __table_args__ = (Index("ix_nudges_recorded", "created_at"),)


class OutboxRow(Base):
    """An email to deliver, or an outbound event to POST (kind ``webhook``: ``recipients`` holds its endpoint's URL,
    ``endpoint_id`` and ``body`` what is signed and sent), written in the same transaction as the change that caused
    it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(400), unique=True)
    # found by ``ix_outbox_status_sent``, which it leads (0030)
    project_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    recipients: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    cc: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(400))
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    customer_facing: Mapped[bool] = mapped_column(Boolean)
    reply_to: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    # A delivery run claims a row before delivering it, as ``run:<id>`` (``delivery_runs``);
    # the next run releases the claims of a run that is gone, a claim older than the lease
    # is taken again whoever holds it, and delivery is idempotent by key.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the idempotency key is made of (0009), so that no query splits keys: the recipient it is per,
    # the day it is for and, for status emails, the reason (weekly, milestone_complete).
    key_email: Mapped[str | None] = mapped_column(String(320))
    key_on: Mapped[date | None] = mapped_column(Date)
    key_reason: Mapped[str | None] = mapped_column(String(32))
    # Of a webhook message (0019): the endpoint it goes to and the exact JSON body, signed anew at each try.
    endpoint_id: Mapped[int | None] = mapped_column(BigInteger)
    body: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The messages waiting to go, in the order they were queued: a claim walks these, never the history of
        # sent messages, which grows for as long as the engine runs (0028).
        Index("ix_outbox_waiting", "id", sqlite_where=text(WAITING), postgresql_where=text(WAITING)),
        # the weekly status emails already queued, per project and recipient, from the index alone
        Index("ix_outbox_status_sent", "project_id", "kind", "key_reason", "key_email", "key_on"),
    )


class WebhookEndpointRow(Base):
    """An endpoint subscribed to outbound events (``onboarding webhook add``); removed, it is kept disabled, so that
    the outbox's messages for it still name it, and gets nothing more."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)  # event types (core/webhook_events.EVENT_TYPES)
    secret: Mapped[str] = mapped_column(String(200))  # whsec_...: kept as given, it signs every POST
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class SweepDayRow(Base):
    """A day the sweep ran as of: a sweep never runs as of a day before the latest of these."""

    __tablename__ = "sweep_days"

    swept_on: Mapped[date] = mapped_column(Date, primary_key=True)
    sweeps: Mapped[int] = mapped_column(Integer, default=1)
    last_as_of_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the instant the last one acted as of
    first_ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when, really, the first one ran
    last_ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DatabaseMarkRow(Base):
    """Facts about the database itself, by name: ``simulation`` when it was created as one (the demo's)."""

    __tablename__ = "database_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeliveryRunRow(Base):
    """A delivery run that is claiming or was claiming outbox rows (``outbox.claimed_by`` is ``run:<id>``).

    It says which process made the claims, so that a later run can tell whether that
    process is gone and release them at once: on SQLite, whether the process is still
    alive on this machine (by pid and process start, which survives pid reuse); on
    PostgreSQL, whether the run still holds its session advisory lock and beats its
    heartbeat. A run removes its row when it ends; a gone run's row goes with its claims.
    """

    __tablename__ = "delivery_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    process_started: Mapped[str] = mapped_column(String(80))  # boot id and start tick, "" where unknown
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # wall-clock, not a sweep's --as-of
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKeyRow(Base):
    """A key for the HTTP API: only its SHA-256 is kept; the key itself is shown once, when made."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # the actor its changes are recorded under
    scope: Mapped[str] = mapped_column(String(16))  # read, write or admin
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256 of the whole key
    prefix: Mapped[str] = mapped_column(String(16))  # the key's first characters, to recognise it in a list
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class HookSourceRow(Base):
    """A system allowed to launch projects by posting to ``/hooks/launch/{name}``: how it signs, how to read it.

    The secret is kept as given (verifying a signature needs it; it is never shown again).
    """

    __tablename__ = "hook_sources"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(16))
    secret: Mapped[str] = mapped_column(Text)
    mapping: Mapped[str] = mapped_column(Text)  # the mapping's YAML text, as added
    public_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HookDeliveryRow(Base):
    """A hook delivery seen: claimed (no project yet) while it launches, then the project it launched.

    One row per (source, delivery id): a delivery retried, even two at once, launches once.
    """

    __tablename__ = "hook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    delivery_id: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(128))
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("source", "delivery_id", name="uq_hook_deliveries_source_delivery_id"),)


class IdempotencyKeyRow(Base):
    """A launch asked with an ``Idempotency-Key``: what was asked (its fingerprint and canonical form) and,
    once served, the project it answered and whether it made it. Per API key: one caller's keys never
    meet another's. A row without a project is a request being served (or one that died: taken over later)."""

    __tablename__ = "idempotency_keys"

    owner: Mapped[str] = mapped_column(String(64), primary_key=True)  # the API key's name
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # hex SHA-256 of the canonical request
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # the launch made the project
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WeeklyQuietRow(Base):
    """A weekly status update left unsent for want of news: it counts as that week's update for its reader, so
    the next sweeps do not weigh it again, and the next week looks for news since its slot (0026)."""

    __tablename__ = "weekly_quiet"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    slot_on: Mapped[date] = mapped_column(Date)  # the latest quiet week's slot


OPEN = ("pending", "in_progress", "blocked")
# Open tasks, written out as in the partial indexes' condition: with bound parameters instead of
# literals, SQLite cannot tell that a query implies the condition, and does not use the index.
IS_OPEN = TaskRow.__table__.c.state.in_(bindparam("open_states", OPEN, expanding=True, literal_execute=True))
