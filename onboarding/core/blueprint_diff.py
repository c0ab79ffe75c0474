"""What changed between two versions of a blueprint: roles, milestones, tasks, dependencies, calendars, the
launch window and the other settings that shape a plan or its emails.

The diff compares meaning, not spelling: both blueprints are parsed and checked
first, so a default written out equals a default left out, a dependency written
as a bare task key equals ``{task: ..., type: FS, lag_business_days: 0}``, and a
task's duration and calendar are compared as planning uses them (a human task
without a duration takes 1 business day; a task owned by a customer-side role
runs on the customer's calendar unless it says otherwise).

Each change names its part, a key that is unique within the part (a task's key;
``successor <- predecessor`` for a dependency, ``<- milestone m`` when it is on a
whole milestone; a dotted path for a setting), whether it was added, removed or
changed, and the values before and after (plain JSON values). The diff of a
blueprint with itself is empty, and ``diff(b, a)`` is ``diff(a, b)`` mirrored.

Not here: reading blueprints (adapters), finding versions (services/blueprints.py),
terminal tables (the CLI).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from onboarding.core.blueprint import Blueprint, Milestone, Task, TaskKind
from onboarding.core.graph import task_calendar


class Part(StrEnum):
    """The parts of a blueprint a change can be in, in the order a diff lists them."""

    role = "role"
    milestone = "milestone"
    task = "task"
    dependency = "dependency"
    calendar = "calendar"
    launch_window = "launch_window"
    setting = "setting"


class ChangeKind(StrEnum):
    added = "added"
    removed = "removed"
    changed = "changed"


_MIRROR = {ChangeKind.added: ChangeKind.removed, ChangeKind.removed: ChangeKind.added}
_PART_ORDER = {part: i for i, part in enumerate(Part)}


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of a changed role, milestone, task or dependency: its value before and after."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class Change:
    """One thing added, removed or changed; ``fields`` lists the fields of a changed one that has fields."""

    part: Part
    key: str
    kind: ChangeKind
    before: Any = None
    after: Any = None
    fields: tuple[FieldChange, ...] = ()

    def mirrored(self) -> Change:
        """The same change seen from the other side: added is removed, before is after."""
        return Change(
            self.part,
            self.key,
            _MIRROR.get(self.kind, self.kind),
            before=self.after,
            after=self.before,
            fields=tuple(FieldChange(f.field, f.after, f.before) for f in self.fields),
        )


@dataclass(frozen=True, slots=True)
class BlueprintDiff:
    """The changes from one blueprint (``from_version``) to another (``to_version``), in part then key order."""

    key: str
    from_version: str
    to_version: str
    changes: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not self.changes

    def of(self, part: Part) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.part is part)

    def mirrored(self) -> BlueprintDiff:
        return replace(
            self,
            from_version=self.to_version,
            to_version=self.from_version,
            changes=tuple(c.mirrored() for c in self.changes),
        )


def diff_blueprints(before: Blueprint, after: Blueprint) -> BlueprintDiff:
    """Every change from ``before`` to ``after``."""
    changes: list[Change] = []
    changes += _keyed(Part.role, _roles(before), _roles(after))
    changes += _keyed(Part.milestone, _milestones(before), _milestones(after))
    changes += _keyed(Part.task, _tasks(before), _tasks(after))
    changes += _keyed(Part.dependency, _dependencies(before), _dependencies(after))
    a, b = _settings(before), _settings(after)
    _compare(Part.calendar, "calendars", a.pop("calendars"), b.pop("calendars"), changes)
    _compare(Part.launch_window, "launch_window", a.pop("launch_window"), b.pop("launch_window"), changes)
    for name in dict.fromkeys([*a, *b]):
        _compare(Part.setting, name, a.get(name), b.get(name), changes)
    ordered = sorted(changes, key=lambda c: (_PART_ORDER[c.part], c.key))
    return BlueprintDiff(after.key, before.version, after.version, tuple(ordered))


def diff_document(diff: BlueprintDiff) -> dict[str, Any]:
    """The diff as plain values (what ``--format json`` prints and the API returns)."""
    counts = {kind.value: sum(1 for c in diff.changes if c.kind is kind) for kind in ChangeKind}
    return {
        "key": diff.key,
        "from_version": diff.from_version,
        "to_version": diff.to_version,
        "counts": counts,
        "changes": [
            {
                "part": c.part.value,
                "key": c.key,
                "change": c.kind.value,
                "before": c.before,
                "after": c.after,
                "fields": [{"field": f.field, "before": f.before, "after": f.after} for f in c.fields],
            }
            for c in diff.changes
        ],
    }


# -- the views compared ----------------------------------------------------------------


def _plain(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True)


def _roles(bp: Blueprint) -> dict[str, dict[str, Any]]:
    return {key: _plain(role) for key, role in bp.roles.items()}


def _milestones(bp: Blueprint) -> dict[str, dict[str, Any]]:
    return {m.key: {"title": m.title, "customer_visible": m.customer_visible} for m in bp.milestones}


def _tasks(bp: Blueprint) -> dict[str, dict[str, Any]]:
    return {task.key: _task_view(bp, milestone, task) for milestone in bp.milestones for task in milestone.tasks}


def _task_view(bp: Blueprint, milestone: Milestone, task: Task) -> dict[str, Any]:
    duration = task.duration_business_days
    if duration is None:
        duration = 0 if task.kind is TaskKind.checkpoint else 1
    role = bp.roles.get(task.owner)
    calendar = (
        task_calendar(bp, side=role.side.value, override=task.calendar, launch=task.launch)
        if role is not None
        else task.calendar
    )
    return {
        "milestone": milestone.key,
        "title": task.title,
        "owner": task.owner,
        "kind": task.kind.value,
        "duration_business_days": duration,
        "calendar": None if calendar is None else calendar.value,
        "customer_visible": task.customer_visible,
        "first_value": task.first_value,
        "launch": task.launch,
        "description": task.description,
        "action": None if task.action is None else _plain(task.action),
    }


def _dependencies(bp: Blueprint) -> dict[str, dict[str, Any]]:
    """Each task's declared dependencies by ``successor <- target``; several on one target are listed together."""
    links: dict[str, list[dict[str, Any]]] = {}
    for milestone in bp.milestones:
        for task in milestone.tasks:
            for dep in task.depends_on:
                target = dep.task if dep.task is not None else f"milestone {dep.milestone}"
                links.setdefault(f"{task.key} <- {target}", []).append(
                    {"type": dep.type.value, "lag_business_days": dep.lag_business_days}
                )
    out: dict[str, dict[str, Any]] = {}
    for key, found in links.items():
        unique = sorted({json.dumps(link, sort_keys=True) for link in found})
        out[key] = found[0] if len(unique) == 1 else {"links": [json.loads(link) for link in unique]}
    return out


