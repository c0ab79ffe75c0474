"""The outbox in SQL: delivery runs claim due messages, then record each one (or a batch at once) sent, retried,
failed or held; list messages and put failed and held ones back in line (``onboarding outbox``).

Two dispatchers never take the same row: PostgreSQL claims with ``FOR UPDATE SKIP
LOCKED``; SQLite takes its write lock first (``BEGIN IMMEDIATE``), so claims
there happen one at a time.

Each delivery run registers in ``delivery_runs`` (host, pid, process start) and
claims as ``run:<id>``. A run killed mid-delivery leaves its claims ``sending``;
the next run releases them at once when it can tell the claimant is gone: on
either database, a process of this machine that no longer lives (pid and process
start); on PostgreSQL also a run whose session advisory lock is free (the lock is
held on the run's own connection for its lifetime, so it goes with the process;
a run whose session was lost takes it again on a new one at its next heartbeat)
or whose heartbeat stopped. A run still alive (another process, another thread)
keeps its claims. A claim older than the lease is taken again whoever holds it:
the last resort for claims nobody can tell dead (another machine on SQLite).
Delivery is idempotent by key, so a message handed over just before a kill is
recognised by a Maildir and carries the same Message-ID to a mail server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)

from onboarding.adapters.store.rows import among, utc_instant
from onboarding.adapters.store.runs import Liveness, ProcessIdentity, liveness, this_process
from onboarding.adapters.store.sql import events, outbox, writing
from onboarding.adapters.store.tables import WAITING_STATES, Base, DeliveryRunRow
from onboarding.core.messages import MessageKind, OutgoingMessage, Person, WebhookDelivery
from onboarding.services.ports import QUIET, RESENDABLE, OutboxEntry, OutboxQuery, QueuedMessage, Waiting
from onboarding.services.projects import UNSUBSCRIBED

runs = Base.metadata.tables[DeliveryRunRow.__tablename__]
T = TypeVar("T", bound=tuple[Any, ...])

LOCKS = 0x0B0A  # first key of the runs' advisory locks (PostgreSQL); the second is the run's id
HEARTBEAT = timedelta(seconds=10)  # how often a run on PostgreSQL tells it is alive
STOPPED = timedelta(minutes=2)  # a heartbeat older than this: the run is gone (its machine froze or vanished)
_PREFIX = "run:"
# PostgreSQL's planner, for the rest of a transaction: no sorts, no bitmap scans (``waiting_first``)
WALK_IN_ORDER = text("SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)")


def run_name(run_id: int) -> str:
    return f"{_PREFIX}{run_id}"


def _run_id(name: str | None) -> int | None:
    if (
        name is None
        or not name.startswith(_PREFIX)
        or not (name[len(_PREFIX) :].isascii() and name[len(_PREFIX) :].isdigit())
    ):
        return None  # a claim made before runs were recorded
    return int(name[len(_PREFIX) :])


def _lock_key(run_id: int) -> int:
    return run_id % 2_147_483_647  # the advisory lock's keys are 32-bit


@dataclass
class _Held:
    """A run's own connection (PostgreSQL), holding its advisory lock, and the thread beating its heart."""

    connection: Connection
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


class SqlOutbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"  # make_engine begins its writing transactions IMMEDIATE
        self._held: dict[str, _Held] = {}  # this process's runs on PostgreSQL, by name

    # -- delivery runs -----------------------------------------------------------------------------------------

    def begin_run(self) -> str:
        me = this_process()
        values = {"host": me.host, "pid": me.pid, "process_started": me.started}
        if self._sqlite:
            now = datetime.now(UTC)
            with writing(self.engine) as connection:
                inserted = connection.execute(
                    insert(runs).values(**values, started_at=now, heartbeat_at=now).returning(runs.c.id)
                )
                return run_name(int(inserted.scalar_one()))
        connection = self.engine.connect()  # the run's own: its session holds the run's lock until it closes
        try:
            with connection.begin():  # the row is seen by others only once its lock is held
                inserted = connection.execute(
                    insert(runs).values(**values, started_at=func.now(), heartbeat_at=func.now()).returning(runs.c.id)
                )
                run_id = int(inserted.scalar_one())
                connection.execute(
                    text("SELECT pg_advisory_lock(CAST(:first AS integer), CAST(:second AS integer))"),
                    {"first": LOCKS, "second": _lock_key(run_id)},
                )
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        held = _Held(connection)
        held.thread = threading.Thread(
            target=_beat, args=(held, run_id, self.engine), name=f"heartbeat {run_id}", daemon=True
        )
        held.thread.start()
        name = run_name(run_id)
        self._held[name] = held
        return name

    def release_gone(self, *, run: str) -> int:
        with self.engine.connect() as connection:
            states = self._run_states(connection)
        gone = [name for name, state in states.items() if state is Liveness.gone and name != run]
        if not gone:
            return 0
        with writing(self.engine) as connection:
            released = connection.execute(
                update(outbox)
                .where(outbox.c.status == "sending", outbox.c.claimed_by.in_(gone))
                .values(status="pending", claimed_by=None, claimed_at=None)
            ).rowcount
            connection.execute(delete(runs).where(runs.c.id.in_([_run_id(name) for name in gone])))
        return int(released)

    def end_run(self, run: str) -> None:
        held = self._held.pop(run, None)
        if held is not None and held.thread is not None:
            held.stop.set()
            held.thread.join()
        try:
            with writing(self.engine) as connection:
                connection.execute(
                    update(outbox)
                    .where(outbox.c.status == "sending", outbox.c.claimed_by == run)
                    .values(status="pending", claimed_by=None, claimed_at=None)
                )
                connection.execute(delete(runs).where(runs.c.id == _run_id(run)))
        finally:
            if held is not None:  # closing the session frees the run's lock
                held.connection.invalidate()
                held.connection.close()

    def waiting(self, *, lease: timedelta, project_id: str | None = None) -> Waiting:
        query = (
            select(
                outbox.c.status,
                outbox.c.claimed_by,
                func.count(),
                func.min(outbox.c.created_at),
                func.min(outbox.c.claimed_at),
                func.max(outbox.c.claimed_at),
            )
            .where(outbox.c.status.in_(("pending", "sending")))
            .group_by(outbox.c.status, outbox.c.claimed_by)
        )
        if project_id is not None:
            query = query.where(outbox.c.project_id == project_id)
        with self.engine.connect() as connection:
            groups = connection.execute(query).all()
            states = self._run_states(connection) if any(g[0] == "sending" for g in groups) else {}
        return _waiting(groups, states, lease)

    def _run_states(self, connection: Connection) -> dict[str, Liveness]:
        """Each registered run, alive, gone or unknown."""
        if self._sqlite:
            rows = connection.execute(select(runs.c.id, runs.c.host, runs.c.pid, runs.c.process_started))
            return {run_name(r.id): liveness(ProcessIdentity(r.host, r.pid, r.process_started)) for r in rows}
        held = set(
            connection.execute(
                text(
                    "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = CAST(:first AS oid)"
                    " AND objsubid = 2 AND granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"first": LOCKS},
            ).scalars()
        )
        stopped = (runs.c.heartbeat_at < func.now() - STOPPED).label("stopped")
        states: dict[str, Liveness] = {}
        for r in connection.execute(select(runs.c.id, runs.c.host, runs.c.pid, runs.c.process_started, stopped)):
            # its lock free, its heartbeat stopped, or its process gone from this machine
            gone = int(_lock_key(r.id)) not in {int(k) for k in held} or r.stopped
            process = liveness(ProcessIdentity(r.host, r.pid, r.process_started))
            states[run_name(r.id)] = Liveness.gone if gone or process is Liveness.gone else Liveness.alive
        return states

    # -- messages --------------------------------------------------------------------------------------------

    def claim(self, *, now: datetime, worker: str, limit: int, lease: timedelta) -> list[QueuedMessage]:
        with writing(self.engine) as connection:
            # A live run keeps its claims, however old they look: runs act as of their own instants (a catch-up
            # sweep as of a past day), so the lease is only for claims whose run cannot be told alive.
            alive = [n for n, state in self._run_states(connection).items() if state is Liveness.alive and n != worker]
            query = select(outbox).where(due(now=now, lease=lease, alive=alive))
            query = waiting_first(query).order_by(outbox.c.id).limit(limit)
            if not self._sqlite:
                # ``waiting_first``'s PostgreSQL form: for this transaction, no plan that reads every due message
                # and sorts them (after a sweep queues thousands, the statistics do not know them yet)
                connection.execute(WALK_IN_ORDER)
                query = query.with_for_update(skip_locked=True)
            rows = [r._mapping for r in connection.execute(query)]
            if rows:
                connection.execute(
                    update(outbox)
                    .where(among(connection, outbox.c.id, [r["id"] for r in rows]))
                    .values(status="sending", claimed_by=worker, claimed_at=now, attempts=outbox.c.attempts + 1)
                )
            run_id = _run_id(worker)
            if run_id is not None:  # the run is at work (wall-clock time: ``now`` may be a simulated day)
                beat = datetime.now(UTC) if self._sqlite else func.now()
                connection.execute(update(runs).where(runs.c.id == run_id).values(heartbeat_at=beat))
        return [queued_message(r) for r in rows]

    def sent(self, message_id: int, *, at: datetime, run: str) -> None:
        self._set(message_id, run, status="sent", sent_at=at, last_error=None, claimed_by=None)

    def sent_many(self, message_ids: Sequence[int], *, at: datetime, run: str) -> None:
        if not message_ids:
            return
        with writing(self.engine) as connection:
            mine = _still_theirs(connection, message_ids, run)
            if mine:
                connection.execute(
                    update(outbox)
                    .where(among(connection, outbox.c.id, mine))
                    .values(status="sent", sent_at=at, last_error=None, claimed_by=None)
                )

    def retry(self, message_id: int, *, at: datetime, error: str, run: str, only: Sequence[str] = ()) -> None:
        values: dict[str, Any] = {"status": "pending", "next_attempt_at": at, "last_error": error, "claimed_by": None}
        self._set(message_id, run, **values, **self._narrowed(message_id, only))

    def failed(self, message_id: int, *, error: str, run: str, only: Sequence[str] = ()) -> None:
        narrowed = self._narrowed(message_id, only)
        self._set(message_id, run, status="failed", last_error=error, claimed_by=None, **narrowed)

    def held(self, message_id: int, *, error: str, run: str) -> None:
        self._set(message_id, run, status="held", last_error=error, claimed_by=None)

    def defer(self, message_ids: Sequence[int], *, at: datetime, error: str | None, run: str) -> None:
        if not message_ids:
            return
        values: dict[str, Any] = {
            "status": "pending",
            "next_attempt_at": at,
            "claimed_by": None,
            "attempts": outbox.c.attempts - 1,  # the claim counted an attempt that was not made
        }
        if error is not None:
            values["last_error"] = error
        with writing(self.engine) as connection:
            connection.execute(
                update(outbox)
                .where(
                    among(connection, outbox.c.id, list(message_ids)),
                    outbox.c.status == "sending",
                    outbox.c.claimed_by == run,
                )
                .values(**values)
            )

    def _narrowed(self, message_id: int, only: Sequence[str]) -> dict[str, Any]:
        """The recipients and copies cut down to ``only`` (nothing to change when it is empty)."""
        if not only:
            return {}
        with self.engine.connect() as connection:
            row = connection.execute(select(outbox.c.recipients, outbox.c.cc).where(outbox.c.id == message_id)).one()
        return {
            "recipients": [p for p in row.recipients if p["email"] in only],
            "cc": [p for p in (row.cc or []) if p["email"] in only],
        }

    def suppressed(self, message_id: int, *, at: datetime, reason: str, run: str) -> None:
        self._set(message_id, run, status="suppressed", sent_at=None, last_error=reason, claimed_by=None)

    def quiet(self, message_ids: Sequence[int], *, run: str) -> None:
        """Weekly updates composed without news for their readers, of those still ``run``'s to write
        (``ports.Outbox``): each kept ``suppressed``, with why, as its reader's update of that week (its key
        columns), under the key ``quiet:{id}`` so that its own key is free for news later that week."""
        if not message_ids:
            return
        with writing(self.engine) as connection:
            mine = _still_theirs(connection, message_ids, run, weekly=True)
            if not mine:
                return
            connection.execute(
                update(outbox)
                .where(among(connection, outbox.c.id, mine))
                .values(
                    idempotency_key=literal("quiet:") + cast(outbox.c.id, String),
                    status="suppressed",
                    last_error=QUIET,
                    claimed_by=None,
                )
            )

    def opted_out(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """From the projects' event logs (``unsubscribed`` events), by the events' project index."""
        wanted = {(project, email.lower()): (project, email) for project, email in pairs}
        if not wanted:
            return set()
        found: set[tuple[str, str]] = set()
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(events.c.project_id, events.c.data).where(
                    among(connection, events.c.project_id, sorted({p for p, _ in wanted})),
                    events.c.kind == UNSUBSCRIBED,
                )
            )
            for project_id, data in rows:
                pair = wanted.get((project_id, str(data.get("email", "")).lower()))
                if pair is not None:
                    found.add(pair)
        return found

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
            return {status: int(n) for status, n in rows}

    def entries(self, query: OutboxQuery, *, limit: int | None = None) -> tuple[list[OutboxEntry], int]:
        where = _matching(query)
        with self.engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(outbox).where(*where)).scalar_one()
            statement = select(outbox).where(*where).order_by(outbox.c.id)
            if limit is not None:
                statement = statement.limit(limit)
            return [_entry(r._mapping) for r in connection.execute(statement)], int(total)

    def requeue(self, query: OutboxQuery) -> list[int]:
        with writing(self.engine) as connection:
            statement = (
                update(outbox)
                .where(*_matching(query), outbox.c.status.in_(RESENDABLE))
                .values(status="pending", next_attempt_at=outbox.c.created_at, claimed_by=None)
                .returning(outbox.c.id)
            )
            return sorted(int(i) for i in connection.execute(statement).scalars())

    def _set(self, message_id: int, run: str, **values: Any) -> None:
        with writing(self.engine) as connection:
            if _still_theirs(connection, [message_id], run):
                connection.execute(update(outbox).where(outbox.c.id == message_id).values(**values))


