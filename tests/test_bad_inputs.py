"""A table of bad command-line inputs: each one a coded error, a non-zero exit, no traceback, nothing changed.

Every case runs the real program in its own process against a real database (a copy
of a seeded SQLite file; the cases marked ``postgresql`` also against a seeded
PostgreSQL database) and compares a dump of the database (and the data folder's
files) before and after. ``code`` is the ``[code]`` the program prints; ``None``
marks bad usage that click refuses (exit 2, its ``Usage:`` text).

To add a case, append a ``Case`` to ``CASES``: ``{data}`` in its arguments and
settings is the data folder, ``{fixtures}`` the bad-blueprint fixtures, ``{token:PROJECT:EMAIL}``
an unsubscribe token signed with the case's key (``{token-cut:...}`` cut short); ``prepare`` names one of ``PREPARE``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.unsubscribe import unsubscribe_token
from onboarding.bootstrap import database, project_service
from onboarding.core.lifecycle import Action
from onboarding.core.messages import Person
from onboarding.settings import Settings
from tests.stores import POSTGRES_ADMIN_URL

ROOT = Path(__file__).parents[1]
SAAS = str(ROOT / "blueprints" / "saas-onboarding.yaml")
PAYROLL = str(ROOT / "blueprints" / "payroll-implementation.yaml")
FIXTURES = ROOT / "tests" / "fixtures" / "blueprints"
HOOK_FIXTURES = ROOT / "tests" / "fixtures" / "hooks"
EDITED_SAAS = str(ROOT / "tests" / "fixtures" / "registry" / "saas-onboarding-same-version-edited.yaml")
SECRET = "a-secret-key-long-enough-for-the-settings-0123456789"  # noqa: S105 - a test key
KICKOFF = "2026-11-30"
CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:9/onboarding"  # discard: nothing listens there
PEOPLE = {
    "cs_manager": Person("Sam Okafor", "sam@vendor.example"),
    "csm": Person("Dana Ruiz", "dana@vendor.example"),
    "onboarding_specialist": Person("Ivo Petrov", "ivo@vendor.example"),
    "customer_sponsor": Person("Alex Brown", "alex@acme.example"),
    "customer_champion": Person("Lee Park", "lee@acme.example"),
    "customer_admin": Person("Kim Diaz", "kim@acme.example"),
}
BINDS = tuple(arg for role, p in PEOPLE.items() for arg in ("--bind", f"{role}={p.name} <{p.email}>"))
# every role but the csm, whom a case binds itself (a role is bound once)
BINDS_BUT_CSM = tuple(
    arg for role, p in PEOPLE.items() if role != "csm" for arg in ("--bind", f"{role}={p.name} <{p.email}>")
)


def csm_bound_as(mailbox: str) -> tuple[str, ...]:
    """A launch of the SaaS example with every role bound, the csm as ``mailbox`` (a role is bound once)."""
    return ("launch", SAAS, "--customer", "X", "--kickoff", KICKOFF, *BINDS_BUT_CSM, "--bind", f"csm={mailbox}")


PAYROLL_BINDS = tuple(
    arg
    for role in (
        "implementation_manager",
        "csm",
        "impl_engineer",
        "payroll_specialist",
        "customer_sponsor",
        "customer_payroll_admin",
        "customer_hr_admin",
    )
    for arg in ("--bind", f"{role}=Someone <{role}@example.com>")
)


def relaunch(*changed: str, blueprint: str = SAAS, customer: str = "Acme") -> tuple[str, ...]:
    """CRM-1's launch as seeded, with some options changed."""
    return ("launch", blueprint, "--customer", customer, "--kickoff", KICKOFF, "--external-id", "CRM-1", *changed)


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    code: str | None  # None: a usage error click refuses (exit 2)
    settings: dict[str, str | None] = field(default_factory=dict)  # None unsets the variable
    prepare: str | None = None
    elsewhere: bool = False  # run from a folder with no data/ and no ONBOARDING_DATA_DIR
    postgresql: bool = False  # also against the seeded PostgreSQL database

    @property
    def exit(self) -> int:
        return 2 if self.code is None else 1


