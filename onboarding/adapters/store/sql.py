"""The SQL project store: engines, migrations, and reading and writing projects in transactions.

Every change is one transaction: the project row (with an optimistic version
check), its task rows, the events it appends and the emails it queues in the
outbox (``INSERT ... ON CONFLICT DO NOTHING`` on the message's idempotency key, so
a retried change never queues the same email twice), with one webhook message per
(endpoint subscribed, outbound event of the change) (``core/webhook_events.py``):
the endpoints are read in the change's own transaction, so an endpoint added later
gets nothing from before.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from functools import cache
from operator import attrgetter
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    URL,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Date,
    Engine,
    Select,
    Table,
    and_,
    bindparam,
    create_engine,
    event,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)

from onboarding.adapters.store.reports import (
    TTFV_EVENT_KINDS,
    TtfvDefinitions,
    histories_of,
    insert_ttfv,
    project_ttfv_values,
    replace_ttfv,
)
from onboarding.adapters.store.rows import among, customer_calendar_of, utc_instant
from onboarding.adapters.store.tables import (
    Base,
    BindingRow,
    BlueprintRow,
    EventRow,
    OutboxRow,
    ProjectRow,
    TaskRow,
    WebhookEndpointRow,
)
from onboarding.core.customer_calendar import CustomerCalendar
from onboarding.core.lifecycle import OPEN, Event, ProjectState, TaskState
from onboarding.core.messages import ABOUT_THE_WORK, OutgoingMessage, Person
from onboarding.core.projects import ProjectRecord, TaskRecord
from onboarding.core.webhook_events import WebhookEndpoint, outbound_events, webhook_messages
from onboarding.errors import Problem, ProjectNotFound, StoreUnavailable
from onboarding.services.ports import ConcurrentChange, FailedMessage, ProjectChange, ProjectQuery, ProjectSummary

MIGRATIONS = Path(__file__).parent / "migrations"

projects = Base.metadata.tables[ProjectRow.__tablename__]
blueprints = Base.metadata.tables[BlueprintRow.__tablename__]
# A project row with its blueprint's text and source, as the domain record wants it.
_PROJECT = select(
    projects, blueprints.c.text.label("blueprint_text"), blueprints.c.source.label("blueprint_source")
).join(blueprints, blueprints.c.id == projects.c.blueprint_id)
bindings = Base.metadata.tables[BindingRow.__tablename__]
_CHUNK = 1000  # ids per IN list: well under every driver's limit on bound parameters
_ROWS_A_STATEMENT = 2000  # rows of a list a PostgreSQL statement reads as arrays (``run_listed``)
tasks = Base.metadata.tables[TaskRow.__tablename__]
events = Base.metadata.tables[EventRow.__tablename__]
outbox = Base.metadata.tables[OutboxRow.__tablename__]
webhook_endpoints = Base.metadata.tables[WebhookEndpointRow.__tablename__]


def make_engine(url: str) -> Engine:
    """An engine for a URL; SQLite files get WAL, foreign keys and a busy timeout.

    Raises ``StoreUnavailable`` for a URL that cannot be used (``invalid-database-url``)
    and for a SQLite data folder that cannot be made (``data-dir-unusable``).
    """
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _unusable_folder(folder, exc) from None
            if not folder.is_dir():
                raise _unusable_folder(folder, NotADirectoryError(20, "Not a directory"))
        engine = _create_engine(url, parsed, connect_args={"timeout": 30})
        engine.dialect.statement_compiler = _SQLiteCompiler

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            # Transactions are begun below: the driver's own would begin only at the first write.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            # A transaction that will write (``writing``) takes the write lock from the start, so that two
            # processes (two sweeps, a sweep and the CLI) queue rather than deadlock; one that only reads
            # takes none, so that a long read (a sweep's decision, a report) never holds writers back.
            writes = connection.get_execution_options().get(_WRITES, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        return engine
    connect_args = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
    return _create_engine(url, parsed, pool_pre_ping=True, connect_args=connect_args)


class _SQLiteCompiler(SQLiteCompiler):
    """SQLAlchemy's SQLite compiler, which also writes a table's hint (``Select.with_hint(table, "INDEXED BY
    ix_name", "sqlite")``) after its name: SQLite then reads that index or refuses the query, whatever its
    statistics (``outbox.waiting_first``)."""

    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:
        return text


def _parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise _bad_url(url, "it cannot be read as a URL") from None


def _create_engine(url: str, parsed: URL, **options: Any) -> Engine:
    try:
        return create_engine(parsed, **options)
    except NoSuchModuleError:
        dialect = parsed.drivername
        said = f"there is no database dialect {dialect!r}"
        if dialect in ("postgres", "postgresql+psycopg2"):
            said += " here (PostgreSQL is postgresql+psycopg://)"
        raise _bad_url(url, said) from None
    except ImportError as exc:
        raise _bad_url(url, f"its driver is not installed ({exc.name or exc})") from None
    except (ArgumentError, TypeError, ValueError) as exc:
        raise _bad_url(url, str(exc)) from None


def database_missing(url: str) -> StoreUnavailable | None:
    """The error to give a command that does not create a database when the SQLite file is not there."""
    parsed = _parse_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    if path.exists():
        return None
    if path.parent.exists() and not path.parent.is_dir():
        return _unusable_folder(path.parent, NotADirectoryError(20, "Not a directory"))
    return _store_problem(
        "database-not-found",
        f"no database at {path.resolve()}",
        "this reads an existing database and does not create one: set ONBOARDING_DATA_DIR (or "
        "ONBOARDING_DATABASE_URL) to where the database is, or create one first",
    )


def _not_a_database_file(url: str) -> StoreUnavailable | None:
    """A SQLite URL that cannot hold the engine's data: in memory (each connection a new, empty database, gone when
    the command ends), or a path that is there and is not a file (``/dev/null``, a folder), which SQLite would open
    and leave a journal beside."""
    parsed = _parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or parsed.query.get("mode") == "memory":
        return _bad_url(url, "an in-memory SQLite database keeps nothing from one command to the next")
    path = Path(database)
    if path.exists() and not path.is_file():
        return _bad_url(url, f"{path} is not a file: the database is a SQLite file of its own")
    return None


def store_failure(exc: BaseException, url: str) -> StoreUnavailable:
    """A database driver's failure said plainly: which file or server, what it said, what to check."""
    parsed = _parse_url(url)
    said = _driver_message(exc)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or ":memory:").resolve()
        lowered = said.lower()
        if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
            return _store_problem(
                "database-unreadable",
                f"{path} is not a readable onboarding database: {said}",
                "the file is damaged or is not a SQLite database; nothing was changed. Restore it from a backup, "
                "or point ONBOARDING_DATA_DIR (or ONBOARDING_DATABASE_URL) at the right database",
            )
        if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
            return _store_problem(
                "data-dir-unusable",
                f"cannot open {path}: {said}",
                f"check that {path.parent} is a folder you may read and write (ONBOARDING_DATA_DIR)",
            )
        return _store_problem(
            "database-failed",
            f"the database {path} failed: {said}",
            "check the disk (space, permissions) and whether another program holds the file",
        )
    where = parsed.render_as_string(hide_password=True)
    server = f"{parsed.host or 'localhost'}:{parsed.port or 'default port'}"
    if _cannot_reach(exc):
        return _store_problem(
            "database-unreachable",
            f"cannot connect to the database server at {server} ({where}): {said}",
            "check that the server is running and accepts connections there, that the database and user exist, "
            "and ONBOARDING_DATABASE_URL",
        )
    return _store_problem(
        "database-failed",
        f"the database at {server} ({where}) failed: {said}",
        "check the server's log and ONBOARDING_DATABASE_URL",
    )


