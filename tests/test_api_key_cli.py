"""``onboarding api-key``, ``onboarding db upgrade`` and ``onboarding web``, run for real."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config

from onboarding.adapters.store.sql import MIGRATIONS, make_engine

ROOT = Path(__file__).parents[1]


def onboarding(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ONBOARDING_DATA_DIR": str(tmp_path / "data")}
    env.pop("ONBOARDING_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "onboarding.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_keys_are_made_once_listed_without_their_secret_and_revoked(tmp_path: Path) -> None:
    assert onboarding(tmp_path, "db", "upgrade").returncode == 0
    made = onboarding(tmp_path, "api-key", "create", "crm", "--scope", "write", "--format", "json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["name"] == "crm" and key["scope"] == "write" and key["key"].startswith("onb_")

    again = onboarding(tmp_path, "api-key", "create", "crm", "--scope", "read")
    assert again.returncode == 1 and "[api-key-exists]" in again.stderr
    bad = onboarding(tmp_path, "api-key", "create", "no spaces", "--scope", "read")
    assert bad.returncode == 1 and "[invalid-api-key-name]" in bad.stderr
    assert onboarding(tmp_path, "api-key", "create", "x", "--scope", "root").returncode == 2

    listed = onboarding(tmp_path, "api-key", "list", "--format", "json")
    assert key["key"] not in listed.stdout
    assert [k["name"] for k in json.loads(listed.stdout)] == ["crm"]

    assert onboarding(tmp_path, "api-key", "revoke", "crm").returncode == 0
    assert json.loads(onboarding(tmp_path, "api-key", "list", "--format", "json").stdout)[0]["revoked_at"]
    unknown = onboarding(tmp_path, "api-key", "revoke", "nobody")
    assert unknown.returncode == 1 and "[api-key-not-found]" in unknown.stderr


def test_keys_need_a_database(tmp_path: Path) -> None:
    listed = onboarding(tmp_path, "api-key", "list")
    assert listed.returncode == 1 and "[database-not-found]" in listed.stderr
    assert not (tmp_path / "data" / "onboarding.db").exists()


def test_an_older_database_is_upgraded_only_by_db_upgrade(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'onboarding.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0011")
    engine.dispose()

    refused = onboarding(tmp_path, "list")
    assert refused.returncode == 1
    assert "[database-out-of-date]" in refused.stderr and "onboarding db upgrade" in refused.stderr
    upgraded = onboarding(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0 and "from 0011 to" in upgraded.stdout
    assert onboarding(tmp_path, "list").returncode == 0
    assert "nothing to do" in onboarding(tmp_path, "db", "upgrade").stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("workers", [1, 2])
def test_the_web_server_answers_with_the_keys_of_its_database(tmp_path: Path, workers: int) -> None:
    assert onboarding(tmp_path, "db", "upgrade").returncode == 0
    port = _free_port()
    env = {**os.environ, "ONBOARDING_DATA_DIR": str(tmp_path / "data")}
    server = subprocess.Popen(
        [sys.executable, "-m", "onboarding.cli", "web", "--port", str(port), "--workers", str(workers)],
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
                health = httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert health.status_code == 200
        assert httpx.get(f"{base}/api/openapi.json").json()["openapi"].startswith("3.")
        nobody = httpx.get(f"{base}/api/v1/projects")
        assert nobody.status_code in (401, 404)
        assert nobody.headers["content-type"] == "application/problem+json"
    finally:
        server.terminate()
        assert server.wait(timeout=30) is not None
