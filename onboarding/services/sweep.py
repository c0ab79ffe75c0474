"""The sweep: one reconcile pass over the portfolio, run on a schedule.

1. run the automated tasks that are ready (their email or webhook), then complete them,
2. decide nudges for every overdue task at once, by each blueprint's policy, and
   record them with their digests in the outbox (nudges follow target dates, which
   a re-forecast does not move),
3. for each batch of active projects: re-forecast those whose plan moves today
   (work not started by its projected start, or in progress past its projected
   due date: nothing else in a plan moves with time), then queue the weekly
   customer updates whose readers' slots have come (from the projects' rows and
   people: delivery composes what they say, from the projects as of then),
4. deliver the outbox.

Each step is set-based or batched: one query finds the rows that need attention;
the per-project step takes a batch of ids so that a flow hands it out as one task
run per batch. Every step is idempotent: running a sweep twice sends nothing twice.

Not here: the rules (core), SQL (adapters/store), Prefect (onboarding_flows/).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from onboarding.core.addresses import reply_to_text
from onboarding.core.automated import automated_emails, blueprint_task, webhook_payload
from onboarding.core.blueprint import Blueprint, CalendarName, EmailAction, NudgePolicy, WebhookAction
from onboarding.core.calendars import BusinessCalendar
from onboarding.core.customer_calendar import CustomerCalendar
from onboarding.core.lifecycle import Action, TaskProgress, TaskState, transition, waiting_for
from onboarding.core.messages import OutgoingMessage, Person
from onboarding.core.nudges import (
    Digest,
    NudgePlan,
    OverdueTask,
    Rung,
    decide_nudges_per_policy,
    escalation_ladder,
    nudge_thresholds,
    sent_digests,
    time_zone,
)
from onboarding.core.planning import scheduling_calendars
from onboarding.core.projects import ProjectRecord, project_contact
from onboarding.core.shards import Shard
from onboarding.core.status import update_to_compose, weekly_next_due_at, weekly_readers_due
from onboarding.core.sweep_days import check_sweep
from onboarding.errors import OnboardingError, ProblemsError, TransitionRefused
from onboarding.services.dispatch import LEASE, Delivery, DispatchReport
from onboarding.services.heap import cycle_collector_paused
from onboarding.services.ports import (
    BlueprintSource,
    Clock,
    LoadedBlueprint,
    MessageLine,
    NudgeFilter,
    PermanentDeliveryError,
    SideBySide,
    SweepStore,
    TemporaryDeliveryError,
    Webhooks,
    WeeklyDue,
)
from onboarding.services.projects import ProjectService, TaskChange
from onboarding.services.side_by_side import side_by_side

BATCH = 500  # projects per batch: a flow runs one task per batch


@dataclass(frozen=True)
class NudgeDecision:
    """The decision phase's result: the plan, and the rows to record (as the store takes them)."""

    plan: NudgePlan
    overdue_tasks: int


@dataclass
class SweepReport:
    as_of: date
    reforecast: int = 0
    automated: int = 0
    overdue_tasks: int = 0
    nudges: int = 0
    digests: int = 0
    deferred: int = 0
    status_emails: int = 0
    delivered: DispatchReport = field(default_factory=DispatchReport)
    not_replanned: list[str] = field(default_factory=list)  # "project: why", each left as it was


@dataclass(frozen=True)
class Replanned:
    """A project a sweep would re-forecast: its go-live before and after, and how many task dates move."""

    project_id: str
    customer: str
    go_live_from: date | None
    go_live_to: date | None
    committed_go_live_on: date | None
    tasks_moved: int


