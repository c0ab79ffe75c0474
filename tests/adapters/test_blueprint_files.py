"""Reading blueprint files: each named bad input gives its codes, located, and good files load.

The fixtures in ``tests/fixtures/blueprints`` are small, realistic blueprints, each
wrong in the one way its name says (``many-problems.yaml`` in several at once).
Tests assert on codes, lines and columns, never on the wording of messages, except
where a hint has to carry a specific fact (the key it suggests, the line of the
first occurrence, the advice to quote).
"""

from __future__ import annotations

import os
import re
import threading
from datetime import date
from pathlib import Path

import pytest

from onboarding.adapters.blueprint_files import (
    FileBlueprints,
    InMemoryBlueprints,
    parse_blueprint_text,
    read_blueprint,
)
from onboarding.adapters.clock import FixedClock
from onboarding.core.calendars import supported_subdivisions
from onboarding.errors import CODES, BlueprintInvalid, NoSafeLaunch, Problem
from onboarding.services.planning import PlanningService

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "blueprints"
EXAMPLE = ROOT / "blueprints" / "payroll-implementation.yaml"
KICKOFF = date(2026, 3, 2)


def fixture(name: str) -> Path:
    return FIXTURES / f"{name}.yaml"


def problems_of(path: Path, **kwargs: int) -> tuple[Problem, ...]:
    with pytest.raises(BlueprintInvalid) as caught:
        read_blueprint(path, **kwargs)
    assert caught.value.source == str(path)
    return caught.value.problems


def problems_in(text: str | bytes, **kwargs: int) -> tuple[Problem, ...]:
    with pytest.raises(BlueprintInvalid) as caught:
        parse_blueprint_text(text, source="inline.yaml", **kwargs)
    return caught.value.problems


def codes(problems: tuple[Problem, ...]) -> list[str]:
    return [p.code for p in problems]


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the only occurrence of ``needle`` in ``text``."""
    assert text.count(needle) == 1, f"{needle!r} must occur once"
    before = text[: text.index(needle)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def located(problem: Problem) -> tuple[int | None, int | None]:
    return problem.line, problem.column


# A valid blueprint the fixtures are variations of.
VALID = """\
key: hr_onboarding
version: 1.0.0
title: HR software onboarding

roles:
  csm: {title: Customer success manager, side: vendor}
  impl_engineer: {title: Implementation engineer, side: vendor, escalation: csm}
  customer_admin: {title: HR administrator, side: customer}

calendars:
  vendor: {country: US, subdivision: CA}
  customer: {country: US, subdivision: NY}

milestones:
  - key: kickoff
    title: Kickoff
    tasks:
      - {key: kickoff_call, title: Kickoff call, owner: csm}
      - key: share_employee_data
        title: Share the employee census
        owner: customer_admin
        duration_business_days: 3
        depends_on: [kickoff_call]

  - key: setup
    title: Set-up
    tasks:
      - key: import_employees
        title: Import employee records
        owner: impl_engineer
        duration_business_days: 2
        depends_on: [share_employee_data]
      - key: go_live
        title: Go live
        owner: customer_admin
        kind: checkpoint
        first_value: true
        depends_on: [import_employees]