def _cannot_reach(exc: BaseException) -> bool:
    """A connection that could not be made or was lost (not a statement the server refused)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)  # None: the client could not connect at all
    return sqlstate is None or sqlstate.startswith(("08", "57P", "3D", "28"))  # connection, shutdown, no db, auth


def _driver_message(exc: BaseException) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return "; ".join(lines) or type(orig).__name__


def _store_problem(code: str, message: str, hint: str) -> StoreUnavailable:
    return StoreUnavailable("database", (Problem(code, message, hint=hint),))


def _bad_url(url: str, said: str) -> StoreUnavailable:
    shown = re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)  # never echo a password
    return _store_problem(
        "invalid-database-url",
        f"ONBOARDING_DATABASE_URL={shown!r}: {said}",
        "write postgresql+psycopg://user@host:5432/database or sqlite:////absolute/path.db, "
        "or unset it for the SQLite file in ONBOARDING_DATA_DIR",
    )


def _unusable_folder(folder: Path, exc: OSError) -> StoreUnavailable:
    what = "is a file, not a folder" if folder.exists() and not folder.is_dir() else "cannot be created"
    return _store_problem(
        "data-dir-unusable",
        f"the data folder {folder.resolve()} {what}: {exc.strerror or exc}",
        "set ONBOARDING_DATA_DIR to a folder you may write (it is made if missing), or fix that path",
    )


_WRITES = "onboarding_writes"


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes: committed at the end of the block, rolled back on an error.

    On SQLite it holds the write lock from its first statement (see ``make_engine``);
    reads use ``engine.connect()`` and hold no lock.
    """
    with engine.connect() as connection:
        connection.execution_options(**{_WRITES: True})
        with connection.begin():
            yield connection


def open_database(url: str, *, create: bool = True, upgrade: bool = False) -> Engine:
    """The database at a URL, at the latest schema; every failure a ``StoreUnavailable``.

    A new database (no schema yet) is given the latest schema. One made by an earlier
    version of the engine is upgraded only when ``upgrade`` says so (``onboarding db
    upgrade``): otherwise it is refused with ``database-out-of-date``, so that opening a
    process never changes a schema that other processes may be using. With
    ``create=False`` a SQLite file that does not exist is not made (``database-not-found``).
    """
    if (unusable := _not_a_database_file(url)) is not None:
        raise unusable
    if not create and (missing := database_missing(url)) is not None:
        raise missing
    engine = make_engine(url)
    try:
        # A new SQLite file is still in rollback mode until its first connection turns WAL on; two processes
        # doing that at once can be refused at once ("database is locked": SQLite does not wait where waiting
        # could deadlock). Processes started together on a new folder open it one at a time.
        with _folder_lock(engine) if _new_sqlite_file(engine) else nullcontext():
            current = _current_revision(engine)
            if current != _head_revision():
                if current is not None and not upgrade:
                    raise _out_of_date(current)
                migrate(engine)
    except StoreUnavailable:
        engine.dispose()
        raise
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise store_failure(exc, url) from None
    return engine


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """The database's schema revision (None: no schema yet) and the latest this engine knows."""
    return _current_revision(engine), _head_revision()


def _out_of_date(current: str) -> StoreUnavailable:
    return _store_problem(
        "database-out-of-date",
        f"the database is at schema revision {current}, older than this engine's {_head_revision()}",
        "upgrade the database's schema once (stop the sweep and other users of it first), then try again",
    )


