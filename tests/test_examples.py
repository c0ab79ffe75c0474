"""The example blueprints end to end: valid, schema-conformant, planned exactly as their golden plans.

Rewrite the golden files with ``pytest --update-golden`` after a deliberate change,
and read the diff before committing it.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from onboarding.adapters.blueprint_files import read_blueprint
from onboarding.core.blueprint import blueprint_json_schema
from onboarding.core.payroll import parse_pay_schedule
from onboarding.core.plan_view import plan_document
from onboarding.core.planning import plan_project

ROOT = Path(__file__).parents[1]
BLUEPRINTS = sorted((ROOT / "blueprints").glob("*.yaml"))
GOLDEN = ROOT / "tests" / "golden" / "plans"
SCHEMA_FILE = ROOT / "blueprints" / "blueprint.schema.json"

# Each example is planned from fixed inputs; the pay schedule None means the blueprint's default.
PLAN_INPUTS: dict[str, list[tuple[str, str | None]]] = {
    "payroll-implementation": [("2026-12-07", "biweekly:2026-01-02"), ("2026-10-05", "semimonthly:15,last")],
    "hr-platform-beside-payroll": [("2026-12-07", None), ("2026-12-07", "biweekly:2026-01-02")],
    "saas-onboarding": [("2026-12-07", None)],
}


def golden_cases() -> list[tuple[Path, str, str | None]]:
    return [(path, kickoff, pay) for path in BLUEPRINTS for kickoff, pay in PLAN_INPUTS.get(path.stem, [])]


def test_every_example_has_plan_inputs() -> None:
    assert BLUEPRINTS
    assert {p.stem for p in BLUEPRINTS} == set(PLAN_INPUTS)


def test_committed_schema_is_current() -> None:
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == blueprint_json_schema(), "run `onboarding schema > blueprints/blueprint.schema.json`"


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda p: p.stem)
def test_example_references_the_schema_and_conforms_to_it(path: Path) -> None:
    assert path.read_text().startswith("# yaml-language-server: $schema=./blueprint.schema.json")
    # an editor sees the YAML as JSON: dates are strings there
    document = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
    jsonschema.validate(document, blueprint_json_schema(), format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize(
    ("path", "kickoff", "pay"), golden_cases(), ids=lambda v: v.stem if isinstance(v, Path) else str(v)
)
def test_example_plan_matches_golden(path: Path, kickoff: str, pay: str | None, update_golden: bool) -> None:
    from datetime import date

    bp = read_blueprint(path).blueprint
    spec = pay or bp.pay_schedule
    plan = plan_project(
        bp, kickoff_on=date.fromisoformat(kickoff), pay_schedule=parse_pay_schedule(spec) if spec else None
    )
    document = json.dumps(plan_document(plan), indent=2) + "\n"
    name = f"{path.stem}--{kickoff}--{(pay or 'default').replace(':', '_').replace(',', '_')}.json"
    golden = GOLDEN / name
    if update_golden or not golden.exists():
        if not update_golden:
            pytest.fail(f"no golden file {golden.name}; run pytest --update-golden and review it")
        golden.write_text(document)
    assert document == golden.read_text()


def test_the_format_documentation_lists_every_problem_code() -> None:
    import re

    from onboarding.errors import BLUEPRINT_CODES

    text = (ROOT / "blueprints" / "README.md").read_text().split("## Problem codes", 1)[1]
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", text, flags=re.MULTILINE))
    assert documented == set(BLUEPRINT_CODES)