"""


def test_the_base_of_the_fixtures_is_valid() -> None:
    assert parse_blueprint_text(VALID, source="valid.yaml").blueprint.key == "hr_onboarding"


# -- every named fixture gives its code ------------------------------------------

BAD_FIXTURES = [
    pytest.param("cycle", ["dependency-cycle"]),
    pytest.param("unknown-dependency", ["unknown-dependency"]),
    pytest.param("duplicate-yaml-key", ["yaml-duplicate-key"]),
    pytest.param("unknown-field", ["unknown-field"]),
    pytest.param("wrong-type", ["wrong-type"]),
    pytest.param("out-of-range", ["out-of-range"]),
    pytest.param("invalid-value", ["invalid-value"]),
    pytest.param("missing-field", ["missing-field"]),
    pytest.param("duplicate-task-key", ["duplicate-key"]),
    pytest.param("unknown-role", ["unknown-role"]),
    pytest.param("unknown-milestone", ["unknown-dependency"]),
    pytest.param(
        "self-dependency",
        ["self-dependency"],
    ),
    pytest.param("checkpoint-with-duration", ["invalid-duration"]),
    pytest.param("no-launch-task", ["no-launch-task"]),
    pytest.param("multiple-launch-tasks", ["multiple-launch-tasks"]),
    pytest.param("multiple-first-value-tasks", ["multiple-first-value-tasks"]),
    pytest.param("no-first-value-task", ["no-first-value-task"]),
    pytest.param("unknown-calendar", ["unknown-calendar"]),
    pytest.param("invalid-pay-schedule", ["invalid-pay-schedule"]),
    pytest.param("invalid-prerequisite", ["invalid-prerequisite"]),
    pytest.param("unknown-prerequisite-task", ["unknown-task"]),
    pytest.param("escalation-cycle", ["escalation-cycle"]),
    pytest.param("yaml-syntax", ["yaml-syntax"]),
    pytest.param("python-object-tag", ["yaml-unsafe-tag"]),
    pytest.param("billion-laughs", ["yaml-alias-bomb"]),
    pytest.param("not-a-mapping", ["yaml-not-mapping"]),
]
# Fixtures with tests of their own below.
OTHER_FIXTURES = {"many-problems", "no-safe-launch"}


@pytest.mark.parametrize(("name", "expected"), BAD_FIXTURES)
def test_bad_fixture_gives_its_codes_with_a_line_and_a_hint(name: str, expected: list[str]) -> None:
    problems = problems_of(fixture(name))
    assert codes(problems) == expected
    for problem in problems:
        assert problem.line is not None and problem.column is not None
        assert problem.hint


def test_every_fixture_is_in_the_table_and_every_code_is_registered() -> None:
    on_disk = {path.stem for path in FIXTURES.glob("*.yaml")}
    tabled = {param.values[0] for param in BAD_FIXTURES}
    assert on_disk == tabled | OTHER_FIXTURES
    assert {code for param in BAD_FIXTURES for code in param.values[1]} <= set(CODES)


# -- hints -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("unknown-dependency", "'kickoff'"),
        ("unknown-milestone", "'kickoff'"),
        ("unknown-role", "'impl_engineer'"),
        ("unknown-field", "'duration_business_days'"),
        ("unknown-prerequisite-task", "'parallel_run'"),
    ],
)
def test_a_typo_gets_a_did_you_mean_hint(name: str, suggestion: str) -> None:
    (problem,) = problems_of(fixture(name))
    assert "did you mean" in problem.hint
    assert suggestion in problem.hint


def test_the_hint_for_kickof_names_kickoff() -> None:
    (problem,) = problems_of(fixture("unknown-dependency"))
    assert "kickof" in problem.message
    assert "'kickoff'" in problem.hint


# -- locations ---------------------------------------------------------------------


def test_unknown_field_points_at_the_key() -> None:
    path = fixture("unknown-field")
    (problem,) = problems_of(path)
    assert located(problem) == position(path.read_text(), "duration_days:")
    assert problem.loc[-1] == "duration_days"


def test_duplicate_yaml_key_points_at_the_second_occurrence_and_names_the_first() -> None:
    path = fixture("duplicate-yaml-key")
    text = path.read_text()
    (problem,) = problems_of(path)
    first_line, first_column = position(text, "duration_business_days: 2")
    assert located(problem) == position(text, "duration_business_days: 5")
    assert f"line {first_line} col {first_column}" in problem.hint


def test_wrong_type_points_at_the_value() -> None:
    path = fixture("wrong-type")
    (problem,) = problems_of(path)
    assert located(problem) == position(path.read_text(), "three")


def test_unknown_dependency_points_at_the_list_item() -> None:
    path = fixture("unknown-dependency")
    (problem,) = problems_of(path)
    assert located(problem) == position(path.read_text(), "kickof]")


def test_out_of_range_points_at_the_number() -> None:
    path = fixture("out-of-range")
    (problem,) = problems_of(path)
    assert located(problem) == position(path.read_text(), "300}")


def test_cycle_message_names_the_tasks_of_the_cycle_and_points_at_one_of_them() -> None:
    path = fixture("cycle")
    text = path.read_text()
    (problem,) = problems_of(path)
    match = re.search(r"(\w+) -> (\w+) -> \1", problem.message)
    assert match is not None
    assert {match[1], match[2]} == {"import_employees", "validate_employees"}
    assert problem.line == position(text, f"key: {match[1]}")[0]


SEVERAL_MEANING_PROBLEMS = """\
key: hr_onboarding
version: 1.0.0
title: HR software onboarding
ttfv: {target_calendar_days: 30}
roles:
  csm: {title: Customer success manager, side: vendor}
  impl_engineer: {title: Implementation engineer, side: vendor, escalation: csm}
  customer_admin: {title: HR administrator, side: customer}