# Any fixed 64-bit number: the PostgreSQL advisory lock that migrations of this engine take.
_MIGRATION_LOCK = 0x6F6E626F61726400


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest migration (safe to run at every start, from many processes at once).

    At the latest migration already, it reads one row and takes no lock. Otherwise it
    takes the migration lock (a PostgreSQL advisory lock; on SQLite, a lock on the
    database's folder), reads the revision again and upgrades only if still needed:
    processes started together on an empty database wait for the first one.
    """
    head = _head_revision()
    if _current_revision(engine) == head:
        return
    with _folder_lock(engine), writing(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        revision = _revision_of(connection)
        if revision == head:
            return
        if revision is None and connection.dialect.name == "sqlite":
            _refuse_a_file_of_another_application(connection)
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _refuse_a_file_of_another_application(connection: Connection) -> None:
    """A SQLite file with no schema revision and tables of its own is another application's database: the
    engine's tables are never added to it (``database-not-ours``)."""
    tables = [
        name
        for (name,) in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
    ]
    if tables:
        raise _store_problem(
            "database-not-ours",
            f"the SQLite file holds tables this engine did not make ({', '.join(sorted(tables)[:5])}) and no "
            "schema revision of its own",
            "point ONBOARDING_DATABASE_URL (or ONBOARDING_DATA_DIR) at a new file or at the engine's own database",
        )


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def _script_revisions() -> tuple[str, frozenset[str]]:
    script = ScriptDirectory.from_config(_alembic_config())
    head = script.get_current_head()
    assert head is not None  # noqa: S101 - the package ships its migrations
    return head, frozenset(r.revision for r in script.walk_revisions())


def _head_revision() -> str:
    return _script_revisions()[0]


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _revision_of(connection)


def _revision_of(connection: Connection) -> str | None:
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is not None and revision not in _script_revisions()[1]:
        raise _store_problem(
            "database-too-new",
            f"the database is at schema revision {revision!r}, which this version of the engine does not know",
            "run a version of the engine at least as new as the one that last migrated this database",
        )
    return revision


_SQLITE_HEADER = 100  # bytes: a SQLite file shorter than its header has never been written


def _new_sqlite_file(engine: Engine) -> bool:
    """Whether the engine's SQLite file is missing or has never been written (no header yet)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return False
    try:
        return Path(database).stat().st_size < _SQLITE_HEADER
    except FileNotFoundError:
        return True


_held = threading.local()  # the folders this thread holds the lock of (``_folder_lock`` is re-entrant)


@contextmanager
def _folder_lock(engine: Engine) -> Iterator[None]:
    """On SQLite, an exclusive lock on the database file's folder while a new file is first opened and while
    the schema is brought up to date; re-entrant within a thread (``open_database`` holds it around
    ``migrate``)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    folder = str(Path(database).resolve().parent)
    held: set[str] = _held.__dict__.setdefault("folders", set())
    if folder in held:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        held.add(folder)
        yield
    finally:
        held.discard(folder)
        os.close(descriptor)  # closing releases the lock


def _insert(connection: Connection) -> Any:
    return pg_insert if connection.dialect.name == "postgresql" else sqlite_insert


class SqlProjectStore:
    """Projects in a SQL database (the real ``ProjectStore``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ttfv_definitions = TtfvDefinitions()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with writing(self.engine) as connection:
            yield connection

    # -- reading ---------------------------------------------------------------

    def load(self, ref: str) -> ProjectRecord:
        with self.engine.connect() as connection:
            # by id, else by external id: one indexed lookup each (with OR, the planner would scan every project)
            pid = connection.execute(select(projects.c.id).where(projects.c.id == ref)).scalar()
            if pid is None:
                pid = connection.execute(select(projects.c.id).where(projects.c.external_id == ref)).scalar()
            row = None if pid is None else connection.execute(_PROJECT.where(projects.c.id == pid)).first()
            if row is None:
                raise ProjectNotFound(
                    ref,
                    (
                        Problem(
                            "project-not-found",
                            f"no project {ref!r}",
                            (),
                            "the list of projects shows their ids and external ids",
                        ),
                    ),
                )
            return self._record(connection, row._mapping)

    def find_external(self, external_id: str) -> ProjectRecord | None:
        try:
            return self.load(external_id)
        except ProjectNotFound:
            return None

    def list_projects(
        self,
        *,
        state: str | None = None,
        blueprint: str | None = None,
        segment: str | None = None,
        customer: str | None = None,
        limit: int = 200,
    ) -> list[ProjectRecord]:
        query = _PROJECT.order_by(projects.c.kickoff_on, projects.c.id).limit(limit)
        if state:
            query = query.where(projects.c.state == state)
        if blueprint:
            query = query.where(projects.c.blueprint_key == blueprint)
        if segment:
            query = query.where(projects.c.segment == segment)
        if customer:
            query = query.where(_names_part(customer))
        with self.engine.connect() as connection:
            return [self._record(connection, row._mapping) for row in connection.execute(query)]

    def project_page(
        self, query: ProjectQuery, *, after: tuple[date, str] | None = None, limit: int = 50
    ) -> list[ProjectSummary]:
        """One page of matching projects, by kickoff then id: one query, no task or person read."""
        statement = (
            select(*(projects.c[name] for name in _SUMMARY))
            .where(*_matching(query))
            .order_by(projects.c.kickoff_on, projects.c.id)
            .limit(limit)
        )
        if after is not None:
            kickoff_on, pid = after
            statement = statement.where(
                or_(projects.c.kickoff_on > kickoff_on, and_(projects.c.kickoff_on == kickoff_on, projects.c.id > pid))
            )
        with self.engine.connect() as connection:
            return [
                ProjectSummary(
                    **{**row._mapping, "state": ProjectState(row.state), "created_at": utc_instant(row.created_at)}
                )
                for row in connection.execute(statement)
            ]

    def events(self, project_id: str) -> list[Event]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(events).where(events.c.project_id == project_id).order_by(events.c.id))
            return [Event(r.kind, utc_instant(r.at), r.actor, r.task_key, r.data or {}) for r in rows]

    def load_many(self, project_ids: Sequence[str]) -> list[ProjectRecord]:
        """The projects with these ids, read together: their rows, bindings and tasks a few queries per
        thousand projects, each blueprint snapshot's text once."""
        wanted = list(dict.fromkeys(project_ids))
        rows: dict[str, Any] = {}
        people: dict[str, dict[str, Person]] = {}
        task_rows: dict[str, list[Any]] = {}
        texts: dict[str, tuple[str, str]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                for row in connection.execute(select(projects).where(among(connection, projects.c.id, chunk))):
                    rows[row.id] = row._mapping
                for b in connection.execute(select(bindings).where(among(connection, bindings.c.project_id, chunk))):
                    people.setdefault(b.project_id, {})[b.role] = Person(b.name, b.email, b.timezone)
                for pid, task in _read_tasks(connection, chunk):
                    task_rows.setdefault(pid, []).append(task)
            snapshots = sorted({row["blueprint_id"] for row in rows.values()})
            for b in connection.execute(
                select(blueprints.c.id, blueprints.c.text, blueprints.c.source).where(blueprints.c.id.in_(snapshots))
            ):
                texts[b.id] = (b.text, b.source)
        return [
            _record_of(rows[pid], *texts[rows[pid]["blueprint_id"]], people.get(pid, {}), task_rows.get(pid, []))
            for pid in wanted
            if pid in rows
        ]

    def _record(self, connection: Connection, row: Any) -> ProjectRecord:
        pid = row["id"]
        people = {
            b.role: Person(b.name, b.email, b.timezone)
            for b in connection.execute(select(bindings).where(bindings.c.project_id == pid))
        }
        task_rows = [task for _pid, task in _read_tasks(connection, [pid])]
        return _record_of(row, row["blueprint_text"], row["blueprint_source"], people, task_rows)

    # -- writing ---------------------------------------------------------------

    def find_externals(self, external_ids: Sequence[str]) -> dict[str, ProjectRecord]:
        wanted = sorted(set(external_ids))
        found: dict[str, ProjectRecord] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 5000):
                rows = connection.execute(_PROJECT.where(projects.c.external_id.in_(wanted[start : start + 5000])))
                for row in rows:
                    found[row.external_id] = self._record(connection, row._mapping)
        return found

    def create(
        self, project: ProjectRecord, *, new_events: Sequence[Event], messages: Sequence[OutgoingMessage]
    ) -> None:
        self.create_many([(project, new_events, messages)])

    def create_many(self, items: Sequence[tuple[ProjectRecord, Sequence[Event], Sequence[OutgoingMessage]]]) -> None:
        """New projects, their bindings, tasks, first events and queued emails: bulk inserts, one transaction."""
        if not items:
            return
        snapshots: dict[str, dict[str, Any]] = {}
        project_rows, binding_rows, task_rows, event_rows, outbox_rows, ttfv_rows = [], [], [], [], [], []
        for project, new_events, messages in items:
            ttfv_rows.append(project_ttfv_values(project, new_events, self._ttfv_definitions))
            blueprint_id = hashlib.sha256(project.blueprint_text.encode("utf-8")).hexdigest()
            snapshots.setdefault(
                blueprint_id,
                {
                    "id": blueprint_id,
                    "key": project.blueprint_key,
                    "version": project.blueprint_version,
                    "title": project.blueprint_title,
                    "source": project.blueprint_source,
                    "text": project.blueprint_text,
                    "created_at": project.created_at,
                },
            )
            project_rows.append(
                {
                    **_project_values(project),
                    "id": project.id,
                    "external_id": project.external_id,
                    "created_at": project.created_at,
                    "blueprint_id": blueprint_id,
                    "version": 1,
                    **_customer_values(project.customer_calendar),
                }
            )
            binding_rows += [
                {"project_id": project.id, "role": role, "name": p.name, "email": p.email, "timezone": p.timezone}
                for role, p in project.bindings.items()
            ]
            task_rows += [_task_values(project.id, t) for t in project.tasks]
            event_rows += [_event_values(project.id, e) for e in new_events]
            outbox_rows += [outbox_values(m, project.created_at) for m in messages]
        try:
            self._create_rows(
                items, snapshots, project_rows, binding_rows, task_rows, event_rows, outbox_rows, ttfv_rows
            )
        except IntegrityError as exc:  # another launch stored the same external id (or id) meanwhile
            raise ConcurrentChange(_driver_message(exc)) from exc

    def _create_rows(
        self,
        items: Sequence[tuple[ProjectRecord, Sequence[Event], Sequence[OutgoingMessage]]],
        snapshots: dict[str, dict[str, Any]],
        project_rows: list[dict[str, Any]],
        binding_rows: list[dict[str, Any]],
        task_rows: list[dict[str, Any]],
        event_rows: list[dict[str, Any]],
        outbox_rows: list[dict[str, Any]],
        ttfv_rows: list[dict[str, Any]],
    ) -> None:
        with self._transaction() as connection:
            insert_new = _insert(connection)
            connection.execute(
                insert_new(blueprints).on_conflict_do_nothing(index_elements=["id"]), list(snapshots.values())
            )
            connection.execute(insert(projects), project_rows)
            if binding_rows:
                connection.execute(insert(bindings), binding_rows)
            connection.execute(insert(tasks), task_rows)
            if event_rows:
                insert_new_rows(connection, events, event_rows, key=None)  # each row a new event
            endpoints = listening_endpoints(connection)
            if endpoints:
                for project, new_events, _messages in items:
                    changes = webhook_messages(project, outbound_events(None, project, new_events), endpoints)
                    outbox_rows += [outbox_values(m, project.created_at) for m in changes]
            insert_new_rows(connection, outbox, outbox_rows, key=["idempotency_key"])
            insert_ttfv(connection, ttfv_rows)  # the TTFV read model, in the events' transaction

    def save_many(self, changes: Sequence[ProjectChange]) -> None:
        """Several projects' changes in one transaction: their versions checked first (under the write lock on
        SQLite, row locks on PostgreSQL), then each project row, its tasks' changed fields, events and emails."""
        if not changes:
            return
        ids = sorted(c.before.id for c in changes)
        with self._transaction() as connection:
            versions: dict[str, int] = {}
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                query = select(projects.c.id, projects.c.version).where(among(connection, projects.c.id, chunk))
                if connection.dialect.name == "postgresql":
                    query = lock_in_order(query)
                versions.update((r.id, r.version) for r in connection.execute(query))
            stale = [c.before.id for c in changes if versions.get(c.before.id) != c.before.version]
            if stale:
                raise ConcurrentChange(", ".join(stale))
            project_columns = [*_project_values(changes[0].after), "version"]
            connection.execute(
                update(projects)
                .where(projects.c.id == bindparam("b_id"))
                .values({c: bindparam(f"b_{c}") for c in project_columns}),
                [
                    {
                        "b_id": c.before.id,
                        "b_version": c.before.version + 1,
                        **{f"b_{k}": v for k, v in _project_values(c.after).items()},
                    }
                    for c in changes
                ],
            )
            # Each changed task row sets only the fields that changed, one statement per set of fields: a
            # re-forecast moves planned dates, which only the ready automated tasks' index holds (their start), so
            # SQLite leaves the other indexes as they are.
            by_fields: dict[tuple[str, ...], list[tuple[str, TaskRecord]]] = {}
            for c in changes:
                before = {t.key: t for t in c.before.tasks}
                for task in c.after.tasks:
                    was = before.get(task.key)
                    if was != task:
                        fields = _TASK_FIELDS if was is None else _changed_fields(was, task)
                        by_fields.setdefault(fields, []).append((c.before.id, task))
            for fields, changed in by_fields.items():
                _update_tasks(connection, changed, fields=fields)
            endpoints = listening_endpoints(connection)
            appended: list[tuple[str, Sequence[Event], Sequence[OutgoingMessage], datetime]] = []
            for c in changes:
                _update_bindings(connection, c)
                if c.suppress_pending is not None:
                    connection.execute(
                        update(outbox)
                        .where(
                            outbox.c.project_id == c.before.id,
                            outbox.c.status == "pending",
                            outbox.c.kind.in_(sorted(ABOUT_THE_WORK)),  # not outbound events: those still go
                        )
                        .values(status="suppressed", last_error=c.suppress_pending, claimed_by=None, claimed_at=None)
                    )
                messages = c.messages
                if endpoints:
                    hooks = webhook_messages(c.after, outbound_events(c.before, c.after, c.new_events), endpoints)
                    messages = [*messages, *hooks]
                appended.append((c.before.id, c.new_events, messages, c.after.updated_at))
            self._append(connection, appended)  # after the suppressions: a change's own emails go out
            self._refresh_ttfv(connection, [(c.after, c.new_events) for c in changes])

    def _refresh_ttfv(self, connection: Connection, changed: Sequence[tuple[ProjectRecord, Sequence[Event]]]) -> None:
        """The TTFV read-model rows of the projects whose new events hold a fact the TTFV fold reads (a
        re-forecast, a window jump or a nudge never is), rewritten in the events' transaction."""
        refolded = [project for project, new in changed if any(e.kind in TTFV_EVENT_KINDS for e in new)]
        if refolded:
            history = histories_of(connection, [p.id for p in refolded])
            rows = [project_ttfv_values(p, history[p.id], self._ttfv_definitions) for p in refolded]
            replace_ttfv(connection, rows)

    def failed_messages(self, project_id: str) -> list[FailedMessage]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(outbox)
                .where(outbox.c.project_id == project_id, outbox.c.status.in_(("failed", "held")))
                .order_by(outbox.c.id)
            )
            return [
                FailedMessage(
                    r.idempotency_key,
                    r.kind,
                    r.subject,
                    tuple(p["email"] for p in (*r.recipients, *(r.cc or []))),
                    r.attempts,
                    r.last_error or "",
                    state=r.status,
                    id=r.id,
                )
                for r in rows
            ]

    def queue(self, messages: Sequence[OutgoingMessage], *, now: datetime) -> int:
        """Queue emails no change goes with (a weekly status): those about a cancelled project's work are left out.

        The projects' rows are read under a share lock (PostgreSQL; SQLite writes one at a time): a cancel
        committed while the emails were decided is seen here, and one that comes after suppresses them.
        """
        if not messages:
            return 0
        with self._transaction() as connection:
            about = sorted({m.project_id for m in messages if m.project_id is not None and m.kind in ABOUT_THE_WORK})
            cancelled: set[str] = set()
            for start in range(0, len(about), _CHUNK):
                query = select(projects.c.id, projects.c.state).where(
                    among(connection, projects.c.id, about[start : start + _CHUNK])
                )
                if connection.dialect.name == "postgresql":
                    query = query.order_by(projects.c.id).with_for_update(read=True)
                cancelled.update(r.id for r in connection.execute(query) if r.state == ProjectState.cancelled.value)
            rows = [
                outbox_values(m, now) for m in messages if not (m.project_id in cancelled and m.kind in ABOUT_THE_WORK)
            ]
            if not rows:
                return 0
            return insert_new_rows(connection, outbox, rows, key=["idempotency_key"])

    def _append(
        self,
        connection: Connection,
        appended: Sequence[tuple[str, Sequence[Event], Sequence[OutgoingMessage], datetime]],
    ) -> None:
        """The new events and the emails queued of these projects' changes (project id, events, emails, queued
        at): one insert of each for them all."""
        event_rows = [_event_values(pid, e) for pid, new_events, _messages, _now in appended for e in new_events]
        if event_rows:
            insert_new_rows(connection, events, event_rows, key=None)  # each row a new event
        outbox_rows = [outbox_values(m, now) for _pid, _events, messages, now in appended for m in messages]
        insert_new_rows(connection, outbox, outbox_rows, key=["idempotency_key"])


