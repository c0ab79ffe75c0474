"""Compiling a blueprint into a task graph: expanded edges, calendars, a stable order.

Milestone dependencies expand to one edge per task of the milestone, with the
same type and lag (the relation holds with every task of it). Each task gets its
calendar (owner's side, the task's override, or the settlement calendar for a
payroll-system go-live) and its effective duration (1 by default; 0 for a
checkpoint). The networkx graph never leaves this module: callers get frozen
values and plain tuples.

Not here: dates (planning), validity of references (checks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import networkx as nx

from onboarding.core.blueprint import Blueprint, CalendarName, DependencyType, TaskKind


@dataclass(frozen=True, slots=True)
class Edge:
    predecessor: str
    successor: str
    type: DependencyType
    lag_business_days: int
    milestone: str | None = None  # set when the edge comes from a milestone dependency


@dataclass(frozen=True, slots=True)
class CompiledTask:
    key: str
    title: str
    milestone: str
    owner: str
    side: str
    calendar: CalendarName
    kind: TaskKind
    duration_business_days: int
    customer_visible: bool
    first_value: bool
    launch: bool
    position: int


@dataclass(frozen=True)
class TaskGraph:
    """A compiled blueprint: tasks in blueprint order, a topological order, and edges both ways."""

    tasks: tuple[CompiledTask, ...]
    by_key: Mapping[str, CompiledTask]
    order: tuple[str, ...]
    predecessors: Mapping[str, tuple[Edge, ...]]
    successors: Mapping[str, tuple[Edge, ...]]
    milestone_tasks: Mapping[str, tuple[str, ...]]

    @property
    def launch_task(self) -> CompiledTask | None:
        return next((t for t in self.tasks if t.launch), None)

    def descendants(self, key: str) -> frozenset[str]:
        return descendants(key, (e for edges in self.successors.values() for e in edges))

    def ancestors(self, key: str) -> frozenset[str]:
        """Every task ``key`` can be reached from along the edges (those it waits for, directly or not)."""
        seen: set[str] = set()
        stack = [key]
        while stack:
            for edge in self.predecessors.get(stack.pop(), ()):
                if edge.predecessor not in seen:
                    seen.add(edge.predecessor)
                    stack.append(edge.predecessor)
        return frozenset(seen)


def task_calendar(blueprint: Blueprint, *, side: str, override: CalendarName | None, launch: bool) -> CalendarName:
    if override is not None:
        return override
    window = blueprint.launch_window
    if launch and window is not None and window.kind == "payroll_system":
        return CalendarName.settlement
    return CalendarName(side)


def expand_edges(blueprint: Blueprint) -> list[Edge]:
    """Every dependency as task-to-task edges; references to unknown keys are left out."""
    members: dict[str, list[str]] = {m.key: [t.key for t in m.tasks] for m in blueprint.milestones}
    known = {t.key for m in blueprint.milestones for t in m.tasks}
    edges: list[Edge] = []
    seen: set[tuple[str, str, DependencyType, int]] = set()
    for milestone in blueprint.milestones:
        for task in milestone.tasks:
            for dep in task.depends_on:
                # self and own-milestone dependencies are reported by the checks, not as cycles
                if dep.task is not None:
                    sources = [dep.task] if dep.task in known and dep.task != task.key else []
                elif dep.milestone == milestone.key:
                    sources = []
                else:
                    sources = members.get(dep.milestone or "", [])
                for source in sources:
                    ident = (source, task.key, dep.type, dep.lag_business_days)
                    if ident not in seen:
                        seen.add(ident)
                        edges.append(Edge(source, task.key, dep.type, dep.lag_business_days, dep.milestone))
    return edges


def descendants(key: str, edges: Iterable[Edge]) -> frozenset[str]:
    """Every task reachable from ``key`` along the edges."""
    successors: dict[str, list[str]] = {}
    for edge in edges:
        successors.setdefault(edge.predecessor, []).append(edge.successor)
    seen: set[str] = set()
    stack = [key]
    while stack:
        for successor in successors.get(stack.pop(), ()):
            if successor not in seen:
                seen.add(successor)
                stack.append(successor)
    return frozenset(seen)


@dataclass(frozen=True)
class Dependencies:
    """The expanded edges of a blueprint, with a topological order or the cycles that prevent one."""

    edges: tuple[Edge, ...]
    order: tuple[str, ...] | None
    cycles: tuple[tuple[str, ...], ...]


def dependencies(blueprint: Blueprint) -> Dependencies:
    """Expand the edges and order the tasks (ties keep blueprint order), or find every cycle."""
    keys = [t.key for m in blueprint.milestones for t in m.tasks]
    position = {key: i for i, key in enumerate(keys)}
    edges = expand_edges(blueprint)
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(keys)
    graph.add_edges_from((e.predecessor, e.successor) for e in edges)
    try:
        return Dependencies(tuple(edges), tuple(nx.topological_sort(graph)), ())
    except nx.NetworkXUnfeasible:
        pass
    cycles: list[tuple[str, ...]] = []
    for component in nx.strongly_connected_components(graph):
        if len(component) == 1:
            (node,) = component
            if not graph.has_edge(node, node):
                continue
        found = [str(u) for u, _v in nx.find_cycle(graph.subgraph(component))]
        first = min(range(len(found)), key=lambda i: position[found[i]])  # same cycle text every run
        cycles.append(tuple(found[first:] + found[:first]))
    return Dependencies(tuple(edges), None, tuple(sorted(cycles, key=lambda c: position[c[0]])))


def compile_blueprint(blueprint: Blueprint, deps: Dependencies | None = None) -> TaskGraph:
    """The task graph of a checked blueprint (checks guarantee references exist and no cycle)."""
    roles = blueprint.roles
    tasks: list[CompiledTask] = []
    milestone_tasks: dict[str, tuple[str, ...]] = {}
    for milestone in blueprint.milestones:
        milestone_tasks[milestone.key] = tuple(t.key for t in milestone.tasks)
        for task in milestone.tasks:
            side = roles[task.owner].side.value
            duration = task.duration_business_days
            if duration is None:
                duration = 0 if task.kind is TaskKind.checkpoint else 1
            tasks.append(
                CompiledTask(
                    key=task.key,
                    title=task.title,
                    milestone=milestone.key,
                    owner=task.owner,
                    side=side,
                    calendar=task_calendar(blueprint, side=side, override=task.calendar, launch=task.launch),
                    kind=task.kind,
                    duration_business_days=duration,
                    customer_visible=task.customer_visible and milestone.customer_visible,
                    first_value=task.first_value,
                    launch=task.launch,
                    position=len(tasks),
                )
            )
    deps = deps or dependencies(blueprint)
    if deps.order is None:
        raise ValueError("the blueprint's dependencies have cycles: check it first")
    edges = deps.edges
    predecessors: dict[str, list[Edge]] = {t.key: [] for t in tasks}
    successors: dict[str, list[Edge]] = {t.key: [] for t in tasks}
    for edge in edges:
        predecessors[edge.successor].append(edge)
        successors[edge.predecessor].append(edge)
    by_key = {t.key: t for t in tasks}
    return TaskGraph(
        tasks=tuple(tasks),
        by_key=MappingProxyType(by_key),
        order=deps.order,
        predecessors=MappingProxyType({k: tuple(v) for k, v in predecessors.items()}),
        successors=MappingProxyType({k: tuple(v) for k, v in successors.items()}),
        milestone_tasks=MappingProxyType(milestone_tasks),
    )
