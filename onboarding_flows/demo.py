"""The demo: a portfolio of onboardings over about four months, swept every working day through Prefect.

It makes a fresh data folder (marked as the demo's own by a ``.onboarding-demo``
file, its database marked as a simulation, whose sweeps may run as of days that
have not come), launches projects from the example blueprints with
staggered kickoffs and people bound to their roles, then lives through each day:
the people do their work (some customers are slow, one goes quiet for weeks), and
on working days the real sweep flow runs through Prefect: re-forecasts, automated
tasks, nudges, status emails, delivery to the Maildir. It ends with a summary and
the managers' report: the report flow writes it into the data folder (open it in
a browser) and emails it to the demo's two managers. Last, it says how to browse
what it made: the command that serves the pages, and the demo's sign-in to the
team's pages (no email; it works only on the demo's database) as one of its team
members (``DEMO_TEAM``), whose roles in its projects fill their My tasks, and the
status-page link of one of its customers.

    python -m onboarding_flows.demo [--data demo-data] [--projects 30] [--days 120]

(``onboarding demo`` runs this.) The demo deletes only a folder it made itself:
one that holds its mark (and, if any, its own simulation database). A folder that
does not exist is made; an empty one is used and marked; any other is refused
(``demo-folder-not-ours``), untouched. Its database, Maildir and secret key are always
its own folder's, whatever ``ONBOARDING_DATABASE_URL``, ``ONBOARDING_MAILDIR`` or
``ONBOARDING_SMTP_HOST`` say: the demo never writes to a real database nor sends
real email.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported at run time only once the environment is set (Prefect reads it at import)
    from onboarding.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# The example blueprints: the source tree's, else the copy an installed package ships (onboarding/examples).
BLUEPRINTS = next(p for p in (ROOT / "blueprints", ROOT / "onboarding" / "examples") if p.is_dir())
START = date(2026, 11, 2)
SWEEP_AT = "17:00"  # UTC: 09:00 on the US west coast, 12:00 in New York
MARK = ".onboarding-demo"  # the file that says a folder is the demo's own (made by it, deleted by it)
MARK_TEXT = "This folder was made by `onboarding demo`; the next demo run with --data here deletes it.\n"
DATABASE = "onboarding.db"
# Everything the demo makes in its folder: a folder that holds anything else is not deleted.
MADE = frozenset(
    {MARK, DATABASE, *(DATABASE + end for end in ("-wal", "-shm", "-journal")), "maildir", "prefect", "report.html",
     "reports", "secret_key"}
)  # fmt: skip

CUSTOMERS = [
    "Acme Manufacturing",
    "Globex Logistics",
    "Initech Software",
    "Umbrella Health",
    "Stark Fabrication",
    "Wayne Freight",
    "Wonka Confections",
    "Tyrell Robotics",
    "Cyberdyne Systems",
    "Soylent Foods",
    "Hooli Media",
    "Pied Piper Storage",
    "Vandelay Imports",
    "Dunder Mifflin Paper",
    "Sterling Cooper Ads",
    "Bluth Homes",
    "Prestige Worldwide",
    "Oceanic Airlines",
    "Monarch Solutions",
    "Gringotts Lending",
    "Duff Brewing",
    "Krusty Foods",
    "Paper Street Soap",
    "Massive Dynamic",
    "Aperture Labs",
    "Black Mesa Research",
    "Nakatomi Trading",
    "Oscorp Chemicals",
    "Rekall Travel",
    "Weyland Mining",
]
VENDOR_STAFF = {
    "implementation_manager": [("Sam Okafor", "America/New_York")],
    "cs_manager": [("Pat Lee", "America/New_York")],
    "csm": [("Dana Ruiz", "America/Chicago"), ("Omar Haddad", "America/New_York")],
    "impl_engineer": [("Ivo Petrov", "America/New_York"), ("Rina Sato", "America/Los_Angeles")],
    "impl_consultant": [("Ivo Petrov", "America/New_York")],
    "payroll_specialist": [("Mei Chen", "America/Chicago")],
    "onboarding_specialist": [("Ola Nowak", "America/New_York")],
    "integration_engineer": [("Rina Sato", "America/Los_Angeles")],
    "data_migration_specialist": [("Tom Berg", "America/Chicago")],
    "trainer": [("Ana Lima", "America/New_York")],
}
MANAGERS = "Sam Okafor <sam@vendor.example>, Pat Lee <pat@vendor.example>"  # who gets the weekly report
# Who signs in to the team's pages of the demo: people bound to its vendor roles (a CSM, an engineer).
DEMO_TEAM = [
    ("Dana Ruiz", "dana@vendor.example", "manager"),
    ("Ivo Petrov", "ivo@vendor.example", "member"),
    ("Sam Okafor", "sam@vendor.example", "admin"),
]
CUSTOMER_ZONES = ["America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles"]
FIRST_NAMES = ["Lee", "Alex", "Kim", "Jordan", "Casey", "Morgan", "Riley", "Avery", "Quinn", "Drew", "Sky", "Jesse"]
LAST_NAMES = ["Park", "Brown", "Diaz", "Nguyen", "Patel", "Smith", "Garcia", "Khan", "Moreau", "Rossi", "Weber"]


def _prefect_environment(data: Path) -> None:
    """Offline, quiet, and a temporary Prefect server that keeps up with many short runs.

    Its task-run recorder writes one row per transaction by default; on SQLite its
    writes then collide with the API's ("database is locked", HTTP 503, and the
    client backs off for seconds). Batches of 200 took a five-task flow run from
    1.7 s to 0.2 s here.
    """
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_HOME", str(data / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE", "200")
    os.environ.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE", "200")
    # The temporary server gives up after 20 s by default; on a busy machine it takes longer to start.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ["ONBOARDING_DATA_DIR"] = str(data)
    # its own database, Maildir and key, never those the environment names for real use
    os.environ["ONBOARDING_DATABASE_URL"] = f"sqlite:///{data / DATABASE}"
    os.environ["ONBOARDING_MAILDIR"] = str(data / "maildir")
    os.environ.pop("ONBOARDING_SMTP_HOST", None)
    os.environ.pop("ONBOARDING_SECRET_KEY", None)
    os.environ.setdefault("ONBOARDING_MANAGERS", MANAGERS)


def demo_folder(data: Path) -> None:
    """Make the demo's data folder, or empty one it made before; refuse (``DemoFolderRefused``) any other.

    A folder is the demo's own when it holds the demo's mark and no database but a
    simulation one: only such a folder is deleted (and made again). A folder that
    does not exist is made, an empty one used; both are then marked.
    """
    from onboarding.errors import DemoFolderRefused, Problem

    def refuse(why: str) -> DemoFolderRefused:
        return DemoFolderRefused(
            str(data),
            (
                Problem(
                    "demo-folder-not-ours",
                    why,
                    ("data",),
                    "give --data a folder that does not exist yet (or is empty), e.g. --data demo-data; "
                    "the demo deletes only folders it made",
                ),
            ),
        )

    if data.exists() or data.is_symlink():
        if not data.is_dir() or data.is_symlink():
            raise refuse("is not a folder the demo made")
        if (data / MARK).is_file():
            if (data / DATABASE).exists() and not _simulation_database(data / DATABASE):
                raise refuse(f"holds the demo's mark but {DATABASE} there is not a simulation database")
            added = sorted(p.name for p in data.iterdir() if p.name not in MADE)
            if added:
                raise refuse(f"holds the demo's mark and what the demo did not make: {', '.join(added[:5])}")
            shutil.rmtree(data)
        elif any(data.iterdir()):
            raise refuse("holds files the demo did not make (it has no .onboarding-demo mark)")
    data.mkdir(parents=True, exist_ok=True)
    (data / MARK).write_text(MARK_TEXT, encoding="utf-8")


def _simulation_database(path: Path) -> bool:
    """Whether the SQLite file at ``path`` is marked as a simulation; anything else, an unreadable file
    included, is not. Read as an immutable file first (no journal files left behind), then, if a
    write-ahead log is beside it (a run that did not close its database), through it."""
    modes = ["mode=ro&immutable=1", *(["mode=ro"] if path.with_name(path.name + "-wal").exists() else [])]
    for mode in modes:
        try:
            with closing(sqlite3.connect(f"{path.as_uri()}?{mode}", uri=True)) as connection:
                found = connection.execute("SELECT 1 FROM database_marks WHERE name = 'simulation'").fetchone()
        except sqlite3.Error:
            continue
        if found is not None:
            return True
    return False


MAX_PROJECTS = 100_000  # launched one by one: a larger portfolio is the benches' job
MAX_DAYS = 3_650  # ten years of working days swept


def _count(most: int) -> Callable[[str], int]:
    """An argument that is a whole number from 1 to ``most``: a demo of nothing is refused, not run."""

    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not 1 <= value <= most:
            raise argparse.ArgumentTypeError(f"{value} is not from 1 to {most:,}")
        return value

    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("demo-data"), help="Folder for the database and Maildir.")
    parser.add_argument("--projects", type=_count(MAX_PROJECTS), default=30, help=f"1 to {MAX_PROJECTS:,}.")
    parser.add_argument("--days", type=_count(MAX_DAYS), default=120, help=f"1 to {MAX_DAYS:,}.")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    data: Path = args.data.absolute()
    from onboarding.errors import OnboardingError

    try:
        demo_folder(data)
    except OnboardingError as error:
        print(error, file=sys.stderr)
        return 1
    _prefect_environment(data)

    # imported after the environment is set: Prefect reads it at import
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from onboarding.adapters.clock import FixedClock
    from onboarding.adapters.store.sweep import SqlSweepStore
    from onboarding.bootstrap import database, project_service
    from onboarding.settings import Settings
    from onboarding_flows.report import report
    from onboarding_flows.sweep import sweep

    started = time.perf_counter()
    settings = Settings(data_dir=data)
    engine = database(settings)
    SqlSweepStore(engine).mark_simulation(at=datetime.now(UTC))  # its sweeps go through days not yet come
    clock = FixedClock(START)
    projects = project_service(settings, clock=clock, engine=engine)
    people = _People(random.Random(args.seed))
    print(f"data folder {data}")
    launched = _launch_portfolio(projects, people, count=args.projects, rnd=random.Random(args.seed))
    print(
        f"launched {len(launched)} projects from {len({p.blueprint_key for p in launched})} blueprints "
        f"({time.perf_counter() - started:.1f} s)"
    )

    simulation = _Simulation(projects, launched, rnd=random.Random(args.seed + 1))
    sweeps = 0
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        for offset in range(args.days):
            day = START + timedelta(days=offset)
            clock.set(day, at=datetime(day.year, day.month, day.day, 16, 0, tzinfo=UTC))
            simulation.work(day)
            if day.weekday() < 5:
                sweep(as_of=day, at=SWEEP_AT)
                sweeps += 1
            if offset % 30 == 29:
                print(f"  {day.isoformat()}: {sweeps} sweeps so far ({time.perf_counter() - started:.1f} s)")
        reported = time.perf_counter()
        written = report(as_of=START + timedelta(days=max(args.days - 1, 0)), out=str(data / "report.html"))
        reported = time.perf_counter() - reported
    _summary(projects, engine, data, sweeps=sweeps, seconds=time.perf_counter() - started)
    demo_team(settings)
    customer = customer_link(settings, [p.id for p in launched])
    engine.dispose()  # the database is whole in its file: nothing left in a write-ahead log
    print(
        f"Managers' report: {written['path']} (open it in a browser; emailed to {written['queued']} "
        f"managers, in the Maildir; {reported:.1f} s)"
    )
    print()
    print(how_to_browse(data, settings.effective_public_url, customer=customer))
    return 0


def demo_team(settings: Settings) -> None:
    """Make the demo's team members (``DEMO_TEAM``), who sign in to its pages without email."""
    from onboarding.bootstrap import Application

    application = Application(settings, create=False)
    try:
        for name, email, role in DEMO_TEAM:
            application.team_members.add(name, email, role=role, by="demo")
    finally:
        application.close()