_SUMMARY = tuple(ProjectSummary.__dataclass_fields__)


def _matching(query: ProjectQuery) -> list[ColumnElement[bool]]:
    """The conditions of a project list's filters; at risk as ``ProjectRecord.at_risk`` says it."""
    where: list[ColumnElement[bool]] = []
    if query.state:
        where.append(projects.c.state == query.state)
    if query.blueprint:
        where.append(projects.c.blueprint_key == query.blueprint)
    if query.segment:
        where.append(projects.c.segment == query.segment)
    if query.customer:
        where.append(_names_part(query.customer))
    if query.at_risk_on is not None:
        task_of = tasks.c.project_id == projects.c.id
        where.append(projects.c.state.in_((ProjectState.active.value, ProjectState.on_hold.value)))
        where.append(
            or_(
                projects.c.projected_go_live_on > projects.c.committed_go_live_on,
                projects.c.state == ProjectState.on_hold.value,
                exists().where(task_of, tasks.c.state == TaskState.blocked.value),
                exists().where(
                    task_of,
                    tasks.c.side == "customer",
                    tasks.c.state.in_([s.value for s in OPEN]),
                    tasks.c.target_due_on < query.at_risk_on,
                ),
            )
        )
    return where


def listening_endpoints(connection: Connection) -> list[WebhookEndpoint]:
    """The webhook endpoints not removed, read in the caller's transaction (a handful of rows)."""
    rows = connection.execute(select(webhook_endpoints).where(webhook_endpoints.c.disabled.is_(False)))
    return [endpoint_of(r._mapping) for r in rows]


