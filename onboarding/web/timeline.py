"""A project's timeline as SVG text: a Gantt chart drawn on the server from its plan view.

``timeline_svg(plan)`` lays out ``core.plan_view.ProjectPlan``: one row per
milestone (a diamond on its due date) followed by a row per task (a bar from its
projected start to its projected due date, drawn heavier when the task is on the
critical path (red, and also marked with a dot for readers who cannot tell the
colours apart; their title says so), a line for today, and the go-live's committed
window shaded from kickoff to the committed date with the projected go-live
marked. Every label is escaped (task and milestone names are user text) and
every shape carries a ``<title>`` its readers hear; the whole is ``role="img"``
with a text alternative. Colours are SVG presentation attributes, not CSS, so
the pages' Content-Security-Policy needs no style exception.

Pure: values in, text out. Not here: which dates (the core), the page around it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from xml.sax.saxutils import escape, quoteattr

from onboarding.core.plan_view import ProjectPlan

WIDTH = 960
LABEL_WIDTH = 260
ROW = 22
TOP = 34  # the month scale
BAR = 12
COLOURS = {
    "bar": "#3b6ea8",
    "critical": "#b3261e",
    "done": "#6b7280",
    "milestone": "#1f2937",
    "today": "#0f766e",
    "window": "#dbeafe",
    "late": "#fee2e2",
    "grid": "#d1d5db",
    "text": "#111827",
}


def timeline_svg(plan: ProjectPlan, *, title_id: str = "timeline-title") -> str:
    """The plan as a standalone ``<svg>`` element (text), wide ``WIDTH`` units and scaling to its container."""
    tasks = plan.tasks
    first = min([plan.kickoff_on, plan.as_of, *(t.start_on for t in tasks)])
    ends = [plan.finish_on, plan.as_of, *(t.due_on for t in tasks)]
    if plan.go_live.committed_on is not None:
        ends.append(plan.go_live.committed_on)
    if plan.go_live.projected_on is not None:
        ends.append(plan.go_live.projected_on)
    last = max(ends) + timedelta(days=1)
    span_days = max((last - first).days, 1)
    scale = (WIDTH - LABEL_WIDTH - 10) / span_days
    rows = len(plan.milestones) + len(tasks)
    height = TOP + rows * ROW + 10

    def x(day: date) -> float:
        return round(LABEL_WIDTH + (day - first).days * scale, 1)

    summary = _summary(plan)
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-labelledby={quoteattr(title_id)} font-family="system-ui, sans-serif" font-size="12">',
        f"<title id={quoteattr(title_id)}>{escape(summary)}</title>",
    ]
    out += _window(plan, x=x, height=height)
    out += _months(first, last, x=x, height=height)
    y = TOP
    for milestone in plan.milestones:
        mid = y + ROW / 2
        cx = x(milestone.due_on) + scale / 2
        label = f"{milestone.title}: milestone due {milestone.due_on.isoformat()} ({milestone.state.replace('_', ' ')})"
        out.append(
            f'<g class="milestone-mark"><title>{escape(label)}</title>'
            f'<text x="4" y="{mid + 4}" font-weight="bold" fill="{COLOURS["text"]}">'
            f"{escape(_cut(milestone.title, 34))}</text>"
            f'<path d="M {cx} {mid - 7} L {cx + 7} {mid} L {cx} {mid + 7} L {cx - 7} {mid} Z" '
            f'fill="{COLOURS["milestone"]}"/></g>'
        )
        y += ROW
        for task in milestone.tasks:
            mid = y + ROW / 2
            left = x(task.start_on)
            width = max(x(task.due_on + timedelta(days=1)) - left, 2.0)
            finished = task.done_on is not None
            colour = COLOURS["done"] if finished else COLOURS["critical"] if task.critical else COLOURS["bar"]
            words = [
                f"{task.title}: {task.start_on.isoformat()} to {task.due_on.isoformat()}",
                task.state.value.replace("_", " "),
            ]
            if task.critical:
                words.append("on the critical path")
            if task.overdue:
                words.append("overdue")
            critical = (
                f'<circle class="critical-mark" cx="{round(left + width + 7, 1)}" cy="{mid}" r="3.5" '
                f'fill="{COLOURS["critical"]}"/>'
                if task.critical
                else ""
            )
            out.append(
                f'<g class="task-bar{" critical-path" if task.critical else ""}" data-task={quoteattr(task.key)}>'
                f"<title>{escape(', '.join(words))}</title>"
                f'<text x="16" y="{mid + 4}" fill="{COLOURS["text"]}">{escape(_cut(task.title, 36))}</text>'
                f'<rect x="{left}" y="{mid - BAR / 2}" width="{round(width, 1)}" height="{BAR}" rx="2" '
                f'fill="{colour}"/>{critical}</g>'
            )
            y += ROW
    out.append(_today(plan.as_of, x=x, scale=scale, height=height))
    out.append("</svg>")
    return "".join(out)


def _summary(plan: ProjectPlan) -> str:
    go_live = plan.go_live
    parts = [f"Timeline of {plan.customer}: {len(plan.tasks)} tasks from {plan.kickoff_on.isoformat()}"]
    if go_live.projected_on is not None:
        parts.append(f"go-live projected {go_live.projected_on.isoformat()}")
    if go_live.committed_on is not None:
        inside = "outside" if go_live.outside_window else "inside"
        parts.append(f"{inside} the window committed to {go_live.committed_on.isoformat()}")
    parts.append(f"today {plan.as_of.isoformat()}")
    return ", ".join(parts)


def _window(plan: ProjectPlan, *, x: Callable[[date], float], height: int) -> list[str]:
    """The committed window shaded (kickoff to the committed go-live), and the go-live past it in red."""
    go_live = plan.go_live
    shapes: list[str] = []
    if go_live.committed_on is not None:
        left, right = x(plan.kickoff_on), x(go_live.committed_on + timedelta(days=1))
        shapes.append(
            f'<rect class="committed-window" x="{left}" y="{TOP - 4}" width="{round(right - left, 1)}" '
            f'height="{height - TOP}" fill="{COLOURS["window"]}"><title>'
            f"{escape(f'committed window: go-live by {go_live.committed_on.isoformat()}')}</title></rect>"
        )
    if go_live.projected_on is not None:
        day = go_live.projected_on
        left, right = x(day), x(day + timedelta(days=1))
        colour = COLOURS["late"] if go_live.outside_window else COLOURS["window"]
        shapes.append(
            f'<rect class="go-live" x="{left}" y="{TOP - 4}" width="{round(max(right - left, 3), 1)}" '
            f'height="{height - TOP}" fill="{colour}" stroke="{COLOURS["critical"]}" stroke-width="1">'
            f"<title>{escape(f'go-live projected {day.isoformat()}')}</title></rect>"
        )
    return shapes


def _months(first: date, last: date, *, x: Callable[[date], float], height: int) -> list[str]:
    """A tick and a label at the first of each month the span covers."""
    marks: list[str] = []
    day = date(first.year, first.month, 1)
    while day <= last:
        if day >= first:
            left = x(day)
            marks.append(
                f'<line x1="{left}" y1="{TOP - 14}" x2="{left}" y2="{height}" stroke="{COLOURS["grid"]}"/>'
                f'<text x="{left + 3}" y="{TOP - 16}" fill="{COLOURS["text"]}">{day:%b %Y}</text>'
            )
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return marks


def _today(today: date, *, x: Callable[[date], float], scale: float, height: int) -> str:
    left = round(x(today) + scale / 2, 1)
    return (
        f'<g class="today-line"><title>today, {today.isoformat()}</title>'
        f'<line x1="{left}" y1="{TOP - 8}" x2="{left}" y2="{height}" stroke="{COLOURS["today"]}" '
        f'stroke-width="2" stroke-dasharray="4 3"/>'
        f'<text x="{left + 3}" y="{TOP - 2}" fill="{COLOURS["today"]}">today</text></g>'
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
