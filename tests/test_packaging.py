"""The package as pip installs it: every Python package of the tree listed in pyproject.toml, the example
blueprints shipped inside it (``onboarding.examples``) so that ``onboarding demo`` runs from an installed wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_every_package_of_the_tree_is_listed_for_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {
        ".".join(folder.relative_to(ROOT).parts)
        for top in ("onboarding", "onboarding_flows")
        for folder in [ROOT / top, *(ROOT / top).rglob("*")]
        if folder.is_dir() and any(folder.glob("*.py"))
    }
    assert set(config["packages"]) == found | {"onboarding.examples"}
    assert config["package-dir"] == {"onboarding.examples": "blueprints"}
    assert "*.yaml" in config["package-data"]["onboarding.examples"]


def test_installing_adds_no_generic_top_level_module() -> None:
    """The flows ship as ``onboarding_flows``: a wheel that installed a top-level ``flows`` would clash with any
    other package or script of that name."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    tops = {name.split(".")[0] for name in config["packages"]} | set(config.get("py-modules", []))
    assert tops == {"onboarding", "onboarding_flows"}
    assert "flows" not in tops
    assert not list(ROOT.glob("flows/*.py"))
    assert not (ROOT / "flows.py").exists()
