"""Checking a blueprint: every problem at once, located, coded, with a hint.

``check_blueprint(data)`` takes the plain values read from a file and returns a
``Blueprint`` or raises ``BlueprintInvalid`` with all problems: first those of
shape (unknown fields, types, ranges, from the pydantic models), then, when the
shape is right, those of meaning (references to roles, tasks and milestones with
did-you-mean hints, cycles, launch and first-value flags, calendars, the default
pay schedule, launch prerequisites, escalation loops). Locations are paths into
the document; the file adapter turns them into lines and columns.

Not here: reading YAML (adapters), whether a launch window can be met for a given
kickoff (planning raises ``no-safe-launch``).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from onboarding.core.blueprint import Blueprint, PayrollSystemWindow, TaskKind, calendar_keys
from onboarding.core.calendars import UnknownCalendar, business_calendar, supported_subdivisions
from onboarding.core.graph import Dependencies, TaskGraph, compile_blueprint, dependencies, descendants
from onboarding.core.payroll import parse_pay_schedule
from onboarding.errors import BlueprintInvalid, Loc, PayScheduleInvalid, Problem

# Keyed by the first word of pydantic's error type (int_parsing, string_type, model_type...).
_TYPE_HINTS = {
    "int": "write a whole number",
    "bool": "write true or false",
    "string": "write text (quote it if YAML reads it as a number, a date or yes/no)",
    "date": "write a date as YYYY-MM-DD",
    "dict": "write a mapping (name: value lines)",
    "model": "write a mapping (name: value lines)",
    "list": "write a list ('- item' lines or [a, b])",
    "tuple": "write a list ('- item' lines or [a, b])",
}


def check_blueprint(data: Any) -> Blueprint:
    """A valid blueprint from plain values, or BlueprintInvalid with every problem."""
    return check_and_compile(data)[0]


def check_and_compile(data: Any) -> tuple[Blueprint, TaskGraph]:
    """A valid blueprint and its task graph, or BlueprintInvalid with every problem."""
    problems: list[Problem] = []
    try:
        blueprint = Blueprint.model_validate(data)
    except ValidationError as exc:
        problems = list(_shape_problems(exc))
        # Unknown fields (typos, mostly) leave the rest readable: drop them, or rename a
        # typo to the required field it misspells, and check the meaning too.
        repairs = _typo_repairs(exc)
        if repairs is None or not isinstance(data, dict):
            raise BlueprintInvalid("blueprint", tuple(problems)) from None
        renamed = {(*loc[:-1], name) for loc, name in repairs.items() if name is not None}
        problems = [p for p in problems if not (p.code == "missing-field" and p.loc in renamed)]
        try:
            blueprint = Blueprint.model_validate(_repaired(data, repairs))
        except ValidationError:
            raise BlueprintInvalid("blueprint", tuple(problems)) from None
    deps = dependencies(blueprint)
    problems += meaning_problems(blueprint, deps)
    if problems:
        raise BlueprintInvalid("blueprint", tuple(problems))
    return blueprint, compile_blueprint(blueprint, deps)


def _typo_repairs(exc: ValidationError) -> dict[Loc, str | None] | None:
    """Edits that would fix every shape problem (None: drop the field), or None if some are not typos."""
    errors = exc.errors(include_url=False)
    missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
    repairs: dict[Loc, str | None] = {}
    for error in errors:
        if error["type"] != "extra_forbidden":
            continue
        loc: Loc = tuple(error["loc"])
        close = difflib.get_close_matches(str(loc[-1]), sorted(_fields_at(loc[:-1])), n=1, cutoff=0.6)
        target = (*loc[:-1], close[0]) if close else None
        repairs[loc] = close[0] if target in missing else None
        missing.discard(target)
    explained = len(repairs) + sum(1 for name in repairs.values() if name is not None)
    return repairs if explained == len(errors) else None


def _repaired(data: Any, repairs: dict[Loc, str | None]) -> Any:
    """A copy of plain values with fields dropped or renamed at the given paths."""
    if not repairs:
        return data
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if (key,) in repairs:
                new_name = repairs[(key,)]
                if new_name is not None:
                    out[new_name] = value
                continue
            below = {loc[1:]: name for loc, name in repairs.items() if len(loc) > 1 and loc[0] == key}
            out[key] = _repaired(value, below)
        return out
    if isinstance(data, list):
        return [
            _repaired(item, {loc[1:]: name for loc, name in repairs.items() if len(loc) > 1 and loc[0] == i})
            for i, item in enumerate(data)
        ]
    return data


# -- shape ---------------------------------------------------------------------


def _shape_problems(exc: ValidationError) -> Iterator[Problem]:
    errors = exc.errors(include_url=False)
    failed = [tuple(e["loc"]) for e in errors]
    for error in errors:
        loc: Loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "too_short" and any(len(f) > len(loc) and f[: len(loc)] == loc for f in failed):
            continue  # pydantic counts the items left after the failed ones: not a problem of its own
        message = error["msg"].removeprefix("Value error, ")
        given = error.get("input")
        if kind == "extra_forbidden":
            field = str(loc[-1])
            allowed = sorted(_fields_at(loc[:-1]))
            close = difflib.get_close_matches(field, allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed here: {', '.join(allowed)}"
            yield Problem("unknown-field", f"unknown field {field!r}", loc, hint)
        elif kind == "missing":
            yield Problem("missing-field", f"required field {loc[-1]!r} is missing", loc, "add it")
        elif kind in {"union_tag_not_found"}:
            yield Problem(
                "missing-field",
                "field 'kind' is missing",
                (*loc, "kind"),
                "add kind: payroll_system or kind: beside_payroll",
            )
        elif kind.startswith(("greater_than", "less_than", "too_short", "too_long", "string_too")):
            yield Problem("out-of-range", f"{message}; got {_show(given)}", loc, "change the value to fit the range")
        elif kind in {
            "enum",
            "literal_error",
            "string_pattern_mismatch",
            "union_tag_invalid",
            "value_error",
            "assertion_error",
        }:
            hint = _pattern_hint(loc) if kind == "string_pattern_mismatch" else "use one of the allowed values"
            yield Problem("invalid-value", f"{message}; got {_show(given)}", loc, hint)
        else:
            expected = kind.split("_")[0]
            hint = _TYPE_HINTS.get(expected, "check the value's type")
            if isinstance(given, bool) and expected == "string":
                hint = "YAML reads yes/no/on/off (and the country code NO) as true/false: quote the value"
            elif isinstance(given, float) and expected == "string":
                hint = "YAML reads 1.0 as a number: quote the value, e.g. '1.0.0'"
            elif isinstance(given, int) and expected == "string" and str(loc[-1]) in {"start", "end", "send_at", "at"}:
                hint = 'YAML 1.1 reads 18:00 as the number 1080 (minutes): quote the time, e.g. "18:00"'
            yield Problem("wrong-type", f"{message}; got {_show(given)}", loc, hint)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pattern_hint(loc: Loc) -> str:
    name = str(loc[-1]) if loc else ""
    if name == "version":
        return "use a semantic version such as 1.0.0"
    if name == "country":
        return "use an ISO country code in capitals, e.g. US, GB, DE"
    if name in {"start", "end", "send_at", "at"}:
        return "use a 24-hour time HH:MM"
    if "every_year" in name:
        return "use MM-DD, e.g. 12-15"
    return "keys start with a lowercase letter and use a-z, 0-9 and _"


def _fields_at(loc: Loc) -> set[str]:
    """Field names allowed at a path, following the models' annotations."""
    current: Any = Blueprint
    for part in loc:
        model = _model_in(current, part)
        if model is None:
            return set()
        current = model
        if isinstance(part, int) or (isinstance(part, str) and part not in model.model_fields):
            continue
        current = model.model_fields[part].annotation
    model = _model_in(current, None)
    if model is None:
        return set()
    return {f.alias or name for name, f in model.model_fields.items()}