def customer_link(settings: Settings, project_ids: list[str]) -> tuple[str, str, str] | None:
    """(customer, person, status-page link) of the first active project with a customer's task open, if any."""
    from onboarding.bootstrap import Application
    from onboarding.core.lifecycle import OPEN, ProjectState

    application = Application(settings, create=False)
    try:
        for project in application.projects.get_many(project_ids):
            if project.state is not ProjectState.active:
                continue
            for task in project.tasks:
                person = project.bindings.get(task.owner_role)
                if task.side == "customer" and task.customer_visible and task.state in OPEN and person is not None:
                    link = application.customer_links.link_for(project.id, person.email)
                    return project.customer, person.name, link
    finally:
        application.close()
    return None


def how_to_browse(data: Path, public_url: str, *, customer: tuple[str, str, str] | None = None) -> str:
    """What to run and open to see the demo's portfolio in a browser, as the team and as a customer."""
    name, _email, role = DEMO_TEAM[0]
    lines = [
        "Browse what the demo made:",
        f"  ONBOARDING_DATA_DIR={data} onboarding web",
        f"  then open {public_url}/team/demo-sign-in and sign in as {name} ({role}; no email: this sign-in",
        "  is the demo's, and works only on its database). My tasks lists their open tasks, Portfolio every project.",
    ]
    if customer is not None:
        company, person, link = customer
        lines += [f"  As a customer ({person} of {company}), open their status page:", f"  {link}"]
    return "\n".join(lines)