def endpoint_of(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=int(row["id"]),
        url=row["url"],
        events=tuple(row["events"]),
        secret=row["secret"],
        created_at=utc_instant(row["created_at"]),
        disabled=bool(row["disabled"]),
    )


def held_among(connection: Connection, column: Column[Any], values: Sequence[Any]) -> Select[Any]:
    """The values of a batch's list that ``column`` holds (which keys are already stored), each looked up by itself.

    On PostgreSQL a join to the list's elements (``unnest`` of one array parameter), never ``column = ANY(...)``
    as a filter: once the driver has prepared a statement it runs often, the server may plan it for any list (a
    generic plan) and, reading the table, test each row against every element in turn (it hashes only a list
    written in the statement). A sweep recording 120,000 nudges at 250,000 projects spent 16 s so, up to 2.4 s
    for 1,000 keys against 115,000 rows, where the join probes the index or hashes the list. SQLite answers
    ``IN`` from the index.
    """
    if connection.dialect.name == "postgresql":
        listed = bindparam(None, list(values), type_=ARRAY(column.type))
        wanted = func.unnest(listed).table_valued("value").render_derived()
        return select(column).join_from(wanted, column.table, column == wanted.c.value)
    return select(column).where(column.in_(values))


def insert_new_rows(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, key: Sequence[str] | None
) -> int:
    """Insert these rows (each with the same columns), in their order, leaving alone each whose ``key`` columns are
    already stored (``None``: no key, every row is new); returns how many were inserted.

    SQLite: one statement run for each row. PostgreSQL: one statement for many rows (``run_listed``): a statement
    a row took a sixth of a Monday's sweep at 20,000 projects, for its 16,000 emails queued."""
    if not rows:
        return 0
    if connection.dialect.name != "postgresql":
        # counted by the driver's rows affected, not RETURNING: with RETURNING, SQLAlchemy sends one statement of
        # a thousand rows' placeholders, which the driver parses anew each time (three times the CPU of this)
        plain = insert(table) if key is None else sqlite_insert(table).on_conflict_do_nothing(index_elements=key)
        result = connection.execute(plain, rows, execution_options={"preserve_rowcount": True})
        return int(result.rowcount)
    quote = connection.dialect.identifier_preparer.quote
    names = list(rows[0])
    as_json = {name for name in names if isinstance(table.c[name].type, JSON)}
    columns = ", ".join(map(quote, names))
    values = ", ".join(f"v.{quote(n)}::json" if n in as_json else f"v.{quote(n)}" for n in names)
    conflict = "" if key is None else f" ON CONFLICT ({', '.join(map(quote, key))}) DO NOTHING"
    statement = (
        f"INSERT INTO {quote(table.name)} ({columns}) SELECT {values} "  # noqa: S608
        f"FROM {unnested(connection, [table.c[n] for n in names])} WITH ORDINALITY AS v({columns}, listed_as) "
        f"ORDER BY v.listed_as{conflict}"
    )
    listed = [tuple(json.dumps(row[n]) if n in as_json else row[n] for n in names) for row in rows]
    return run_listed(connection, statement, listed)