milestones:
  - key: setup
    title: Set-up
    tasks:
      - {key: kickoff, title: Kickoff call, owner: csm}
      - {key: import_employees, title: Import employees, owner: engineer, depends_on: [kickof]}
      - {key: validate_employees, title: Validate, owner: customer_admin, depends_on: [import_employees, review]}
      - {key: review, title: Review, owner: customer_admin, depends_on: [validate_employees]}
calendars:
  vendor: {country: US, subdivision: CA}
  customer: {country: US, subdivision: XX}
"""


def test_every_problem_of_meaning_is_reported_at_once_sorted_by_line() -> None:
    problems = problems_in(SEVERAL_MEANING_PROBLEMS)
    assert set(codes(problems)) == {
        "no-first-value-task",
        "unknown-role",
        "unknown-dependency",
        "dependency-cycle",
        "unknown-calendar",
    }
    assert all(p.line is not None for p in problems)
    lines = [p.line or 0 for p in problems]
    assert lines == sorted(lines)
    # the checks find the ttfv problem late and the calendar one last; sorting puts them in file order
    assert problems[0].code == "no-first-value-task"
    assert problems[-1].code == "unknown-calendar"


# -- many problems at once ---------------------------------------------------------


def test_many_problems_is_refused() -> None:
    assert "yaml-duplicate-key" in codes(problems_of(fixture("many-problems")))


def test_many_problems_reports_all_its_problems_at_once() -> None:
    problems = problems_of(fixture("many-problems"))
    assert {
        "yaml-duplicate-key",
        "unknown-field",
        "unknown-dependency",
        "dependency-cycle",
        "unknown-role",
    } <= set(codes(problems))
    (typo,) = (p for p in problems if p.code == "unknown-field")
    assert "titel" in typo.message and "'title'" in typo.hint
    (dependency,) = (p for p in problems if p.code == "unknown-dependency")
    assert "'kickoff'" in dependency.hint


# -- reading the file ----------------------------------------------------------------


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(EXAMPLE.read_text() + "# padding\n" * 400)
    assert codes(problems_of(path, max_bytes=2048)) == ["file-too-large"]
    assert codes(problems_in(path.read_bytes(), max_bytes=2048)) == ["file-too-large"]
    assert read_blueprint(EXAMPLE, max_bytes=EXAMPLE.stat().st_size).source == str(EXAMPLE)


def test_a_file_that_never_ends_is_read_only_to_the_limit() -> None:
    # a device (or a pipe, /proc) gives no size to check first: reading stops one byte past the limit
    assert codes(problems_of(Path("/dev/zero"), max_bytes=2048)) == ["file-too-large"]


def test_a_pipe_is_read_to_its_end_within_the_limit(tmp_path: Path) -> None:
    pipe = tmp_path / "blueprint.yaml"
    os.mkfifo(pipe)
    writer = threading.Thread(target=lambda: pipe.write_bytes(EXAMPLE.read_bytes()))
    writer.start()
    try:
        assert read_blueprint(pipe).blueprint.key == read_blueprint(EXAMPLE).blueprint.key
    finally:
        writer.join()


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a [[x, [*a]]]\n"])
def test_an_alias_inside_its_own_anchor_is_refused(text: str) -> None:
    assert codes(problems_in(text.encode())) == ["yaml-alias-bomb"]


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    assert codes(problems_of(tmp_path / "nowhere.yaml")) == ["file-not-found"]


def test_a_folder_is_file_not_found(tmp_path: Path) -> None:
    assert codes(problems_of(tmp_path)) == ["file-not-found"]


def test_a_folder_is_file_not_found_whatever_the_limit(tmp_path: Path) -> None:
    for name in range(50):  # a folder with some size on any file system
        (tmp_path / f"blueprint-{name:02}.yaml").write_text("")
    limit = tmp_path.stat().st_size - 1
    assert limit > 0
    assert codes(problems_of(tmp_path, max_bytes=limit)) == ["file-not-found"]


def test_bytes_that_are_not_utf8_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(EXAMPLE.read_text().replace("Payroll system implementation", "Paie café").encode("latin-1"))
    assert codes(problems_of(path)) == ["not-utf8"]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.read_bytes())
    assert read_blueprint(path).blueprint.key == "payroll_implementation"


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"])
def test_an_empty_file_is_not_a_mapping(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(content)
    assert codes(problems_of(path)) == ["yaml-not-mapping"]


def test_an_object_tag_is_never_built(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = VALID.replace("title: HR software onboarding", f'title: !!python/object/apply:os.system ["touch {marker}"]')
    assert "yaml-unsafe-tag" in codes(problems_in(text))
    assert not marker.exists()


# -- YAML's surprises ----------------------------------------------------------------

NORWAY = VALID.replace("customer: {country: US, subdivision: NY}", "customer: {country: NO}")


def test_unquoted_norway_is_a_wrong_type() -> None:
    (problem,) = problems_in(NORWAY)
    assert problem.code == "wrong-type"
    assert problem.loc == ("calendars", "customer", "country")


def test_unquoted_norway_hint_says_to_quote_it() -> None:
    (problem,) = problems_in(NORWAY)
    assert "quote" in problem.hint


def test_a_version_read_as_a_number_hint_says_to_quote_it() -> None:
    text = EXAMPLE.read_text().replace("version: 1.0.0", "version: 1.0")
    (problem,) = problems_in(text)
    assert problem.code == "wrong-type"
    assert "quote" in problem.hint


# -- good files ----------------------------------------------------------------------


def test_the_payroll_example_loads() -> None:
    loaded = read_blueprint(EXAMPLE)
    assert loaded.source == str(EXAMPLE)
    blueprint = loaded.blueprint
    assert (blueprint.key, blueprint.version) == ("payroll_implementation", "1.0.0")
    assert [m.key for m in blueprint.milestones][:2] == ["kickoff", "discovery"]
    assert blueprint.launch_window is not None and blueprint.launch_window.kind == "payroll_system"


MERGED = """\
key: hr_onboarding
version: 1.0.0
title: HR software onboarding
roles:
  csm: {title: Customer success manager, side: vendor}
  impl_engineer: {title: Implementation engineer, side: vendor, escalation: csm}