@dataclass
class SweepPreview:
    """What a sweep would do (``SweepService.preview``), with nothing recorded, changed or sent."""

    as_of: date
    at: datetime
    automated: list[str] = field(default_factory=list)  # "project task: what it would do"
    reforecast: list[Replanned] = field(default_factory=list)
    not_replanned: list[str] = field(default_factory=list)
    overdue_tasks: int = 0
    nudges: dict[str, list[str]] = field(default_factory=dict)  # by recipient: "customer: task (level n)"
    deferred: int = 0
    queued: list[MessageLine] = field(default_factory=list)  # emails it would queue
    delivered: list[MessageLine] = field(default_factory=list)  # messages it would deliver


class SweepService:
    def __init__(
        self,
        *,
        store: SweepStore,
        projects: ProjectService,
        blueprints: BlueprintSource,
        clock: Clock,
        wall_clock: Clock | None = None,
        dispatcher: Delivery | None,
        webhooks: Webhooks,
        sender: Person,
        workers: int = 1,
        batch: int = BATCH,
        spread: SideBySide = side_by_side,
    ) -> None:
        """``workers``: how many batches (of about ``batch`` automated tasks or projects to attend) ``run`` works
        side by side, each over its own connection; ``spread`` says how: in threads (``side_by_side``: one
        computes while another waits on the database) or in processes (each computes on its own core)."""
        self._store = store
        self._projects = projects
        self._blueprints = blueprints
        self._clock = clock
        self._wall_clock = wall_clock or clock
        self._dispatcher = dispatcher
        self._webhooks = webhooks
        self._sender = sender
        self.workers = workers
        self._spread = spread
        self.batch = batch
        self._parsed: dict[str, LoadedBlueprint] = {}
        self._calendars_of: dict[str, Mapping[CalendarName, BusinessCalendar]] = {}
        self._titles_of: dict[str, Mapping[str, tuple[str, str]]] = {}
        self._ladders_of: dict[str, Mapping[str, tuple[str, ...]]] = {}
        self._sides_of: dict[str, tuple[Mapping[str, BusinessCalendar], Mapping[str, str]]] = {}
        self._contacts_of: dict[str, tuple[str | None, str | None, Mapping[str, str]]] = {}
        self._own_sides_of: dict[tuple[str, CustomerCalendar], Mapping[str, BusinessCalendar]] = {}

    # -- the whole pass ----------------------------------------------------------

    def run(self) -> SweepReport:
        self.begin()
        report = SweepReport(as_of=self._clock.today())
        report.automated = self.automate(self.ready_automated())
        decision = self.decide_nudges()
        report.overdue_tasks = decision.overdue_tasks
        report.nudges = self.record_nudges(decision)
        report.digests = len(decision.plan.digests)
        report.deferred = len(decision.plan.deferred)
        moving = set(self.projects_to_reforecast())
        to_attend = batches(self.projects_to_attend(), self.batch)
        attended = self._spread(lambda batch: self.attend(batch, replan=moving), to_attend, workers=self.workers)
        for reforecast, status_emails, not_replanned in attended:
            report.reforecast += reforecast
            report.status_emails += status_emails
            report.not_replanned += not_replanned
        report.delivered = self.deliver()
        return report

    # -- when it may run (``core.sweep_days``) ---------------------------------------

    def as_of(self) -> date:
        """The day this sweep acts as of."""
        return self._clock.today()

    def check(self) -> None:
        """Refuse (``SweepRefused``) a sweep as of this clock's instant that the rule does not allow: later than
        the wall clock's now on a database that is not a simulation, or before the latest day already swept."""
        at = self._clock.now()
        check_sweep(at, now=self._wall_clock.now(), history=self._store.sweep_history())

    def begin(self) -> None:
        """``check``, then record the day swept, before the sweep changes or sends anything (a sweep that then
        fails part-way has still swept its day: running it again is fine, an earlier day is not)."""
        self.check()
        if not self._store.record_sweep(at=self._clock.now(), ran_at=self._wall_clock.now()):
            self.check()  # a later day was swept in between: refused, naming it
            raise RuntimeError("a later day was swept meanwhile")  # pragma: no cover - check() raised

    # -- a dry run -------------------------------------------------------------------

    def preview(self, *, deliver: bool = True) -> SweepPreview:
        """What ``run`` would do as of this clock, decided as ``run`` decides, with nothing recorded, changed or
        sent (no webhook called): the automated tasks it would run, the projects it would re-forecast with
        their go-live moves, the nudges by recipient, the emails it would queue and the messages it would
        deliver (those due in the outbox, then those it would queue). Refused as ``run`` would be.

        Each step is decided on the data as it is now, not on what the steps before it would change: ``run``
        re-plans a project when one of its automated tasks completes (the preview lists the task, not what its
        completion would move). A weekly update is listed as queued: whether it has news for its reader, and
        so goes, is decided when it is delivered.
        """
        self.check()
        now, today = self._clock.now(), self._clock.today()
        preview = SweepPreview(as_of=today, at=now)
        queued: list[OutgoingMessage | Digest] = []
        for project_id, task_key in self.ready_automated():
            project = self._projects.get(project_id)
            found = self._automation(project, task_key)
            if found is None:
                continue
            loaded = self._projects.blueprint_of(project)
            try:
                transition(
                    loaded.graph,
                    project.progress,
                    task_key,
                    Action.complete,
                    on=today,
                    at=now,
                    actor="engine",
                    kickoff_on=project.kickoff_on,
                    today=today,
                )
            except TransitionRefused:
                continue  # its predecessors are not done yet, or the project has not started
            action, messages = found
            what = (
                f"email to {', '.join(p.email for m in messages for p in m.to) or 'nobody bound'}"
                if isinstance(action, EmailAction)
                else f"webhook POST {action.url}"
            )
            preview.automated.append(f"{project.id} {task_key}: {what}, then completed")
            queued += messages
        decision = self.decide_nudges()
        preview.overdue_tasks, preview.deferred = decision.overdue_tasks, len(decision.plan.deferred)
        for digest in decision.plan.digests:
            lines = preview.nudges.setdefault(digest.recipient.email, [])
            lines += [f"{n.task.customer}: {n.task.task_title} (level {n.level})" for n, _ in digest.nudges]
            queued.append(digest)
        failed: dict[str, OnboardingError] = {}
        moving = set(self.projects_to_reforecast())
        _found, changes = self._projects.reforecasts(sorted(moving), failed=failed)
        for change in changes:
            before, after = change.before, change.after
            preview.reforecast.append(
                Replanned(
                    before.id,
                    before.customer,
                    before.projected_go_live_on,
                    after.projected_go_live_on,
                    before.committed_go_live_on,
                    sum(1 for a, b in zip(after.tasks, before.tasks, strict=True) if a.due_on != b.due_on),
                )
            )
            queued += change.messages
        preview.not_replanned = [_why(pid, error) for pid, error in failed.items()]
        for batch in batches(self.active_projects()):
            queued += self._weekly_updates(batch)[0]
        preview.queued = [MessageLine(m.kind.value, tuple(p.email for p in (*m.to, *m.cc)), m.subject) for m in queued]
        if deliver:
            preview.delivered = [*self._store.outbox_due(now=now, lease=LEASE), *preview.queued]
        return preview

    # -- what needs attention (for a flow that hands the work out in batches) -------

    def projects_to_reforecast(self, shard: Shard | None = None) -> list[str]:
        """Active projects whose plan moves today (work late to start or past its projected due date), of
        ``shard`` when the sweep is shared out (``core.shards``)."""
        moving = self._store.projects_to_replan(today=self._clock.today())
        return moving if shard is None else shard.of(moving)

    def ready_automated(self) -> list[tuple[str, str]]:
        return self._store.ready_automated(today=self._clock.today())

    def active_projects(self, shard: Shard | None = None) -> list[str]:
        """The active projects, of ``shard`` when the sweep is shared out: the per-project steps' work."""
        active = self._store.active_projects()
        return active if shard is None else shard.of(active)

    def projects_to_attend(self, shard: Shard | None = None) -> list[str]:
        """The active projects the per-project steps (``attend``) have work for, in id order, of ``shard`` when
        the sweep is shared out: those whose plan moves today, and those a weekly update may be due to (their
        stored threshold missing, of an earlier version, or come). The other active projects are left alone."""
        moving = self._store.projects_to_replan(today=self._clock.today())
        attend = sorted({*moving, *self._store.weekly_unsettled_active(now=self._clock.now())})
        return attend if shard is None else shard.of(attend)

    def deliver(self) -> DispatchReport:
        return self._dispatcher.deliver_due() if self._dispatcher is not None else DispatchReport()

    # -- the steps -----------------------------------------------------------------

    def attend(self, project_ids: Sequence[str], *, replan: Collection[str]) -> tuple[int, int, list[str]]:
        """One batch of active projects: re-forecast those of ``replan``, then queue the weekly updates that
        are due (composed at delivery, from the dates as then). Returns (re-forecast, status emails queued,
        projects that could not be re-planned, each with why).

        The batch's projects are read whole and dropped at its end, their rows freed by reference counting:
        the cycle collector is paused meanwhile (its passes over them found nothing and cost a tenth of it)."""
        failed: dict[str, OnboardingError] = {}
        with cycle_collector_paused():
            reforecast = self.reforecast([p for p in project_ids if p in replan], failed=failed)
            queued = self.weekly_status(project_ids)
        return reforecast, queued, [_why(pid, error) for pid, error in failed.items()]

    def reforecast(self, project_ids: Sequence[str], *, failed: dict[str, OnboardingError] | None = None) -> int:
        """Re-forecast these projects, read together and written in one transaction (``reforecast_many``);
        one that cannot be re-planned is put in ``failed`` and the sweep goes on without it."""
        return self._projects.reforecast_many(project_ids, failed=failed)

    def automate(self, ready: Sequence[tuple[str, str]]) -> int:
        """Run the action of each ready automated task, then complete it (an email is queued with the change), a
        batch at a time (``workers`` side by side, each project's tasks in one batch): the batch's projects are
        read together and written in one transaction (``ProjectService.change_tasks``)."""

        def paused(batch: Sequence[tuple[str, str]]) -> int:
            with cycle_collector_paused():  # as ``attend``: a batch's projects read whole, then dropped
                return self._automate_batch(batch)

        ready_batches = by_project(self._waiting_on_nothing(ready), self.batch)
        return sum(self._spread(paused, ready_batches, workers=self.workers))

    def _automate_batch(self, batch: Sequence[tuple[str, str]]) -> int:
        """``automate``'s one batch: its tasks completed (those the lifecycle refuses left pending)."""
        # as stored: an action needs no date, and completing the task re-forecasts the project as of today
        projects = {p.id: p for p in self._projects.stored_many(sorted({pid for pid, _ in batch}))}
        changes: list[TaskChange] = []
        # asked again of what was read (``_waiting_on_nothing`` asked the stored states): a task whose
        # predecessor's action failed just now, or was reopened since, runs no action before its time
        progress: dict[str, dict[str, TaskProgress]] = {}
        for project_id, task_key in batch:
            project = projects.get(project_id)
            if project is None:
                continue
            after = progress.setdefault(project_id, dict(project.progress))
            if waiting_for(self._projects.blueprint_of(project).graph, after, task_key, Action.complete):
                continue  # its predecessors are not done: left pending, its action not run before its time
            found = self._automation(project, task_key)
            if found is None:
                continue
            action, messages = found
            if not isinstance(action, EmailAction):
                try:
                    self._webhooks.post(
                        action.url,
                        webhook_payload(project, task_key, action),
                        idempotency_key=f"webhook:{project.id}:{task_key}",
                        timeout_seconds=action.timeout_seconds,
                    )
                except (TemporaryDeliveryError, PermanentDeliveryError):
                    continue  # stays pending: tried again next sweep, visible as overdue if it keeps failing
            changes.append(TaskChange(project_id, task_key, messages))
            after[task_key] = TaskProgress(TaskState.done)
        # one the lifecycle's date rules refuse is left pending
        read = [projects[c.project_id] for c in changes]
        return len(self._projects.change_tasks(changes, Action.complete, by="engine", read=read))

    def _waiting_on_nothing(self, ready: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The tasks of ``ready`` whose predecessors are done, or are ready tasks before them (each project's
        in order): asked of the tasks' states alone, so that only projects with work to run are read whole."""
        snapshots = self._store.snapshots_of({pid for pid, _ in ready})
        texts = self._store.blueprint_texts({s.blueprint_id for s in snapshots.values()})
        # the states of their predecessors alone: all ``waiting_for`` reads
        predecessors = {
            edge.predecessor
            for project_id, task_key in ready
            if project_id in snapshots
            for edge in self._loaded(snapshots[project_id].blueprint_id, texts).graph.predecessors[task_key]
        }
        progress = self._store.progress_of(snapshots, keys=predecessors)
        kept: list[tuple[str, str]] = []
        for project_id, task_key in ready:
            if project_id not in snapshots:
                continue
            after = progress.setdefault(project_id, {})
            graph = self._loaded(snapshots[project_id].blueprint_id, texts).graph
            if not waiting_for(graph, after, task_key, Action.complete):
                kept.append((project_id, task_key))
                after[task_key] = TaskProgress(TaskState.done)
        return kept

    def _automation(
        self, project: ProjectRecord, task_key: str
    ) -> tuple[EmailAction | WebhookAction, list[OutgoingMessage]] | None:
        """An automated task's action and the emails it queues (none for a webhook); None if it has none."""
        bp = self._projects.blueprint_of(project).blueprint
        task = blueprint_task(bp, task_key)
        if task.action is None:
            return None
        return task.action, automated_emails(project, bp, task, sender=self._sender)

    def decide_nudges(self) -> NudgeDecision:
        """The decision phase: every overdue task of the portfolio, through each blueprint's nudge policy.

        Only the overdue tasks that may be due a nudge now are read with their
        projects and people (``_nudge_filter``), and the policy decides those rows
        exactly. The rows left out cannot be due, so the decision is the one over
        every overdue row.
        """
        with cycle_collector_paused():
            return self._decide_nudges()

    def _decide_nudges(self) -> NudgeDecision:
        now = self._clock.now()
        today = self._clock.today()
        texts = self._store.blueprint_texts(self._store.active_blueprints())
        if not texts:
            return NudgeDecision(NudgePlan(nudges=(), digests=(), deferred=()), overdue_tasks=0)
        own = self._store.own_customer_calendars()  # projects whose customer-side days are their own
        found = self._store.nudge_candidates(today=today, may_be_due=self._nudge_filter(now, texts, own))
        people = found.people
        already_sent = sent_digests(self._store.digests_since(now - timedelta(days=2)))
        # The overdue tasks by nudge policy (blueprints that share a policy are decided together), the
        # policies in the order of their blueprints' ids, whichever tasks are due.
        groups: dict[NudgePolicy, list[OverdueTask]] = {}
        for version in sorted(texts):
            groups.setdefault(self._blueprint(version, texts).nudges, [])
        # what each blueprint snapshot gives a row, looked up once per snapshot
        per_version = {
            version: (
                groups[self._blueprint(version, texts).nudges],
                *self._sides(version, texts),
                self._titles(version, texts),
                self._ladders(version, texts),
                frozenset(role for role, side in self._sides(version, texts)[1].items() if side == "customer"),
                *self._contact(version, texts),
            )
            for version in texts
        }
        no_one: Mapping[str, Person] = {}
        for row in found.rows:
            project_id, task_key, owner_role, side, due_on, due_version, sent, last, customer, title, version = row
            (
                group,
                calendar_of_side,
                side_of_role,
                titles,
                ladders,
                customer_roles,
                contact_role,
                contact_title,
                descriptions,
            ) = per_version[version]
            if project_id in own:
                calendar_of_side = self._own_sides(version, texts, own[project_id][1])
            bound = people.get(project_id, no_one)
            owner = bound.get(owner_role)
            if owner is None:
                continue
            chain: list[Rung] = []
            ladder = ladders.get(owner_role)
            if ladder is None:  # not a role of the blueprint: its ladder has only the roles it names
                ladder = escalation_ladder(self._blueprint(version, texts), owner_role)
            for role in ladder:
                person = bound.get(role)
                if person is not None and person != owner and all(rung.person != person for rung in chain):
                    calendar = calendar_of_side[side_of_role.get(role, "vendor")]
                    chain.append(Rung(person, calendar, role in customer_roles))
            group.append(
                OverdueTask(
                    project_id,
                    customer,
                    title,
                    task_key,
                    *titles[task_key],
                    owner_role,
                    owner,
                    side == "customer",
                    calendar_of_side[side],
                    due_on,
                    due_version,
                    tuple(chain),
                    sent,
                    last,
                    bound.get(contact_role) if contact_role is not None else None,
                    contact_title,
                    descriptions.get(task_key),
                )
            )
        plan = decide_nudges_per_policy(groups, now=now, already_sent=already_sent, vendor_contact=self._sender)
        return NudgeDecision(plan, overdue_tasks=found.overdue)

    def _nudge_filter(
        self,
        now: datetime,
        texts: Mapping[str, tuple[str, str]],
        own: Mapping[str, tuple[str, CustomerCalendar]] | None = None,
    ) -> NudgeFilter:
        """The loosest thresholds of every active blueprint's policy and calendars (and of the projects' own
        customer calendars, ``own``), at the owners' local dates.

        A zone's local date is the UTC date, the day before or the day after; thresholds only grow with the
        date, so the UTC date's cover every owner except those in zones already on the next day, which get the
        next day's thresholds (the store checks the owner's zone only for the tasks that need it).
        """
        utc_on = now.astimezone(UTC).date()
        next_day = utc_on + timedelta(days=1)

        distinct = {(version, calendar) for version, calendar in (own or {}).values() if version in texts}

        def loosest(local_on: date) -> tuple[date, date]:
            limits = [
                nudge_thresholds(self._blueprint(version, texts).nudges, calendar, local_on)
                for version in texts
                for calendar in self._calendars(version, texts).values()
            ]
            limits += [
                nudge_thresholds(
                    self._blueprint(version, texts).nudges,
                    self._own_sides(version, texts, calendar)["customer"],
                    local_on,
                )
                for version, calendar in sorted(distinct, key=lambda pair: (pair[0], pair[1].describe()))
            ]
            return max(t.due_before for t in limits), max(t.nudged_before for t in limits)

        due_before, nudged_before = loosest(utc_on)
        ahead = frozenset(zone for zone in self._store.time_zones() if now.astimezone(time_zone(zone)).date() > utc_on)
        if not ahead:
            return NudgeFilter(due_before=due_before, nudged_before=nudged_before)
        ahead_due_before, ahead_nudged_before = loosest(next_day)
        return NudgeFilter(
            due_before=due_before,
            nudged_before=nudged_before,
            ahead_zones=ahead,
            ahead_due_before=ahead_due_before,
            ahead_nudged_before=ahead_nudged_before,
        )

    def record_nudges(self, decision: NudgeDecision) -> int:
        return self._store.record_nudges(decision.plan.nudges, decision.plan.digests, now=self._clock.now())

    def weekly_status(self, project_ids: Sequence[str]) -> int:
        """Queue, in one transaction, the weekly updates of these projects whose readers' slots have come, each
        to be composed when it is delivered (``core.status.update_to_compose``: a week without news for its
        reader is then left unsent); then store when each project's next update can come, so that the sweeps
        before then leave it alone. Returns how many were queued."""
        messages, due = self._weekly_updates(project_ids)
        queued = self._projects.queue(messages) if messages else 0
        # only once what is due is queued: a threshold past a slot whose update was lost would skip it for a week
        self._store.record_weekly_due(due)
        return queued

    def _weekly_updates(self, project_ids: Sequence[str]) -> tuple[list[OutgoingMessage], dict[str, WeeklyDue]]:
        """The weekly updates due now for these projects (queued by ``weekly_status``), and when each project's
        next one can come once they are (``core.status.weekly_next_due_at``), weighed on the projects' rows and
        people alone: no project is read whole. A project whose stored threshold holds at its version and has
        not come is not asked (``SweepStore.weekly_unsettled``)."""
        now = self._clock.now()
        asked = self._store.weekly_unsettled(project_ids, now=now)
        if not asked:
            return [], {}
        # read in this order: the history, then the rows, then the people. What changed since it was read is newer
        # than the version a threshold is found at (so asked again), or history a threshold only ever puts later
        sent = self._store.weekly_status_sent(asked)
        snapshots = self._store.snapshots_of(asked)
        texts = self._store.blueprint_texts({s.blueprint_id for s in snapshots.values()})
        asked = [p for p in asked if p in snapshots]
        people = self._store.bindings_of(
            [p for p in asked if self._blueprint(snapshots[p].blueprint_id, texts).status_emails.recipients]
        )
        messages: list[OutgoingMessage] = []
        due: dict[str, WeeklyDue] = {}
        for project_id in asked:
            snapshot, bound = snapshots[project_id], people.get(project_id, {})
            bp = self._blueprint(snapshot.blueprint_id, texts)
            had = sent.get(project_id, {})
            readers = weekly_readers_due(
                bp.status_emails,
                project_id=project_id,
                recipients=bound,
                now=now,
                weekly_sent_on=had,
                started_on=snapshot.kickoff_on,
            )
            had = {**had, **{reader.person.email: reader.slot_on for reader in readers}}
            next_at = weekly_next_due_at(
                bp.status_emails,
                project_id=project_id,
                recipients=bound,
                weekly_sent_on=had,
                started_on=snapshot.kickoff_on,
            )
            due[project_id] = WeeklyDue(snapshot.version, next_at)
            if not readers:
                continue
            contact = project_contact(bp, bound, fallback=self._sender)
            reply_to = reply_to_text([(contact.name, contact.email)])
            messages += [
                update_to_compose(project_id=project_id, customer=snapshot.customer, reader=reader, reply_to=reply_to)
                for reader in readers
            ]
        return messages, due

    def _blueprint(self, version: str, texts: Mapping[str, tuple[str, str]]) -> Blueprint:
        return self._loaded(version, texts).blueprint

    def _loaded(self, version: str, texts: Mapping[str, tuple[str, str]]) -> LoadedBlueprint:
        if version not in self._parsed:
            text, source = texts[version]
            self._parsed[version] = self._blueprints.parse(text, source=source)
        return self._parsed[version]

    def _ladders(self, version: str, texts: Mapping[str, tuple[str, str]]) -> Mapping[str, tuple[str, ...]]:
        """Per owner role, the roles nudged after the owner (the policy's ladder)."""
        if version not in self._ladders_of:
            bp = self._blueprint(version, texts)
            self._ladders_of[version] = {role: escalation_ladder(bp, role) for role in bp.roles}
        return self._ladders_of[version]

    def _contact(
        self, version: str, texts: Mapping[str, tuple[str, str]]
    ) -> tuple[str | None, str | None, Mapping[str, str]]:
        """The blueprint's contact role and its title, and each task's description by key (those that have one)."""
        if version not in self._contacts_of:
            bp = self._blueprint(version, texts)
            role = bp.contact_role
            self._contacts_of[version] = (
                role,
                bp.roles[role].title if role is not None and role in bp.roles else None,
                {t.key: t.description for m in bp.milestones for t in m.tasks if t.description},
            )
        return self._contacts_of[version]

    def _titles(self, version: str, texts: Mapping[str, tuple[str, str]]) -> Mapping[str, tuple[str, str]]:
        """Each task's title and its milestone's, by task key: a project's tasks are its blueprint snapshot's."""
        if version not in self._titles_of:
            bp = self._blueprint(version, texts)
            self._titles_of[version] = {t.key: (t.title, m.title) for m in bp.milestones for t in m.tasks}
        return self._titles_of[version]

    def _sides(
        self, version: str, texts: Mapping[str, tuple[str, str]]
    ) -> tuple[Mapping[str, BusinessCalendar], Mapping[str, str]]:
        """The blueprint's calendar of each side, and each role's side, by their names as the store holds them."""
        if version not in self._sides_of:
            calendars = self._calendars(version, texts)
            roles = self._blueprint(version, texts).roles
            self._sides_of[version] = (
                {name.value: calendar for name, calendar in calendars.items()},
                {role: spec.side.value for role, spec in roles.items()},
            )
        return self._sides_of[version]

    def _own_sides(
        self, version: str, texts: Mapping[str, tuple[str, str]], customer: CustomerCalendar
    ) -> Mapping[str, BusinessCalendar]:
        """``_sides``' calendar of each side for a project dated on its customer's own calendar."""
        key = (version, customer)
        if key not in self._own_sides_of:
            calendars = scheduling_calendars(self._blueprint(version, texts), customer=customer)
            self._own_sides_of[key] = {name.value: calendar for name, calendar in calendars.items()}
        return self._own_sides_of[key]

    def _calendars(self, version: str, texts: Mapping[str, tuple[str, str]]) -> Mapping[CalendarName, BusinessCalendar]:
        """The blueprint's office calendars, built once per service (a calendar caches its business days)."""
        if version not in self._calendars_of:
            self._calendars_of[version] = scheduling_calendars(self._blueprint(version, texts))
        return self._calendars_of[version]


def batches(ids: Sequence[str], size: int = BATCH, *, besides: int = 0) -> list[list[str]]:
    """The ids in batches of about ``size``, in order.

    ``besides`` other steps share the budget of one step per ``size`` ids: the ids
    then go in that many fewer batches (each a little larger), so that a flow that
    runs each batch and each other step as a task run stays within one task run
    per ``size`` ids wherever the portfolio has more than ``(besides + 1) * size``.
    """
    if not ids:
        return []
    count = max(1, -(-len(ids) // size) - besides)
    larger = -(-len(ids) // count)
    return [list(ids[i : i + larger]) for i in range(0, len(ids), larger)]


def by_project(ready: Sequence[tuple[str, str]], size: int = BATCH) -> list[list[tuple[str, str]]]:
    """Ready automated tasks (project id, task key) in batches of about ``size``, each project's tasks together in
    their order: batches worked side by side never write the same project, and a task whose predecessor is a
    ready task before it runs in the same sweep."""
    of_project: dict[str, list[tuple[str, str]]] = {}
    for project_id, task_key in ready:
        of_project.setdefault(project_id, []).append((project_id, task_key))
    out: list[list[tuple[str, str]]] = []
    for its_tasks in of_project.values():
        if not out or len(out[-1]) >= size:
            out.append([])
        out[-1] += its_tasks
    return out


def _why(project_id: str, error: OnboardingError) -> str:
    """A project that could not be re-planned, and why, on one line."""
    if isinstance(error, ProblemsError):
        return f"{project_id}: " + "; ".join(f"{p.message} [{p.code}]" for p in error.problems)
    return f"{project_id}: {error}"
