"""The diff of two blueprint versions: what is compared, how changes are named, and its two properties."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from onboarding.core.blueprint import Blueprint
from onboarding.core.blueprint_diff import ChangeKind, Part, diff_blueprints, diff_document
from onboarding.core.checks import check_blueprint
from tests.conftest import blueprint_data

ROOT = Path(__file__).parents[2]


def small(**extra: Any) -> dict[str, Any]:
    return blueprint_data(
        [
            {"key": "kickoff", "title": "Kickoff", "owner": "csm"},
            {
                "key": "setup",
                "title": "Set up",
                "owner": "engineer",
                "duration_business_days": 3,
                "depends_on": ["kickoff"],
            },
            {"key": "review", "title": "Review", "owner": "admin", "depends_on": [{"task": "setup", "type": "FF"}]},
        ],
        **extra,
    )


def bp(data: dict[str, Any]) -> Blueprint:
    return check_blueprint(data)


def tasks_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = data["milestones"][0]["tasks"]
    return tasks


def summary(a: dict[str, Any], b: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c.part.value, c.key, c.kind.value) for c in diff_blueprints(bp(a), bp(b)).changes}


def test_a_blueprint_compared_with_itself_has_no_changes() -> None:
    payroll = yaml.safe_load((ROOT / "blueprints" / "payroll-implementation.yaml").read_text())
    assert diff_blueprints(bp(payroll), bp(payroll)).empty


def test_defaults_written_out_are_no_change() -> None:
    a = small()
    b = copy.deepcopy(a)
    tasks_of(b)[0].update(kind="human", duration_business_days=1, customer_visible=True)
    tasks_of(b)[1]["depends_on"] = [{"task": "kickoff", "type": "FS", "lag_business_days": 0}]
    assert diff_blueprints(bp(a), bp(b)).empty


def test_tasks_added_removed_and_changed_field_by_field() -> None:
    a = small()
    b = copy.deepcopy(a)
    b["version"] = "1.1.0"
    tasks_of(b)[1].update(duration_business_days=5, owner="csm", title="Set up the tenant")
    tasks_of(b)[2]["customer_visible"] = False
    tasks_of(b).append({"key": "go_live", "title": "Go live", "owner": "csm", "depends_on": ["review"]})
    del tasks_of(b)[0]
    tasks_of(b)[0]["depends_on"] = []
    diff = diff_blueprints(bp(a), bp(b))
    assert (diff.key, diff.from_version, diff.to_version) == ("test_blueprint", "1.0.0", "1.1.0")
    tasks = {c.key: c for c in diff.of(Part.task)}
    assert {k: c.kind for k, c in tasks.items()} == {
        "go_live": ChangeKind.added,
        "kickoff": ChangeKind.removed,
        "setup": ChangeKind.changed,
        "review": ChangeKind.changed,
    }
    setup = {f.field: (f.before, f.after) for f in tasks["setup"].fields}
    assert setup == {
        "title": ("Set up", "Set up the tenant"),
        "owner": ("engineer", "csm"),
        "duration_business_days": (3, 5),
    }
    assert [(f.field, f.before, f.after) for f in tasks["review"].fields] == [("customer_visible", True, False)]
    assert tasks["go_live"].after["milestone"] == "work"


def test_a_calendar_follows_its_owner_side() -> None:
    a = small()
    b = copy.deepcopy(a)
    tasks_of(b)[1]["owner"] = "admin"  # a customer-side role: the customer's calendar
    (change,) = diff_blueprints(bp(a), bp(b)).of(Part.task)
    assert {f.field: (f.before, f.after) for f in change.fields} == {
        "owner": ("engineer", "admin"),
        "calendar": ("vendor", "customer"),
    }


def test_dependencies_added_removed_and_changed_in_type_and_lag() -> None:
    a = small()
    b = copy.deepcopy(a)
    tasks_of(b)[1]["depends_on"] = []
    tasks_of(b)[2]["depends_on"] = [{"task": "setup", "type": "SS", "lag_business_days": 2}, "kickoff"]
    deps = {c.key: c for c in diff_blueprints(bp(a), bp(b)).of(Part.dependency)}
    assert {k: c.kind for k, c in deps.items()} == {
        "setup <- kickoff": ChangeKind.removed,
        "review <- setup": ChangeKind.changed,
        "review <- kickoff": ChangeKind.added,
    }
    assert [(f.field, f.before, f.after) for f in deps["review <- setup"].fields] == [
        ("type", "FF", "SS"),
        ("lag_business_days", 0, 2),
    ]


def test_milestone_dependencies_and_milestones() -> None:
    milestones = [
        {"key": "start", "title": "Start", "tasks": [{"key": "kickoff", "title": "Kickoff", "owner": "csm"}]},
        {"key": "build", "title": "Build", "tasks": [{"key": "setup", "title": "Set up", "owner": "engineer"}]},
    ]
    a = blueprint_data([], milestones=milestones)
    b = copy.deepcopy(a)
    b["milestones"][1]["title"] = "Build it"
    b["milestones"][1]["customer_visible"] = False
    b["milestones"][1]["tasks"][0]["depends_on"] = [{"milestone": "start", "lag_business_days": -1}]
    b["milestones"].append({"key": "live", "title": "Live", "tasks": [{"key": "go", "title": "Go", "owner": "csm"}]})
    diff = diff_blueprints(bp(a), bp(b))
    assert [(c.key, c.kind) for c in diff.of(Part.milestone)] == [
        ("build", ChangeKind.changed),
        ("live", ChangeKind.added),
    ]
    assert [(c.key, c.kind, c.after) for c in diff.of(Part.dependency)] == [
        ("setup <- milestone start", ChangeKind.added, {"type": "FS", "lag_business_days": -1})
    ]


def test_launch_window_calendars_and_settings() -> None:
    payroll = yaml.safe_load((ROOT / "blueprints" / "payroll-implementation.yaml").read_text())
    changed = copy.deepcopy(payroll)
    window = changed["launch_window"]
    window["accept"] = "year_start"
    window["blackouts"].append({"reason": "quarter end", "quarter_end_banking_days_before": 3})
    window["prerequisites"][0]["banking_days_before"] = 12
    changed["calendars"]["customer"]["subdivision"] = "CA"
    changed["pay_schedule"] = "semimonthly:15,last"
    changed["nudges"] = {**changed.get("nudges", {}), "daily_cap_per_recipient": 3}
    diff = diff_blueprints(bp(payroll), bp(changed))
    assert {(c.key, c.kind) for c in diff.of(Part.launch_window)} == {
        ("launch_window.accept", ChangeKind.changed),
        ("launch_window.blackouts[quarter end]", ChangeKind.added),
        ("launch_window.prerequisites[employer_bank_verification].banking_days_before", ChangeKind.changed),
    }
    (calendar,) = diff.of(Part.calendar)
    assert (calendar.key, calendar.before, calendar.after) == ("calendars.customer.subdivision", "TX", "CA")
    assert {c.key for c in diff.of(Part.setting)} == {"pay_schedule", "nudges.daily_cap_per_recipient"}


def test_a_launch_window_of_another_kind_is_one_change() -> None:
    a = small()
    tasks_of(a)[2]["launch"] = True
    b = copy.deepcopy(a)
    a["launch_window"] = {"kind": "beside_payroll"}
    b["launch_window"] = {"kind": "payroll_system", "accept": "any_check_date"}
    (change,) = diff_blueprints(bp(a), bp(b)).of(Part.launch_window)
    assert (change.key, change.kind) == ("launch_window", ChangeKind.changed)
    c = copy.deepcopy(a)
    del c["launch_window"]
    (removed,) = diff_blueprints(bp(a), bp(c)).of(Part.launch_window)
    assert removed.kind is ChangeKind.removed and removed.before["kind"] == "beside_payroll"


def test_the_document_counts_and_lists_every_change() -> None:
    a = small()
    b = copy.deepcopy(a)
    b["version"] = "2.0.0"
    b["title"] = "Renamed"
    tasks_of(b)[0]["title"] = "Kick-off"
    document = diff_document(diff_blueprints(bp(a), bp(b)))
    assert document["counts"] == {"added": 0, "removed": 0, "changed": 2}
    assert [(c["part"], c["key"]) for c in document["changes"]] == [("task", "kickoff"), ("setting", "title")]
    assert document["changes"][0]["fields"] == [{"field": "title", "before": "Kickoff", "after": "Kick-off"}]


# -- properties ----------------------------------------------------------------------------

edits = st.fixed_dictionaries(
    {
        "durations": st.lists(st.integers(1, 9), min_size=3, max_size=3),
        "owners": st.lists(st.sampled_from(["csm", "engineer", "admin"]), min_size=3, max_size=3),
        "drop_last": st.booleans(),
        "extra": st.booleans(),
        "dep_type": st.sampled_from(["FS", "SS", "FF", "SF"]),
        "lag": st.integers(-3, 3),
        "weekly": st.booleans(),
        "country": st.sampled_from(["US", "GB"]),
    }
)


def edited(e: dict[str, Any]) -> Blueprint:
    data = small()
    for task, duration, owner in zip(tasks_of(data), e["durations"], e["owners"], strict=True):
        task["duration_business_days"] = duration
        task["owner"] = owner
    tasks_of(data)[2]["depends_on"] = [{"task": "setup", "type": e["dep_type"], "lag_business_days": e["lag"]}]
    if e["drop_last"]:
        tasks_of(data).pop()
    if e["extra"]:
        tasks_of(data).append({"key": "extra", "title": "Extra", "owner": "csm", "depends_on": ["kickoff"]})
    if not e["weekly"]:
        data["status_emails"] = {"weekly_digest": None}
    data["calendars"]["customer"] = {"country": e["country"]}
    return bp(data)


@settings(max_examples=60, deadline=None)
@given(edits, edits)
def test_a_diff_mirrors_the_diff_the_other_way(one: dict[str, Any], other: dict[str, Any]) -> None:
    a, b = edited(one), edited(other)
    assert diff_blueprints(a, a).empty
    assert diff_blueprints(b, a) == diff_blueprints(a, b).mirrored()
    assert diff_blueprints(a, b).empty == (a == b)