def unnested(connection: Connection, columns: Sequence[Column[Any]]) -> str:
    """``unnest(%b::<type>[], ...)``, a list's rows as a PostgreSQL statement's table: each column's values one array
    parameter of its column's type (JSON as its text), sent in binary (as text, each JSON text's quotes would be
    escaped, and unescaped by the server: it cost more than a statement a row). ``run_listed`` runs the statement."""
    return "unnest({})".format(
        ", ".join(
            "%b::text[]" if isinstance(c.type, JSON) else f"%b::{c.type.compile(dialect=connection.dialect)}[]"
            for c in columns
        )
    )


def run_listed(connection: Connection, statement: str, rows: Sequence[Sequence[Any]]) -> int:
    """Run a PostgreSQL statement that reads a list's rows from ``unnested`` arrays, for ``_ROWS_A_STATEMENT`` rows
    at a time; the rows it affected.

    One statement for many rows rather than a pipelined statement a row: those cost the client a conversion of
    each parameter and the server an execution each. Not more rows a statement: joined to a table by its key, a
    list of 20,000 rows made the server read all 800,000 rows of the table rather than look each one up."""
    affected = 0
    for start in range(0, len(rows), _ROWS_A_STATEMENT):
        arrays = tuple(list(values) for values in zip(*rows[start : start + _ROWS_A_STATEMENT], strict=True))
        affected += connection.exec_driver_sql(statement, arrays).rowcount
    return affected