def _model_in(annotation: Any, part: str | int | None) -> type[BaseModel] | None:
    """The model an annotation holds (through Optional, tuple, dict values, Annotated, unions)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _model_in(args[0], part)
    models = [m for m in (_model_in(a, part) for a in args) if m is not None]
    if origin in (typing.Union, types.UnionType) and len(models) > 1 and isinstance(part, str):
        # a discriminated union: pydantic names the member by its tag
        for model in models:
            kind = model.model_fields.get("kind")
            if kind is not None and part in typing.get_args(kind.annotation):
                return model
    return models[0] if models else None


# -- meaning -------------------------------------------------------------------


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def meaning_problems(bp: Blueprint, deps: Dependencies) -> Iterator[Problem]:
    """Problems of meaning in a blueprint whose shape is valid."""
    roles = bp.roles

    def role_hint(name: str) -> str:
        return _did_you_mean(name, roles) or f"declare it under roles ({', '.join(roles)})"

    # roles and escalation contacts
    for key, role in roles.items():
        if role.escalation is not None and role.escalation not in roles:
            yield Problem(
                "unknown-role",
                f"unknown escalation role {role.escalation!r}",
                ("roles", key, "escalation"),
                role_hint(role.escalation),
            )
    yield from _escalation_loops(bp)

    # keys of milestones and tasks
    milestone_at: dict[str, int] = {}
    task_at: dict[str, Loc] = {}
    for mi, milestone in enumerate(bp.milestones):
        if milestone.key in milestone_at:
            yield Problem(
                "duplicate-key",
                f"milestone key {milestone.key!r} is used twice",
                ("milestones", mi, "key"),
                "give each milestone its own key",
            )
        milestone_at.setdefault(milestone.key, mi)
        for ti, task in enumerate(milestone.tasks):
            loc: Loc = ("milestones", mi, "tasks", ti)
            if task.key in task_at:
                yield Problem(
                    "duplicate-key",
                    f"task key {task.key!r} is used twice",
                    (*loc, "key"),
                    "task keys are unique across the whole blueprint",
                )
            task_at.setdefault(task.key, loc)

    # each task: owner, duration, dependencies
    for mi, milestone in enumerate(bp.milestones):
        for ti, task in enumerate(milestone.tasks):
            loc = ("milestones", mi, "tasks", ti)
            if task.owner not in roles:
                yield Problem("unknown-role", f"unknown role {task.owner!r}", (*loc, "owner"), role_hint(task.owner))
            duration = task.duration_business_days
            if task.kind is TaskKind.checkpoint and duration not in (None, 0):
                yield Problem(
                    "invalid-duration",
                    f"a checkpoint takes no time, but has duration {duration}",
                    (*loc, "duration_business_days"),
                    "remove the duration or use kind: human",
                )
            if task.kind is not TaskKind.checkpoint and duration == 0:
                yield Problem(
                    "invalid-duration",
                    f"a {task.kind.value} task needs at least 1 business day",
                    (*loc, "duration_business_days"),
                    "use kind: checkpoint for a zero-length gate",
                )
            if task.kind is TaskKind.automated and task.action is None:
                yield Problem(
                    "missing-field",
                    "an automated task needs an action",
                    (*loc, "action"),
                    "add action: {type: email, to: [role], subject: ..., body: ...} or {type: webhook, url: ...}",
                )
            if task.kind is not TaskKind.automated and task.action is not None:
                yield Problem(
                    "invalid-value",
                    f"only automated tasks have an action; this one is {task.kind.value}",
                    (*loc, "action"),
                    "use kind: automated, or remove the action",
                )
            if task.action is not None and task.action.type == "email":
                for ri, target in enumerate(task.action.to):
                    if target not in roles:
                        yield Problem(
                            "unknown-role", f"unknown role {target!r}", (*loc, "action", "to", ri), role_hint(target)
                        )
            for di, dep in enumerate(task.depends_on):
                dloc: Loc = (*loc, "depends_on", di)
                if dep.task is not None:
                    if dep.task == task.key:
                        yield Problem(
                            "self-dependency", f"task {task.key!r} depends on itself", dloc, "remove this dependency"
                        )
                    elif dep.task not in task_at:
                        hint = _did_you_mean(dep.task, task_at) or (
                            "to depend on a milestone write {milestone: " + dep.task + "}"
                            if dep.task in milestone_at
                            else "declare the task or fix the key"
                        )
                        yield Problem("unknown-dependency", f"unknown task {dep.task!r}", dloc, hint)
                elif dep.milestone == milestone.key:
                    yield Problem(
                        "self-dependency",
                        f"task {task.key!r} depends on its own milestone",
                        dloc,
                        "depend on tasks of the milestone instead",
                    )
                elif dep.milestone not in milestone_at:
                    hint = _did_you_mean(str(dep.milestone), milestone_at) or "declare the milestone or fix the key"
                    yield Problem("unknown-dependency", f"unknown milestone {dep.milestone!r}", dloc, hint)

    # cycles
    for cycle in deps.cycles:
        first = cycle[0]
        yield Problem(
            "dependency-cycle",
            "dependency cycle: " + " -> ".join([*cycle, first]),
            task_at[first],
            "remove or reverse one dependency of the cycle",
        )

    # flags
    launch = [task_at[t.key] for m in bp.milestones for t in m.tasks if t.launch]
    first_value = [task_at[t.key] for m in bp.milestones for t in m.tasks if t.first_value]
    if bp.launch_window is not None and not launch:
        yield Problem(
            "no-launch-task",
            "a launch window is given but no task has launch: true",
            ("launch_window",),
            "mark the go-live task with launch: true",
        )
    for extra in launch[1:]:
        yield Problem(
            "multiple-launch-tasks",
            "more than one task has launch: true",
            (*extra, "launch"),
            "keep launch: true on the one go-live task",
        )
    for extra in first_value[1:]:
        yield Problem(
            "multiple-first-value-tasks",
            "more than one task has first_value: true",
            (*extra, "first_value"),
            "keep first_value: true on one task",
        )
    if bp.ttfv is not None and not first_value:
        yield Problem(
            "no-first-value-task",
            "ttfv is defined but no task has first_value: true",
            ("ttfv",),
            "mark the task whose completion is the customer's first value",
        )

    # calendars
    for name, calendar in calendar_keys(bp.calendars).items():
        if name.value == "settlement" and bp.calendars.settlement is None:
            continue  # derived from the customer calendar: its problems are reported there
        try:
            business_calendar(calendar, name=name.value)
        except UnknownCalendar as exc:
            field = "market" if calendar.market else ("subdivision" if calendar.subdivision else "country")
            spec = getattr(bp.calendars, name.value)
            loc = ("calendars", name.value, field) if spec is not None else ("calendars",)
            hint = "see the holidays package's supported countries"
            if field == "subdivision":
                known = supported_subdivisions(calendar.country)
                hint = _did_you_mean(str(calendar.subdivision), known) or ("known subdivisions: " + ", ".join(known))
            yield Problem("unknown-calendar", str(exc), loc, hint)

    # default pay schedule
    if bp.pay_schedule is not None:
        try:
            parse_pay_schedule(bp.pay_schedule)
        except PayScheduleInvalid as exc:
            for p in exc.problems:
                yield Problem("invalid-pay-schedule", p.message, ("pay_schedule",), p.hint)

    # launch prerequisites
    window = bp.launch_window
    if isinstance(window, PayrollSystemWindow):
        launch_key = next((t.key for m in bp.milestones for t in m.tasks if t.launch), None)
        after_launch: frozenset[str] = frozenset()
        if launch_key is not None and not deps.cycles:
            after_launch = descendants(launch_key, deps.edges)
        named: set[str] = set()
        for pi, prereq in enumerate(window.prerequisites):
            ploc: Loc = ("launch_window", "prerequisites", pi, "task")
            if prereq.task not in task_at:
                yield Problem(
                    "unknown-task",
                    f"unknown task {prereq.task!r}",
                    ploc,
                    _did_you_mean(prereq.task, task_at) or "name a task of the blueprint",
                )
            elif prereq.task == launch_key or prereq.task in after_launch:
                yield Problem(
                    "invalid-prerequisite",
                    f"{prereq.task!r} comes at or after go-live",
                    ploc,
                    "a prerequisite must come before the launch task",
                )
            elif prereq.task in named:
                yield Problem("invalid-prerequisite", f"{prereq.task!r} is listed twice", ploc, "list it once")
            named.add(prereq.task)

    # the contact, nudges and status emails name roles
    if bp.contact is not None:
        if bp.contact not in roles:
            yield Problem("unknown-role", f"unknown role {bp.contact!r}", ("contact",), role_hint(bp.contact))
        elif roles[bp.contact].side.value != "vendor":
            yield Problem(
                "invalid-value",
                f"the contact answers for the vendor; {bp.contact!r} is a customer role",
                ("contact",),
                "name a vendor role, such as the customer success manager",
            )
    for i, step in enumerate(bp.nudges.ladder):
        if step not in {"owner", "escalation"} and step not in roles:
            yield Problem(
                "unknown-role",
                f"unknown role {step!r} in the nudge ladder",
                ("nudges", "ladder", i),
                _did_you_mean(step, [*roles, "owner", "escalation"]) or "use owner, escalation or a role",
            )
    for i, recipient in enumerate(bp.status_emails.recipients):
        if recipient not in roles:
            yield Problem(
                "unknown-role", f"unknown role {recipient!r}", ("status_emails", "recipients", i), role_hint(recipient)
            )
        elif roles[recipient].side.value != "customer":
            yield Problem(
                "invalid-value",
                f"status emails go to customer roles; {recipient!r} is a vendor role",
                ("status_emails", "recipients", i),
                "name a customer-side role",
            )


def _escalation_loops(bp: Blueprint) -> Iterator[Problem]:
    reported: set[str] = set()
    for start in bp.roles:
        path: list[str] = []
        current: str | None = start
        while current is not None and current in bp.roles and current not in path:
            path.append(current)
            current = bp.roles[current].escalation
        if current is not None and current in path:
            loop = path[path.index(current) :]
            if not reported & set(loop):
                reported.update(loop)
                yield Problem(
                    "escalation-cycle",
                    "escalation loops: " + " -> ".join([*loop, current]),
                    ("roles", loop[0], "escalation"),
                    "end the chain at a role with no escalation",
                )
