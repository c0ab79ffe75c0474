"""The delivery flow: the outbox delivered beside the sweep, every minute, not at the sweep's end.

One task run: ``deliver_due`` of the delivery the settings build (a Maildir, or SMTP
over ``ONBOARDING_SMTP_CONNECTIONS`` connections), until nothing is due or its
deadline comes; it retries for the database, while a mail server that cannot be
reached is reported, not raised (its mail waits for the next run). Emails queued by
a launch, a task done or a sweep thus leave within a minute, and a sweep's run is
not held up by its mail. ``onboarding_flows.serve`` runs it every minute
(``--deliver-every``); run it once with ``python -m onboarding_flows.deliver`` (exit
75 when the mail server could not be reached). Several at once (on several
machines) never send a message twice: each claims its batches with ``SKIP LOCKED``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from onboarding.errors import OnboardingError
from onboarding_flows.application import application

EXIT_MAIL_UNAVAILABLE = 75  # sysexits' EX_TEMPFAIL, as `onboarding sweep`


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[5, 30, 120])
def deliver_due() -> dict[str, Any]:
    return asdict(application().delivery().deliver_due())


def deliver_run_name() -> str:
    """``deliver-2026-12-04T17:05``: when it started (UTC)."""
    return f"deliver-{datetime.now(UTC):%Y-%m-%dT%H:%M}"


@flow(name="deliver", flow_run_name=deliver_run_name)
def deliver() -> dict[str, Any]:
    """Deliver what the outbox holds due now; a mail server that cannot be reached is logged as a warning."""
    delivered = deliver_due()
    warn_if_unavailable(delivered, waiting_for="the next delivery")
    return delivered


def warn_if_unavailable(delivered: dict[str, Any], *, waiting_for: str) -> None:
    """A warning in the run's log when delivery found the mail server unavailable, with what waits, and for what."""
    if delivered["unavailable"]:
        get_run_logger().warning(
            "mail server unavailable: %s; %d message(s) wait for %s",
            delivered["unavailable"],
            delivered["retried"] + delivered["deferred"],
            waiting_for,
        )


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    try:
        delivered = deliver()
    except OnboardingError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    print(json.dumps(delivered, default=str))
    if delivered["unavailable"]:
        raise SystemExit(EXIT_MAIL_UNAVAILABLE)


if __name__ == "__main__":
    main()
