"""The package as pip installs it: every Python package of the tree listed in pyproject.toml, the example
blueprints shipped inside it (``onboarding.examples``) so that ``onboarding demo`` runs from an installed wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath

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


def test_every_template_and_data_file_of_the_package_is_in_the_wheel() -> None:
    """The web pages' templates (and the emails' and the report's) ship as package data: a file that no
    package-data pattern matches would be left out of the wheel, and its page would fail only once installed."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    patterns = config["package-data"]["onboarding"]
    package = ROOT / "onboarding"
    data = {
        path.relative_to(package).as_posix()
        for path in package.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    }
    assert {name for name in data if name.startswith("web/templates/")} >= {
        "web/templates/unsubscribe.html",
        "web/templates/unsubscribed.html",
        "web/templates/unsubscribe_refused.html",
        "web/templates/team/_layout.html",
        "web/templates/team/sign_in.html",
    }
    assert {"web/static/htmx.min.js", "web/static/team.css"} <= data
    left_out = sorted(name for name in data if not any(PurePosixPath(name).match(p) for p in patterns))
    assert left_out == ["adapters/store/migrations/script.py.mako"]  # alembic's, for writing new migrations only