def lock_in_order(query: Select[Any]) -> Select[Any]:
    """A select of project rows that locks them for writing, in id order (PostgreSQL).

    Every transaction that writes task rows holds their projects' rows first (a
    single change updates its project row before its tasks), and those that lock
    many take them in id order: so two of them never wait on each other in a
    circle. ``FOR NO KEY UPDATE``, as an UPDATE of the row takes: inserts that
    only refer to the project (events, outbox, nudges) are not held up.
    """
    return query.order_by(projects.c.id).with_for_update(key_share=True)


def _record_of(
    row: Any, blueprint_text: str, blueprint_source: str, people: dict[str, Person], task_rows: Sequence[TaskRecord]
) -> ProjectRecord:
    """A project from its row, its snapshot's text and source, its people and its tasks (``_read_tasks``)."""
    return ProjectRecord(
        id=row["id"],
        external_id=row["external_id"],
        customer=row["customer"],
        segment=row["segment"],
        blueprint_key=row["blueprint_key"],
        blueprint_version=row["blueprint_version"],
        blueprint_title=row["blueprint_title"],
        blueprint_source=blueprint_source,
        blueprint_text=blueprint_text,
        kickoff_on=row["kickoff_on"],
        pay_schedule=row["pay_schedule"],
        state=ProjectState(row["state"]),
        committed_go_live_on=row["committed_go_live_on"],
        projected_go_live_on=row["projected_go_live_on"],
        finish_on=row["finish_on"],
        first_committed_go_live_on=row["first_committed_go_live_on"],
        recommits=row["recommits"],
        go_live_moved_on=row["go_live_moved_on"],
        go_live_holds_until=row["replan_after"],  # as stored: the plan's own when not worked out (``sweep_after``)
        bindings=people,
        tasks=tuple(task_rows),
        created_at=utc_instant(row["created_at"]),
        updated_at=utc_instant(row["updated_at"]),
        version=row["version"],
        customer_calendar=_customer_calendar(row),
    )


def _customer_calendar(row: Any) -> CustomerCalendar | None:
    """The project's own customer calendar from its columns (all null: none, the blueprint's)."""
    return customer_calendar_of(
        row["customer_country"], row["customer_subdivision"], row["customer_closed_days"], row["customer_time_zone"]
    )


def _customer_values(customer: CustomerCalendar | None) -> dict[str, Any]:
    return {
        "customer_country": customer.country if customer else None,
        "customer_subdivision": customer.subdivision if customer else None,
        "customer_closed_days": (",".join(d.isoformat() for d in customer.closed_days) or None) if customer else None,
        "customer_time_zone": customer.time_zone if customer else None,
    }


def _project_values(project: ProjectRecord) -> dict[str, Any]:
    return {
        "customer": project.customer,
        "segment": project.segment,
        "blueprint_key": project.blueprint_key,
        "blueprint_version": project.blueprint_version,
        "blueprint_title": project.blueprint_title,
        "kickoff_on": project.kickoff_on,
        "pay_schedule": project.pay_schedule,
        "state": project.state.value,
        "committed_go_live_on": project.committed_go_live_on,
        "projected_go_live_on": project.projected_go_live_on,
        "finish_on": project.finish_on,
        "updated_at": project.updated_at,
        "replan_after": project.sweep_after,
        "first_committed_go_live_on": project.first_committed_go_live_on,
        "recommits": project.recommits,
        "go_live_moved_on": project.go_live_moved_on,
    }


def _update_tasks(connection: Connection, changed: Iterable[tuple[str, TaskRecord]], *, fields: Sequence[str]) -> None:
    """Set ``fields`` of the rows of these (project id, task) pairs, their values handed to the driver as they are
    (a daily re-forecast writes tens of thousands: SQLAlchemy's per-row bind processing would cost more than the
    database's work). Dates go to SQLite as ISO text, as SQLAlchemy's ``Date`` stores them.

    SQLite: one statement run for each row. PostgreSQL: one statement for many rows (``run_listed``), joined to the
    table by its primary key: a statement a row took a tenth of a weekday sweep at 20,000 projects."""
    columns = [c for c in fields if c not in ("project_id", "key")]
    getters = [_DRIVER_VALUE[connection.dialect.name][c] for c in columns]
    rows = [(*(get(t) for get in getters), pid, t.key) for pid, t in changed]
    if not rows:
        return
    quote = connection.dialect.identifier_preparer.quote
    if connection.dialect.name != "postgresql":
        assignments = ", ".join(f"{quote(c)} = ?" for c in columns)
        connection.exec_driver_sql(
            f"UPDATE tasks SET {assignments} WHERE project_id = ? AND {quote('key')} = ?",  # noqa: S608
            rows,
        )
        return
    names = [*columns, "project_id", "key"]
    statement = (
        f"UPDATE tasks SET {', '.join(f'{quote(c)} = v.{quote(c)}' for c in columns)} "  # noqa: S608
        f"FROM {unnested(connection, [tasks.c[c] for c in names])} AS v({', '.join(map(quote, names))}) "
        f"WHERE tasks.project_id = v.project_id AND tasks.{quote('key')} = v.{quote('key')}"
    )
    run_listed(connection, statement, rows)


