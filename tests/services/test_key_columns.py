"""Keys are compared, never split: the sweep's questions about sent emails read the parts from columns.

The recipient of a status email or a digest used to be read back out of its key by
splitting on ':', so an address holding one (stored before the address rule, or
quoted) broke the weekly-status step and miscounted the daily cap. These run on the
in-memory twin, SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from onboarding.core.messages import Person
from onboarding.core.nudges import decide_nudges, sent_digests
from onboarding.core.status import status_message
from tests.adapters.email import samples
from tests.core.test_nudges import POLICY, overdue
from tests.services import test_sweep
from tests.services.test_sweep import Stores, World

stores = test_sweep.stores  # the fixture: the in-memory twins, or the SQL stores on SQLite and PostgreSQL

ODD = Person("Colon Person", '"a:b:weekly:2026-01-01"@acme.example', "America/Chicago")  # from before the rule


def test_weekly_status_sent_reads_recipient_and_day_from_columns(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    project_id = world.launch()
    context = {**samples.status_message().context, "project": {**samples.ACME, "id": project_id}}
    messages = [
        status_message({**context, "as_of": "2026-12-07"}, recipient=ODD),  # type: ignore[typeddict-item]
        status_message({**context, "as_of": "2026-12-14"}, recipient=ODD),  # type: ignore[typeddict-item]
        status_message({**context, "as_of": "2026-12-14"}, recipient=samples.LEE),  # type: ignore[typeddict-item]
        status_message(
            {**context, "as_of": "2026-12-21", "reason": "milestone_complete", "completed_milestone": "Kickoff"},  # type: ignore[typeddict-item]
            recipient=samples.LEE,
            completed_milestone="kickoff",
        ),
    ]
    world.projects.queue(messages)
    assert world.store.weekly_status_sent([project_id, "nobody"]) == {
        project_id: {ODD.email: date(2026, 12, 14), samples.LEE.email: date(2026, 12, 14)}
    }


def test_digests_sent_are_counted_from_columns(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    project_id = world.launch()
    now = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)
    plan = decide_nudges(
        [overdue("kickoff_call", project_id=project_id, owner=ODD), overdue("sign_off_scope", project_id=project_id)],
        policy=POLICY,
        now=now,
        already_sent={},
        vendor_contact=samples.DANA,
    )
    assert len(plan.digests) == 2
    assert world.store.record_nudges(plan.nudges, plan.digests, now=now) == 2
    assert sent_digests(world.store.digests_since(now - timedelta(days=2))) == {
        (ODD.email, date(2026, 12, 8)): 1,
        (samples.LEE.email, date(2026, 12, 8)): 1,
    }
    assert sent_digests(world.store.digests_since(now + timedelta(seconds=1))) == {}


def test_status_and_digest_messages_carry_their_key_parts() -> None:
    message = status_message(samples.status_message().context, recipient=ODD)  # type: ignore[arg-type]
    assert (message.key_email, message.key_on, message.key_reason) == (ODD.email, date(2026, 2, 2), "weekly")
    plan = decide_nudges(
        [overdue(owner=ODD._replace(timezone="UTC"))],
        policy=POLICY,
        now=datetime(2026, 12, 8, 16, 0, tzinfo=UTC),
        already_sent={},
        vendor_contact=samples.DANA,
    )
    (digest,) = plan.digests
    queued = digest.message()
    assert (queued.key_email, queued.key_on, queued.key_reason) == (ODD.email, date(2026, 12, 8), None)
    assert plan.nudges[0].digest_on == date(2026, 12, 8)
