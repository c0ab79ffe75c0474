"""`onboarding hook add | list | remove | test`: a source checked before it is stored, never its secret shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from onboarding.cli import main
from tests.crm import HUBSPOT_MAPPING, HUBSPOT_SECRET, body_of, hubspot_deal


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "a-secret-key-long-enough-for-the-settings-0123456789")
    (tmp_path / "hubspot.yaml").write_text(HUBSPOT_MAPPING, encoding="utf-8")
    (tmp_path / "deal.json").write_bytes(body_of(hubspot_deal()))
    (tmp_path / "bad.yaml").write_text("customr: {path: dealname}\nkickoff: {path: a..b}\n", encoding="utf-8")
    assert run("db", "upgrade")[0] == 0  # hook commands, like api-key, use a database and do not make one
    return tmp_path


def run(*args: str, given: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=given)
    return result.exit_code, result.stdout, result.stderr


def test_add_list_test_and_remove_a_source(folder: Path) -> None:
    code, out, err = run(
        "hook", "add", "hubspot", "--scheme", "hubspot", "--secret", HUBSPOT_SECRET,
        "--mapping", str(folder / "hubspot.yaml"), "--public-url", "https://onboarding.example.com",
    )  # fmt: skip
    assert code == 0, err
    assert "POST https://onboarding.example.com/hooks/launch/hubspot" in out
    code, out, _ = run("hook", "list")
    assert code == 0 and "hubspot" in out and HUBSPOT_SECRET not in out
    code, out, _ = run("hook", "list", "--format", "json")
    assert json.loads(out)[0]["scheme"] == "hubspot" and HUBSPOT_SECRET not in out
    code, out, err = run("hook", "test", "hubspot", str(folder / "deal.json"), "--format", "json")
    assert code == 0, err
    mapped = json.loads(out)
    assert mapped["external_id"] == "hubspot-deal-9876"
    assert mapped["bindings"]["csm"] == {
        "name": "Dana Ruiz",
        "email": "dana@vendor.example",
        "time_zone": "America/Los_Angeles",
    }
    code, out, _ = run("list")
    assert "Acme" not in out  # a dry run launches nothing
    code, _, err = run("hook", "add", "hubspot", "--secret", HUBSPOT_SECRET, "--mapping", str(folder / "hubspot.yaml"))
    assert code == 1 and "[hook-source-exists]" in err
    code, out, _ = run(
        "hook", "add", "hubspot", "--secret", "-", "--mapping", str(folder / "hubspot.yaml"), "--replace",
        given="another-secret-0123456789\n",
    )  # fmt: skip
    assert code == 0 and out.startswith("replaced hubspot (generic")
    assert run("hook", "remove", "hubspot")[0] == 0
    code, _, err = run("hook", "remove", "hubspot")
    assert code == 1 and "[hook-source-not-found]" in err


def test_a_bad_mapping_is_refused_with_every_problem_and_nothing_stored(folder: Path) -> None:
    code, _out, err = run("hook", "add", "crm", "--secret", "s" * 20, "--mapping", str(folder / "bad.yaml"))
    assert code == 1 and "Traceback" not in err
    assert err.startswith(f"{folder / 'bad.yaml'}: ")
    for expected in ("[unknown-field]", "[missing-field]", "line 1 col 1"):
        assert expected in err
    code, _, err = run("hook", "add", "crm", "--secret", "s" * 20, "--mapping", str(folder / "missing.yaml"))
    assert code == 1 and "[file-not-found]" in err
    assert "crm" not in run("hook", "list")[1]


def test_a_mapping_or_payload_that_never_ends_is_read_only_to_the_limit(folder: Path) -> None:
    code, _out, err = run("hook", "add", "crm", "--secret", "s" * 20, "--mapping", "/dev/zero")
    assert code == 1 and "[file-too-large]" in err and "Traceback" not in err
    assert "crm" not in run("hook", "list")[1]
    assert run("hook", "add", "hubspot", "--secret", HUBSPOT_SECRET, "--mapping", str(folder / "hubspot.yaml"))[0] == 0
    code, _out, err = run("hook", "test", "hubspot", "-", given="[" * (1024 * 1024 + 1))
    assert code == 1 and "[file-too-large]" in err


def test_a_secret_that_never_ends_is_read_only_to_the_limit(folder: Path) -> None:
    code, _out, err = run(
        "hook", "add", "crm", "--secret", "-", "--mapping", str(folder / "hubspot.yaml"), given="s" * (1024 * 1024 + 1)
    )
    assert code == 1 and "[file-too-large]" in err and "secret" in err
    assert "crm" not in run("hook", "list")[1]