def _update_bindings(connection: Connection, change: ProjectChange) -> None:
    """Write the roles whose person changed (a rebind): the row of each replaced, one statement each."""
    before, after = change.before.bindings, change.after.bindings
    for role, person in after.items():
        if before.get(role) == person:
            continue
        if role in before:
            connection.execute(
                update(bindings)
                .where(bindings.c.project_id == change.before.id, bindings.c.role == role)
                .values(name=person.name, email=person.email, timezone=person.timezone)
            )
        else:
            connection.execute(
                insert(bindings).values(
                    project_id=change.before.id,
                    role=role,
                    name=person.name,
                    email=person.email,
                    timezone=person.timezone,
                )
            )


def _changed_fields(before: TaskRecord, after: TaskRecord) -> tuple[str, ...]:
    """The fields whose values differ, in ``_TASK_FIELDS`` order (a row is a tuple of them)."""
    return tuple(name for name, was, now in zip(_TASK_FIELDS, before, after, strict=True) if was != now)


def _event_values(project_id: str, e: Event) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "at": e.at,
        "actor": e.actor,
        "kind": e.kind,
        "task_key": e.task_key,
        "data": dict(e.data),
    }


_TASK_FIELDS = TaskRecord._fields
_STATE = _TASK_FIELDS.index("state")


def _driver_getters(*, dates_as_text: bool) -> dict[str, Callable[[TaskRecord], Any]]:
    """Each task field as the driver takes it: the state's value, dates as ISO text on SQLite."""

    def field(name: str) -> Callable[[TaskRecord], Any]:
        if name == "state":
            return lambda t: t.state.value
        if dates_as_text and isinstance(tasks.c[name].type, Date):
            return lambda t: None if (d := getattr(t, name)) is None else d.isoformat()
        return attrgetter(name)

    return {name: field(name) for name in _TASK_FIELDS}


_DRIVER_VALUE = {"sqlite": _driver_getters(dates_as_text=True), "postgresql": _driver_getters(dates_as_text=False)}


def _task_values(project_id: str, t: TaskRecord) -> dict[str, Any]:
    values = {name: getattr(t, name) for name in _TASK_FIELDS}  # flat values: no deep copy (asdict) needed
    values["state"] = t.state.value
    values["project_id"] = project_id
    return values


def _read_tasks(connection: Connection, project_ids: Sequence[str]) -> Iterator[tuple[str, TaskRecord]]:
    """The tasks of these projects, (project id, task) in order of project and position: the rows fetched through
    the driver and made into records here (a re-forecast reads every task of tens of thousands of projects a
    day, and SQLAlchemy's per-row result processing cost more than the query)."""
    quote = connection.dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in _TASK_FIELDS)
    parameters: tuple[Any, ...]
    if connection.dialect.name == "postgresql":  # one array parameter: the server plans no list of 500 (``among``)
        where, parameters = "project_id = ANY(%s)", (list(project_ids),)
    else:
        where, parameters = f"project_id IN ({', '.join('?' * len(project_ids))})", tuple(project_ids)
    statement = f"SELECT project_id, {columns} FROM tasks WHERE {where} ORDER BY project_id, position"  # noqa: S608
    made = _TASK_FROM_DRIVER[connection.dialect.name]
    for pid, *values in connection.exec_driver_sql(statement, parameters):
        yield pid, made(values)


def _task_maker(*, sqlite: bool) -> Callable[[list[Any]], TaskRecord]:
    """A task from its column values in ``_TASK_FIELDS`` order as the driver gives them: the state made an enum;
    on SQLite, dates parsed from their ISO text and booleans from 0 and 1."""
    dates = [i for i, name in enumerate(_TASK_FIELDS) if isinstance(tasks.c[name].type, Date)]
    flags = [i for i, name in enumerate(_TASK_FIELDS) if isinstance(tasks.c[name].type, Boolean)]
    parse = date.fromisoformat
    state_of = {state.value: state for state in TaskState}  # a lookup: calling the enum costs more than the row

    def made(values: list[Any]) -> TaskRecord:
        values[_STATE] = state_of[values[_STATE]]
        if sqlite:
            for i in dates:
                if values[i] is not None:
                    values[i] = parse(values[i])
            for i in flags:
                values[i] = bool(values[i])
        return TaskRecord(*values)

    return made


_TASK_FROM_DRIVER = {"sqlite": _task_maker(sqlite=True), "postgresql": _task_maker(sqlite=False)}


MAX_CUSTOMER_FILTER = 200  # characters: a customer's name is at most as long (the API's launch)


def _names_part(customer: str) -> ColumnElement[bool]:
    """Projects whose customer's name holds ``customer``, in any case: its ``%`` and ``_`` are characters like any
    other; a part longer than any name matches none (and never makes a pattern the database refuses)."""
    if len(customer) > MAX_CUSTOMER_FILTER:
        return false()
    return projects.c.customer.icontains(customer, autoescape=True)


def outbox_values(message: OutgoingMessage, now: datetime) -> dict[str, Any]:
    return {
        "idempotency_key": message.idempotency_key,
        "project_id": message.project_id,
        "kind": message.kind.value,
        "recipients": [_person(p) for p in message.to],
        "cc": [_person(p) for p in message.cc],
        "subject": message.subject,
        "context": dict(message.context),
        "customer_facing": message.customer_facing,
        "reply_to": message.reply_to,
        "key_email": message.key_email,
        "key_on": message.key_on,
        "key_reason": message.key_reason,
        "endpoint_id": message.webhook.endpoint_id if message.webhook is not None else None,
        "body": message.webhook.body if message.webhook is not None else None,
        "created_at": now,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
    }


def _person(p: Person) -> dict[str, str]:
    return {"name": p.name, "email": p.email, "timezone": p.timezone}
