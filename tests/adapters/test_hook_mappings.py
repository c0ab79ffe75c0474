"""Hook mapping files: the safe YAML loader's refusals and every problem at its line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from onboarding.adapters.hook_mappings import YamlMappings
from onboarding.errors import HookMappingInvalid

DOCS = Path(__file__).parents[2] / "docs" / "hooks"


@pytest.mark.parametrize("name", ["hubspot-deal.yaml", "salesforce-opportunity.yaml"])
def test_the_documented_examples_are_valid(name: str) -> None:
    mapping = YamlMappings().parse((DOCS / name).read_text(encoding="utf-8"), source=name)
    assert {"csm", "customer_sponsor", "implementation_manager"} <= set(mapping.bindings)


def problems(text: str) -> set[tuple[str, str, int | None, int | None]]:
    with pytest.raises(HookMappingInvalid) as caught:
        YamlMappings().parse(text, source="m.yaml")
    assert str(caught.value).startswith("m.yaml: ")
    return {(p.code, ".".join(map(str, p.loc)), p.line, p.column) for p in caught.value.problems}


def test_problems_carry_their_line_and_column() -> None:
    text = """\
blueprint: payroll_implementation
customer: {path: dealname}
kickoff: {path: "kickoff..date"}
external_id: {path: hs_object_id}
bindings:
  csm:
    email: {path: owner_email}
    time_zone: {path: owner.tz, default: America/Chicago}
  Payroll Admin: {email: lee@acme.example}
"""
    assert problems(text) == {
        ("invalid-path", "kickoff.path", 3, 17),
        ("invalid-value", "bindings.Payroll Admin", 9, 18),
    }


def test_unknown_fields_and_missing_ones() -> None:
    text = "blueprint: x\ncustomer: {pth: dealname}\nkickoff: today\nbindings: {}\n"
    found = {(code, loc) for code, loc, _line, _col in problems(text)}
    assert found == {
        ("unknown-field", "customer.pth"),
        ("missing-field", "external_id"),
        ("out-of-range", "bindings"),
    }


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("blueprint: [unclosed\n", "yaml-syntax"),
        ("- a list\n", "yaml-not-mapping"),
        ("", "yaml-not-mapping"),
        ("blueprint: !!python/object:os.system x\n", "yaml-unsafe-tag"),
        ("blueprint: a\nblueprint: b\n", "yaml-duplicate-key"),
    ],
)
def test_what_the_loader_refuses(text: str, code: str) -> None:
    assert code in {c for c, *_ in problems(text)}
