"""The sweep flow with a mail server that cannot be reached: the run completes, its mail waits (nothing lost),
the summary says why, and ``python -m onboarding_flows.sweep`` exits 75."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.adapters.email.test_transports import free_port
from tests.services.test_projects import PAYROLL, PEOPLE

pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def test_a_sweep_flow_whose_mail_server_is_down_completes_says_why_and_exits_75(
    prefect_harness: None, today: date, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    from onboarding.adapters.store.outbox import SqlOutbox
    from onboarding.adapters.store.sweep import SqlSweepStore
    from onboarding.bootstrap import database, project_service
    from onboarding.settings import Settings

    sweep_module = importlib.import_module("onboarding_flows.sweep")
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ONBOARDING_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("ONBOARDING_SMTP_STARTTLS", "false")
    sweep_module._built.cache_clear()
    sweep_module.application.cache_clear()
    try:
        simulation = database(Settings())
        SqlSweepStore(simulation).mark_simulation(
            at=datetime.now(UTC)
        )  # a simulation: the sweep's rules for a real database aside
        simulation.dispose()
        project_service().launch(
            PAYROLL,
            customer="Acme Manufacturing",
            kickoff_on=today + timedelta(days=3),
            bindings=PEOPLE,
            pay_schedule="biweekly:2026-01-02",
        )
        state = sweep_module.sweep(as_of=today, return_state=True)
        assert state.is_completed()
        delivered = state.result()["delivered"]
        assert "ConnectionRefusedError" in delivered["unavailable"]
        assert (delivered["retried"], delivered["deferred"], delivered["failed"]) == (1, len(PEOPLE) - 1, 0)
        later = datetime.now(UTC) + timedelta(hours=1)  # past the retry's backoff: the message is due again
        argv = ["onboarding_flows.sweep", "--as-of", later.date().isoformat(), "--at", f"{later:%H:%M}"]
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(SystemExit) as exited:
            sweep_module.main()
        assert exited.value.code == sweep_module.EXIT_MAIL_UNAVAILABLE == 75
        engine = database(Settings())
        assert SqlOutbox(engine).counts() == {"pending": len(PEOPLE)}
        engine.dispose()
    finally:
        sweep_module._built.cache_clear()
        sweep_module.application.cache_clear()


def test_the_delivery_flow_with_its_mail_server_down_completes_keeps_the_mail_and_exits_75(
    prefect_harness: None,
    today: date,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import importlib
    import json

    from onboarding.adapters.store.outbox import SqlOutbox
    from onboarding.bootstrap import database, project_service
    from onboarding.settings import Settings

    deliver_module = importlib.import_module("onboarding_flows.deliver")
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ONBOARDING_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("ONBOARDING_SMTP_STARTTLS", "false")
    deliver_module.application.cache_clear()
    try:
        project_service().launch(
            PAYROLL,
            customer="Acme Manufacturing",
            kickoff_on=today + timedelta(days=3),
            bindings=PEOPLE,
            pay_schedule="biweekly:2026-01-02",
        )
        monkeypatch.setattr(sys, "argv", ["onboarding_flows.deliver"])
        with pytest.raises(SystemExit) as exited:
            deliver_module.main()
        assert exited.value.code == deliver_module.EXIT_MAIL_UNAVAILABLE == 75
        printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert "ConnectionRefusedError" in printed["unavailable"] and printed["sent"] == 0
        engine = database(Settings())
        assert SqlOutbox(engine).counts() == {"pending": len(PEOPLE)}  # nothing lost, nothing failed
        engine.dispose()
    finally:
        deliver_module.application.cache_clear()