CASES: list[Case] = [
    # -- validate and plan: blueprints and their inputs
    Case("validate a missing file", ("validate", "no/such/blueprint.yaml"), "file-not-found"),
    Case("validate a dependency cycle", ("validate", "{fixtures}/cycle.yaml"), "dependency-cycle"),
    Case("validate an unknown role", ("validate", "{fixtures}/unknown-role.yaml"), "unknown-role"),
    Case("validate broken YAML", ("validate", "{fixtures}/yaml-syntax.yaml"), "yaml-syntax"),
    Case("validate an alias bomb", ("validate", "{fixtures}/billion-laughs.yaml"), "yaml-alias-bomb"),
    Case("validate a python tag", ("validate", "{fixtures}/python-object-tag.yaml"), "yaml-unsafe-tag"),
    Case("validate a bad pay schedule", ("validate", PAYROLL, "--pay-schedule", "fortnightly"), "invalid-pay-schedule"),
    Case("validate a folder", ("validate", str(ROOT / "blueprints")), None),
    Case("plan a missing file", ("plan", "missing.yaml", "--kickoff", KICKOFF), "file-not-found"),
    Case(
        "plan a bad pay schedule",
        ("plan", PAYROLL, "--kickoff", KICKOFF, "--pay-schedule", "biweekly:2026-13-40"),
        "invalid-pay-schedule",
    ),
    Case(
        "plan with no safe launch", ("plan", "{fixtures}/no-safe-launch.yaml", "--kickoff", KICKOFF), "no-safe-launch"
    ),
    Case("plan on 30 February", ("plan", SAAS, "--kickoff", "2026-02-30"), None),
    Case("plan without a kickoff", ("plan", SAAS), None),
    # -- launch
    Case(
        "launch a missing blueprint",
        ("launch", "nope.yaml", "--customer", "X", "--kickoff", KICKOFF, *BINDS),
        "file-not-found",
    ),
    Case(
        "launch a broken blueprint",
        ("launch", "{fixtures}/cycle.yaml", "--customer", "X", "--kickoff", KICKOFF, *BINDS),
        "dependency-cycle",
    ),
    Case(
        "launch with a bad pay schedule",
        ("launch", PAYROLL, "--customer", "X", "--kickoff", KICKOFF, "--pay-schedule", "every:friday", *PAYROLL_BINDS),
        "invalid-pay-schedule",
    ),
    Case(
        "launch binding an unknown role",
        ("launch", SAAS, "--customer", "X", "--kickoff", KICKOFF, *BINDS, "--bind", "cfo=Ann <ann@x.example>"),
        "invalid-binding",
        postgresql=True,
    ),
    Case(
        "launch leaving a role unbound",
        ("launch", SAAS, "--customer", "X", "--kickoff", KICKOFF, *BINDS[:-2]),
        "missing-binding",
        postgresql=True,
    ),
    Case(
        "launch binding no address",
        ("launch", SAAS, "--customer", "X", "--kickoff", KICKOFF, "--bind", "csm=Dana"),
        "invalid-address",
    ),
    Case(
        "launch binding an unknown time zone",
        ("launch", SAAS, "--customer", "X", "--kickoff", KICKOFF, "--bind", "csm=Dana <d@x.example>;tz=Mars/Olympus"),
        "invalid-time-zone",
    ),
    Case(
        "launch binding a non-ASCII local part",
        csm_bound_as("Jürgen <jürgen@x.example>"),
        "invalid-address",
    ),
    Case(
        "launch binding a quoted local part with a colon",
        csm_bound_as('A <"a:b"@x.example>'),
        "invalid-address",
    ),
    Case(
        "launch binding a name with a line break",
        csm_bound_as("Dana\r\nBcc: x <d@x.example>"),
        "invalid-address",
    ),
    Case(
        "launch on a kickoff that is no date",
        ("launch", SAAS, "--customer", "X", "--kickoff", "next monday", *BINDS),
        None,
    ),
    Case(
        "launch on a kickoff far from every calendar",
        ("launch", SAAS, "--customer", "X", "--kickoff", "1700-01-04", *BINDS),
        "kickoff-out-of-range",
    ),
    Case(
        "relaunch CRM-1 for another customer",
        (*relaunch(customer="Birch"), *BINDS),
        "external-id-conflict",
        postgresql=True,
    ),
    Case(
        "relaunch CRM-1 from another blueprint",
        (*relaunch(blueprint=PAYROLL), *PAYROLL_BINDS),
        "external-id-conflict",
        postgresql=True,
    ),
    Case(
        "relaunch CRM-1 on another kickoff",
        (*relaunch()[:-4], "--kickoff", "2026-12-07", "--external-id", "CRM-1", *BINDS),
        "external-id-conflict",
    ),
    Case("relaunch CRM-1 in another segment", (*relaunch("--segment", "enterprise"), *BINDS), "external-id-conflict"),
    Case(
        "relaunch CRM-1 with another csm",
        (*relaunch(), *BINDS[:2], "--bind", "csm=Pat Lee <pat@vendor.example>", *BINDS[4:]),
        "external-id-conflict",
    ),
    # -- the blueprint registry (the seeded launches published saas_onboarding 1.0.0)
    Case(
        "publish a blueprint beside one with a cycle",
        ("blueprint", "publish", SAAS, "{fixtures}/cycle.yaml"),
        "dependency-cycle",
        postgresql=True,
    ),
    Case(
        "publish other text under a published version",
        ("blueprint", "publish", EDITED_SAAS),
        "blueprint-version-exists",
        postgresql=True,
    ),
    Case("show a blueprint not published", ("blueprint", "show", "saas_onbording"), "blueprint-not-found"),
    Case(
        "diff a version not published",
        ("blueprint", "diff", "saas_onboarding", "1.0.0", "9.0.0"),
        "blueprint-not-found",
    ),
    Case(
        "launch a key not published",
        ("launch", "saas_onbording", "--customer", "X", "--kickoff", KICKOFF, *BINDS),
        "blueprint-not-found",
        postgresql=True,
    ),
    Case(
        "launch a file whose version holds other text",
        ("launch", EDITED_SAAS, "--customer", "X", "--kickoff", KICKOFF, *BINDS),
        "blueprint-version-exists",
    ),
    Case(
        "plan a version not published", ("plan", "saas_onboarding@2.0.0", "--kickoff", KICKOFF), "blueprint-not-found"
    ),
    Case("list blueprints from another folder", ("blueprint", "list"), "database-not-found", elsewhere=True),
    Case(
        "launch by key from another folder",
        ("launch", "saas_onboarding", "--customer", "X", "--kickoff", KICKOFF, *BINDS),
        "database-not-found",
        elsewhere=True,
    ),
    # -- task verbs, hold and resume
    Case(
        "complete in an unknown project", ("complete", "CRM-404", "kickoff_call"), "project-not-found", postgresql=True
    ),
    Case("complete an unknown task", ("complete", "CRM-1", "no_such_task"), "unknown-task", postgresql=True),
    Case("complete a task done already", ("complete", "CRM-1", "kickoff_call"), "invalid-transition", postgresql=True),
    Case("complete before the predecessors", ("complete", "CRM-1", "setup_review"), "predecessors-not-done"),
    Case("unblock a task not blocked", ("unblock", "CRM-1", "connect_sso"), "invalid-transition"),
    Case("reopen a pending task", ("reopen", "CRM-1", "connect_sso"), "invalid-transition"),
    Case("start a task on hold", ("start", "HELD-1", "kickoff_call"), "project-on-hold", postgresql=True),
    Case("complete on a day that is no date", ("complete", "CRM-1", "provision_workspace", "--on", "yesterday"), None),
    Case("hold an unknown project", ("hold", "CRM-404"), "project-not-found"),
    Case("hold a project on hold", ("hold", "HELD-1"), "invalid-transition", postgresql=True),
    Case("resume an active project", ("resume", "CRM-1"), "invalid-transition", postgresql=True),
    Case(
        "complete on a day far in the future",
        ("complete", "CRM-1", "provision_workspace", "--on", "9999-12-31"),
        "date-in-future",
        postgresql=True,
    ),
    Case(
        "complete on a day not yet come",
        ("complete", "CRM-1", "provision_workspace", "--on", "2099-06-01"),
        "date-in-future",
    ),
    Case(
        "complete before the kickoff",
        ("complete", "CRM-1", "provision_workspace", "--on", "2026-11-27"),
        "date-before-kickoff",
    ),
    Case(
        "complete in 1900",
        ("complete", "CRM-1", "provision_workspace", "--on", "1900-01-01", "--force-date"),
        "date-too-early",
    ),
    Case("hold on a day not yet come", ("hold", "CRM-1", "--on", "2099-06-01"), "date-in-future"),
    Case("resume before the hold began", ("resume", "HELD-1", "--on", "2026-11-29"), "date-before-hold"),
    # -- sweep
    Case("sweep as of 9999-12-31", ("sweep", "--as-of", "9999-12-31"), "sweep-day-out-of-range", postgresql=True),
    Case("sweep as of a day not yet come", ("sweep", "--as-of", "2099-06-01"), "sweep-in-future", postgresql=True),
    Case("dry run as of a day not yet come", ("sweep", "--dry-run", "--as-of", "2099-06-01"), "sweep-in-future"),
    Case("sweep at 25:00", ("sweep", "--as-of", "2026-12-01", "--at", "25:00"), "invalid-sweep-time"),
    Case("sweep at noon", ("sweep", "--at", "noon"), "invalid-sweep-time"),
    Case("sweep as of a day that is no date", ("sweep", "--as-of", "tomorrow"), None),
    # -- the outbox
    Case("show an unknown message", ("outbox", "show", "999"), "message-not-found"),
    Case("retry an unknown message", ("outbox", "retry", "999"), "message-not-found"),
    Case("outbox of an unknown project", ("outbox", "list", "--project", "CRM-404"), "project-not-found"),
    Case("outbox older than no age", ("outbox", "list", "--older-than", "3 weeks"), None),
    # -- the demo
    Case(
        "demo into a folder holding a real database",
        ("demo", "--data", "{data}", "--days", "1"),
        "demo-folder-not-ours",
    ),
    # -- status and list
    Case("status of an unknown project", ("status", "CRM-404"), "project-not-found", postgresql=True),
    Case("list an unknown state", ("list", "--state", "sleeping"), None),
    Case("list a limit that is no number", ("list", "--limit", "many"), None),
    # -- unsubscribe
    Case("unsubscribe a forged token", ("unsubscribe", "Zm9v.YmFy"), "invalid-unsubscribe-token", postgresql=True),
    Case(
        "unsubscribe a token cut short",
        ("unsubscribe", "{token-cut:CRM-1:lee@acme.example}"),
        "invalid-unsubscribe-token",
    ),
    Case("unsubscribe garbage", ("unsubscribe", "not a token at all"), "invalid-unsubscribe-token"),
    Case("unsubscribe from every project", ("unsubscribe", "{token::lee@acme.example}"), "unsubscribe-every-project"),
    # -- reports
    Case(
        "report as of two different days",
        ("report", "--as-of", "2026-11-01", "ttfv", "--as-of", "2026-10-01"),
        "conflicting-as-of",
    ),
    Case(
        "report a period ending before it starts",
        ("report", "ttfv", "--since", "2027-01-01", "--until", "2026-01-01"),
        "invalid-period",
        postgresql=True,
    ),
    Case("report by an unknown dimension", ("report", "ttfv", "--by", "colour"), None),
    Case("report a top of zero", ("report", "portfolio", "--top", "0"), None),
    Case("report as of a day that is no date", ("report", "portfolio", "--as-of", "2026-02-30"), None),
    # -- settings in the environment
    Case("an SMTP port that is no number", ("list",), "invalid-setting", settings={"ONBOARDING_SMTP_PORT": "abc"}),
    Case("a secret key too short", ("list",), "invalid-setting", settings={"ONBOARDING_SECRET_KEY": "hunter2"}),
    Case("a manager without an address", ("list",), "invalid-setting", settings={"ONBOARDING_MANAGERS": "Pat Lee"}),
    Case(
        "a blueprint size limit too small",
        ("validate", SAAS),
        "invalid-setting",
        settings={"ONBOARDING_MAX_BLUEPRINT_BYTES": "10"},
    ),
    Case(
        "STARTTLS neither on nor off",
        ("sweep", "--no-deliver"),
        "invalid-setting",
        settings={"ONBOARDING_SMTP_STARTTLS": "maybe"},
    ),
    # -- the database and the data folder
    Case(
        "a data folder that is a file (list)",
        ("list",),
        "data-dir-unusable",
        settings={"ONBOARDING_DATA_DIR": "{data}/onboarding.db"},
    ),
    Case(
        "a data folder that is a file (launch)",
        ("launch", SAAS, "--customer", "X", "--kickoff", KICKOFF, *BINDS),
        "data-dir-unusable",
        settings={"ONBOARDING_DATA_DIR": "{data}/onboarding.db"},
    ),
    Case(
        "a data folder that cannot be created",
        ("launch", SAAS, "--customer", "X", "--kickoff", KICKOFF, *BINDS),
        "data-dir-unusable",
        settings={"ONBOARDING_DATA_DIR": "{data}/onboarding.db/inside"},
    ),
    Case("a truncated SQLite file", ("list",), "database-unreadable", prepare="truncate"),
    Case("a SQLite file that is not a database", ("status", "CRM-1"), "database-unreadable", prepare="garbage"),
    Case(
        "a SQLite file that is not a database (launch)",
        ("launch", SAAS, "--customer", "X", "--kickoff", KICKOFF, *BINDS),
        "database-unreadable",
        prepare="garbage",
    ),
    Case("a schema newer than the engine", ("list",), "database-too-new", prepare="too-new"),
    Case(
        "a database URL that is no URL",
        ("list",),
        "invalid-database-url",
        settings={"ONBOARDING_DATABASE_URL": "localhost:5432"},
    ),
    Case(
        "a database URL with postgres://",
        ("list",),
        "invalid-database-url",
        settings={"ONBOARDING_DATABASE_URL": "postgres://postgres:pw@127.0.0.1/test"},
    ),
    Case(
        "an in-memory database (launch)",
        ("launch", SAAS, "--customer", "X", "--kickoff", KICKOFF, *BINDS),
        "invalid-database-url",
        settings={"ONBOARDING_DATABASE_URL": "sqlite:///:memory:"},
    ),
    Case(
        "an in-memory database, no path (report)",
        ("report", "portfolio"),
        "invalid-database-url",
        settings={"ONBOARDING_DATABASE_URL": "sqlite://"},
    ),
    Case(
        "a database URL naming a device (db upgrade)",
        ("db", "upgrade"),
        "invalid-database-url",
        settings={"ONBOARDING_DATABASE_URL": "sqlite:////dev/null"},
    ),
    Case(
        "a database URL naming a folder (list)",
        ("list",),
        "invalid-database-url",
        settings={"ONBOARDING_DATABASE_URL": f"sqlite:///{ROOT / 'blueprints'}"},
    ),
    Case(
        "a database URL whose driver is missing",
        ("status", "CRM-1"),
        "invalid-database-url",
        settings={"ONBOARDING_DATABASE_URL": "mysql+pymysql://u@127.0.0.1/db"},
    ),
    Case(
        "PostgreSQL down (list)",
        ("list",),
        "database-unreachable",
        settings={"ONBOARDING_DATABASE_URL": CLOSED_PORT_URL},
    ),
    Case(
        "PostgreSQL down (launch)",
        ("launch", SAAS, "--customer", "X", "--kickoff", KICKOFF, *BINDS),
        "database-unreachable",
        settings={"ONBOARDING_DATABASE_URL": CLOSED_PORT_URL},
    ),
    Case(
        "a PostgreSQL database that does not exist",
        ("list",),
        "database-unreachable",
        settings={"ONBOARDING_DATABASE_URL": POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/no_such_onboarding_db"},
    ),
    Case(
        "a PostgreSQL user that does not exist",
        ("status", "CRM-1"),
        "database-unreachable",
        settings={"ONBOARDING_DATABASE_URL": POSTGRES_ADMIN_URL.replace("//postgres@", "//no_such_onboarding_user@")},
    ),
    Case("list run from another folder", ("list",), "database-not-found", elsewhere=True),
    Case("status run from another folder", ("status", "CRM-1"), "database-not-found", elsewhere=True),
    Case("report run from another folder", ("report", "ttfv"), "database-not-found", elsewhere=True),
    Case(
        "report --html run from another folder",
        ("report", "--html", "report.html"),
        "database-not-found",
        elsewhere=True,
    ),
    Case("sweep run from another folder", ("sweep", "--no-deliver"), "database-not-found", elsewhere=True),
    # -- hook sources (CRM launches)
    Case(
        "hook add a mapping with a typo",
        ("hook", "add", "crm", "--secret", "s" * 20, "--mapping", str(HOOK_FIXTURES / "typo-mapping.yaml")),
        "unknown-field",
        postgresql=True,
    ),
    Case(
        "hook add a missing mapping file",
        ("hook", "add", "crm", "--secret", "s" * 20, "--mapping", "no/such/mapping.yaml"),
        "file-not-found",
    ),
    Case(
        "hook add with a short secret",
        ("hook", "add", "crm", "--secret", "short", "--mapping", str(ROOT / "docs" / "hooks" / "hubspot-deal.yaml")),
        "out-of-range",
    ),
    Case(
        "hook add with an unknown scheme",
        ("hook", "add", "crm", "--scheme", "zapier", "--secret", "s" * 20, "--mapping", "m.yaml"),
        None,
    ),
    Case("hook remove an unknown source", ("hook", "remove", "pipedrive"), "hook-source-not-found", postgresql=True),
    Case(
        "hook test an unknown source",
        ("hook", "test", "pipedrive", str(HOOK_FIXTURES / "deal.json")),
        "hook-source-not-found",
    ),
    Case("hook list run from another folder", ("hook", "list"), "database-not-found", elsewhere=True),
]


# -- the seeded database ---------------------------------------------------------------------------


def seed(settings: Settings) -> None:
    """CRM-1 (kickoff call done) and HELD-1 (on hold), launched from the SaaS blueprint."""
    engine = database(settings)
    svc = project_service(settings, clock=FixedClock(date.fromisoformat(KICKOFF)), engine=engine)
    for external_id, customer in (("CRM-1", "Acme"), ("HELD-1", "Birch")):
        svc.launch(
            SAAS,
            customer=customer,
            kickoff_on=date.fromisoformat(KICKOFF),
            bindings=PEOPLE,
            external_id=external_id,
        )
    svc.change_task("CRM-1", "kickoff_call", Action.complete)
    svc.hold("HELD-1", reason="customer reorganising")
    engine.dispose()  # the last connection closed: the WAL is checkpointed into the file


@pytest.fixture(scope="module")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("seeded")
    seed(Settings(data_dir=folder, secret_key=SECRET))
    return folder / "onboarding.db"


@pytest.fixture(scope="module")
def seeded_postgres(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url: str = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    seed(Settings(data_dir=tmp_path_factory.mktemp("pg"), database_url=url, secret_key=SECRET))
    return url


# -- what "unchanged" means ------------------------------------------------------------------------


def sqlite_dump(path: Path) -> list[str] | bytes | None:
    """Every statement that rebuilds the file; its bytes when SQLite cannot read it; None when absent."""
    if not path.is_file():
        return None
    try:
        connection = sqlite3.connect(path)
        try:
            return list(connection.iterdump())
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        return path.read_bytes()


def postgres_dump(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table, in a stable order (rows as text: JSON columns have no order)."""
    dump = {}
    with engine.connect() as connection:
        for table in sorted(inspect(connection).get_table_names()):
            rows = connection.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608 - names from the catalog
            dump[table] = sorted(repr(tuple(r)) for r in rows)
    return dump


def files(folder: Path) -> list[str]:
    """The files under a folder (SQLite's own -wal and -shm aside: reading makes them)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.name.endswith(("-wal", "-shm")))


# -- preparing a case's database -------------------------------------------------------------------


def _truncate(db: Path) -> None:
    db.write_bytes(db.read_bytes()[: 4096 * 3])  # the header says more pages than there are


def _garbage(db: Path) -> None:
    db.write_bytes(b"This is a spreadsheet, not a database.\n" * 200)


def _too_new(db: Path) -> None:
    connection = sqlite3.connect(db)
    with connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.close()


PREPARE: dict[str, Callable[[Path], None]] = {"truncate": _truncate, "garbage": _garbage, "too-new": _too_new}


# -- running a case --------------------------------------------------------------------------------


def expand(value: str, *, data: Path) -> str:
    value = value.replace("{data}", str(data)).replace("{fixtures}", str(FIXTURES))
    kind, colon, rest = value.partition(":")
    if kind in ("{token", "{token-cut") and colon and value.endswith("}"):
        project, _, email = rest[:-1].partition(":")
        token = unsubscribe_token(SECRET.encode(), email=email, project_id=project or None)
        return token[:-3] if kind == "{token-cut" else token
    return value


def run(case: Case, *, data: Path, cwd: Path, database_url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONBOARDING_")}
    env |= {"PYTHONPATH": str(ROOT), "ONBOARDING_SECRET_KEY": SECRET}
    if not case.elsewhere:
        env["ONBOARDING_DATA_DIR"] = str(data)
    if database_url:
        env["ONBOARDING_DATABASE_URL"] = database_url
    for name, value in case.settings.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = expand(value, data=data)
    return subprocess.run(
        [sys.executable, "-m", "onboarding.cli", *(expand(a, data=data) for a in case.args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_refused(case: Case, result: subprocess.CompletedProcess[str]) -> None:
    said = f"{case.name}: exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert result.returncode == case.exit, said
    assert "Traceback" not in result.stdout + result.stderr, said
    if case.code is None:
        assert "Usage:" in result.stderr and "Error:" in result.stderr, said
    else:
        assert f"[{case.code}]" in result.stderr, said


@dataclass(frozen=True)
class Outcome:
    result: subprocess.CompletedProcess[str]
    before: object
    after: object


def run_on_sqlite(case: Case, seeded: Path, folder: Path) -> Outcome:
    """The case in a folder of its own, on its own copy of the seeded database."""
    data = folder / "data"
    data.mkdir(parents=True)
    db = data / "onboarding.db"
    shutil.copyfile(seeded, db)
    if case.prepare:
        PREPARE[case.prepare](db)
    cwd = folder / "elsewhere" if case.elsewhere else folder
    cwd.mkdir(exist_ok=True)
    before = (sqlite_dump(db), files(folder))
    result = run(case, data=data, cwd=cwd, database_url=None)
    return Outcome(result, before, (sqlite_dump(db), files(folder)))


@pytest.fixture(scope="module")
def sqlite_outcomes(seeded_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case run once, as many at a time as there are processors: each has its own folder and database."""
    root = tmp_path_factory.mktemp("cases")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {c.name: pool.submit(run_on_sqlite, c, seeded_sqlite, root / str(i)) for i, c in enumerate(CASES)}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_bad_input_on_sqlite_is_refused_with_its_code_and_changes_nothing(
    case: Case, sqlite_outcomes: dict[str, Outcome]
) -> None:
    outcome = sqlite_outcomes[case.name]
    assert_refused(case, outcome.result)
    assert outcome.after == outcome.before, f"{case.name}: the database or the data folder changed"


@pytest.mark.parametrize("case", [c for c in CASES if c.postgresql], ids=lambda case: case.name)
def test_a_bad_input_on_postgresql_is_refused_with_its_code_and_changes_nothing(
    case: Case, seeded_postgres: str, tmp_path: Path
) -> None:
    engine = create_engine(seeded_postgres)
    try:
        before = postgres_dump(engine)
        result = run(case, data=tmp_path, cwd=tmp_path, database_url=seeded_postgres)
        after = postgres_dump(engine)
    finally:
        engine.dispose()
    assert_refused(case, result)
    assert after == before, f"{case.name}: the database changed"


def test_the_table_covers_forty_cases_and_every_command() -> None:
    assert len(CASES) >= 40 and len({c.name for c in CASES}) == len(CASES)
    commands = {c.args[0] for c in CASES}
    assert {"validate", "plan", "launch", "complete", "start", "unblock", "reopen", "hold", "resume"} <= commands
    assert {"status", "list", "unsubscribe", "report", "sweep"} <= commands


def test_relaunching_crm_1_with_the_same_inputs_prints_it_and_changes_nothing(
    seeded_sqlite: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "onboarding.db"
    shutil.copyfile(seeded_sqlite, db)
    before = sqlite_dump(db)
    same = Case("relaunch CRM-1 as it was", (*relaunch(), *BINDS), None)
    result = run(same, data=data, cwd=tmp_path, database_url=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("exists already (same external id, same inputs): acme-")
    assert sqlite_dump(db) == before
