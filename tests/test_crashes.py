"""Fault injection, a CI-size sample: sweeps killed with SIGKILL, each rerun at the same instant.

A Maildir on SQLite and a real SMTP server (aiosmtpd) on PostgreSQL, kills of an
``onboarding sweep`` subprocess aimed at deciding, recording and delivering (each
pair takes two of them, to keep the sample near a minute). After each rerun:
nothing lost, nothing twice in the Maildir, and on SMTP no duplicate but those
the server accepted before the kill and the dead run never recorded sent.
``bench/crash_bench.py`` runs 100 trials or more per transport; ``tests/crashes.py``
tells how a trial goes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crashes import run_trials


@pytest.mark.parametrize(
    ("database", "transport", "aims"),
    [("sqlite", "maildir", ["recording", "delivery"]), ("postgresql", "smtp", ["decision", "delivery"])],
)
def test_a_sweep_killed_anywhere_and_rerun_at_the_same_instant_loses_nothing(
    database: str, transport: str, aims: list[str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if database == "postgresql":
        request.getfixturevalue("postgres_url")  # skips without a server, fails under CI=true
    summary = run_trials(
        database=database, transport=transport, trials=len(aims), aims=aims, projects=8, folder=tmp_path, seed=3
    )
    figures = summary.figures()
    assert len(summary.phases.expected) > 40  # the sweep has nudges, alerts and status emails to deliver
    assert [t.aimed for t in summary.trials] == aims
    assert figures["lost"] == 0, summary.trials
    assert figures["unexpected"] == 0, summary.trials
    if transport == "maildir":
        assert figures["duplicates"] == 0, summary.trials
    else:  # only messages accepted by the server and never recorded sent are sent again, each counted
        assert figures["unexplained_duplicates"] == 0, summary.trials
        assert figures["duplicates"] == figures["kills_between_reply_and_commit"], summary.trials
    # the kill aimed at delivery left claims 'sending', and the rerun at the same instant released them all
    delivery = summary.trials[-1]
    assert delivery.hit == "delivery" and delivery.stranded > 0, delivery
    assert delivery.released == delivery.stranded
