"""`onboarding sweep`, `status` and `outbox` when mail goes wrong: one bad message fails alone and is listed, a
server that cannot be reached is said plainly (exit 75) and loses nothing, held mail is resent once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.bootstrap import database, project_service
from onboarding.cli import main
from onboarding.cli.edge import EXIT_MAIL_UNAVAILABLE
from onboarding.settings import Settings
from tests.adapters.email.test_transports import Handler, free_port
from tests.services.test_delivery import poison_first_message
from tests.services.test_outage import SlowHandler, smtp_server
from tests.services.test_projects import PAYROLL, PEOPLE

KICKOFFS = len(PEOPLE)


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The CLI's own SQLite database in a fresh data folder, a simulation: its sweeps live through December 2026."""
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "a-secret-key-long-enough-for-the-settings-0123456789")
    engine = database(Settings())
    SqlSweepStore(engine).mark_simulation(at=datetime.now(UTC))
    yield engine
    engine.dispose()


def launch(engine: Engine, count: int) -> list[str]:
    svc = project_service(Settings(), clock=FixedClock(date(2026, 12, 1)), engine=engine)
    return [
        svc.launch(
            PAYROLL,
            customer=f"Customer {n}",
            kickoff_on=date(2026, 12, 7),
            bindings=PEOPLE,
            pay_schedule="biweekly:2026-01-02",
            external_id=f"CRM-{n}",
        ).project.id
        for n in range(count)
    ]


def test_a_poisoned_address_among_20_projects_fails_alone_and_status_lists_it(engine: Engine) -> None:
    launch(engine, 20)
    message_id, project = poison_first_message(engine)
    swept = CliRunner().invoke(main, ["sweep", "--as-of", "2026-12-01", "--at", "13:00"])
    assert swept.exit_code == 0, swept.output
    assert f"delivered {20 * KICKOFFS - 1}, retrying 0, failed 1, held 0" in swept.stdout
    status = CliRunner().invoke(main, ["status", project, "--format", "json"])
    (failed,) = json.loads(status.stdout)["failed_emails"]
    assert failed["id"] == message_id and failed["state"] == "failed" and "cannot be rendered" in failed["error"]
    table = CliRunner().invoke(main, ["status", project])
    assert f"undelivered kickoff email #{message_id} (failed)" in table.stdout
    listed = CliRunner().invoke(main, ["outbox", "list", "--state", "failed", "--format", "json"])
    assert [m["id"] for m in json.loads(listed.stdout)["messages"]] == [message_id]
    shown = CliRunner().invoke(main, ["outbox", "show", str(message_id)])
    assert shown.exit_code == 0 and "lée@acme.example" in shown.stdout