class _People:
    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd

    def bindings(self, blueprint_roles: dict[str, str], customer: str, index: int) -> dict[str, object]:
        from onboarding.core.messages import Person

        domain = customer.lower().split()[0] + ".example"
        zone = CUSTOMER_ZONES[index % len(CUSTOMER_ZONES)]
        out: dict[str, object] = {}
        for role, side in blueprint_roles.items():
            if side == "vendor":
                name, tz = VENDOR_STAFF.get(role, [("Chris Vendor", "America/New_York")])[
                    index % len(VENDOR_STAFF.get(role, [("x", "UTC")]))
                ]
                out[role] = Person(name, name.split()[0].lower() + "@vendor.example", tz)
            else:
                name = f"{self.rnd.choice(FIRST_NAMES)} {self.rnd.choice(LAST_NAMES)}"
                out[role] = Person(name, f"{name.split()[0].lower()}.{role}@{domain}", zone)
        return out


def _launch_portfolio(projects, people, *, count: int, rnd: random.Random, spacing_days=(1, 2, 3)):  # type: ignore[no-untyped-def]
    from onboarding.adapters.blueprint_files import read_blueprint

    plans = [
        (
            "payroll-implementation.yaml",
            ["biweekly:2026-01-02", "semimonthly:15,last", "weekly:2026-01-09"],
            "mid-market",
        ),
        ("hr-platform-beside-payroll.yaml", ["semimonthly:15,last", "biweekly:2026-01-09"], "enterprise"),
        ("saas-onboarding.yaml", [None], "smb"),
    ]
    launched = []
    kickoff = START
    for i in range(count):
        file, schedules, segment = plans[i % len(plans)]
        path = BLUEPRINTS / file
        bp = read_blueprint(path).blueprint
        roles = {key: role.side.value for key, role in bp.roles.items()}
        customer = CUSTOMERS[i % len(CUSTOMERS)] + ("" if i < len(CUSTOMERS) else f" {i // len(CUSTOMERS) + 1}")
        result = projects.launch(
            str(path),
            customer=customer,
            kickoff_on=kickoff,
            bindings=people.bindings(roles, customer, i),
            pay_schedule=rnd.choice(schedules),
            segment=segment,
            external_id=f"CRM-{1000 + i}",
            actor="demo",
        )
        launched.append(result.project)
        kickoff += timedelta(days=rnd.choice(spacing_days))
    return launched


