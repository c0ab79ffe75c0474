"""The daily sweep against re-planning everything every day, over random portfolios and many days.

The sweep re-forecasts only the projects whose go-live can move today (``ProjectRecord.sweep_after``).
Here two copies of one random portfolio live through the same weeks of work (tasks started,
completed, blocked and unblocked at random, some projects held and resumed, Christmas and
weekends among the days): one swept as the engine sweeps, the other re-planning every active
project every day. Each day, both must have queued the same emails (window-jump alerts,
nudges, weekly status emails, task-change emails: same keys, recipients, subjects and
rendered text) and read the same projects as of that day. This is the oracle the sweep's
thresholds are held to (``core.projects.go_live_holds_until``): between them, the dates
of late work are worked out when read (``core.projects.as_of``).
"""

from __future__ import annotations

import copy
import email
import itertools
import random
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryOutbox, InMemoryProjectStore, InMemorySweepStore
from onboarding.adapters.store.sql import make_engine, migrate
from onboarding.core.lifecycle import Action, ProjectState, TaskState
from onboarding.core.messages import MessageKind, Person
from onboarding.core.projects import ProjectRecord, TaskRecord, go_live_holds_until, reforecast_project
from onboarding.errors import OnboardingError
from onboarding.services.ports import OutboxQuery
from onboarding.services.projects import ProjectService
from tests.services.test_sweep import SENDER, World
from tests.stores import migrated, throwaway_postgres

BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints"
FIRST_DAY = date(2026, 12, 1)
DAYS = 45
FIRST_INSTANT = datetime(2026, 12, 1, tzinfo=UTC)
NOW = FixedClock(date(2030, 1, 1))  # the wall clock: every day swept is in the past
ZONES = ["America/Chicago", "America/Los_Angeles", "Europe/Sofia", "Asia/Tokyo", "Pacific/Auckland", "UTC"]


def sides(path: Path) -> dict[str, str]:
    roles = yaml.safe_load(path.read_text(encoding="utf-8"))["roles"]
    return {key: role["side"] for key, role in roles.items()}


def launch_portfolio(world: World, rnd: random.Random, *, projects: int) -> list[str]:
    """Projects of the example blueprints, kicked off up to two months before the first day (some already
    late), people in many time zones, vendor staff shared between projects."""
    staff = [Person(f"Staff {i}", f"staff{i}@vendor.example", rnd.choice(ZONES)) for i in range(5)]
    files = sorted(BLUEPRINTS.glob("*.yaml"))
    launched = []
    world.clock.set(FIRST_DAY - timedelta(days=1), at=datetime.combine(FIRST_DAY, datetime.min.time(), UTC))
    for n in range(projects):
        path = files[n % len(files)]
        domain = f"c{n}.example"
        client = [Person(f"Client {n}.{i}", f"client{i}@{domain}", rnd.choice(ZONES)) for i in range(2)]
        bindings = {
            role: rnd.choice(staff) if side == "vendor" else rnd.choice(client) for role, side in sides(path).items()
        }
        project = world.projects.launch(
            str(path),
            customer=f"Customer {n}",
            kickoff_on=FIRST_DAY - timedelta(days=rnd.randint(0, 60)),
            bindings=bindings,
            pay_schedule=None if "saas" in path.name else rnd.choice(["biweekly:2026-01-02", "monthly:last"]),
        ).project
        launched.append(project.id)
    return launched


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def twins(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[World, World, list[str]]]:
    """Two worlds holding one random portfolio: the same projects, ids and queued emails."""
    seed = request.node.callspec.params.get("seed", 0)
    rnd = random.Random(seed)  # noqa: S311 - a seeded portfolio
    (tmp_path / "sweeps").mkdir()
    (tmp_path / "everything").mkdir()
    engines: list[Engine] = []
    stack = ExitStack()
    if request.param == "postgresql":  # two databases, the same launches made in each, their ids made alike
        worlds = []
        for folder in ("sweeps", "everything"):
            engine = make_engine(stack.enter_context(throwaway_postgres("sweep_days")))
            migrate(engine)
            engines.append(engine)
            made = itertools.count(1)
            monkeypatch.setattr(
                "onboarding.services.projects.new_project_id", lambda customer, made=made: f"p{next(made)}"
            )
            world = World(engine, tmp_path / folder, wall_clock=NOW)
            ids = launch_portfolio(world, random.Random(seed), projects=9)  # noqa: S311 - a seeded portfolio
            worlds.append(world)
        first, second = worlds
        assert queued(first) == queued(second)  # the same launches: the same projects and kickoff emails
    elif request.param == "memory":
        projects = InMemoryProjectStore()
        outbox = InMemoryOutbox(projects)
        stores: Any = (projects, outbox, InMemorySweepStore(projects, outbox=outbox))
        first = World(stores, tmp_path / "sweeps", wall_clock=NOW)
        ids = launch_portfolio(first, rnd, projects=9)
        second = World(copy.deepcopy(stores), tmp_path / "everything", wall_clock=NOW)
    else:
        engine = migrated("sqlite", request, tmp_path)
        engines.append(engine)
        first = World(engine, tmp_path / "sweeps", wall_clock=NOW)
        ids = launch_portfolio(first, rnd, projects=9)
        engine.dispose()
        shutil.copy(tmp_path / "onboarding.db", tmp_path / "everything.db")
        engines.append(make_engine(f"sqlite:///{tmp_path / 'everything.db'}"))
        second = World(engines[-1], tmp_path / "everything", wall_clock=NOW)
    second.clock.set(first.clock.today(), at=first.clock.now())
    second.sweep.projects_to_reforecast = lambda shard=None: [  # type: ignore[method-assign]
        p.id for p in second.projects.list_projects(state="active", limit=len(ids))
    ]  # every project at work, every day (one on hold keeps its plan as it stood)
    yield first, second, ids
    for each in engines:
        each.dispose()
    stack.close()


