"""A task row re-dated by position (``TaskRecord.redated``) is the row ``_replace`` makes."""

from __future__ import annotations

import typing
from datetime import date, timedelta

from onboarding.core.lifecycle import TaskState
from onboarding.core.projects import TaskRecord


def test_a_redated_row_keeps_every_other_field_as_replace_would() -> None:
    """Every field set to a value of its own (none left at its default), so that a field added to the row
    and missed by ``redated`` shows here."""
    values: dict[str, object] = {}
    hints = typing.get_type_hints(TaskRecord)
    for n, name in enumerate(TaskRecord._fields):
        kind = str(hints[name])
        if "date" in kind:
            values[name] = date(2027, 1, 1) + timedelta(days=n)
        elif "bool" in kind:
            values[name] = n % 2 == 0
        elif "int" in kind:
            values[name] = 100 + n
        elif "TaskState" in kind:
            values[name] = TaskState.in_progress
        else:
            values[name] = f"{name}-{n}"
    row = TaskRecord(**values)  # type: ignore[arg-type]
    moved = {
        "start_on": date(2028, 1, 3),
        "due_on": date(2028, 1, 7),
        "late_due_on": date(2028, 2, 1),
        "slack_business_days": 7,
        "critical": not row.critical,
    }
    assert row.redated(**moved) == row._replace(**moved)  # type: ignore[arg-type]
    defaults = TaskRecord._field_defaults
    assert all(getattr(row, name) != defaults.get(name) for name in TaskRecord._fields if name not in moved)
