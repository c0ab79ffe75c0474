"""The sweep flow runs through Prefect, task runs within the limit, and delivers to the Maildir."""

from __future__ import annotations

import mailbox
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.services.test_projects import PAYROLL, PEOPLE

pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def test_sweep_flow_delivers_and_stays_within_its_task_runs(
    prefect_harness: None, today: date, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import importlib
    import time

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from onboarding.adapters.store.sweep import SqlSweepStore
    from onboarding.bootstrap import database, project_service
    from onboarding.settings import Settings

    sweep_module = importlib.import_module("onboarding_flows.sweep")

    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    engine = database(Settings())
    SqlSweepStore(engine).mark_simulation(
        at=datetime.now(UTC)
    )  # a simulation: the sweep's rules for a real database aside
    engine.dispose()
    sweep_module._built.cache_clear()
    sweep_module.application.cache_clear()
    project_service().launch(
        PAYROLL,
        customer="Acme Manufacturing",
        kickoff_on=today + timedelta(days=3),
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02",
    )
    state = sweep_module.sweep(as_of=today, return_state=True)
    summary = state.result()
    assert summary["delivered"]["sent"] == len(PEOPLE)
    assert len(list(mailbox.Maildir(tmp_path / "maildir", create=False))) == len(PEOPLE)

    async def task_runs() -> int:
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
            )
            return len(runs)

    # one project: the portfolio-wide steps, one batch, delivery. The server records task runs from
    # events, a little after they ran: wait for the count to settle (and never to pass 3).
    seen, settled_at, deadline = -1, time.monotonic(), time.monotonic() + 30
    while time.monotonic() < deadline:
        count = asyncio.run(task_runs())
        assert count <= 3
        if count != seen:
            seen, settled_at = count, time.monotonic()
        elif count == 3 and time.monotonic() - settled_at >= 1:
            break
        time.sleep(0.25)
    assert seen == 3

    async def run_name() -> str:
        async with get_client() as client:
            return (await client.read_flow_run(state.state_details.flow_run_id)).name

    assert asyncio.run(run_name()) == f"sweep-{today}"  # named after the day it sweeps
    again = sweep_module.sweep(as_of=today)
    assert again["delivered"]["sent"] == 0
    sweep_module._built.cache_clear()
    sweep_module.application.cache_clear()


def test_the_sweep_flow_refuses_a_later_day_on_a_real_database_and_changes_nothing(
    prefect_harness: None, today: date, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    from onboarding.bootstrap import database, project_service
    from onboarding.errors import SweepRefused
    from onboarding.settings import Settings
    from tests.dumps import database_dump, folder_dump

    sweep_module = importlib.import_module("onboarding_flows.sweep")
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    sweep_module._built.cache_clear()
    sweep_module.application.cache_clear()
    project_service().launch(
        PAYROLL,
        customer="Acme Manufacturing",
        kickoff_on=today + timedelta(days=3),
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02",
    )
    engine = database(Settings())
    before = database_dump(engine), folder_dump(tmp_path / "maildir")
    try:
        with pytest.raises(SweepRefused) as refused:
            sweep_module.sweep(as_of=today + timedelta(days=19))
        assert refused.value.codes == ["sweep-in-future"]
        with pytest.raises(SweepRefused) as refused:
            sweep_module.sweep(at="noon")
        assert refused.value.codes == ["invalid-sweep-time"]
        assert (database_dump(engine), folder_dump(tmp_path / "maildir")) == before
        assert not (tmp_path / "maildir").exists() and not (tmp_path / "secret_key").exists()  # nothing made
        assert sweep_module.sweep()["delivered"]["sent"] == len(PEOPLE)  # now, by the system clock
    finally:
        engine.dispose()
        sweep_module._built.cache_clear()
        sweep_module.application.cache_clear()


def test_a_sweep_that_leaves_its_emails_to_the_delivery_flow_sends_none_and_the_delivery_flow_sends_them(
    prefect_harness: None, today: date, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    from onboarding.adapters.store.sweep import SqlSweepStore
    from onboarding.bootstrap import database, project_service
    from onboarding.settings import Settings

    sweep_module = importlib.import_module("onboarding_flows.sweep")
    deliver_module = importlib.import_module("onboarding_flows.deliver")
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    engine = database(Settings())
    SqlSweepStore(engine).mark_simulation(at=datetime.now(UTC))
    engine.dispose()
    for module in (sweep_module, deliver_module):
        module.application.cache_clear()
    sweep_module._built.cache_clear()
    try:
        project_service().launch(
            PAYROLL,
            customer="Acme Manufacturing",
            kickoff_on=today + timedelta(days=3),
            bindings=PEOPLE,
            pay_schedule="biweekly:2026-01-02",
        )
        swept = sweep_module.sweep(as_of=today, deliver=False)
        assert swept["delivered"]["sent"] == 0
        assert not (tmp_path / "maildir").exists() or not list(mailbox.Maildir(tmp_path / "maildir", create=False))
        delivered = deliver_module.deliver()
        assert delivered["sent"] == len(PEOPLE) and delivered["waiting"]["pending"] == 0
        assert len(list(mailbox.Maildir(tmp_path / "maildir", create=False))) == len(PEOPLE)
        assert deliver_module.deliver()["sent"] == 0  # nothing twice
    finally:
        for module in (sweep_module, deliver_module):
            module.application.cache_clear()
        sweep_module._built.cache_clear()


def test_the_sweep_flow_runs_its_batches_side_by_side_and_adds_up_what_each_did(
    prefect_harness: None, today: date, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ONBOARDING_SWEEP_WORKERS=2``: the per-project batches go to the task runner two at a time (``submit``);
    the run's report adds up every batch's."""
    import importlib

    from onboarding.adapters.store.sweep import SqlSweepStore
    from onboarding.bootstrap import database, project_service
    from onboarding.settings import Settings

    sweep_module = importlib.import_module("onboarding_flows.sweep")
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_SWEEP_WORKERS", "2")
    engine = database(Settings())
    SqlSweepStore(engine).mark_simulation(at=datetime.now(UTC))
    engine.dispose()
    sweep_module._built.cache_clear()
    sweep_module.application.cache_clear()
    launched = [
        project_service().launch(
            PAYROLL,
            customer=f"Acme {n}",
            kickoff_on=today + timedelta(days=3),
            bindings=PEOPLE,
            pay_schedule="biweekly:2026-01-02",
        )
        for n in range(6)
    ]
    later = today + timedelta(days=70)  # weeks late: every plan moves
    service = sweep_module._service(later, None)
    assert service.workers == 2
    service.batch = 1  # six projects, three task runs of batches (the flow's budget leaves two to its other steps)
    submitted = []
    submit = sweep_module.attend_batch.submit

    def counted(*args: object, **kwargs: object) -> object:
        submitted.append(args[0])
        return submit(*args, **kwargs)

    monkeypatch.setattr(sweep_module.attend_batch, "submit", counted)
    summary = sweep_module.sweep(as_of=later)
    assert len(submitted) == 3 and sorted(p for batch in submitted for p in batch) == sorted(
        p.project.id for p in launched
    )
    assert summary["reforecast"] == 6
    assert summary["delivered"]["sent"] >= 6 * len(PEOPLE)  # the kickoff emails, and what the sweep queued
    sweep_module._built.cache_clear()
    sweep_module.application.cache_clear()
