"""Running onboardings: launch a project, record work on its tasks, hold, resume or cancel it, recommit its
go-live, rebind its roles, keep notes, and read its history.

Each use case reads the project, asks the core what changes (lifecycle, a
re-forecast of the plan, who must be told), and writes the new state, its events
and its emails in one store transaction. A change that races another is read
again and retried. When the projected go-live leaves the window committed at
launch, the window-jump alert the core composes (``core/window_jump.py``: the
decision, its cause and its message) is queued with the change.

Not here: the rules themselves (core), SQL (adapters/store), delivery (outbox dispatch).
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from onboarding.core.addresses import canonical_person, name_problem, person_problems, reply_to_text
from onboarding.core.blueprint import Blueprint, CalendarName, Side
from onboarding.core.change_preview import DateChanges, date_changes
from onboarding.core.customer_calendar import CustomerCalendar, customer_calendar, with_customer_zone
from onboarding.core.customer_status import SNOOZED, snoozed_last_nudged_on
from onboarding.core.lifecycle import (
    EARLIEST_BEFORE_KICKOFF,
    FINISHED,
    Action,
    Event,
    ProjectState,
    cancel,
    hold,
    project_state_after,
    resume,
    transition,
)
from onboarding.core.messages import OutgoingMessage, Person
from onboarding.core.payroll import parse_pay_schedule
from onboarding.core.plan_view import ProjectPlan, project_plan
from onboarding.core.planning import Plan, plan_project, scheduling_calendars
from onboarding.core.project_changes import (
    HistoryPage,
    HistoryQuery,
    close_open_tasks,
    note,
    rebind,
    recommit,
    select_history,
)
from onboarding.core.projects import (
    LaunchInputs,
    ProjectRecord,
    TaskRecord,
    as_of,
    contact_of,
    dated_as_of,
    go_live_holds_until,
    kickoff_messages,
    launch_differences,
    moved_since_stored,
    new_project_id,
    project_contact,
    reforecast_project,
    task_records,
)
from onboarding.core.status import (
    MilestoneStatus,
    ProjectStatus,
    StatusDue,
    StatusView,
    TaskStatus,
    not_to_compose,
    reader_to_compose,
    readers_due,
    update_to_compose,
)
from onboarding.core.team import TeamDefault, resolve_bindings
from onboarding.core.ttfv import customer_timezone, held_periods
from onboarding.core.window_jump import window_jump_alert
from onboarding.errors import (
    ChangeConflict,
    LaunchConflict,
    OnboardingError,
    PlanInputInvalid,
    Problem,
    ProjectNotFound,
    QueryInvalid,
    TransitionRefused,
)
from onboarding.services.blueprints import BlueprintRegistry
from onboarding.services.heap import cycle_collector_paused
from onboarding.services.ports import (
    QUIET,
    BlueprintSource,
    Clock,
    ConcurrentChange,
    FailedMessage,
    LoadedBlueprint,
    ProjectChange,
    ProjectQuery,
    ProjectStore,
    ProjectSummary,
    TeamStore,
    Unsent,
)

UNSUBSCRIBED = "unsubscribed"  # the event of a customer's opt-out from its emails
_RETRIES = 5
ENDED = frozenset({ProjectState.completed, ProjectState.cancelled})  # no re-forecast: nothing is left to plan


@dataclass(frozen=True)
class LaunchRequest:
    """One project to launch: a blueprint, a customer, a kickoff, the people bound to its roles.

    ``blueprint`` names a published blueprint (``KEY``, its latest version, or
    ``KEY@VERSION``) or a blueprint file, which the launch publishes.
    """

    blueprint: str
    customer: str
    kickoff_on: date
    bindings: Mapping[str, Person]
    pay_schedule: str | None = None
    segment: str | None = None
    external_id: str | None = None
    contract_signed_on: date | None = None  # a TTFV start event (blueprint ttfv.start_event: contract_signed)
    # The customer's own calendar and time zone (core/customer_calendar); none given: the blueprint's.
    customer_country: str | None = None  # ISO 3166-1 alpha-2
    customer_subdivision: str | None = None
    customer_closed_days: Sequence[date | str] = ()  # dates, or ISO texts (checked with the rest)
    customer_time_zone: str | None = None  # IANA


@dataclass(frozen=True)
class Launched:
    project: ProjectRecord
    created: bool  # False: a project with this external id existed already
    plan: Plan | None = None  # the plan it was launched with (when made now)


@dataclass(frozen=True)
class TaskChange:
    """One task change of ``ProjectService.change_tasks``: the project (by id), the task, and the emails that go
    out with the change."""

    project_id: str
    task_key: str
    messages: Sequence[OutgoingMessage] = ()


@dataclass(frozen=True)
class ChangePreview:
    """A change not made: the project as read (its ``version`` is what a confirmation expects) and the dates
    the change would move."""

    project: ProjectRecord
    dates: DateChanges


@dataclass(frozen=True)
class ProjectPage:
    projects: list[ProjectSummary]
    next_cursor: str | None  # None: this is the last page


class ProjectService:
    """Launch and run projects. With a ``registry``, a launch names a published blueprint or a file it publishes;
    without one (tests of the rest), blueprints are files read by ``blueprints``."""

    def __init__(
        self,
        *,
        store: ProjectStore,
        blueprints: BlueprintSource,
        clock: Clock,
        sender: Person,
        team: TeamStore | None = None,
        registry: BlueprintRegistry | None = None,
    ) -> None:
        self._store = store
        self._blueprints = blueprints
        self._registry = registry
        self._clock = clock
        self._sender = sender
        self._team = team  # the team's default people for vendor roles (none: every role bound at launch)
        self._parsed: dict[tuple[str, int], LoadedBlueprint] = {}

    # -- launch ----------------------------------------------------------------

    def launch(
        self,
        ref: str,
        *,
        customer: str,
        kickoff_on: date,
        bindings: Mapping[str, Person],
        pay_schedule: str | None = None,
        segment: str | None = None,
        external_id: str | None = None,
        actor: str = "cli",
        contract_signed_on: date | None = None,
        customer_country: str | None = None,
        customer_subdivision: str | None = None,
        customer_closed_days: Sequence[date | str] = (),
        customer_time_zone: str | None = None,
        published_only: bool = False,
    ) -> Launched:
        """Plan and store a project from a blueprint (``ref``: a published ``KEY`` or ``KEY@VERSION``, or a file,
        published with the launch; ``published_only``: never a file); the same external id never makes a second
        one.

        Two launches of one external id at once make one project: the second finds the first's and
        answers it (or refuses, when it asked for something else).
        """
        request = LaunchRequest(
            ref,
            customer=customer,
            kickoff_on=kickoff_on,
            bindings=bindings,
            pay_schedule=pay_schedule,
            segment=segment,
            external_id=external_id,
            contract_signed_on=contract_signed_on,
            customer_country=customer_country,
            customer_subdivision=customer_subdivision,
            customer_closed_days=customer_closed_days,
            customer_time_zone=customer_time_zone,
        )
        for _attempt in range(_RETRIES):
            try:
                return self.launch_many([request], actor=actor, published_only=published_only)[0]
            except ConcurrentChange:
                continue  # its external id was launched meanwhile: read again, it answers or conflicts
        raise _kept_changing(external_id or customer)

    def launch_plan(self, project: ProjectRecord) -> Plan:
        """The plan a project was launched with (its go-live, why, and the dates refused), made again from its
        blueprint snapshot, kickoff and pay schedule."""
        loaded = self.blueprint_of(project)
        return plan_project(
            loaded.blueprint,
            kickoff_on=project.kickoff_on,
            graph=loaded.graph,
            pay_schedule=parse_pay_schedule(project.pay_schedule) if project.pay_schedule else None,
            customer_calendar=project.customer_calendar,
        )

    def launch_many(
        self, requests: Sequence[LaunchRequest], *, actor: str = "cli", chunk: int = 500, published_only: bool = False
    ) -> list[Launched]:
        """Launch many projects: each blueprint read once, each plan made once per kickoff and pay schedule,
        rows written in transactions of ``chunk`` projects. Every request is checked before anything is stored.

        An external id seen before (or twice in the batch) launches nothing new: asked with the same
        inputs, it answers the project it has; with another blueprint, customer or other inputs, it is
        refused (``LaunchConflict``, ``external-id-conflict``, each difference named). When another launch
        stored one of its external ids meanwhile, raises ``ConcurrentChange`` (a chunk of it may be stored:
        launching again answers those).

        Roles a request does not bind take the team's default for its segment (``core/team``); a request may
        give the customer's own calendar and time zone (``core/customer_calendar``).

        Blueprint files named by the requests are published with the launch (before its projects are
        stored, once every request is checked); a file whose version was published with other text
        refuses the launch (``blueprint-version-exists``). With ``published_only`` (a request from outside,
        over HTTP), a blueprint is a published one or none: no file is read (``blueprint-not-found``)."""
        existing = self._store.find_externals([r.external_id for r in requests if r.external_id])
        launched_with: dict[str, LaunchInputs] = {}
        conflicts: list[Problem] = []
        loaded: dict[str, LoadedBlueprint] = {}
        plans: dict[tuple[str, date, str | None, CustomerCalendar | None], tuple[Plan, tuple[TaskRecord, ...]]] = {}
        defaults = self._team.team_defaults() if self._team is not None else []
        results: list[Launched] = []
        pending: list[tuple[ProjectRecord, list[Event], list[OutgoingMessage]]] = []
        problems: list[Problem] = []
        now = self._clock.now()
        with cycle_collector_paused():
            for index, r in enumerate(requests):
                if r.blueprint not in loaded:
                    loaded[r.blueprint] = self._blueprint_named(r.blueprint, published_only=published_only)
                bp_loaded = loaded[r.blueprint]
                bp = bp_loaded.blueprint
                inputs = _launch_people_and_calendar(r, bp, defaults)
                if r.external_id is not None and r.external_id in existing and not inputs.problems:
                    before = existing[r.external_id]
                    if r.external_id not in launched_with:
                        launched_with[r.external_id] = self._launched_with(before)
                    differences = launch_differences(launched_with[r.external_id], _launch_inputs(r, bp, inputs))
                    if differences:
                        conflicts.append(
                            Problem(
                                "external-id-conflict",
                                f"external id {r.external_id!r} is project {before.id}, launched with other inputs",
                                (index,) if len(requests) > 1 else (),
                                "launch it with the same inputs to see it, or use another external id; "
                                "a launched project is never changed by a relaunch",
                                detail=tuple(differences),
                            )
                        )
                    else:
                        results.append(Launched(before, created=False))
                    continue
                said = {p.loc for p in inputs.problems if p.code == "customer-role-default"}
                found = [*inputs.problems, *_contract_problems(r, today=self._clock.today())] + [
                    p
                    for p in _binding_problems(bp, inputs.people)
                    if p.loc not in said  # a customer role with a team default: said once, as that
                ]
                if found:
                    problems += [replace(p, loc=(index, *p.loc)) if len(requests) > 1 else p for p in found]
                    continue
                spec = r.pay_schedule or bp.pay_schedule
                own = inputs.calendar
                key = (r.blueprint, r.kickoff_on, spec, own if own is not None and own.changes_calendar else None)
                if key not in plans:
                    plan = plan_project(
                        bp,
                        kickoff_on=r.kickoff_on,
                        graph=bp_loaded.graph,
                        pay_schedule=parse_pay_schedule(spec) if spec else None,
                        customer_calendar=own,
                    )
                    plans[key] = (plan, task_records(plan, bp))
                plan, tasks = plans[key]
                project = replace(
                    self._new_project(r, bp_loaded, plan, tasks, spec=spec, now=now),
                    bindings={role: canonical_person(person) for role, person in inputs.people.items()},
                    customer_calendar=own,
                )
                launched = Event(
                    "project_launched",
                    now,
                    actor,
                    None,
                    {
                        "blueprint": bp.key,
                        "version": bp.version,
                        "kickoff_on": r.kickoff_on.isoformat(),
                        "committed_go_live_on": project.committed_go_live_on.isoformat()
                        if project.committed_go_live_on
                        else None,
                        "customer": r.customer,
                        "segment": r.segment,
                        "external_id": r.external_id,
                        "pay_schedule": spec,
                        "contract_signed_on": r.contract_signed_on.isoformat() if r.contract_signed_on else None,
                        **_launch_event_inputs(inputs),
                    },
                )
                messages = kickoff_messages(project, bp, vendor_contact=self._vendor_contact(project, bp))
                pending.append((project, [launched], messages))
                results.append(Launched(project, created=True, plan=plan))
                if r.external_id is not None:
                    existing[r.external_id] = project
                    launched_with[r.external_id] = _launch_inputs(r, bp, inputs)
        if problems:
            raise PlanInputInvalid("launch", tuple(problems + conflicts))
        if conflicts:
            raise LaunchConflict("launch", tuple(conflicts))
        if self._registry is not None and pending:
            used = {p.blueprint_text: p for p, _events, _messages in pending}
            self._registry.publish_loaded([b for b in loaded.values() if b.text in used], by=actor)
        for start in range(0, len(pending), chunk):
            self._store.create_many(pending[start : start + chunk])
        return results

    def _blueprint_named(self, ref: str, *, published_only: bool) -> LoadedBlueprint:
        if self._registry is None:
            if published_only:
                raise RuntimeError("launching published blueprints only needs the registry")
            return self._blueprints.load(ref)
        return self._registry.show(ref).loaded if published_only else self._registry.find(ref)

    def _launched_with(self, project: ProjectRecord) -> LaunchInputs:
        """What a stored project was launched with (its contract day from its launch event)."""
        launch = next((e for e in self._store.events(project.id) if e.kind == "project_launched"), None)
        signed = launch.data.get("contract_signed_on") if launch is not None else None
        return LaunchInputs(
            blueprint_key=project.blueprint_key,
            blueprint_version=project.blueprint_version,
            customer=project.customer,
            kickoff_on=project.kickoff_on,
            pay_schedule=_normal_spec(project.pay_schedule),
            segment=project.segment,
            bindings=dict(project.bindings),
            contract_signed_on=date.fromisoformat(str(signed)) if signed else None,
            customer_calendar=project.customer_calendar,
        )

    @staticmethod
    def _new_project(
        r: LaunchRequest,
        loaded: LoadedBlueprint,
        plan: Plan,
        tasks: tuple[TaskRecord, ...],
        *,
        spec: str | None,
        now: datetime,
    ) -> ProjectRecord:
        bp = loaded.blueprint
        go_live = plan.go_live.chosen_on if plan.go_live else None
        return ProjectRecord(
            id=new_project_id(r.customer),
            external_id=r.external_id,
            customer=r.customer,
            segment=r.segment,
            blueprint_key=bp.key,
            blueprint_version=bp.version,
            blueprint_title=bp.title,
            blueprint_source=loaded.source,
            blueprint_text=loaded.text,
            kickoff_on=r.kickoff_on,
            pay_schedule=spec,
            state=ProjectState.active,
            committed_go_live_on=go_live,
            projected_go_live_on=go_live,
            finish_on=plan.finish_on,
            bindings={role: canonical_person(person) for role, person in r.bindings.items()},
            tasks=tasks,
            created_at=now,
            updated_at=now,
        )

    # -- work on tasks ---------------------------------------------------------

    def change_task(
        self,
        ref: str,
        task_key: str,
        action: Action,
        *,
        on: date | None = None,
        by: str = "cli",
        reason: str | None = None,
        force: bool = False,
        force_date: bool = False,
        messages: Sequence[OutgoingMessage] = (),
        expected_version: int | None = None,
    ) -> ProjectRecord:
        """Record a task change, re-forecast, and alert on a window jump; ``messages`` go out with the change.

        ``on`` (default today) is checked by the lifecycle's date rules; ``force_date``
        records a day they refuse (before kickoff, a predecessor or the task's start).
        """
        change = self._task_change(task_key, action, on=on, by=by, reason=reason, force=force, force_date=force_date)
        return self._update(ref, change, messages=messages, expected_version=expected_version)

    def change_tasks(
        self, changes: Sequence[TaskChange], action: Action, *, by: str, read: Sequence[ProjectRecord] = ()
    ) -> list[TaskChange]:
        """``change_task`` (as of today) for each of ``changes``, with its emails, for many projects at once: each
        project is read once, its changes are applied in order as ``change_task`` would apply them one after the
        other (each re-forecast, alerted on and emailed about the same way), and every project is written in
        one transaction. A change the lifecycle refuses (``TransitionRefused``) is left out, as ``change_task``
        would refuse it; so is a project not found. Returns the changes made.

        ``read``: the projects as stored, read by the caller already: the first try applies the changes to
        them rather than read them again. When another change reached one of the projects between the read and
        the write, nothing is written and the batch is read and applied again; after a few such tries, each
        change is made on its own.
        """
        asked: dict[str, list[TaskChange]] = {}
        for c in changes:
            asked.setdefault(c.project_id, []).append(c)
        given = {p.id: p for p in read}
        for attempt in range(_RETRIES):
            made: list[TaskChange] = []
            writes: list[ProjectChange] = []
            if attempt == 0 and all(pid in given for pid in asked):
                batch = [given[pid] for pid in asked]
            else:
                batch = self._store.load_many(list(asked))
            for project in batch:
                loaded = self.blueprint_of(project)
                current = project
                events: list[Event] = []
                queued: list[OutgoingMessage] = []
                for c in asked[project.id]:
                    step = self._task_change(
                        c.task_key, action, on=None, by=by, reason=None, force=False, force_date=False
                    )
                    try:
                        current, step_events, step_queued = self._applied(current, step, loaded, messages=c.messages)
                    except TransitionRefused:
                        continue
                    events += step_events
                    queued += step_queued
                    made.append(c)
                if current is not project:
                    writes.append(ProjectChange(project, current, events, queued))
            try:
                self._store.save_many(writes)
            except ConcurrentChange:
                continue
            return made
        made = []
        for c in changes:
            try:
                self.change_task(c.project_id, c.task_key, action, by=by, messages=c.messages)
            except (TransitionRefused, ProjectNotFound):
                continue
            made.append(c)
        return made

    def preview_task_change(
        self,
        ref: str,
        task_key: str,
        action: Action,
        *,
        on: date | None = None,
        by: str = "cli",
        reason: str | None = None,
        force: bool = False,
        force_date: bool = False,
    ) -> ChangePreview:
        """What ``change_task`` would do to the project's dates, with nothing written; refused as it would be."""
        change = self._task_change(task_key, action, on=on, by=by, reason=reason, force=force, force_date=force_date)
        return self._preview(ref, change)

    def _task_change(
        self,
        task_key: str,
        action: Action,
        *,
        on: date | None,
        by: str,
        reason: str | None,
        force: bool,
        force_date: bool,
    ) -> Callable[[ProjectRecord, LoadedBlueprint], tuple[ProjectRecord, list[Event]]]:
        def change(project: ProjectRecord, bp: LoadedBlueprint) -> tuple[ProjectRecord, list[Event]]:
            today = self._clock.today()
            progress, event = transition(
                bp.graph,
                project.progress,
                task_key,
                action,
                on=on or today,
                at=self._clock.now(),
                actor=by,
                kickoff_on=project.kickoff_on,
                today=today,
                force=force,
                force_date=force_date,
                reason=reason,
                project_state=project.state,
            )
            state = project_state_after({**project.progress, task_key: progress}, bp.graph, project.state)
            changed = project.task(task_key)._replace(
                state=progress.state, started_on=progress.started_on, done_on=progress.done_on
            )
            if action is Action.reopen:  # open work again: its nudges start afresh with its owner
                changed = changed._replace(due_version=changed.due_version + 1, nudges_sent=0, last_nudged_on=None)
            # only the task changed is a new row: the others' progress is as stored
            tasks = tuple(changed if t.key == task_key else t for t in project.tasks)
            return replace(project, tasks=tasks, state=state), [event]

        return change

    def snooze_task(self, ref: str, task_key: str, *, until: date, by: str) -> ProjectRecord:
        """Hold an open task's reminders until ``until`` (checked by the caller against ``snooze_limits``): the
        ``task_snoozed`` event, and the last-nudged date that makes the next reminder due on that day."""

        def change(project: ProjectRecord, bp: LoadedBlueprint) -> tuple[ProjectRecord, list[Event]]:
            task = project.task(task_key)
            side = CalendarName.customer if task.side == "customer" else CalendarName.vendor
            calendar = scheduling_calendars(bp.blueprint, customer=project.customer_calendar)[side]
            held = snoozed_last_nudged_on(
                until, repeat_every_business_days=bp.blueprint.nudges.repeat_every_business_days, calendar=calendar
            )
            last = task.last_nudged_on if task.last_nudged_on and task.last_nudged_on > held else held
            tasks = tuple(t._replace(last_nudged_on=last) if t.key == task_key else t for t in project.tasks)
            event = Event(SNOOZED, self._clock.now(), by, task_key, {"until": until.isoformat()})
            return replace(project, tasks=tasks), [event]

        return self._update(ref, change, reforecast=False)

    def queue(self, messages: Sequence[OutgoingMessage]) -> int:
        """Queue emails that go with no change of a project (the weekly status); returns how many were new."""
        return self._store.queue(messages, now=self._clock.now())

    def hold(
        self,
        ref: str,
        *,
        on: date | None = None,
        by: str = "cli",
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> ProjectRecord:
        """Put a project on hold from ``on`` (default today), checked against kickoff, today and its last hold.

        Its plan is not re-forecast while it is held: no date moves until it is resumed."""
        change = self._hold_change(on=on, by=by, reason=reason)
        return self._update(ref, change, reforecast=False, expected_version=expected_version)

    def preview_hold(
        self, ref: str, *, on: date | None = None, by: str = "cli", reason: str | None = None
    ) -> ChangePreview:
        """What ``hold`` would do to the project's dates (nothing moves while it is held), with nothing written."""
        return self._preview(ref, self._hold_change(on=on, by=by, reason=reason), reforecast=False)

    def _hold_change(
        self, *, on: date | None, by: str, reason: str | None
    ) -> Callable[[ProjectRecord, LoadedBlueprint], tuple[ProjectRecord, list[Event]]]:
        def change(project: ProjectRecord, _bp: LoadedBlueprint) -> tuple[ProjectRecord, list[Event]]:
            holds = self._holds(project)
            state, event = hold(
                project.state,
                on=on,
                today=self._clock.today(),
                kickoff_on=project.kickoff_on,
                resumed_on=holds[-1][1] if holds else None,
                at=self._clock.now(),
                actor=by,
                reason=reason,
            )
            return replace(project, state=state), [event]

        return change

    def resume(
        self, ref: str, *, on: date | None = None, by: str = "cli", expected_version: int | None = None
    ) -> ProjectRecord:
        """Resume a held project from ``on`` (default today), not before its hold began, and re-forecast it."""
        return self._update(ref, self._resume_change(on=on, by=by), expected_version=expected_version)

    def preview_resume(self, ref: str, *, on: date | None = None, by: str = "cli") -> ChangePreview:
        """What ``resume`` would do to the project's dates, with nothing written."""
        return self._preview(ref, self._resume_change(on=on, by=by))

    def _resume_change(
        self, *, on: date | None, by: str
    ) -> Callable[[ProjectRecord, LoadedBlueprint], tuple[ProjectRecord, list[Event]]]:
        def change(project: ProjectRecord, _bp: LoadedBlueprint) -> tuple[ProjectRecord, list[Event]]:
            holds = self._holds(project)
            state, event = resume(
                project.state,
                on=on,
                today=self._clock.today(),
                held_on=holds[-1][0] if holds else None,
                at=self._clock.now(),
                actor=by,
            )
            return replace(project, state=state), [event]

        return change

    def _preview(
        self,
        ref: str,
        change: Callable[[ProjectRecord, LoadedBlueprint], tuple[ProjectRecord, list[Event]]],
        *,
        reforecast: bool = True,
    ) -> ChangePreview:
        """``change`` made on the project as of today and re-forecast as ``_update`` would, and nothing written."""
        project = self.as_of_today(self._store.load(ref))
        loaded = self.blueprint_of(project)
        changed, _events = change(project, loaded)
        if reforecast and changed.state not in ENDED:
            changed, _plan = reforecast_project(
                changed, loaded.blueprint, graph=loaded.graph, today=self._clock.today(), at=self._clock.now()
            )
        return ChangePreview(project, date_changes(project, changed))

    # -- the verbs of a live project ---------------------------------------------------

    def cancel(
        self,
        ref: str,
        *,
        reason: str,
        on: date | None = None,
        by: str = "cli",
        expected_version: int | None = None,
    ) -> ProjectRecord:
        """Cancel an active or held project for good (``lifecycle.cancel``): its open tasks are closed
        (``project_changes.close_open_tasks``), its emails still waiting in the outbox are suppressed in the
        same transaction, and the sweep leaves it alone from then on."""

        def change(project: ProjectRecord, _bp: LoadedBlueprint) -> tuple[ProjectRecord, list[Event]]:
            state, event = cancel(
                project.state,
                on=on,
                today=self._clock.today(),
                kickoff_on=project.kickoff_on,
                at=self._clock.now(),
                actor=by,
                reason=reason,
            )
            closed, event = close_open_tasks(replace(project, state=state, updated_at=self._clock.now()), event)
            return closed, [event]

        return self._update(
            ref,
            change,
            reforecast=False,
            suppress_pending=f"project cancelled: {reason.strip()}"[:500],
            expected_version=expected_version,
        )

    def recommit(
        self,
        ref: str,
        *,
        reason: str,
        on: date | None = None,
        by: str = "cli",
        expected_version: int | None = None,
    ) -> ProjectRecord:
        """Accept the projected go-live as the commitment (``project_changes.recommit``)."""

        def change(project: ProjectRecord, _bp: LoadedBlueprint) -> tuple[ProjectRecord, list[Event]]:
            today = self._clock.today()
            changed, event = recommit(project, reason=reason, at=self._clock.now(), actor=by, on=on, today=today)
            return changed, [event]

        return self._update(ref, change, reforecast=False, expected_version=expected_version)

    def rebind(
        self,
        ref: str,
        role: str,
        person: Person,
        *,
        note: str | None = None,
        by: str = "cli",
        expected_version: int | None = None,
    ) -> ProjectRecord:
        """Bind another person to a role of the project; the emails decided from now on go to them."""

        def change(project: ProjectRecord, bp: LoadedBlueprint) -> tuple[ProjectRecord, list[Event]]:
            roles = list(bp.blueprint.roles)
            changed, event = rebind(project, role, person, roles=roles, note=note, at=self._clock.now(), actor=by)
            return changed, [event]

        return self._update(ref, change, reforecast=False, expected_version=expected_version)

    def note(
        self,
        ref: str,
        text: str,
        *,
        task: str | None = None,
        by: str = "cli",
        expected_version: int | None = None,
    ) -> Event:
        """Record a comment on the project or one of its tasks in its history; returns the event."""
        recorded: list[Event] = []

        def change(project: ProjectRecord, _bp: LoadedBlueprint) -> tuple[ProjectRecord, list[Event]]:
            event = note(project, text, task=task, at=self._clock.now(), actor=by)
            recorded[:] = [event]
            return project, [event]

        self._update(ref, change, reforecast=False, expected_version=expected_version)
        return recorded[0]

    def history(self, ref: str, query: HistoryQuery | None = None) -> HistoryPage:
        """The project's event log, filtered and paged (``project_changes.select_history``)."""
        project = self._store.load(ref)
        return select_history(
            self._store.events(project.id), query or HistoryQuery(), tasks=[t.key for t in project.tasks]
        )

    def _holds(self, project: ProjectRecord) -> list[tuple[date, date | None]]:
        """The project's holds as the reports count them (days in the customer's time zone)."""
        timezone = customer_timezone(
            project.tasks,
            {role: p.timezone for role, p in project.bindings.items()},
            declared=project.customer_calendar.time_zone if project.customer_calendar else None,
        )
        return held_periods(self._store.events(project.id), timezone=timezone)

    def unsubscribe(self, ref: str, *, email: str) -> bool:
        """Record that ``email`` wants no more customer emails about the project; False if it already said so."""
        email = email.strip().lower()

        def change(project: ProjectRecord, _bp: LoadedBlueprint) -> tuple[ProjectRecord, list[Event]]:
            # read with the project's version: two confirmations at once write one event, as the second one's write
            # meets the first's version, reads again and finds it recorded
            if any(e.kind == UNSUBSCRIBED and e.data.get("email") == email for e in self.events(project.id)):
                raise _AlreadyRecorded
            return project, [Event(UNSUBSCRIBED, self._clock.now(), email, None, {"email": email})]

        try:
            self._update(ref, change, reforecast=False)
        except _AlreadyRecorded:
            return False
        return True

    def reforecast(self, ref: str) -> ProjectRecord:
        """Re-plan from today without any other change (what a daily sweep does)."""
        return self._update(ref, lambda project, _bp: (project, []))

    def reforecast_many(self, project_ids: Sequence[str], *, failed: dict[str, OnboardingError] | None = None) -> int:
        """``reforecast`` for each of these projects, read together and written in one transaction.

        Only the projects whose plan moved are written. When another change reached
        one of them between the read and the write, nothing of the batch is written
        and the batch is read and re-planned again; after a few such tries, each
        project is re-forecast on its own (``reforecast`` retries). A project that
        cannot be re-planned does not keep the others from being written: its error
        is put in ``failed`` (by project id) when given, else raised after they are
        written. Ids not found are left out. Returns how many projects were
        re-forecast.
        """
        for _attempt in range(_RETRIES):
            found = [p for p in self._store.load_many(project_ids) if p.state not in ENDED]
            errors: dict[str, OnboardingError] = {}
            changes = self._reforecasts(found, errors)
            try:
                self._store.save_many(changes)
            except ConcurrentChange:
                continue
            if errors and failed is None:
                raise next(iter(errors.values()))
            if failed is not None:
                failed.update(errors)
            return len(found) - len(errors)
        done = 0
        for project in found:
            try:
                self.reforecast(project.id)
                done += 1
            except OnboardingError as error:
                if failed is None:
                    raise
                failed[project.id] = error
        return done

    def reforecasts(
        self, project_ids: Sequence[str], *, failed: dict[str, OnboardingError]
    ) -> tuple[list[ProjectRecord], list[ProjectChange]]:
        """What ``reforecast_many`` would write, written nowhere: the projects read, and the change of each
        whose plan moves (as re-planned, with its events and window-jump alerts). A project that cannot be
        re-planned is put in ``failed``."""
        found = [p for p in self._store.load_many(project_ids) if p.state not in ENDED]
        return found, self._reforecasts(found, failed)

    def _reforecasts(self, found: Sequence[ProjectRecord], errors: dict[str, OnboardingError]) -> list[ProjectChange]:
        changes: list[ProjectChange] = []
        for project in found:
            try:
                changed, new_events, alerts = self._reforecast(project, project, self.blueprint_of(project))
            except OnboardingError as error:
                errors[project.id] = error
                continue
            moved = (changed.projected_go_live_on, changed.finish_on) != (
                project.projected_go_live_on,
                project.finish_on,
            )
            if (
                new_events
                or alerts
                or moved
                or changed.tasks != project.tasks
                or changed.sweep_after != project.sweep_after
            ):
                changes.append(ProjectChange(project, changed, new_events, alerts))
        return changes

    # -- reading ---------------------------------------------------------------

    def get(self, ref: str) -> ProjectRecord:
        """The project as of today (``core.projects.as_of``: the dates of late work as they stand today)."""
        return self.as_of_today(self._store.load(ref))

    def get_many(self, project_ids: Sequence[str]) -> list[ProjectRecord]:
        """The projects with these ids as of today, read together (ids not found left out)."""
        return [self.as_of_today(p) for p in self._store.load_many(project_ids)]

    def stored_many(self, project_ids: Sequence[str]) -> list[ProjectRecord]:
        """The projects with these ids as stored (the dates of late work those of the plan's last change), for
        what needs no date: ``as_of_today`` dates one."""
        return self._store.load_many(project_ids)

    def as_of_today(self, project: ProjectRecord, *, dates_alone: bool = False) -> ProjectRecord:
        """The project as a reader sees it today: stored dates of late work are those of the day its plan last
        changed, re-forecast here (written nowhere); a project whose plan cannot be re-forecast is as stored.
        ``dates_alone``: for a reader of the tasks' start and due dates and the go-live alone (a status email),
        ``core.projects.dated_as_of``."""
        if not moved_since_stored(project, today=self._clock.today()):
            return project
        loaded = self.blueprint_of(project)
        reckon = dated_as_of if dates_alone else as_of
        try:
            return reckon(project, loaded.blueprint, graph=loaded.graph, today=self._clock.today())
        except OnboardingError:
            return project  # no safe launch as of today: the sweep reports it; readers see the stored plan

    def plan_view(self, ref: str) -> ProjectPlan:
        """The project as its page shows it, as of today (``plan_view.project_plan``): the stored plan, and why
        its go-live falls where it does (from a re-forecast made now and kept nowhere)."""
        project = self._store.load(ref)
        today = self._clock.today()
        plan: Plan | None = None
        if project.state not in ENDED:
            loaded = self.blueprint_of(project)
            try:
                _replanned, plan = reforecast_project(
                    project, loaded.blueprint, graph=loaded.graph, today=today, at=self._clock.now()
                )
            except OnboardingError:
                plan = None  # no safe launch as of today, say: the page shows the stored dates without a reason
        return project_plan(project, today=today, plan=plan)

    def failed_messages(self, ref: str) -> list[FailedMessage]:
        return self._store.failed_messages(self._store.load(ref).id)

    def events(self, ref: str) -> list[Event]:
        return self._store.events(self._store.load(ref).id)

    def list_projects(
        self,
        *,
        state: str | None = None,
        blueprint: str | None = None,
        segment: str | None = None,
        customer: str | None = None,
        limit: int = 200,
    ) -> list[ProjectRecord]:
        found = self._store.list_projects(
            state=state, blueprint=blueprint, segment=segment, customer=customer, limit=limit
        )
        return [self.as_of_today(p) for p in found]

    def page(
        self,
        *,
        state: str | None = None,
        blueprint: str | None = None,
        segment: str | None = None,
        customer: str | None = None,
        at_risk: bool = False,
        cursor: str | None = None,
        limit: int = 50,
    ) -> ProjectPage:
        """A page of the portfolio, by kickoff then id, from ``cursor`` (the previous page's ``next_cursor``).

        ``at_risk``: only the projects the portfolio report counts at risk today. Raises ``QueryInvalid``
        (``invalid-cursor``) for a cursor this service did not give.
        """
        query = ProjectQuery(
            state=state,
            blueprint=blueprint,
            segment=segment,
            customer=customer,
            at_risk_on=self._clock.today() if at_risk else None,
        )
        found = self._store.project_page(query, after=_read_cursor(cursor) if cursor else None, limit=limit + 1)
        more = len(found) > limit
        shown = found[:limit]
        return ProjectPage(shown, next_cursor=_cursor(shown[-1].sort_key) if more else None)

    def blueprint_of(self, project: ProjectRecord) -> LoadedBlueprint:
        key = (project.blueprint_key + "@" + project.blueprint_version, hash(project.blueprint_text))
        if key not in self._parsed:
            self._parsed[key] = self._blueprints.parse(project.blueprint_text, source=project.blueprint_source)
        return self._parsed[key]

    # -- the one way a project changes ------------------------------------------

    def _update(
        self,
        ref: str,
        change: Callable[[ProjectRecord, LoadedBlueprint], tuple[ProjectRecord, list[Event]]],
        *,
        reforecast: bool = True,
        messages: Sequence[OutgoingMessage] = (),
        suppress_pending: str | None = None,
        expected_version: int | None = None,
    ) -> ProjectRecord:
        """Apply ``change`` to the project as stored and write it with its events and emails, in one transaction.

        A change that races another is read again and applied on the new state, a few times at most; with
        ``expected_version`` (what the caller saw), a project changed since is refused (``ChangeConflict``)
        rather than changed on a state the caller never saw. Either way nothing is overwritten.
        """
        for _attempt in range(_RETRIES):
            project = self._store.load(ref)
            if expected_version is not None and project.version != expected_version:
                raise _conflict(project, expected_version)
            changed, new_events, queued = self._applied(
                project,
                change,
                self.blueprint_of(project),
                reforecast=reforecast,
                messages=messages,
            )
            try:
                # only the task fields that changed are written: a nudge the sweep recorded meanwhile bumped its
                # task's counters without a new project version, and rewriting whole rows would undo that
                self._store.save_many([ProjectChange(project, changed, new_events, queued, suppress_pending)])
            except ConcurrentChange:
                if expected_version is not None:
                    raise _conflict(project, expected_version) from None
                continue
            return replace(changed, version=project.version + 1)
        raise _kept_changing(ref)

    def _applied(
        self,
        project: ProjectRecord,
        change: Callable[[ProjectRecord, LoadedBlueprint], tuple[ProjectRecord, list[Event]]],
        loaded: LoadedBlueprint,
        *,
        reforecast: bool = True,
        messages: Sequence[OutgoingMessage] = (),
    ) -> tuple[ProjectRecord, list[Event], list[OutgoingMessage]]:
        """``change`` applied to ``project`` in memory, then its re-forecast (window-jump alert included) and the
        status emails of the milestones it completed: the project after, its new events and the emails to queue
        with it (``messages`` first).

        The project after is the project as of today (``as_of``: its late work's dates moved since they were
        stored) changed, as its readers saw it. When it is not re-forecast after (a hold, a note), that move is
        written with it, and a window jump with its event and alert (the drift of late work is no news in the
        history beside a note): a held project keeps the dates it was held with (a hold dated back only says
        since when it was held), and a go-live is never written moved without its alert.
        """
        queued: list[OutgoingMessage] = list(messages)
        new_events: list[Event] = []
        today_project = project
        moved = moved_since_stored(project, today=self._clock.today())
        if moved and not reforecast:
            with contextlib.suppress(OnboardingError):  # no safe launch as of today: the plan as stored
                today_project, new_events, alerts = self._reforecast(project, project, loaded, record_moves=False)
                queued += alerts
        # A change reads no planned date (the lifecycle's rules weigh progress, kickoff and today), and the
        # re-forecast after it dates every task anew: the project as stored will do, the plan of its dates as of
        # today is made only for a change that ends the project, which no re-forecast follows.
        changed, change_events = change(today_project, loaded)
        if moved and reforecast and changed.state in ENDED:
            changed, change_events = change(self.as_of_today(project), loaded)
        new_events += change_events
        if reforecast and changed.state not in ENDED:
            changed, plan_events, alerts = self._reforecast(project, changed, loaded)
            new_events += plan_events
            queued += alerts
        completed = _completed_milestones(project, changed, loaded)
        if completed:
            queued += self.status_to_compose(changed, loaded, completed=completed)
        return changed, new_events, queued

    def _reforecast(
        self, before: ProjectRecord, project: ProjectRecord, loaded: LoadedBlueprint, *, record_moves: bool = True
    ) -> tuple[ProjectRecord, list[Event], list[OutgoingMessage]]:
        """Re-forecast ``project`` as of today, with the events and the window-jump alert of what moved since
        ``before`` (``record_moves=False``: the window jump's only, not the dates of late work)."""
        bp = loaded.blueprint
        today = self._clock.today()
        now = self._clock.now()
        replanned, plan = reforecast_project(project, bp, graph=loaded.graph, today=today, at=now)
        # the sweep leaves it as stored until its go-live can move: its late work's dates are read as of each day
        holds = go_live_holds_until(replanned, bp, graph=loaded.graph, today=today, plan=plan)
        replanned = replace(replanned, go_live_holds_until=holds)
        moved = {
            t.key: (b.due_on, t.due_on)
            for t, b in zip(replanned.tasks, before.tasks, strict=True)
            if t.due_on != b.due_on
        }
        events: list[Event] = []
        if moved and record_moves:
            events.append(
                Event(
                    "plan_reforecast",
                    now,
                    "engine",
                    None,
                    {
                        "moved": {k: [a.isoformat(), b.isoformat()] for k, (a, b) in sorted(moved.items())},
                        "projected_go_live_on": replanned.projected_go_live_on.isoformat()
                        if replanned.projected_go_live_on
                        else None,
                    },
                )
            )
        alert = window_jump_alert(
            before,
            replanned,
            graph=loaded.graph,
            blueprint=bp,
            go_live=plan.go_live,
            today=today,
            fallback=self._sender,
            reply_to=self._sender.email,
        )
        messages: list[OutgoingMessage] = []
        if alert is not None:
            causes, message = alert
            messages.append(message)
            events.append(
                Event(
                    "window_jump",
                    now,
                    "engine",
                    None,
                    {
                        "committed_on": before.committed_go_live_on.isoformat()
                        if before.committed_go_live_on
                        else None,
                        "from": before.projected_go_live_on.isoformat() if before.projected_go_live_on else None,
                        "to": replanned.projected_go_live_on.isoformat() if replanned.projected_go_live_on else None,
                        "causes": [{"task": c.task.key, "slip_days": c.slip_days} for c in causes],
                    },
                )
            )
        return replanned, events, messages

    def _vendor_contact(self, project: ProjectRecord, bp: Blueprint) -> Person:
        """Who answers replies about the project (the blueprint's contact role), else the engine's sender."""
        return project_contact(bp, project.bindings, fallback=self._sender)

    def status_messages(
        self,
        project: ProjectRecord,
        loaded: LoadedBlueprint,
        *,
        completed: Sequence[str] = (),
        weekly_sent_on: Mapping[str, date] | None = None,
    ) -> list[OutgoingMessage]:
        """Customer status emails due now by the blueprint's policy: milestones just completed, the weekly one."""
        return list(self.status_due(project, loaded, completed=completed, weekly_sent_on=weekly_sent_on).messages)

    def status_to_compose(
        self, project: ProjectRecord, loaded: LoadedBlueprint, *, completed: Sequence[str]
    ) -> list[OutgoingMessage]:
        """The status emails due now that ``completed`` milestones were completed (their announcements, and a weekly
        update whose slot has come), queued to be composed when delivered (``compose``), as the sweep's weekly
        updates are: a change composes none of them."""
        bp = loaded.blueprint
        readers = readers_due(
            bp.status_emails,
            project_id=project.id,
            milestones={m.key: m.title for m in bp.milestones if m.customer_visible},
            recipients=project.bindings,
            now=self._clock.now(),
            completed_milestones=completed,
            weekly_sent_on={},
            started_on=project.kickoff_on,
        )
        if not readers:
            return []
        contact = self._vendor_contact(project, bp)
        reply_to = reply_to_text([(contact.name, contact.email)])
        return [
            update_to_compose(project_id=project.id, customer=project.customer, reader=reader, reply_to=reply_to)
            for reader in readers
        ]

    def status_due(
        self,
        project: ProjectRecord,
        loaded: LoadedBlueprint,
        *,
        completed: Sequence[str] = (),
        weekly_sent_on: Mapping[str, date] | None = None,
    ) -> StatusDue:
        """The status emails due now, and the weekly updates left unsent for want of news (``core/status``)."""
        people = project.bindings
        if not any(role in people for role in loaded.blueprint.status_emails.recipients):
            return StatusDue(())  # nobody to write to: no view to build
        return self._status_view(project, loaded).due(
            recipients=people,
            now=self._clock.now(),
            completed_milestones=completed,
            weekly_sent_on=weekly_sent_on or {},
            started_on=project.kickoff_on,
        )

    def compose(self, messages: Sequence[OutgoingMessage]) -> list[OutgoingMessage | Unsent]:
        """Compose the status emails queued to be composed at delivery (``ports.Composer``), each from its project as
        of today, the batch's projects read together: the email, or ``Unsent``: quiet (no news for its reader since
        their last update), suppressed (no longer its reader's to receive, ``core.status.not_to_compose``), failed
        (its project is gone). Any other message is given back as it is."""
        readers = [reader_to_compose(m) for m in messages]
        wanted = sorted({m.project_id for m, r in zip(messages, readers, strict=True) if r and m.project_id})
        views: dict[str, tuple[StatusView, ProjectRecord]] = {}
        # a batch's projects read whole, then dropped, as in the sweep's batches (measured: 0.48 against 0.37-0.41 ms
        # of CPU an update)
        with cycle_collector_paused():
            for stored in self.stored_many(wanted):
                today = self.as_of_today(stored, dates_alone=True)  # a status email reads no slack
                views[stored.id] = (self._status_view(today, self.blueprint_of(stored)), stored)
        composed: list[OutgoingMessage | Unsent] = []
        for message, reader in zip(messages, readers, strict=True):
            found = views.get(message.project_id or "") if reader is not None else None
            if reader is None:
                composed.append(message)
                continue
            if found is None:
                composed.append(Unsent(f"its project {message.project_id} is not in the database", "failed"))
                continue
            view, project = found
            why = not_to_compose(reader, policy=view.policy, recipients=project.bindings, state=project.state)
            if why is not None:
                composed.append(Unsent(why, "suppressed"))
                continue
            try:
                update = view.composed(reader)
            except ValueError as error:  # a milestone no longer shown (its blueprint's visibility): not composed
                composed.append(Unsent(str(error), "failed"))
                continue
            composed.append(update if update is not None else Unsent(QUIET, "quiet"))
        return composed

    def _status_view(self, project: ProjectRecord, loaded: LoadedBlueprint) -> StatusView:
        """The project as its status emails show it (``core.status.StatusView``)."""
        bp = loaded.blueprint
        people = project.bindings
        status_project = ProjectStatus(
            project_id=project.id,
            customer=project.customer,
            blueprint_title=project.blueprint_title,
            external_id=project.external_id,
            projected_go_live_on=project.projected_go_live_on,
            committed_go_live_on=project.committed_go_live_on,
            go_live_moved_on=project.go_live_moved_on,
        )
        visible = {m.key: m.customer_visible for m in bp.milestones}
        by_milestone: dict[str, list[TaskRecord]] = {}
        for t in project.tasks:
            by_milestone.setdefault(t.milestone_key, []).append(t)
        milestones = [
            MilestoneStatus(
                key=key,
                title=ts[0].milestone_title,
                customer_visible=visible.get(key, True),
                start_on=min(t.start_on for t in ts),
                due_on=max(t.due_on for t in ts),
                done_on=max(t.done_on for t in ts if t.done_on) if all(t.done_on for t in ts) else None,
            )
            for key, ts in by_milestone.items()
        ]
        descriptions = {t.key: t.description for m in bp.milestones for t in m.tasks if t.description}
        task_views = [
            TaskStatus(
                key=t.key,
                title=t.title,
                milestone_key=t.milestone_key,
                milestone_title=t.milestone_title,
                owner_role=t.owner_role,
                owner=people.get(t.owner_role, self._sender),
                customer_side=t.side == "customer",
                customer_visible=t.customer_visible,
                state=t.state,
                start_on=t.start_on,
                due_on=t.due_on,
                done_on=t.done_on,
                description=descriptions.get(t.key),
            )
            for t in project.tasks
        ]
        calendars = scheduling_calendars(bp, customer=project.customer_calendar)
        return StatusView(
            policy=bp.status_emails,
            project=status_project,
            milestones=milestones,
            tasks=task_views,
            vendor_contact=self._vendor_contact(project, bp),
            vendor_role=contact_of(bp, project.bindings, fallback=self._sender).get("role"),
            customer_calendar=calendars[CalendarName.customer],
        )


class _AlreadyRecorded(Exception):
    """The change found what it was to record already recorded: nothing to write."""


def _conflict(project: ProjectRecord, expected_version: int) -> ChangeConflict:
    return ChangeConflict(
        "project",
        (
            Problem(
                "concurrent-change",
                f"project {project.id} changed after version {expected_version} was read; nothing was written",
                ("version",),
                "read the project again and decide the change on what it is now",
            ),
        ),
    )


def _cursor(sort_key: tuple[date, str]) -> str:
    """An opaque cursor: the last shown project's place in the list (its kickoff and id)."""
    kickoff_on, pid = sort_key
    return base64.urlsafe_b64encode(json.dumps([kickoff_on.isoformat(), pid]).encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[date, str]:
    try:
        kickoff, pid = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(pid, str):
            raise TypeError(pid)
        return date.fromisoformat(kickoff), pid
    except (ValueError, TypeError):
        raise QueryInvalid(
            "cursor",
            (
                Problem(
                    "invalid-cursor",
                    f"the cursor {cursor[:40]!r} was not given by this server, or was altered or cut short",
                    ("cursor",),
                    "ask for the first page without a cursor, then follow each page's next cursor",
                ),
            ),
        ) from None


def _kept_changing(ref: str) -> ChangeConflict:
    return ChangeConflict(
        "project",
        (
            Problem(
                "concurrent-change",
                f"project {ref} kept changing while this change was made; nothing of it was stored",
                hint="read the project again and retry the change",
            ),
        ),
    )


def _completed_milestones(before: ProjectRecord, after: ProjectRecord, loaded: LoadedBlueprint) -> list[str]:
    """Milestones whose last open task this change finished."""
    finished = {t.key for t in after.tasks if t.state in FINISHED}
    was_finished = {t.key for t in before.tasks if t.state in FINISHED}
    return [
        m.key
        for m in loaded.blueprint.milestones
        if all(t.key in finished for t in m.tasks) and not all(t.key in was_finished for t in m.tasks)
    ]


@dataclass(frozen=True)
class _PeopleAndCalendar:
    """A request's people (bound, then team defaults, customer people in the customer's zone), where each came
    from, its customer calendar, and what is wrong with them."""

    people: Mapping[str, Person]
    sources: Mapping[str, str]
    calendar: CustomerCalendar | None
    problems: tuple[Problem, ...]


def _launch_people_and_calendar(r: LaunchRequest, bp: Blueprint, defaults: Sequence[TeamDefault]) -> _PeopleAndCalendar:
    own, calendar_problems = customer_calendar(
        blueprint=bp,
        country=r.customer_country,
        subdivision=r.customer_subdivision,
        closed_days=r.customer_closed_days,
        time_zone=r.customer_time_zone,
    )
    resolved = resolve_bindings(bp, r.bindings, segment=r.segment, defaults=defaults)
    people = with_customer_zone(resolved.people, bp, own)
    named = name_problem(r.customer)  # it goes into subjects, pages, CSV and calendars: a person's name's rule
    if named is None and not r.customer.strip():
        named = ("the customer's name is blank", "give the customer's name")
    customer = (Problem("invalid-name", named[0], ("customer",), named[1]),) if named else ()
    return _PeopleAndCalendar(people, resolved.sources, own, (*customer, *calendar_problems, *resolved.problems))


def _contract_problems(r: LaunchRequest, *, today: date) -> list[Problem]:
    """A contract signed after today, or more than a year before the kickoff, is a day mistyped (it would start
    a project's TTFV decades away)."""
    signed = r.contract_signed_on
    if signed is None:
        return []
    if signed > today:
        return [
            Problem(
                "date-in-future",
                f"the contract is dated {signed.isoformat()}, after today ({today.isoformat()})",
                ("contract_signed_on",),
                "give the day it was signed",
            )
        ]
    if signed < r.kickoff_on - EARLIEST_BEFORE_KICKOFF:
        return [
            Problem(
                "date-too-early",
                f"the contract is dated {signed.isoformat()}, more than a year before the kickoff "
                f"({r.kickoff_on.isoformat()})",
                ("contract_signed_on",),
                "give the day it was signed",
            )
        ]
    return []


def _launch_event_inputs(inputs: _PeopleAndCalendar) -> dict[str, object]:
    """What the launch event says of where the people came from and of the customer's own calendar."""
    return {
        "binding_sources": dict(sorted(inputs.sources.items())),
        "customer_calendar": inputs.calendar.document() if inputs.calendar is not None else None,
    }


def _launch_inputs(r: LaunchRequest, bp: Blueprint, inputs: _PeopleAndCalendar) -> LaunchInputs:
    return LaunchInputs(
        blueprint_key=bp.key,
        blueprint_version=bp.version,
        customer=r.customer,
        kickoff_on=r.kickoff_on,
        pay_schedule=_normal_spec(r.pay_schedule or bp.pay_schedule),
        segment=r.segment,
        bindings={role: canonical_person(person) for role, person in inputs.people.items()},  # as stored
        contract_signed_on=r.contract_signed_on,
        customer_calendar=inputs.calendar,
    )


def _normal_spec(spec: str | None) -> str | None:
    """A pay-schedule spec in its one written form (``biweekly:2026-01-02`` and its default roll alike)."""
    return parse_pay_schedule(spec).spec() if spec else None


def _binding_problems(bp: Blueprint, bindings: Mapping[str, Person]) -> list[Problem]:
    problems = [
        Problem(
            "invalid-binding", f"the blueprint has no role {role!r}", ("bind", role), f"roles: {', '.join(bp.roles)}"
        )
        for role in bindings
        if role not in bp.roles
    ]
    problems += [
        Problem(
            "missing-binding",
            f"nobody is bound to the role {role!r} ({r.title})",
            ("bind", role),
            f"bind a person (name and email) to {role}"
            + (", or set a team default for the role (for this segment or any)" if r.side is Side.vendor else ""),
        )
        for role, r in bp.roles.items()
        if role not in bindings
    ]
    problems += person_problems(bindings)
    return problems
