"""Ports: the small interfaces the services need from the outside world.

Each has a real adapter and an in-memory twin in ``onboarding.adapters``;
``bootstrap.py`` is the only place that chooses between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from onboarding.core.blueprint import Blueprint
from onboarding.core.graph import TaskGraph
from onboarding.errors import Problem


@dataclass(frozen=True)
class LoadedBlueprint:
    """A checked blueprint and where it came from."""

    source: str
    blueprint: Blueprint
    graph: TaskGraph
    # Gives a problem found later (planning) the file position of its location.
    locate: Callable[[Problem], Problem] = field(default=lambda problem: problem)


class BlueprintSource(Protocol):
    def load(self, ref: str) -> LoadedBlueprint:
        """The checked blueprint named by ``ref``; raises BlueprintInvalid with every problem."""
        ...


class Clock(Protocol):
    def today(self) -> date: ...
