"""Flow: plan a project from a blueprint and publish the plan as a Prefect artifact.

Run it once with ``python -m onboarding_flows.plan BLUEPRINT KICKOFF [PAY_SCHEDULE]``, or
deploy it. It reads a local file and computes; there is nothing worth retrying
(a missing or invalid blueprint fails the same way every time).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from onboarding.core.plan_view import plan_document
from onboarding_flows.application import application


@task
def plan_task(path: str, kickoff_on: date, pay_schedule: str | None) -> dict[str, Any]:
    plan = application().planning.plan(path, kickoff_on=kickoff_on, pay_schedule=pay_schedule)
    return plan_document(plan)


def plan_markdown(document: dict[str, Any]) -> str:
    bp = document["blueprint"]
    lines = [
        f"# Plan: {bp['key']} {bp['version']}",
        "",
        f"Kickoff {document['kickoff_on']}, finish {document['finish_on']}.",
        "",
    ]
    go = document["go_live"]
    if go:
        lines += [f"**Go-live {go['chosen_on']}** ({go['kind']}): {go['reason']}", ""]
        if go["rejected"]:
            lines += ["| rejected date | why |", "|---|---|"]
            lines += [f"| {r['date']} | {r['reason']} |" for r in go["rejected"]]
            lines.append("")
    lines += ["| milestone | start | due |", "|---|---|---|"]
    lines += [f"| {m['title']} | {m['start_on']} | {m['due_on']} |" for m in document["milestones"]]
    return "\n".join(lines) + "\n"


def plan_run_name() -> str:
    """``plan-payroll-implementation-2026-12-07``: the blueprint file planned and the kickoff."""
    parameters = flow_run.parameters
    return f"plan-{Path(str(parameters['path'])).stem}-{parameters['kickoff_on']}"


@flow(name="plan-blueprint", flow_run_name=plan_run_name, log_prints=False)
def plan_blueprint(path: str, kickoff_on: date, pay_schedule: str | None = None) -> dict[str, Any]:
    """Plan ``path`` from ``kickoff_on``; publish the go-live and milestones as a markdown artifact."""
    document = plan_task(path, kickoff_on, pay_schedule)
    create_markdown_artifact(
        markdown=plan_markdown(document),
        key="plan-" + document["blueprint"]["key"].replace("_", "-"),
        description="Dated plan and go-live",
    )
    return document


if __name__ == "__main__":  # pragma: no cover
    plan_blueprint(sys.argv[1], date.fromisoformat(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
