"""The edge of the command line, shared by every group of commands: the ``main`` group, argument types,
printing, and the turning of the engine's errors into messages and exit statuses (1 for bad input,
2 for bad usage) without tracebacks."""

from __future__ import annotations

import sys
from dataclasses import fields, is_dataclass
from datetime import date, timedelta
from typing import Any

import click
from rich.console import Console
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from onboarding import __version__
from onboarding.adapters.store.sql import store_failure
from onboarding.bootstrap import Application, require_database
from onboarding.core.addresses import control_character
from onboarding.core.lifecycle import Action
from onboarding.errors import OnboardingError, Problem, ProblemsError, StoreUnavailable, render_problem
from onboarding.services.outbox import parse_age
from onboarding.settings import Settings, settings_problems

EXIT_MAIL_UNAVAILABLE = 75  # sysexits' EX_TEMPFAIL: the sweep ran, its mail waits for a server that can be reached


class IsoDate(click.ParamType):  # type: ignore[type-arg]
    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2026-12-07", param, ctx)


class Age(click.ParamType):  # type: ignore[type-arg]
    name = "AGE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        age = parse_age(str(value))
        if age is None:
            self.fail(
                f"{value!r} is not an age; write a whole number of minutes, hours or days: 30m, 6h, 3d", param, ctx
            )
        return age


class _Literal(Console):
    """A console that prints text as it is stored: no markup read in it (a customer named ``[/b] Acme`` is printed,
    not parsed), and control characters shown as escapes (``\\x1b``), never sent to the terminal (an escape
    sequence in a note would clear or retitle the operator's screen). Styled output is made of ``Text``."""

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(_visible(text), **{**options, "markup": False})


def _visible(text: str) -> str:
    if text.isprintable() or not any(_HIDDEN.get(ord(c)) for c in text):
        return text
    return text.translate(_HIDDEN)


