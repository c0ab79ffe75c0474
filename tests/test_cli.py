"""The command line, run for real in a subprocess from the repository root.

Bad input exits 1 with located, coded problems and no traceback; bad usage exits 2;
``plan --format json`` and ``schema`` print JSON. Validation only reads.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
EXAMPLE = "blueprints/payroll-implementation.yaml"
FIXTURES = "tests/fixtures/blueprints"
KICKOFF = "2026-12-07"


def onboarding(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "onboarding.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def no_traceback(result: subprocess.CompletedProcess[str]) -> bool:
    return "Traceback" not in result.stdout + result.stderr


def fixture(name: str) -> str:
    return f"{FIXTURES}/{name}.yaml"


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {path.name: (path.stat().st_mtime_ns, path.read_bytes()) for path in sorted(folder.iterdir())}


# -- validate ----------------------------------------------------------------------


def test_validate_the_example_exits_0() -> None:
    result = onboarding("validate", EXAMPLE, "--kickoff", KICKOFF)
    assert result.returncode == 0, result.stderr
    assert f"ok {EXAMPLE}" in result.stdout
    assert result.stderr == ""


BAD = {
    "cycle": "dependency-cycle",
    "unknown-field": "unknown-field",
    "duplicate-yaml-key": "yaml-duplicate-key",
    "unknown-role": "unknown-role",
    "yaml-syntax": "yaml-syntax",
    "python-object-tag": "yaml-unsafe-tag",
    "billion-laughs": "yaml-alias-bomb",
}


def problem_blocks(stderr: str) -> dict[str, str]:
    """The text after each ``<file>: N problems`` header, by file."""
    headers = list(re.finditer(r"^(\S+): \d+ problems?$", stderr, flags=re.MULTILINE))
    ends = [h.start() for h in headers[1:]] + [len(stderr)]
    return {h[1]: stderr[h.end() : end] for h, end in zip(headers, ends, strict=True)}


def test_validate_several_bad_files_lists_each_with_line_column_and_code() -> None:
    files = [fixture(name) for name in BAD]
    result = onboarding("validate", *files, EXAMPLE, "--kickoff", KICKOFF)
    assert result.returncode == 1
    assert no_traceback(result)
    assert f"ok {EXAMPLE}" in result.stdout  # a bad file does not stop the others
    blocks = problem_blocks(result.stderr)
    assert set(blocks) == set(files)
    for name, code in BAD.items():
        block = blocks[fixture(name)]
        assert re.match(r"\s+line \d+ col \d+ ", block), block
        assert f"[{code}]" in block, block


def test_validate_prints_each_problem_on_one_line_when_piped() -> None:
    files = [fixture(name) for name in ("cycle", "unknown-calendar", "invalid-pay-schedule")]
    result = onboarding("validate", *files)
    assert result.returncode == 1
    for line in result.stderr.splitlines():
        assert re.match(r"(\S+: \d+ problems?|  line \d+ col \d+  .*  \[[a-z0-9-]+\])$", line), line


def test_validate_reads_and_writes_nothing() -> None:
    folder = ROOT / FIXTURES
    before = snapshot(folder)
    result = onboarding("validate", *sorted(str(p.relative_to(ROOT)) for p in folder.glob("*.yaml")))
    assert result.returncode == 1
    assert no_traceback(result)
    assert snapshot(folder) == before


def test_validate_a_missing_file_exits_1() -> None:
    result = onboarding("validate", "blueprints/no-such-blueprint.yaml")
    assert result.returncode == 1
    assert "[file-not-found]" in result.stderr
    assert no_traceback(result)


def test_validate_with_a_bad_pay_schedule_exits_1() -> None:
    result = onboarding("validate", EXAMPLE, "--kickoff", KICKOFF, "--pay-schedule", "fortnightly:2026-01-02")
    assert result.returncode == 1
    assert "[invalid-pay-schedule]" in result.stderr
    assert no_traceback(result)


# -- plan --------------------------------------------------------------------------


def test_plan_with_no_safe_launch_exits_1_with_the_rejected_candidates() -> None:
    result = onboarding("plan", fixture("no-safe-launch"), "--kickoff", "2026-03-02")
    assert result.returncode == 1
    assert no_traceback(result)
    assert result.stderr.startswith(fixture("no-safe-launch"))
    assert "[no-safe-launch]" in result.stderr
    rejected = re.findall(r"^\s+(\d{4}-\d{2}-\d{2}): .*not an allowed go-live weekday", result.stderr, re.MULTILINE)
    assert len(rejected) >= 5
    assert all(date.fromisoformat(day).weekday() != 5 for day in rejected)  # no Saturday was ever a candidate


def test_plan_with_a_bad_pay_schedule_exits_1() -> None:
    result = onboarding("plan", EXAMPLE, "--kickoff", KICKOFF, "--pay-schedule", "fortnightly:2026-01-02")
    assert result.returncode == 1
    assert "[invalid-pay-schedule]" in result.stderr
    assert no_traceback(result)


def test_plan_of_a_bad_blueprint_exits_1_with_its_problems() -> None:
    result = onboarding("plan", fixture("cycle"), "--kickoff", KICKOFF)
    assert result.returncode == 1
    assert re.search(r"^  line \d+ col \d+  ", result.stderr, flags=re.MULTILINE)
    assert "[dependency-cycle]" in result.stderr
    assert no_traceback(result)


@pytest.mark.parametrize("kickoff", ["2026-13-01", "next monday", "07/12/2026"])
def test_plan_with_a_bad_kickoff_is_a_usage_error(kickoff: str) -> None:
    result = onboarding("plan", EXAMPLE, "--kickoff", kickoff)
    assert result.returncode == 2
    assert "--kickoff" in result.stderr
    assert no_traceback(result)


@pytest.mark.parametrize("kickoff", ["9999-12-31", "0001-01-02"])
def test_plan_with_a_kickoff_far_from_the_calendars_exits_1(kickoff: str) -> None:
    result = onboarding("plan", EXAMPLE, "--kickoff", kickoff)
    assert no_traceback(result), result.stderr[-400:]
    assert result.returncode == 1
    assert "[kickoff-out-of-range]" in result.stderr


def test_plan_as_json() -> None:
    result = onboarding("plan", EXAMPLE, "--kickoff", KICKOFF, "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["blueprint"] == {"key": "payroll_implementation", "version": "1.0.0"}
    assert document["kickoff_on"] == KICKOFF
    assert set(document["calendars"]) == {"vendor", "customer", "settlement"}
    assert document["calendars"]["settlement"]["market"] == "XFED"
    tasks = {task["key"]: task for task in document["tasks"]}
    assert {"kickoff_call", "first_live_check_date"} <= set(tasks)
    for task in tasks.values():
        assert date.fromisoformat(task["start_on"]) <= date.fromisoformat(task["due_on"])
        assert task["start_on"] >= KICKOFF
    assert document["milestones"][0]["key"] == "kickoff"
    go_live = document["go_live"]
    assert go_live["task"] == "first_live_check_date"
    assert go_live["kind"] == "payroll_system"
    assert date.fromisoformat(go_live["earliest_on"]) <= date.fromisoformat(go_live["chosen_on"])
    assert tasks["first_live_check_date"]["due_on"] == go_live["chosen_on"]
    assert go_live["chosen_on"] in document["pay_dates"]  # a payroll system goes live on a check date
    assert isinstance(go_live["rejected"], list)
    for rejection in go_live["rejected"]:
        assert date.fromisoformat(rejection["date"]) < date.fromisoformat(go_live["chosen_on"])
        assert rejection["reason"]
    assert document["pay_dates"] == sorted(document["pay_dates"])


def test_plan_as_a_table() -> None:
    result = onboarding("plan", EXAMPLE, "--kickoff", KICKOFF)
    assert result.returncode == 0, result.stderr
    assert "Go-live:" in result.stdout
    assert "first_live_check_date" in result.stdout


# -- schema ------------------------------------------------------------------------


def test_schema_prints_a_json_schema() -> None:
    result = onboarding("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"key", "version", "milestones"} <= set(schema["properties"])


@pytest.mark.parametrize("after", [0.05, 0.3, 0.8])
def test_ctrl_c_while_the_command_line_loads_aborts_without_a_traceback(tmp_path: Path, after: float) -> None:
    """The ``onboarding`` script (``python -m onboarding``) takes a second or two to load: Ctrl-C meanwhile ends it
    as Ctrl-C during a command does."""
    # Ctrl-C handled as in a terminal, even where this runs with SIGINT ignored (a background job); the time counted
    # from when Python has started, not from the fork: on a busy machine its own start-up alone took more than 0.05 s,
    # and an interrupt there lands before any code of the engine's runs
    start = "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    start += "print('started', flush=True); runpy.run_module('onboarding', run_name='__main__', alter_sys=True)"
    running = subprocess.Popen(
        [sys.executable, "-c", start, "status", "nothing"],
        cwd=tmp_path,  # no database here: a command that got to run says so and exits 1 as well
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert running.stdout is not None and running.stdout.readline() == "started\n"
    time.sleep(after)
    running.send_signal(signal.SIGINT)
    out, err = running.communicate(timeout=120)
    assert "Traceback" not in out + err
    assert running.returncode == 1
    assert not any(tmp_path.iterdir())  # nothing made
