"""A task row re-dated by position (``TaskRecord.redated``) is the row ``dataclasses.replace`` makes."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date, timedelta

from onboarding.core.lifecycle import TaskState
from onboarding.core.projects import TaskRecord


def test_a_redated_row_keeps_every_other_field_as_replace_would() -> None:
    """Every field set to a value of its own (none left at its default), so that a field added to the row
    and missed by ``redated`` shows here."""
    values: dict[str, object] = {}
    for n, f in enumerate(fields(TaskRecord)):
        kind = str(f.type)
        if "date" in kind:
            values[f.name] = date(2027, 1, 1) + timedelta(days=n)
        elif "bool" in kind:
            values[f.name] = n % 2 == 0
        elif "int" in kind:
            values[f.name] = 100 + n
        elif "TaskState" in kind:
            values[f.name] = TaskState.in_progress
        else:
            values[f.name] = f"{f.name}-{n}"
    row = TaskRecord(**values)  # type: ignore[arg-type]
    moved = {
        "start_on": date(2028, 1, 3),
        "due_on": date(2028, 1, 7),
        "late_due_on": date(2028, 2, 1),
        "slack_business_days": 7,
        "critical": not row.critical,
    }
    assert row.redated(**moved) == replace(row, **moved)  # type: ignore[arg-type]
    assert all(getattr(row, f.name) != f.default for f in fields(TaskRecord) if f.name not in moved)
