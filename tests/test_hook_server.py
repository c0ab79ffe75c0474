"""A real ``onboarding web`` (two worker processes) taking HubSpot's deliveries: the same signed deal sent four
times at once launches one project; a forged one launches none; two different versions of one deal sent at once
launch one of them, and the other is refused as a conflict naming what differs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import text

from onboarding.adapters.store.sql import make_engine
from tests.crm import HUBSPOT_MAPPING, HUBSPOT_SECRET, PAYROLL, body_of, hubspot_deal, hubspot_headers
from tests.test_api_key_cli import ROOT, _free_port, onboarding

PUBLIC = "https://onboarding.example.com"


def test_the_same_delivery_four_times_at_once_launches_one_project(tmp_path: Path) -> None:
    mapping = tmp_path / "hubspot.yaml"
    mapping.write_text(HUBSPOT_MAPPING, encoding="utf-8")
    assert onboarding(tmp_path, "db", "upgrade").returncode == 0
    assert onboarding(tmp_path, "blueprint", "publish", PAYROLL).returncode == 0
    added = onboarding(
        tmp_path, "hook", "add", "hubspot", "--scheme", "hubspot", "--secret", HUBSPOT_SECRET,
        "--mapping", str(mapping), "--public-url", PUBLIC,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    port = _free_port()
    env = {**os.environ, "ONBOARDING_DATA_DIR": str(tmp_path / "data")}
    env.pop("ONBOARDING_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "onboarding.cli", "web", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        body = body_of(hubspot_deal())

        def deliver(secret: str = HUBSPOT_SECRET, sent: bytes = body) -> httpx.Response:
            headers = hubspot_headers(f"{PUBLIC}/hooks/launch/hubspot", sent, at=datetime.now(UTC), secret=secret)
            return httpx.post(f"{base}/hooks/launch/hubspot", content=sent, headers=headers, timeout=60)

        forged = deliver(secret="a guess at the client secret")  # noqa: S106
        assert (forged.status_code, forged.json()["code"]) == (401, "signature-invalid")
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: deliver(), range(4)))
        assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
        assert len({a.json()["project"]["id"] for a in answers}) == 1

        # Deal 5555 sent twice at the same instant, once with each kickoff: one launch, one conflict, never two.
        versions = [body_of(hubspot_deal(5555, kickoff_date=day)) for day in ("2026-12-07", "2026-12-14")]
        with ThreadPoolExecutor(2) as pool:
            racing = list(pool.map(lambda sent: deliver(sent=sent), versions))
        assert sorted(a.status_code for a in racing) == [201, 409], [a.text for a in racing]
        refused = next(a.json() for a in racing if a.status_code == 409)
        assert refused["code"] == "external-id-conflict"
        assert "kickoff" in refused["detail"] + str(refused["problems"])
    finally:
        server.terminate()
        assert server.wait(timeout=30) is not None
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'onboarding.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM projects")).scalar() == 2
        assert connection.execute(text("SELECT count(*) FROM hook_deliveries")).scalar() == 2
    engine.dispose()