calendars:
  vendor: {country: US}
  customer: {country: US}
milestones:
  - key: setup
    title: Set-up
    tasks:
      - {key: kickoff_call, title: Kickoff call, owner: csm}
      - &engineering
        key: import_employees
        title: Import employee records
        owner: impl_engineer
        duration_business_days: 3
        customer_visible: false
        depends_on: [kickoff_call]
      - <<: *engineering
        key: configure_sso
        title: Configure single sign-on
        duration_business_days: 2
"""


def test_merge_keys_fill_a_tasks_repeated_fields() -> None:
    tasks = {t.key: t for t in parse_blueprint_text(MERGED, source="merged.yaml").blueprint.milestones[0].tasks}
    sso = tasks["configure_sso"]
    assert (sso.title, sso.duration_business_days) == ("Configure single sign-on", 2)  # own fields win
    assert (sso.owner, sso.customer_visible) == ("impl_engineer", False)  # the rest is merged
    assert [d.task for d in sso.depends_on] == ["kickoff_call"]
    assert tasks["import_employees"].duration_business_days == 3


def test_a_repeated_key_inside_a_merged_anchor_is_reported_once() -> None:
    text = MERGED.replace(
        "        duration_business_days: 3\n", "        duration_business_days: 3\n        duration_business_days: 4\n"
    )
    assert codes(problems_in(text)) == ["yaml-duplicate-key"]


# -- the in-memory twin ----------------------------------------------------------------


def test_in_memory_blueprints_load_like_files() -> None:
    source = InMemoryBlueprints({"payroll": EXAMPLE.read_text(), "cycle": fixture("cycle").read_text()})
    assert source.load("payroll").blueprint == read_blueprint(EXAMPLE).blueprint
    with pytest.raises(BlueprintInvalid) as caught:
        source.load("cycle")
    assert caught.value.codes == ["dependency-cycle"]
    assert caught.value.source == "cycle"


def test_in_memory_blueprints_missing_name_is_file_not_found() -> None:
    with pytest.raises(BlueprintInvalid) as caught:
        InMemoryBlueprints({"payroll": EXAMPLE.read_text()}).load("payrol")
    assert caught.value.codes == ["file-not-found"]
    assert "payroll" in caught.value.problems[0].hint


def test_in_memory_size_limit_counts_bytes() -> None:
    text = EXAMPLE.read_text().replace("Payroll system implementation", "é" * 2000)
    limit = len(text) + 1000  # fits in characters, not in UTF-8 bytes
    assert len(text.encode()) > limit
    with pytest.raises(BlueprintInvalid) as caught:
        InMemoryBlueprints({"big": text}, max_bytes=limit).load("big")
    assert caught.value.codes == ["file-too-large"]


# -- planning what loads -----------------------------------------------------------------


def test_no_safe_launch_fixture_loads_but_cannot_be_planned() -> None:
    path = fixture("no-safe-launch")
    assert read_blueprint(path).blueprint.launch_window is not None
    service = PlanningService(blueprints=FileBlueprints(), clock=FixedClock(KICKOFF))
    with pytest.raises(NoSafeLaunch) as caught:
        service.plan(str(path), kickoff_on=KICKOFF)
    (problem,) = caught.value.problems
    assert problem.code == "no-safe-launch"
    assert problem.detail  # the rejected candidates, one line each
    assert all(re.match(r"\d{4}-\d{2}-\d{2}: ", line) for line in problem.detail if not line.startswith("..."))
    assert caught.value.source == str(path)


def test_validate_tries_a_plan_and_reports_no_safe_launch() -> None:
    service = PlanningService(blueprints=FileBlueprints(), clock=FixedClock(KICKOFF))
    (bad, good) = service.validate([str(fixture("no-safe-launch")), str(EXAMPLE)])
    assert not bad.ok and bad.error is not None and bad.error.codes == ["no-safe-launch"]
    assert good.ok and good.loaded is not None


# -- messages that point the wrong way ---------------------------------------------------


def test_an_unknown_country_is_reported_once() -> None:
    text = VALID.replace("customer: {country: US, subdivision: NY}", "customer: {country: XX}")
    problems = [p for p in problems_in(text) if p.code == "unknown-calendar"]
    assert [p.loc for p in problems] == [("calendars", "customer", "country")]


def test_a_dependency_on_the_own_milestone_is_not_also_a_cycle() -> None:
    text = VALID.replace("depends_on: [share_employee_data]", "depends_on: [share_employee_data, {milestone: setup}]")
    assert codes(problems_in(text)) == ["self-dependency"]


def test_the_unknown_subdivision_hint_does_not_cut_the_list_silently() -> None:
    (problem,) = problems_of(fixture("unknown-calendar"))
    known = supported_subdivisions("US")
    assert all(code in problem.hint for code in known) or re.search(r"\d+ more|\.\.\.|…", problem.hint)


def test_a_yaml_syntax_error_names_where_the_unclosed_mapping_opened() -> None:
    path = fixture("yaml-syntax")
    (problem,) = problems_of(path)
    opened_line, _ = position(path.read_text(), "{key: kickoff_call")
    assert problem.line == opened_line or f"line {opened_line}" in problem.message + problem.hint


def test_a_title_or_version_longer_than_the_engine_keeps_is_out_of_range() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    version = next(line for line in text.splitlines() if line.startswith("version:"))
    longer = text.replace(title, f"title: {'T' * 201}", 1).replace(version, f"version: 1.0.0-{'a' * 40}", 1)
    problems = problems_in(longer.encode())
    assert sorted(p.code for p in problems) == ["out-of-range", "out-of-range"]
    assert {p.loc for p in problems} == {("title",), ("version",)}
