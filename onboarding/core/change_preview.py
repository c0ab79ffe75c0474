"""What a change to a project would do to its dates, said before it is made.

A change that re-forecasts the plan (a task completed, started, skipped, blocked
or reopened, a project resumed) can move other tasks' projected dates, the
milestones' and the go-live's; a completion dated in the past, say, lets the work
after it start sooner. ``date_changes`` compares the project as it is with the
project as the change would leave it (the caller makes that one with the same
lifecycle functions and the same re-forecast, ``projects.reforecast``, as the
change itself: nothing here plans) and says which projected dates move, from
what to what, and whether the go-live leaves the window committed for it.

A task's projected date is its due date (what the plan shows and the
``plan_reforecast`` event records); a milestone's is the due date of its last
task. The committed window ends on the committed go-live: a projected go-live
after it is outside the window (DESIGN §4, a window jump).

Not here: planning (``planning``), the lifecycle's rules (``lifecycle``,
``project_changes``), storing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from onboarding.core.projects import ProjectRecord, TaskRecord


@dataclass(frozen=True, slots=True)
class DateMove:
    """One projected date that moves: of a task or a milestone (``key``, ``title``), from ``before`` to ``after``."""

    key: str
    title: str
    before: date
    after: date

    @property
    def days(self) -> int:
        """Calendar days it moves: positive later, negative earlier."""
        return (self.after - self.before).days


@dataclass(frozen=True, slots=True)
class DateChanges:
    """The projected dates a change moves, and the go-live against its committed window before and after."""

    tasks: tuple[DateMove, ...]  # in plan order
    milestones: tuple[DateMove, ...]  # in plan order
    go_live_before: date | None
    go_live_after: date | None
    committed_go_live_on: date | None  # the committed window's last day (None: no commitment)

    @property
    def go_live_moves(self) -> bool:
        return self.go_live_before != self.go_live_after

    @property
    def outside_window_before(self) -> bool:
        return _outside(self.go_live_before, self.committed_go_live_on)

    @property
    def outside_window_after(self) -> bool:
        return _outside(self.go_live_after, self.committed_go_live_on)

    @property
    def leaves_window(self) -> bool:
        """The go-live was inside its committed window and would be past it."""
        return self.outside_window_after and not self.outside_window_before

    @property
    def returns_to_window(self) -> bool:
        """The go-live was past its committed window and would be back inside it."""
        return self.outside_window_before and not self.outside_window_after

    @property
    def moves_nothing(self) -> bool:
        return not self.tasks and not self.milestones and not self.go_live_moves


def _outside(go_live: date | None, committed: date | None) -> bool:
    return go_live is not None and committed is not None and go_live > committed


def date_changes(before: ProjectRecord, after: ProjectRecord) -> DateChanges:
    """The projected dates that differ between the project as it is and as a change would leave it."""
    was = {t.key: t for t in before.tasks}
    tasks = tuple(
        DateMove(t.key, t.title, was[t.key].due_on, t.due_on)
        for t in sorted(after.tasks, key=lambda t: t.position)
        if t.key in was and was[t.key].due_on != t.due_on
    )
    milestones_before = milestone_due_dates(before.tasks)
    milestones = tuple(
        DateMove(key, title, milestones_before[key][1], due_on)
        for key, (title, due_on) in milestone_due_dates(after.tasks).items()
        if key in milestones_before and milestones_before[key][1] != due_on
    )
    return DateChanges(
        tasks=tasks,
        milestones=milestones,
        go_live_before=before.projected_go_live_on,
        go_live_after=after.projected_go_live_on,
        committed_go_live_on=before.committed_go_live_on,
    )


def milestone_due_dates(tasks: tuple[TaskRecord, ...]) -> dict[str, tuple[str, date]]:
    """Each milestone's title and projected due date (its last task's), in plan order."""
    found: dict[str, tuple[str, date]] = {}
    for t in sorted(tasks, key=lambda t: t.position):
        title, due_on = found.get(t.milestone_key, (t.milestone_title, t.due_on))
        found[t.milestone_key] = (title, max(due_on, t.due_on))
    return found