def _settings(bp: Blueprint) -> dict[str, Any]:
    plain = _plain(bp)
    for name in ("version", "roles", "milestones"):
        plain.pop(name)
    return dict(plain)


# -- comparing ---------------------------------------------------------------------------


def _keyed(part: Part, before: Mapping[str, dict[str, Any]], after: Mapping[str, dict[str, Any]]) -> list[Change]:
    changes: list[Change] = []
    for key in dict.fromkeys([*before, *after]):
        a, b = before.get(key), after.get(key)
        if a == b:
            continue
        if a is None:
            changes.append(Change(part, key, ChangeKind.added, after=b))
        elif b is None:
            changes.append(Change(part, key, ChangeKind.removed, before=a))
        else:
            fields = tuple(
                FieldChange(name, a.get(name), b.get(name))
                for name in dict.fromkeys([*a, *b])
                if a.get(name) != b.get(name)
            )
            changes.append(Change(part, key, ChangeKind.changed, before=a, after=b, fields=fields))
    return changes


def _compare(part: Part, path: str, a: Any, b: Any, out: list[Change]) -> None:
    """Changes between two plain values at ``path``: mappings field by field, lists of mappings item by item."""
    if a == b:
        return
    if a is None:
        out.append(Change(part, path, ChangeKind.added, after=b))
    elif b is None:
        out.append(Change(part, path, ChangeKind.removed, before=a))
    elif isinstance(a, dict) and isinstance(b, dict) and a.get("kind") == b.get("kind"):
        for name in dict.fromkeys([*a, *b]):
            _compare(part, f"{path}.{name}", a.get(name), b.get(name), out)
    elif _mappings(a) and _mappings(b):
        items_a, items_b = _items(a, b)
        for label in dict.fromkeys([*items_a, *items_b]):
            _compare(part, f"{path}[{label}]", items_a.get(label), items_b.get(label), out)
    else:
        out.append(Change(part, path, ChangeKind.changed, before=a, after=b))


def _mappings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


_IDENTITY = ("task", "key", "reason", "day")


def _items(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The items of two lists by what names them in both (a prerequisite's task, a blackout's reason), else
    by their text."""
    for name in _IDENTITY:
        named = [_named(items, name) for items in (a, b)]
        if named[0] is not None and named[1] is not None:
            return named[0], named[1]
    return _by_text(a), _by_text(b)


def _named(items: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    labels = [str(item.get(name)) for item in items]
    if all(name in item for item in items) and len(set(labels)) == len(labels):
        return dict(zip(labels, items, strict=True))
    return None


def _by_text(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {json.dumps(item, sort_keys=True): item for item in items}