def due(*, now: datetime, lease: timedelta, alive: Sequence[str] = ()) -> ColumnElement[bool]:
    """The messages a delivery at ``now`` takes: pending ones whose next attempt has come, and claims older than
    the lease, but for those of the runs ``alive``.

    Written so that ``ix_outbox_waiting`` (the waiting messages alone, in the order they were queued) serves it,
    and a claim never walks the sent ones: it names the index's condition as a term, with the states literals in
    the SQL (SQLite uses a partial index only so; PostgreSQL proves from them that the index holds every row it
    wants, in a prepared statement's generic plan too). ``waiting_first`` has the databases read it.
    """
    pending, sending = (literal(state, literal_execute=True) for state in WAITING_STATES)
    waiting: BindParameter[str] = bindparam("waiting", WAITING_STATES, expanding=True, literal_execute=True)
    stale = and_(outbox.c.status == sending, outbox.c.claimed_at < now - lease)
    if alive:
        stale = and_(stale, or_(outbox.c.claimed_by.is_(None), outbox.c.claimed_by.not_in(alive)))
    return and_(outbox.c.status.in_(waiting), outbox.c.next_attempt_at <= now, or_(outbox.c.status == pending, stale))


def waiting_first(query: Select[T]) -> Select[T]:
    """``query`` of ``due`` messages read from ``ix_outbox_waiting`` on SQLite, whatever its statistics say.

    A database plans from statistics gathered before the sweep queued its messages or the delivery sent them:
    walking the whole table in id order, or reading every due message and sorting them, then looked as cheap
    as walking the waiting ones, and cost a claim more with every message sent or queued. SQLite is told the
    index (``INDEXED BY``); PostgreSQL, which has no such hint, is kept from sorting within the claim's
    transaction (``WALK_IN_ORDER``), so it walks an index in id order, the waiting one being the smaller."""
    return query.with_hint(outbox, "INDEXED BY ix_outbox_waiting", "sqlite")


