"""The timeline SVG: well-formed, a bar per task, milestones as diamonds, names escaped."""

from __future__ import annotations

from dataclasses import replace
from xml.etree import ElementTree as ET

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryProjectStore
from onboarding.core.lifecycle import Action
from onboarding.core.plan_view import ProjectPlan, project_plan
from onboarding.web.timeline import timeline_svg
from tests.services.test_projects import D, launch, service

SVG = "{http://www.w3.org/2000/svg}"
NASTY = '<script>alert("x")</script> & "quoted"'


def plan_of(*, nasty: bool = False) -> ProjectPlan:
    clock = FixedClock(D("2026-12-07"))
    svc = service(InMemoryProjectStore(), clock)
    pid = launch(svc).project.id
    svc.change_task(pid, "kickoff_call", Action.complete)
    clock.set(D("2026-12-21"))
    project = svc.reforecast(pid)
    if nasty:
        project = replace(
            project,
            customer=NASTY,
            tasks=tuple(t._replace(title=f"{NASTY} {t.key}", milestone_title=NASTY) for t in project.tasks),
        )
    return project_plan(project, today=clock.today(), plan=None)


def parsed(svg: str) -> ET.Element:
    """The SVG as XML: strict parsing is the well-formedness check (the text is this engine's own output)."""
    return ET.fromstring(svg)  # noqa: S314 - not untrusted input: the function under test wrote it


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if cls in (g.get("class") or "").split()]


def test_the_timeline_is_well_formed_svg_with_a_bar_per_task_and_a_diamond_per_milestone() -> None:
    plan = plan_of()
    root = parsed(timeline_svg(plan))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    bars = groups(root, "task-bar")
    assert [b.get("data-task") for b in bars] == [t.key for t in plan.tasks]
    assert all(b.find(f"{SVG}rect") is not None for b in bars)
    assert len(groups(root, "milestone-mark")) == len(plan.milestones)
    assert all(m.find(f"{SVG}path") is not None for m in groups(root, "milestone-mark"))
    critical = {b.get("data-task") for b in groups(root, "critical-path")}
    assert critical == {t.key for t in plan.tasks if t.critical} and critical
    assert len(groups(root, "today-line")) == 1
    assert [r.get("class") for r in root.iter(f"{SVG}rect") if r.get("class") in ("committed-window", "go-live")] == [
        "committed-window",
        "go-live",
    ]


def test_a_bar_runs_from_the_projected_start_to_the_projected_due_date() -> None:
    plan = plan_of()
    root = parsed(timeline_svg(plan))
    rects = {b.get("data-task"): b.find(f"{SVG}rect") for b in groups(root, "task-bar")}
    longer = max(plan.tasks, key=lambda t: (t.due_on - t.start_on).days)
    one_day = next(t for t in plan.tasks if t.start_on == t.due_on)
    width = {k: float(r.get("width", "0")) for k, r in rects.items() if r is not None}
    days_long = (longer.due_on - longer.start_on).days + 1
    assert abs(width[longer.key] / width[one_day.key] - days_long) < 0.2


def test_every_name_is_escaped() -> None:
    plan = plan_of(nasty=True)
    text = timeline_svg(plan)
    assert "<script>" not in text
    root = parsed(text)  # escaped, it still parses, and reads back as written
    labels = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert any(label.startswith('<script>alert("x")') for label in labels)
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert titles[0].startswith(f"Timeline of {NASTY}")
    assert any(f"{NASTY} kickoff_call" in t for t in titles)