class _Simulation:
    """People doing the work on their side's business days: each task takes its duration, times how slow
    its side of the project is."""

    def __init__(self, projects, launched, *, rnd: random.Random) -> None:  # type: ignore[no-untyped-def]
        self.projects = projects
        self.pace: dict[str, dict[str, float]] = {}
        self.quiet: dict[str, tuple[date, date]] = {}
        self._calendars_of: dict[str, dict[str, object]] = {}
        for i, p in enumerate(launched):
            customer_pace = rnd.choice([1.0, 1.0, 1.0, 1.3, 1.6, 2.5])  # some customers are slow
            self.pace[p.id] = {"vendor": rnd.choice([1.0, 1.0, 1.2]), "customer": customer_pace}
            if i % 10 == 4:  # a customer that goes quiet for three weeks
                self.quiet[p.id] = (p.kickoff_on + timedelta(days=20), p.kickoff_on + timedelta(days=41))

    def _calendars(self, version: str, loaded):  # type: ignore[no-untyped-def]
        """The blueprint's office calendars by name, built once per blueprint version."""
        from onboarding.core.planning import scheduling_calendars

        if version not in self._calendars_of:
            self._calendars_of[version] = {
                name.value: calendar for name, calendar in scheduling_calendars(loaded.blueprint).items()
            }
        return self._calendars_of[version]

    def work(self, day: date) -> None:
        from onboarding.core.lifecycle import FINISHED, Action, ProjectState, TaskState
        from onboarding.errors import OnboardingError

        if day.weekday() >= 5:
            return
        for project_id, pace in self.pace.items():
            project = self.projects.get(project_id)
            if project.state is not ProjectState.active or project.kickoff_on > day:
                continue
            quiet = self.quiet.get(project_id)
            loaded = self.projects.blueprint_of(project)
            calendars = self._calendars(project.blueprint_key + "@" + project.blueprint_version, loaded)
            finished = {t.key for t in project.tasks if t.state in FINISHED}
            for t in project.tasks:
                if t.kind == "automated" or t.state in FINISHED:
                    continue
                calendar = calendars[t.calendar]
                if not calendar.is_business_day(day):  # nobody works on their side's holidays
                    continue
                if t.side == "customer" and quiet and quiet[0] <= day <= quiet[1]:
                    continue
                ready = all(e.predecessor in finished for e in loaded.graph.predecessors[t.key])
                try:
                    if t.launch:
                        if ready and day >= t.due_on:
                            self.projects.change_task(project_id, t.key, Action.complete, on=day, by="demo")
                        continue
                    if t.kind == "checkpoint":
                        if ready:
                            self.projects.change_task(project_id, t.key, Action.complete, on=day, by="demo")
                        continue
                    if t.state is TaskState.pending and ready and t.start_on <= day:
                        self.projects.change_task(project_id, t.key, Action.start, on=day, by="demo")
                    elif t.state is TaskState.in_progress and t.started_on is not None:
                        worked = sum(
                            1
                            for n in range((day - t.started_on).days + 1)
                            if calendar.is_business_day(t.started_on + timedelta(days=n))
                        )
                        if worked >= t.duration_business_days * pace[t.side]:
                            self.projects.change_task(project_id, t.key, Action.complete, on=day, by="demo")
                except OnboardingError:
                    continue


