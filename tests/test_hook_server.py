"""A real ``onboarding web`` (two worker processes) taking HubSpot's deliveries: the same signed deal sent four
times at once launches one project; a forged one launches none."""

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

        def deliver(secret: str = HUBSPOT_SECRET) -> httpx.Response:
            headers = hubspot_headers(f"{PUBLIC}/hooks/launch/hubspot", body, at=datetime.now(UTC), secret=secret)
            return httpx.post(f"{base}/hooks/launch/hubspot", content=body, headers=headers, timeout=60)

        forged = deliver(secret="a guess at the client secret")  # noqa: S106
        assert (forged.status_code, forged.json()["code"]) == (401, "signature-invalid")
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: deliver(), range(4)))
        assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
        assert len({a.json()["project"]["id"] for a in answers}) == 1
    finally:
        server.terminate()
        assert server.wait(timeout=30) is not None
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'onboarding.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM projects")).scalar() == 1
        assert connection.execute(text("SELECT count(*) FROM hook_deliveries")).scalar() == 1
    engine.dispose()
