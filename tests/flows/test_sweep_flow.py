"""The sweep flow runs through Prefect, task runs within the limit, and delivers to the Maildir."""

from __future__ import annotations

import mailbox
from datetime import date
from pathlib import Path

import pytest

from tests.services.test_projects import PAYROLL, PEOPLE

pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def test_sweep_flow_delivers_and_stays_within_its_task_runs(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import importlib
    import time

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from onboarding.bootstrap import project_service

    sweep_module = importlib.import_module("flows.sweep")

    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    sweep_module._built.cache_clear()
    project_service().launch(
        PAYROLL,
        customer="Acme Manufacturing",
        kickoff_on=date(2026, 12, 7),
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02",
    )
    state = sweep_module.sweep(as_of=date(2026, 12, 4), return_state=True)
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

    assert asyncio.run(run_name()) == "sweep-2026-12-04"  # named after the day it sweeps
    again = sweep_module.sweep(as_of=date(2026, 12, 4))
    assert again["delivered"]["sent"] == 0
    sweep_module._built.cache_clear()
