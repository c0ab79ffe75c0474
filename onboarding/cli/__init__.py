"""The command line: ``onboarding validate | plan | schema | launch | status | sweep | outbox | report ...``.

The edge of the program: it parses arguments, calls one service, prints with rich,
and turns the engine's errors into messages and exit statuses (1 for bad input,
2 for bad usage) without tracebacks. ``edge`` holds the ``main`` group and what the
commands share; each other module registers one group of commands on ``main``.
"""

from __future__ import annotations

from onboarding.cli.edge import main

# Imported for what they do: each registers its commands on `main`.
from onboarding.cli import (  # noqa: F401  # isort: skip
    db,
    hooks,
    keys,
    outbox,
    plans,
    project_changes,
    projects,
    reports,
    running,
    sweeps,
    team,
    web,
)

__all__ = ["main"]