def _summary(projects, engine, data: Path, *, sweeps: int, seconds: float) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from onboarding.adapters.store.sql import events, outbox

    portfolio = projects.list_projects(limit=10_000)
    live = [p for p in portfolio if any(t.launch and t.done_on for t in p.tasks)]
    on_time = [p for p in live if next(t for t in p.tasks if t.launch).done_on <= p.committed_go_live_on]
    ttfv = sorted(
        (next(t.done_on for t in p.tasks if t.first_value) - p.kickoff_on).days
        for p in portfolio
        if any(t.first_value and t.done_on for t in p.tasks)
    )
    with engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.kind, func.count()).where(outbox.c.status == "sent").group_by(outbox.c.kind)
        ).all()
        sent: Counter[str] = Counter({str(kind): int(n) for kind, n in rows})
        jumps = connection.execute(select(func.count()).where(events.c.kind == "window_jump")).scalar_one()
    with_window = [p for p in portfolio if p.committed_go_live_on is not None]
    print()
    print(f"{len(portfolio)} projects, {sweeps} sweeps through Prefect, {seconds:.1f} s")
    print(
        f"  live (go-live done): {len(live)} of {len(with_window)} with a go-live; "
        f"completed: {sum(1 for p in portfolio if p.state.value == 'completed')}"
    )
    if ttfv:
        p90 = statistics.quantiles(ttfv, n=10, method="inclusive")[-1] if len(ttfv) > 1 else ttfv[0]
        print(
            f"  time to first value: median {statistics.median(ttfv):.0f} days, p90 {p90:.0f} days "
            f"({len(ttfv)} projects reached it)"
        )
    if live:
        print(
            f"  on-time launches (go-live within the committed window): {len(on_time)} of {len(live)} "
            f"({100 * len(on_time) / len(live):.0f}%)"
        )
    print(
        f"  emails sent: {sent['nudge_digest']} nudge digests, {sent['status']} status emails, "
        f"{sent['kickoff']} kickoff, {sent['automated']} automated, {sent['window_jump']} window-jump alerts"
    )
    print(f"  window jumps: {jumps}")
    print(f"Maildir: {data / 'maildir'} (open it with any mail client, e.g. mutt -f {data / 'maildir'})")
    print(f"Database: {data / 'onboarding.db'}")


if __name__ == "__main__":
    sys.exit(main())
