"""A real browser for tests that look at what a person would see: headless Chromium.

Debian's ``chromium`` package (``apt-get install chromium``; ``.ci/run`` installs it).
Without it the browser tests skip, except under CI=true, where they fail.

``page.dom(path)`` is the document after its scripts ran; ``page.screenshot(path, png)``
writes what a window of the given size shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root here
    "--disable-gpu",
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    "--hide-scrollbars",
)


@dataclass(frozen=True)
class Chromium:
    executable: str
    profile: Path

    def _run(self, *args: str, timeout: float = 60) -> str:
        result = subprocess.run(
            [self.executable, *FLAGS, f"--user-data-dir={self.profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"chromium exited {result.returncode}: {result.stderr[-2000:]}")
        return result.stdout

    def dom(self, page: Path) -> str:
        """The page's document as the browser holds it once loaded (scripts run)."""
        return self._run("--dump-dom", page.resolve().as_uri())

    def screenshot(self, page: Path, png: Path, *, width: int = 1200, height: int = 1600) -> Path:
        self._run(f"--screenshot={png}", f"--window-size={width},{height}", page.resolve().as_uri())
        assert png.exists() and png.stat().st_size > 0, "no screenshot written"
        return png


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Chromium:
    found = next((path for name in CANDIDATES if (path := shutil.which(name))), None)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("headless Chromium is required under CI=true (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    return Chromium(found, tmp_path_factory.mktemp("chromium-profile"))
