"""The plan as a plain document: what ``onboarding plan --format json`` prints.

Every date is an ISO string; milestone dependencies appear expanded to tasks.
Not here: terminal tables (the CLI).
"""

from __future__ import annotations

from typing import Any

from onboarding.core.planning import Plan


def plan_document(plan: Plan) -> dict[str, Any]:
    graph = plan.graph
    go_live = plan.go_live
    return {
        "blueprint": {"key": plan.blueprint_key, "version": plan.blueprint_version},
        "kickoff_on": plan.kickoff_on.isoformat(),
        "finish_on": plan.finish_on.isoformat(),
        "pay_schedule": plan.pay_schedule.spec() if plan.pay_schedule else None,
        "calendars": {
            name.value: {
                "country": key.country,
                "subdivision": key.subdivision,
                "market": key.market,
                "closed_days": [day.isoformat() for day, _reason in key.closed_days],
            }
            for name, key in plan.calendars.items()
        },
        "tasks": [
            {
                "key": t.task.key,
                "title": t.task.title,
                "milestone": t.task.milestone,
                "owner": t.task.owner,
                "side": t.task.side,
                "calendar": t.task.calendar.value,
                "kind": t.task.kind.value,
                "duration_business_days": t.task.duration_business_days,
                "customer_visible": t.task.customer_visible,
                "first_value": t.task.first_value,
                "launch": t.task.launch,
                "depends_on": [
                    {"task": e.predecessor, "type": e.type.value, "lag_business_days": e.lag_business_days}
                    | ({"via_milestone": e.milestone} if e.milestone else {})
                    for e in graph.predecessors[t.task.key]
                ],
                "start_on": t.start_on.isoformat(),
                "due_on": t.due_on.isoformat(),
                "late_start_on": t.late_start_on.isoformat(),
                "late_due_on": t.late_due_on.isoformat(),
                "slack_business_days": t.slack_business_days,
                "critical": t.critical,
            }
            for t in plan.tasks
        ],
        "milestones": [
            {"key": m.key, "title": m.title, "start_on": m.start_on.isoformat(), "due_on": m.due_on.isoformat()}
            for m in plan.milestones
        ],
        "go_live": None
        if go_live is None
        else {
            "task": go_live.task,
            "kind": go_live.kind,
            "earliest_on": go_live.earliest_on.isoformat(),
            "chosen_on": go_live.chosen_on.isoformat(),
            "reason": go_live.reason,
            "horizon_on": go_live.horizon_on.isoformat() if go_live.horizon_on else None,
            "check_date_class": go_live.check_date_class,
            "pinned": {task: day.isoformat() for task, day in sorted(go_live.pins.items())},
            "deadlines": {task: day.isoformat() for task, day in sorted(go_live.deadlines.items())},
            "balance_conversion_needed": go_live.balance_conversion_needed,
            "rejected": [
                {"date": r.on.isoformat(), "reason": r.reason}
                | ({"scheduled_on": r.scheduled_on.isoformat()} if r.scheduled_on else {})
                for r in go_live.rejected
            ],
        },
        "pay_dates": [p.paid_on.isoformat() for p in plan.pay_dates],
        "warnings": list(plan.warnings),
    }