def _still_theirs(connection: Connection, message_ids: Iterable[int], run: str, *, weekly: bool = False) -> list[int]:
    """Of these messages, those whose outcome ``run`` may still write (``ports.Outbox``): still its claim, or back
    in the queue unclaimed; not when another run claimed it since or recorded its outcome (``weekly``: of those,
    the weekly updates). Read by id in the writing transaction (their rows locked on PostgreSQL), for the write
    to find them by id alone.

    Asked in the write's own condition, the states in it led both databases, without statistics of the queue (a
    sweep has just filled it), to read every pending message through ``ix_outbox_due`` to find a batch, and
    PostgreSQL every weekly update through ``ix_outbox_status_sent`` for ``key_reason``: on SQLite, 27 ms for a
    batch of 200 with 344,000 waiting, a fifth of a delivery at 250,000 projects."""
    ids = sorted(set(message_ids))
    mine: list[int] = []
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        query = select(outbox.c.id, outbox.c.status, outbox.c.claimed_by, outbox.c.key_reason)
        query = query.where(among(connection, outbox.c.id, chunk))
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        for r in connection.execute(query):
            theirs = (r.status == "sending" and r.claimed_by == run) or (r.status == "pending" and r.claimed_by is None)
            if theirs and (not weekly or r.key_reason == "weekly"):
                mine.append(r.id)
    return mine


