"""Each reader's latest weekly update as the sweep store reads it: the outbox's key columns, and the weeks a sweep
of an earlier version left quiet in ``weekly_quiet`` (no longer written, still honoured), whichever is later."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine, insert

from onboarding.adapters.store.sweep import SqlSweepStore, weekly_quiet
from onboarding.core.messages import OutgoingMessage, Person
from onboarding.core.status import status_message
from tests.adapters.email import samples
from tests.services.test_sweep import World


def test_the_later_of_the_queued_and_the_quiet_week_is_each_readers_latest(engine: Engine, tmp_path: Path) -> None:
    world = World(engine, tmp_path)
    first, second, third = world.launch(), world.launch(), world.launch()
    context = samples.status_message().context

    def weekly(project_id: str, as_of: str, reader: Person, reason: str = "weekly") -> OutgoingMessage:
        extra = {"completed_milestone": "Kickoff"} if reason != "weekly" else {}
        return status_message(
            {**context, "project": {**samples.ACME, "id": project_id}, "as_of": as_of, "reason": reason, **extra},  # type: ignore[typeddict-item]
            recipient=reader,
            completed_milestone="kickoff" if reason != "weekly" else None,
        )

    world.projects.queue(
        [
            weekly(first, "2026-12-07", samples.LEE),
            weekly(first, "2026-12-14", samples.LEE),
            weekly(first, "2026-12-07", samples.JOSE),
            weekly(first, "2026-12-28", samples.JOSE, reason="milestone_complete"),  # not a weekly update
            weekly(second, "2026-12-14", samples.LEE),
        ]
    )
    with engine.begin() as connection:
        connection.execute(
            insert(weekly_quiet),
            [
                {"project_id": first, "email": samples.LEE.email, "slot_on": date(2026, 12, 7)},  # older: the outbox's
                {"project_id": first, "email": samples.JOSE.email, "slot_on": date(2026, 12, 21)},  # later
                {"project_id": third, "email": samples.LEE.email, "slot_on": date(2026, 11, 30)},  # quiet alone
            ],
        )
    assert SqlSweepStore(engine).weekly_status_sent([third, first, "nobody", second]) == {
        first: {samples.LEE.email: date(2026, 12, 14), samples.JOSE.email: date(2026, 12, 21)},
        second: {samples.LEE.email: date(2026, 12, 14)},
        third: {samples.LEE.email: date(2026, 11, 30)},
    }
    assert SqlSweepStore(engine).weekly_status_sent([second]) == {second: {samples.LEE.email: date(2026, 12, 14)}}