def work_a_day(worlds: tuple[World, World], ids: list[str], rnd: random.Random, day: date) -> None:
    """The same random work recorded in both worlds, decided on the first one's projects."""
    first = worlds[0]
    for pid in ids:
        project = first.projects.get(pid)
        roll = rnd.random()
        if project.state is ProjectState.on_hold:
            if roll < 0.3:
                both(worlds, lambda w, pid=pid: w.projects.resume(pid, by="test"))
            continue
        if project.state is not ProjectState.active:
            continue
        if roll < 0.02:
            both(worlds, lambda w, pid=pid: w.projects.hold(pid, reason="customer asked to pause", by="test"))
            continue
        if roll > 0.45:  # most projects see no work most days: they fall behind
            continue
        open_tasks = [t for t in project.tasks if t.state in (TaskState.pending, TaskState.in_progress)]
        blocked = [t for t in project.tasks if t.state is TaskState.blocked]
        if blocked and rnd.random() < 0.5:
            task, action = rnd.choice(blocked), Action.unblock
        elif open_tasks:
            task = (
                min(open_tasks, key=lambda t: (t.start_on, t.position))
                if rnd.random() < 0.7
                else rnd.choice(open_tasks)
            )
            if rnd.random() < 0.05:
                action = Action.block
            else:
                action = Action.start if task.state is TaskState.pending and rnd.random() < 0.5 else Action.complete
        else:
            continue
        both(
            worlds,
            lambda w, pid=pid, key=task.key, action=action: w.projects.change_task(
                pid,
                key,
                action,
                on=day,
                by="test",
                reason="waiting on the customer" if action is Action.block else None,
            ),
        )


def both(worlds: tuple[World, World], change: Any) -> None:
    """Make a change in both worlds: it must be made in both, or refused in both for the same reasons."""
    outcomes: list[tuple[str, str] | None] = []
    for world in worlds:
        try:
            change(world)
            outcomes.append(None)
        except OnboardingError as refused:
            outcomes.append((type(refused).__name__, str(refused)))
    assert outcomes[0] == outcomes[1]


def seen(world: World, ids: list[str]) -> list[ProjectRecord]:
    """The projects as read today (``ProjectService.get_many``: the dates of late work as of today), without
    what only says when and how often each was written. A project on hold or ended keeps the plan of its last
    change, where re-planning every day kept that of the day before it was held: the same go-live, but its
    late work dated earlier; those dates are left out for it."""
    return [
        replace(
            p,
            version=0,
            updated_at=FIRST_INSTANT,
            go_live_holds_until=None,
            finish_on=FIRST_DAY if p.state is not ProjectState.active else p.finish_on,
            tasks=p.tasks if p.state is ProjectState.active else tuple(_undated(t) for t in p.tasks),
        )
        for p in world.projects.get_many(ids)
    ]


def _undated(task: TaskRecord) -> TaskRecord:
    return task._replace(
        start_on=FIRST_DAY, due_on=FIRST_DAY, late_due_on=FIRST_DAY, slack_business_days=0, critical=False
    )


def queued(world: World) -> list[tuple[object, ...]]:
    entries, _total = world.outbox.entries(OutboxQuery())
    return [(e.key, e.kind, e.project_id, e.subject, e.recipients, e.state) for e in entries]


def delivered(world: World) -> dict[str, str]:
    """The text of every email in the Maildir, by its key, as the reader sees it."""
    if not world.maildir.exists():
        return {}
    texts = {}
    for path in sorted((world.maildir / "new").iterdir()):
        message = email.message_from_bytes(path.read_bytes())
        texts[str(message["X-Onboarding-Key"])] = "\n".join(str(part.get_payload()) for part in _parts(message))
    return texts