def _matching(query: OutboxQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.ids:
        where.append(outbox.c.id.in_(query.ids))
    if query.states:
        where.append(outbox.c.status.in_(query.states))
    if query.project_id is not None:
        where.append(outbox.c.project_id == query.project_id)
    if query.queued_before is not None:
        where.append(outbox.c.created_at < query.queued_before)
    return where


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        id=row["id"],
        key=row["idempotency_key"],
        kind=row["kind"],
        project_id=row["project_id"],
        subject=row["subject"],
        recipients=tuple(p["email"] for p in (*row["recipients"], *(row["cc"] or []))),
        state=row["status"],
        attempts=row["attempts"],
        queued_at=utc_instant(row["created_at"]),
        next_attempt_at=utc_instant(row["next_attempt_at"]),
        sent_at=utc_instant(row["sent_at"]) if row["sent_at"] is not None else None,
        last_error=row["last_error"],
    )


def _beat(held: _Held, run_id: int, engine: Engine) -> None:
    """Tell, every HEARTBEAT, that the run is alive, until told to stop.

    A beat that fails is tried again at the next one. When the run's session was lost
    with it (the server restarted, a connection dropped), the run's lock went too and
    the run looks gone: the next beat takes the lock again on a new session, if no one
    took it meanwhile. A run declared gone meanwhile (its row deleted, its claims
    released) is not brought back: its heart stops.
    """
    while not held.stop.wait(HEARTBEAT.total_seconds()):
        try:
            if held.connection.invalidated or held.connection.closed:
                lost, held.connection = held.connection, _relocked(engine, run_id)
                lost.close()
            with held.connection.begin():
                beaten = held.connection.execute(
                    update(runs).where(runs.c.id == run_id).values(heartbeat_at=func.now())
                ).rowcount
        except Exception:  # noqa: S112 (the database is away, or the statement failed: beat again later)
            continue
        if not beaten:
            return


def _relocked(engine: Engine, run_id: int) -> Connection:
    """A new session holding the run's lock (``end_run`` closes it, which frees the lock)."""
    connection = engine.connect()
    try:
        with connection.begin():
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(CAST(:first AS integer), CAST(:second AS integer))"),
                {"first": LOCKS, "second": _lock_key(run_id)},
            ).scalar_one()
    except BaseException:
        connection.invalidate()
        connection.close()
        raise
    if not taken:
        connection.close()
        raise RuntimeError(f"the lock of run {run_id} is held by another session")
    return connection


def _waiting(groups: Sequence[Any], states: dict[str, Liveness], lease: timedelta) -> Waiting:
    pending = claimed = stranded = 0
    pending_since: datetime | None = None
    claimed_since: datetime | None = None
    stranded_since: datetime | None = None
    stranded_until: datetime | None = None
    for status, claimant, count, queued_first, claimed_first, claimed_last in groups:
        if status == "pending":
            pending += count
            pending_since = _earliest(pending_since, queued_first)
            continue
        state = states.get(claimant, Liveness.unknown) if claimant is not None else Liveness.unknown
        if state is Liveness.alive:
            claimed += count
            claimed_since = _earliest(claimed_since, claimed_first)
            continue
        stranded += count
        stranded_since = _earliest(stranded_since, claimed_first)
        if state is Liveness.unknown and claimed_last is not None:
            until = utc_instant(claimed_last) + lease
            stranded_until = until if stranded_until is None else max(stranded_until, until)
    return Waiting(pending, pending_since, claimed, claimed_since, stranded, stranded_since, stranded_until)


def _earliest(known: datetime | None, at: datetime | None) -> datetime | None:
    if at is None:
        return known
    at = utc_instant(at)
    return at if known is None else min(known, at)


def queued_message(row: Any) -> QueuedMessage:
    """An outbox row (a mapping of its columns) as the message it holds, to deliver."""
    message = OutgoingMessage(
        idempotency_key=row["idempotency_key"],
        kind=MessageKind(row["kind"]),
        to=tuple(Person(**p) for p in row["recipients"]),
        subject=row["subject"],
        context=row["context"],
        customer_facing=row["customer_facing"],
        project_id=row["project_id"],
        reply_to=row["reply_to"],
        cc=tuple(Person(**p) for p in row["cc"] or []),
        key_email=row["key_email"],
        key_on=row["key_on"],
        key_reason=row["key_reason"],
        webhook=WebhookDelivery(int(row["endpoint_id"]), row["body"]) if row["endpoint_id"] is not None else None,
    )
    queued_at = utc_instant(row["created_at"]) if row["created_at"] is not None else None
    return QueuedMessage(id=row["id"], message=message, attempts=row["attempts"] + 1, queued_at=queued_at)
