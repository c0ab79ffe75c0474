"""``onboarding webhook add | list | remove``, and webhook messages in ``onboarding outbox``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from onboarding.cli import main
from onboarding.core.webhook_events import new_secret, secret_key
from tests.test_outbox_cli import engine, launch

__all__ = ["engine"]  # the CLI's own database, in a fresh data folder


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def added(engine: Engine) -> Iterator[dict[str, object]]:
    code, out, err = run(
        "webhook", "add", "https://crm.example/hooks", "--events", "project.launched,task.stuck", "--format", "json"
    )
    assert code == 0, err
    yield json.loads(out)


def test_add_makes_a_secret_shown_once_and_list_never_shows_it(added: dict[str, object]) -> None:
    secret = str(added["secret"])
    assert secret_key(secret) is not None and len(secret_key(secret) or b"") == 32
    assert added["url"] == "https://crm.example/hooks" and added["events"] == ["project.launched", "task.stuck"]
    code, out, _ = run("webhook", "list", "--format", "json")
    assert code == 0 and secret not in out
    assert [(e["id"], e["removed"]) for e in json.loads(out)] == [(added["id"], False)]
    code, out, _ = run("webhook", "list")
    assert code == 0 and "https://crm.example/hooks" in out and "1 endpoint(s)" in out and secret not in out


def test_add_in_text_prints_the_secret_alone_on_stdout_and_a_given_secret_not_at_all(engine: Engine) -> None:
    code, out, err = run("webhook", "add", "http://127.0.0.1:9000/h", "--events", "project.live")
    assert code == 0, err
    first, made = out.splitlines()
    assert first.startswith("webhook ") and made.startswith("whsec_") and "shown this once" in err
    given = new_secret(b"g" * 32)
    code, out, err = run("webhook", "add", "https://x.example/h", "--events", "project.live", "--secret", given)
    assert code == 0 and given not in out + err and len(out.splitlines()) == 1


def test_bad_subscriptions_are_refused_with_every_problem_and_nothing_stored(engine: Engine) -> None:
    code, _, err = run("webhook", "add", "ftp://crm.example/h", "--events", "task.complete,task.stuck")
    assert code == 1
    assert "[invalid-webhook-url]" in err and "[unknown-webhook-event]" in err
    assert "did you mean 'task.completed'?" in err and "Traceback" not in err
    code, _, err = run("webhook", "add", "https://crm.example/h", "--events", "task.stuck", "--secret", "hunter2")
    assert code == 1 and "[invalid-webhook-secret]" in err
    assert json.loads(run("webhook", "list", "--format", "json")[1]) == []
    assert run("webhook", "add", "https://crm.example/h")[0] == 2  # --events is required: a usage error


def test_remove_keeps_the_endpoint_listed_with_all_and_an_unknown_id_is_an_error(added: dict[str, object]) -> None:
    code, out, _ = run("webhook", "remove", str(added["id"]))
    assert code == 0 and "removed" in out
    assert json.loads(run("webhook", "list", "--format", "json")[1]) == []
    (removed,) = json.loads(run("webhook", "list", "--all", "--format", "json")[1])
    assert removed["removed"] is True
    code, _, err = run("webhook", "remove", "999")
    assert code == 1 and "[webhook-not-found]" in err
    assert run("webhook", "remove", "zero")[0] == 2


def test_the_outbox_lists_and_shows_webhook_messages_with_their_url(added: dict[str, object], engine: Engine) -> None:
    (project,) = launch(engine, 1)
    code, out, _ = run("outbox", "list", "--project", project, "--format", "json")
    assert code == 0
    hooks = [m for m in json.loads(out)["messages"] if m["kind"] == "webhook"]
    assert [(m["to"], m["subject"], m["state"]) for m in hooks] == [
        (["https://crm.example/hooks"], "project.launched: Customer 0", "pending")
    ]
    code, out, _ = run("outbox", "show", str(hooks[0]["id"]))
    assert code == 0 and "webhook" in out and "https://crm.example/hooks" in out


def test_webhook_commands_need_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path / "none"))
    code, _, err = run("webhook", "list")
    assert code == 1 and "[database-not-found]" in err