# C0 and C1 control characters but line ends and tabs, as their escapes
_HIDDEN = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(code) not in "\n\t"}


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` of a line for people: control characters in it shown as escapes, as ``console`` shows them
    (what a mail server or an endpoint answered is stored, then printed). JSON and CSV go out as ``click.echo``."""
    click.echo(_visible(message), err=err, nl=nl)


def console(stream: Any = None) -> Console:
    out = stream or sys.stdout
    return _Literal(file=out, width=None if out.isatty() else 200, highlight=False, soft_wrap=False)


# How the command line words the fix of a problem whose hint says it in general terms (the engine's hints name no
# command or option: the HTTP API words the same fix its own way).
_FORCE_DATE = "--force-date records a task's day as given"
_CLI_FIX = {
    "database-out-of-date": "run `onboarding db upgrade`, then the command again",
    "database-not-found": "run it from the folder that holds data/; `onboarding db upgrade` or `onboarding launch` "
    "creates a new database",
    "project-not-found": "`onboarding list` shows the projects' ids and external ids",
    "customer-not-on-project": "`onboarding status PROJECT` shows who is bound to its roles; `onboarding rebind` "
    "binds a customer role to someone else",
    "unknown-task": "`onboarding status PROJECT` lists its tasks",
    "project-on-hold": "`onboarding resume PROJECT` resumes it",
    "predecessors-not-done": "--force records the change as an exception",
    "date-in-future": "--on gives the day it happened",
    "date-too-early": "--on gives the day it happened",
    "date-before-kickoff": f"--on gives the day it happened; {_FORCE_DATE}",
    "date-before-predecessor": f"--on gives the day it happened; {_FORCE_DATE}",
    "date-before-start": f"--on gives the day it happened; {_FORCE_DATE}",
    "date-before-resume": "--on gives the day it happened",
    "date-before-hold": "--on gives the day it happened",
    "missing-binding": 'bind each role with --bind ROLE="Name <email>"',
    "external-id-conflict": "--external-id names the project in your CRM",
    "invalid-period": "give --since on or before --until",
    "conflicting-as-of": "give --as-of once, before or after the subcommand",
    "invalid-sweep-time": "e.g. --at 17:00",
    "sweep-in-future": "leave --as-of and --at out to sweep now",
    "message-not-found": "`onboarding outbox list` shows the messages",
}


def fail(error: OnboardingError) -> None:
    echo(str(error), err=True)  # plain text: one problem a line, whatever the width
    codes = error.codes if isinstance(error, ProblemsError) else []
    for code in dict.fromkeys(codes):
        if code in _CLI_FIX:
            echo(f"  {_CLI_FIX[code]}", err=True)
    raise SystemExit(1)


def application() -> Application:
    """The process's one ``Application``, built on first use from the settings in the environment."""
    root = click.get_current_context().find_root()
    if not isinstance(root.obj, Application):
        root.obj = Application()
        root.call_on_close(root.obj.close)
    return root.obj


# Commands that read or change stored projects: run where no database is, they say so rather than make an empty one.
# `launch` and `db upgrade` make the database; validate, plan and schema never open it. A module whose commands
# need one adds their names with `needs_database`.
_NEED_A_DATABASE = {
    "status",
    "list",
    "report",
    "sweep",
    "outbox",
    "hold",
    "resume",
    "unsubscribe",
    *(action.value for action in Action),
}


def needs_database(*names: str) -> None:
    """Top-level commands (or groups) that refuse to run where there is no database, rather than make one."""
    _NEED_A_DATABASE.update(names)


def _require_database_for(ctx: click.Context) -> None:
    top = ctx
    while top.parent is not None and top.parent.parent is not None:
        top = top.parent
    if top.parent is not None and top.info_name in _NEED_A_DATABASE:
        require_database(Settings())


class _Command(click.Command):
    """A command that, when it reads or changes stored projects, first checks that the database exists.

    The check runs once its own arguments are read, so that bad usage is said first.
    """

    def invoke(self, ctx: click.Context) -> Any:
        _require_database_for(ctx)
        return super().invoke(ctx)


class _ActingGroup(click.Command):
    """A group below the top (``report``) that acts itself, without a subcommand (``report --html``)."""

    def invoke(self, ctx: click.Context) -> Any:
        acts = ctx.invoked_subcommand is None and any(value is not None for value in ctx.params.values())
        if ctx.parent is not None and acts:
            _require_database_for(ctx)
        return super().invoke(ctx)


class _Edge(click.Group, _ActingGroup):
    """The command group where every failure becomes a message: coded, exit 1, never a traceback.

    Commands turn the engine's errors into messages themselves; what escapes them (the
    database or a file failing, an error raised before a command's own handling) is said
    here, the database's failures by the store (which file or server, what to check).
    """

    command_class = _Command
    group_class = type  # its groups (report) are of this class too

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # bytes that are not UTF-8 reach Python as lone surrogates, which no text the engine keeps may hold
        bad = next((arg for arg in args if any("\udc80" <= c <= "\udcff" for c in arg)), None)
        if bad is not None and ctx.parent is None:
            shown = bad.encode("utf-8", "surrogateescape")
            raise click.UsageError(f"the argument {shown!r} is not UTF-8 text: give it in UTF-8", ctx)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OnboardingError as exc:
            fail(exc)
        except SQLAlchemyError as exc:
            fail(store_failure(exc, Settings().effective_database_url))
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            fail(
                StoreUnavailable(
                    "onboarding",
                    (
                        Problem(
                            "file-access-failed",
                            f"cannot use{where}: {exc.strerror or exc}",
                            hint="check that the path exists, is a folder where one is expected, and may be written "
                            "(ONBOARDING_DATA_DIR, ONBOARDING_MAILDIR)",
                        ),
                    ),
                )
            )
        return None


@click.group(cls=_Edge, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="onboarding")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Onboarding projects from YAML blueprints: validate, plan, launch on a payroll-safe date."""
    if ctx.invoked_subcommand == "schema" or ctx.resilient_parsing or {"-h", "--help"} & set(sys.argv[1:]):
        return  # no settings read: the schema, help, completion
    problems = settings_problems()
    if problems:  # the other commands read the settings: say what is wrong with them before anything runs
        echo("\n".join(render_problem(Problem("invalid-setting", line)) for line in problems), err=True)
        raise SystemExit(1)


class Line(click.ParamType):  # type: ignore[type-arg]
    """A line of text the engine keeps (a name, a segment, an id, who acted): at most ``most`` characters, not
    blank, no control character (the columns that keep it have that size, and it goes into pages and emails)."""

    name = "text"

    def __init__(self, most: int) -> None:
        self.most = most

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        if len(value) > self.most:
            self.fail(f"{len(value):,} characters; at most {self.most:,} are kept", param, ctx)
        if not value.strip():
            self.fail("it is blank", param, ctx)
        char = control_character(value)
        if char is not None:
            self.fail(f"it holds the control character {char!r}", param, ctx)
        return value


ACTOR = Line(200)  # who acted: the events' actor column


def cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def plain(value: Any) -> Any:
    """A report as JSON-ready values: dataclasses become objects, days ISO text."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