def _parts(message: Message) -> list[Message]:
    return [p for p in message.walk() if p.get_content_maintype() == "text"]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_sweep_queues_and_stores_what_replanning_everything_every_day_would(
    twins: tuple[World, World, list[str]], seed: int
) -> None:
    first, second, ids = twins
    worlds = (first, second)
    rnd = random.Random(seed)  # noqa: S311 - seeded work, nothing secret
    kinds: set[str] = set()
    skipped = 0
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for world in worlds:
            world.clock.set(day, at=datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC))
        work_a_day(worlds, ids, rnd, day)
        for world in worlds:
            world.clock.set(day, at=datetime(day.year, day.month, day.day, 16, 0, tzinfo=UTC))
        swept, everything = first.sweep.run(), second.sweep.run()
        skipped += len(ids) - swept.reforecast
        assert (swept.nudges, swept.status_emails, swept.digests) == (
            everything.nudges,
            everything.status_emails,
            everything.digests,
        ), day
        assert queued(first) == queued(second), day
        assert seen(first, ids) == seen(second, ids), day
        kinds |= {str(kind) for _key, kind, *_ in queued(first)}
    assert delivered(first) == delivered(second)
    # the days exercised what the sweep decides, and the sweep left plans alone that did not move
    assert {MessageKind.window_jump, MessageKind.nudge_digest, MessageKind.status} <= {MessageKind(k) for k in kinds}
    assert skipped > 0


@pytest.mark.parametrize("blueprint", sorted(p.name for p in BLUEPRINTS.glob("*.yaml")))
@pytest.mark.parametrize("weeks_late", [0, 3, 7, 13])
def test_a_go_live_holds_until_the_last_day_re_planning_projects_it(blueprint: str, weeks_late: int) -> None:
    """``go_live_holds_until`` against re-planning from each day in turn: the same go-live through the day it
    names, another the day after; a blueprint without a go-live task never moves one."""
    clock = FixedClock(FIRST_DAY, at=datetime.combine(FIRST_DAY, datetime.min.time(), UTC))
    store = InMemoryProjectStore()
    projects = ProjectService(store=store, blueprints=FileBlueprints(), clock=clock, sender=SENDER)
    path = BLUEPRINTS / blueprint
    people = {role: Person(role, f"{role}@example.com") for role in sides(path)}
    launched = projects.launch(
        str(path),
        customer="Acme",
        kickoff_on=FIRST_DAY - timedelta(weeks=weeks_late),
        bindings=people,
        pay_schedule=None if "saas" in blueprint else "biweekly:2026-01-02",
    ).project
    project = projects.get(launched.id)  # as of today: the weeks of work not done pushed to today
    loaded = projects.blueprint_of(project)
    holds = go_live_holds_until(project, loaded.blueprint, graph=loaded.graph, today=FIRST_DAY)

    def go_live(day: date) -> date | None:
        replanned, _plan = reforecast_project(project, loaded.blueprint, graph=loaded.graph, today=day, at=clock.now())
        return replanned.projected_go_live_on

    if project.projected_go_live_on is None:
        assert holds == date.max
        return
    assert FIRST_DAY <= holds < date.max
    days = [FIRST_DAY + timedelta(days=n) for n in range((holds - FIRST_DAY).days + 1)]
    assert {go_live(day) for day in days} == {project.projected_go_live_on}
    assert go_live(holds + timedelta(days=1)) != project.projected_go_live_on


@pytest.mark.parametrize("blueprint", sorted(p.name for p in BLUEPRINTS.glob("*.yaml")))
@pytest.mark.parametrize("weeks_late", [1, 4, 9])
def test_a_project_read_as_of_a_later_day_has_the_rows_a_re_forecast_that_day_writes(
    blueprint: str, weeks_late: int
) -> None:
    """``as_of`` puts a later day's dates on the stored rows (``redated_tasks``); a re-forecast that day makes
    every row anew from the blueprint and two plans. Without a change of progress between them, every field of
    every row is the same, nudge counters and targets included, some work started and finished."""
    clock = FixedClock(FIRST_DAY, at=datetime.combine(FIRST_DAY, datetime.min.time(), UTC))
    projects = ProjectService(store=InMemoryProjectStore(), blueprints=FileBlueprints(), clock=clock, sender=SENDER)
    path = BLUEPRINTS / blueprint
    launched = projects.launch(
        str(path),
        customer="Acme",
        kickoff_on=FIRST_DAY - timedelta(weeks=weeks_late),
        bindings={role: Person(role, f"{role}@example.com") for role in sides(path)},
        pay_schedule=None if "saas" in blueprint else "biweekly:2026-01-02",
    ).project
    first = min(launched.tasks, key=lambda t: t.position)
    projects.change_task(launched.id, first.key, Action.complete, by="test")
    second = min((t for t in projects.get(launched.id).tasks if t.state is TaskState.pending), key=lambda t: t.position)
    projects.change_task(launched.id, second.key, Action.start, by="test")
    stored = projects.stored_many([launched.id])[0]
    loaded = projects.blueprint_of(stored)
    moved = 0
    for days in (1, 3, 12, 40):
        day = FIRST_DAY + timedelta(days=days)
        clock.set(day, at=datetime.combine(day, datetime.min.time(), UTC))
        read = projects.as_of_today(stored)
        replanned, _plan = reforecast_project(stored, loaded.blueprint, graph=loaded.graph, today=day, at=clock.now())
        assert read.tasks == replanned.tasks, day
        assert read.projected_go_live_on == replanned.projected_go_live_on, day
        moved += sum(1 for a, b in zip(read.tasks, stored.tasks, strict=True) if a is not b)
    assert moved > 0  # the days moved late work: rows were re-dated, not only kept
