"""``serve`` starting again after it stopped in flight: the runs it left unfinished no longer block the schedule.

Only ``serve`` runs the served deployments' runs, in its own processes. A run it was
starting or running when it was killed (or its machine with it) stays Pending or
Running on the server and holds the deployment's one concurrency slot: every later
run would end Cancelled ("Deployment concurrency limit reached"), and the sweep would
never run again until someone freed the slot by hand. On a real test server: such
runs, left on the sweep and delivery deployments, are marked Crashed when serve
starts, their slots freed, a scheduled run is left alone, and the next run starts.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _state(client: object, run_id: UUID) -> str:
    from prefect.client.orchestration import SyncPrefectClient

    assert isinstance(client, SyncPrefectClient)
    state = client.read_flow_run(run_id).state
    assert state is not None
    return state.type.value


def test_serve_crashes_the_runs_a_stopped_serve_left_in_flight_and_frees_their_slots() -> None:
    from prefect import get_client
    from prefect.states import Completed, Pending, Running, Scheduled

    from onboarding_flows.serve import deployments, release_orphans

    served = deployments(sweep_every=timedelta(minutes=5), report_cron="0 7 * * 1")
    ids = {f"{d.flow_name}/{d.name}": d.apply() for d in served}
    assert set(ids) == {"sweep/sweep", "deliver/deliver", "report/weekly-report"}
    with get_client(sync_client=True) as client:
        sweeping = client.create_flow_run_from_deployment(ids["sweep/sweep"])
        client.set_flow_run_state(sweeping.id, Pending())  # takes the sweep's one slot
        client.set_flow_run_state(sweeping.id, Running())
        delivering = client.create_flow_run_from_deployment(ids["deliver/deliver"])
        client.set_flow_run_state(delivering.id, Pending())  # serve stopped while starting it
        waiting = client.create_flow_run_from_deployment(ids["sweep/sweep"], state=Scheduled())
        blocked = client.create_flow_run_from_deployment(ids["sweep/sweep"])
        assert client.set_flow_run_state(blocked.id, Pending()).state.type.value == "CANCELLED"  # the slot is held

        said = release_orphans(served)

        assert [_state(client, r.id) for r in (sweeping, delivering, waiting)] == ["CRASHED", "CRASHED", "SCHEDULED"]
        assert len(said) == 2 and all("Crashed" in line for line in said), said
        for name in ("sweep/sweep", "deliver/deliver"):
            limit = client.read_deployment(ids[name]).global_concurrency_limit
            assert limit is not None
            assert client.read_global_concurrency_limit_by_name(limit.name).active_slots == 0
        after = client.create_flow_run_from_deployment(ids["sweep/sweep"])
        assert client.set_flow_run_state(after.id, Pending()).state.type.value == "PENDING"  # the next run starts
        client.set_flow_run_state(after.id, Running())
        client.set_flow_run_state(after.id, Completed())  # the test server's slot left as it was found
        crash_message = client.read_flow_run(sweeping.id).state
        assert crash_message is not None and "serve" in (crash_message.message or "")
