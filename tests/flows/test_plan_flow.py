"""The planning flow runs through Prefect and publishes its artifact."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def test_plan_flow_returns_the_plan_and_publishes_an_artifact(prefect_harness: None) -> None:
    from prefect import get_client

    from onboarding_flows.plan import plan_blueprint

    state = plan_blueprint(
        str(ROOT / "blueprints" / "payroll-implementation.yaml"),
        date(2026, 12, 7),
        "biweekly:2026-01-02",
        return_state=True,
    )
    document = state.result()
    assert document["go_live"]["chosen_on"] == "2027-04-09"

    async def artifact_text() -> str:
        async with get_client() as client:
            artifact = await client.read_latest_artifacts()
            return "\n".join(str(a.data) for a in artifact if a.key == "plan-payroll-implementation")

    import asyncio

    text = asyncio.run(artifact_text())
    assert "**Go-live 2027-04-09**" in text

    async def run_name() -> str:
        async with get_client() as client:
            return (await client.read_flow_run(state.state_details.flow_run_id)).name

    assert asyncio.run(run_name()) == "plan-payroll-implementation-2026-12-07"  # the blueprint and the kickoff


def test_plan_flow_fails_on_an_invalid_blueprint(prefect_harness: None) -> None:
    from onboarding.errors import BlueprintInvalid
    from onboarding_flows.plan import plan_blueprint

    with pytest.raises(BlueprintInvalid):
        plan_blueprint(str(ROOT / "tests" / "fixtures" / "blueprints" / "cycle.yaml"), date(2026, 12, 7))
