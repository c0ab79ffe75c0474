"""Unsubscribe tokens: signed for one address and project, refused when forged, altered or cut short.

Then the whole way round: the link in a delivered customer email, given to
``onboarding unsubscribe``, records the opt-out once as an event of its project.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import os
import re
import stat
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from onboarding.adapters.email.unsubscribe import (
    KEY_FILE,
    UnsubscribeRequest,
    is_valid_unsubscribe_token,
    read_unsubscribe_token,
    secret_key,
    unsubscribe_token,
)
from onboarding.settings import Settings
from tests.services.test_projects import PAYROLL, PEOPLE

ROOT = Path(__file__).parents[3]
SECRET = b"a test key of thirty-two bytes or so"
LEE = "lee@acme.example"


def test_a_token_is_valid_for_its_recipient_and_project_only() -> None:
    token = unsubscribe_token(SECRET, email=LEE, project_id="prj-1")
    assert is_valid_unsubscribe_token(token, secret=SECRET, email=LEE, project_id="prj-1")
    assert is_valid_unsubscribe_token(token, secret=SECRET, email=" Lee@ACME.example", project_id="prj-1")
    assert not is_valid_unsubscribe_token(token, secret=SECRET, email="kim@acme.example", project_id="prj-1")
    assert not is_valid_unsubscribe_token(token, secret=SECRET, email=LEE, project_id="prj-2")
    assert not is_valid_unsubscribe_token(token, secret=SECRET, email=LEE, project_id=None)
    assert not is_valid_unsubscribe_token(token, secret=b"another key", email=LEE, project_id="prj-1")
    assert read_unsubscribe_token(token, secret=SECRET) == UnsubscribeRequest(LEE, "prj-1")


def test_a_token_for_every_project_names_none() -> None:
    token = unsubscribe_token(SECRET, email=LEE, project_id=None)
    assert read_unsubscribe_token(token, secret=SECRET) == UnsubscribeRequest(LEE, None)
    assert is_valid_unsubscribe_token(token, secret=SECRET, email=LEE, project_id=None)
    assert not is_valid_unsubscribe_token(token, secret=SECRET, email=LEE, project_id="prj-1")


def test_tokens_are_url_safe_and_not_the_old_guessable_digest() -> None:
    token = unsubscribe_token(SECRET, email=LEE, project_id="prj-0001")
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}", token)
    assert unsubscribe_token(b"another key", email=LEE, project_id="prj-0001") != token


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"  # URL-safe base64's


def test_a_forged_token_is_refused() -> None:
    genuine = unsubscribe_token(SECRET, email=LEE, project_id="prj-1")
    names, signature = genuine.split(".")
    other_names = unsubscribe_token(SECRET, email="kim@acme.example", project_id="prj-1").split(".")[0]
    forged = [
        f"{other_names}.{signature}",  # someone else's address under Lee's signature
        f"{names}.{signature[:-1]}",  # cut short
        f"{names}.{'A' * len(signature)}",
        names,
        f".{signature}",
        "",
        "not a token at all",
        f"{names}.{signature}!",
        f"{names}.{signature[:20]}~~{signature[20:]}",  # junk base64 decoding would skip
        f"{names}.{signature}=",  # padding
        f"{names}.{signature[:-1]}{ALPHABET[ALPHABET.index(signature[-1]) + 1]}",  # the same bytes, spare bits set
    ]
    for token in forged:
        assert read_unsubscribe_token(token, secret=SECRET) is None, token
        assert not is_valid_unsubscribe_token(token, secret=SECRET, email=LEE, project_id="prj-1"), token


@given(st.text(max_size=80))
def test_reading_any_text_never_raises(token: str) -> None:
    assert read_unsubscribe_token(token, secret=SECRET) is None


@given(
    st.emails(),
    st.one_of(
        st.none(),
        st.text(alphabet=st.characters(blacklist_characters="\n", codec="utf-8"), min_size=1, max_size=40),
    ),
)
def test_every_token_reads_back(address: str, project_id: str | None) -> None:
    token = unsubscribe_token(SECRET, email=address, project_id=project_id)
    assert read_unsubscribe_token(token, secret=SECRET) == UnsubscribeRequest(address.lower(), project_id)


def test_text_utf8_cannot_carry_is_refused_plainly() -> None:
    with pytest.raises(ValueError, match="cannot sign"):
        unsubscribe_token(SECRET, email=LEE, project_id="prj-\ud800")


# -- the key ---------------------------------------------------------------------


def test_the_key_is_made_once_private_and_reused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = secret_key(None, data_dir=data)
    path = data / KEY_FILE
    assert len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(None, data_dir=data) == first
    assert sorted(p.name for p in data.iterdir()) == [KEY_FILE]  # no drafts left behind
    assert secret_key(None, data_dir=tmp_path / "elsewhere") != first


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(secret_key(None, data_dir=tmp_path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE]


def test_a_configured_key_is_used_and_no_file_is_made(tmp_path: Path) -> None:
    assert secret_key("k" * 32, data_dir=tmp_path) == b"k" * 32
    assert list(tmp_path.iterdir()) == []


def test_a_short_configured_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "short")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "x" * 32)
    assert Settings().secret_key is not None
    assert "x" * 32 not in repr(Settings())  # never printed


# -- the whole way round ------------------------------------------------------------


def onboarding(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONBOARDING_")}
    return subprocess.run(
        [sys.executable, "-m", "onboarding.cli", *args],
        cwd=ROOT,
        env={**env, "ONBOARDING_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_link_of_a_delivered_email_unsubscribes_its_recipient_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onboarding.adapters.clock import FixedClock
    from onboarding.bootstrap import project_service, sweep_service

    for name in [k for k in os.environ if k.startswith("ONBOARDING_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    clock = FixedClock(date(2026, 12, 4))
    project = (
        project_service(clock=clock)
        .launch(
            PAYROLL,
            customer="Acme Manufacturing",
            kickoff_on=date(2026, 12, 7),
            bindings=PEOPLE,
            pay_schedule="biweekly:2026-01-02",
        )
        .project
    )
    assert sweep_service(clock=clock).deliver().sent == len(PEOPLE)
    to_lee = [
        email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
        for m in mailbox.Maildir(tmp_path / "maildir", create=False)
    ]
    to_lee = [m for m in to_lee if m["To"].addresses[0].addr_spec == LEE]
    assert len(to_lee) == 1
    link = re.search(r"<(http[^>]+)>", str(to_lee[0]["List-Unsubscribe"]))
    assert link is not None
    token = link.group(1).rpartition("token=")[2]

    done = onboarding(tmp_path, "unsubscribe", token)
    assert done.returncode == 0, done.stderr
    again = onboarding(tmp_path, "unsubscribe", token)
    assert again.returncode == 0 and "already" in again.stdout
    events = [e for e in project_service().events(project.id) if e.kind == "unsubscribed"]
    assert [(e.actor, dict(e.data)) for e in events] == [(LEE, {"email": LEE})]

    names, signature = token.split(".")
    kim = unsubscribe_token(b"guessed key", email="kim@acme.example", project_id=project.id)
    for bad in (f"{names}.{signature[:-2]}", kim, f"{kim.split('.')[0]}.{signature}"):
        refused = onboarding(tmp_path, "unsubscribe", bad)
        assert refused.returncode == 1 and "[invalid-unsubscribe-token]" in refused.stderr
        assert "Traceback" not in refused.stderr
    everywhere = unsubscribe_token(secret_key(None, data_dir=tmp_path), email=LEE, project_id=None)
    refused = onboarding(tmp_path, "unsubscribe", everywhere)
    assert refused.returncode == 1 and "[unsubscribe-every-project]" in refused.stderr
    assert len([e for e in project_service().events(project.id) if e.kind == "unsubscribed"]) == 1
