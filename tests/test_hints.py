"""The engine's problems say what to change in words every edge can use: no hint or message made below the edges
(core, services, adapters, errors) names a command-line option or command. The CLI adds its own words per code
(``cli/edge.py``), the HTTP API its own (``web/problems.py``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from onboarding.cli.edge import _CLI_FIX
from onboarding.errors import CODES
from onboarding.web.problems import API_FIX

ROOT = Path(__file__).parents[1]
BELOW_THE_EDGES = ("onboarding/core", "onboarding/services", "onboarding/adapters", "onboarding/errors.py")
# an option (--on), a command in backticks (`onboarding list`) or with its argument (onboarding resume PROJECT)
CLI_WORDS = re.compile(
    r"(?<![\w-])--[a-z]|\bonboarding (?:[a-z-]+ )*[a-z-]+`|`onboarding |\bonboarding [a-z]+ [A-Z]+\b"
)


def _sources() -> list[Path]:
    found: list[Path] = []
    for name in BELOW_THE_EDGES:
        path = ROOT / name
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [p for p in found if "migrations" not in p.parts]


def _problem_texts(path: Path) -> list[tuple[int, str]]:
    """The text given to each ``Problem(...)`` (and the error codes' titles) in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    texts: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
            "Problem",
            "_refused",
        ):
            texts += [
                (sub.lineno, sub.value)
                for sub in ast.walk(node)
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str)
            ]
    return texts


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_problem_below_the_edges_names_a_command_line_option(path: Path) -> None:
    said = [f"{path.name}:{line}: {text!r}" for line, text in _problem_texts(path) if CLI_WORDS.search(text)]
    assert said == []


def test_no_code_title_names_a_command_line_option() -> None:
    assert [title for title in CODES.values() if CLI_WORDS.search(title)] == []


def test_each_edge_words_fixes_only_for_codes_that_exist() -> None:
    assert set(_CLI_FIX) <= set(CODES)
    assert set(API_FIX) <= set(CODES)
    assert not [fix for fix in API_FIX.values() if CLI_WORDS.search(fix)]