def test_a_sweep_whose_mail_server_is_down_says_so_exits_75_and_loses_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch(engine, 2)
    monkeypatch.setenv("ONBOARDING_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ONBOARDING_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("ONBOARDING_SMTP_STARTTLS", "false")
    swept = CliRunner().invoke(main, ["sweep", "--as-of", "2026-12-01", "--at", "13:00"])
    assert swept.exit_code == EXIT_MAIL_UNAVAILABLE, swept.output
    assert "delivered 0, retrying 1, failed 0, held 0" in swept.stdout
    assert "mail server unavailable" in swept.stderr and "ConnectionRefusedError" in swept.stderr
    assert f"{2 * KICKOFFS} message(s) wait for the next sweep" in swept.stderr
    assert "Traceback" not in swept.output
    assert SqlOutbox(engine).counts() == {"pending": 2 * KICKOFFS}


def test_mail_held_past_the_horizon_is_shown_and_resent_once_when_the_server_is_back(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project,) = launch(engine, 1)
    port = free_port()
    monkeypatch.setenv("ONBOARDING_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ONBOARDING_SMTP_PORT", str(port))
    monkeypatch.setenv("ONBOARDING_SMTP_STARTTLS", "false")
    for day in ("2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"):  # down from noon on the 1st: 73 hours
        swept = CliRunner().invoke(main, ["sweep", "--as-of", day, "--at", "13:00"])
        assert swept.exit_code == EXIT_MAIL_UNAVAILABLE, swept.output
    assert SqlOutbox(engine).counts().get("held") == KICKOFFS and "failed" not in SqlOutbox(engine).counts()
    status = json.loads(CliRunner().invoke(main, ["status", project, "--format", "json"]).stdout)
    assert {f["state"] for f in status["failed_emails"]} == {"held"}
    assert all("past the retry horizon" in f["error"] for f in status["failed_emails"])
    handler = Handler()
    with smtp_server(port, handler):
        resent = CliRunner().invoke(main, ["outbox", "retry", "--project", "CRM-0"])
        assert resent.exit_code == 0 and f"{KICKOFFS} message(s) back in line" in resent.stdout
        again = CliRunner().invoke(main, ["outbox", "retry", "--project", "CRM-0"])
        assert "0 message(s) back in line" in again.stdout  # idempotent
        for at in ("14:00", "15:00"):
            swept = CliRunner().invoke(main, ["sweep", "--as-of", "2026-12-05", "--at", at])
            assert swept.exit_code == 0, swept.output
        named = CliRunner().invoke(main, ["outbox", "retry", "1"])
        assert "#1 is sent, not failed or held: left as it is" in named.stdout
    kickoffs = [r for r in handler.received if b"X-Onboarding-Key: kickoff:" in r.content]
    keys = Counter(r.content.split(b"X-Onboarding-Key: ", 1)[1].split(b"\r\n", 1)[0] for r in kickoffs)
    assert len(keys) == KICKOFFS and set(keys.values()) == {1}
    assert "held" not in SqlOutbox(engine).counts()


def test_outbox_input_errors_are_coded_and_change_nothing(engine: Engine) -> None:
    launch(engine, 1)
    before = SqlOutbox(engine).counts()
    missing = CliRunner().invoke(main, ["outbox", "retry", "1", "999"])
    assert missing.exit_code == 1 and "[message-not-found]" in missing.stderr and "#999" in missing.stderr
    assert "Traceback" not in missing.output
    unknown = CliRunner().invoke(main, ["outbox", "list", "--project", "CRM-nope"])
    assert unknown.exit_code == 1 and "[project-not-found]" in unknown.stderr
    age = CliRunner().invoke(main, ["outbox", "list", "--older-than", "3 weeks"])
    assert age.exit_code == 2 and "30m, 6h, 3d" in age.output
    assert SqlOutbox(engine).counts() == before


def test_a_slow_server_cut_short_by_the_deadline_is_not_called_unavailable(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch(engine, 2)
    port = free_port()
    monkeypatch.setenv("ONBOARDING_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ONBOARDING_SMTP_PORT", str(port))
    monkeypatch.setenv("ONBOARDING_SMTP_STARTTLS", "false")
    monkeypatch.setenv("ONBOARDING_DELIVERY_DEADLINE_SECONDS", "1")
    with smtp_server(port, SlowHandler()):
        swept = CliRunner().invoke(main, ["sweep", "--as-of", "2026-12-01", "--at", "13:00"])
    assert swept.exit_code == 0, swept.output
    assert "delivery stopped at its deadline" in swept.stderr and "unavailable" not in swept.output


def test_a_message_id_past_the_database_integers_is_a_usage_error(engine: Engine) -> None:
    for args in (("outbox", "show", "9" * 20), ("outbox", "retry", "9" * 20), ("outbox", "list", "--limit", "9" * 20)):
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output


def test_what_a_hostile_mail_server_answered_is_shown_never_sent_to_the_terminal(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server's refusal is stored as it said it; printed, its control characters are escapes (an escape sequence
    in it would clear or retitle the operator's screen)."""
    launch(engine, 1)
    port = free_port()
    monkeypatch.setenv("ONBOARDING_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ONBOARDING_SMTP_PORT", str(port))
    monkeypatch.setenv("ONBOARDING_SMTP_STARTTLS", "false")
    with smtp_server(port, Handler(data_reply="554 5.7.1 \x1b[2J\x1b]0;owned\x07 refused")):
        swept = CliRunner().invoke(main, ["sweep", "--as-of", "2026-12-01", "--at", "13:00"])
    assert swept.exit_code == 0, swept.output
    listed = CliRunner().invoke(main, ["outbox", "list", "--state", "failed", "--format", "json"])
    first = json.loads(listed.stdout)["messages"][0]
    assert "\x1b[2J" in first["last_error"]  # stored and given to machines as it was said
    for args in (["outbox", "show", str(first["id"])], ["outbox", "list", "--state", "failed"]):
        shown = CliRunner().invoke(main, args)
        assert shown.exit_code == 0, shown.output
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
        assert "\\x1b[2J" in shown.stdout
