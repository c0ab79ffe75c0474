"""`onboarding demo --data DIR` deletes only a folder it made itself; any other it refuses, untouched.

No Prefect here: the folder is settled before the demo starts anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.bootstrap import database
from onboarding.cli import main
from onboarding.errors import DemoFolderRefused
from onboarding.settings import Settings
from onboarding_flows import demo
from tests.dumps import folder_dump


def real_data_folder(folder: Path) -> Path:
    """A data folder in real use: a database that is not a simulation, a secret key, notes."""
    database(Settings(data_dir=folder, database_url=None)).dispose()
    (folder / "secret_key").write_text("k" * 43)
    (folder / "notes.txt").write_text("mine")
    return folder


def test_a_folder_that_does_not_exist_or_is_empty_is_made_the_demos(tmp_path: Path) -> None:
    for folder in (tmp_path / "new" / "demo-data", tmp_path / "empty"):
        if folder.name == "empty":
            folder.mkdir()
        demo.demo_folder(folder)
        assert [p.name for p in folder.iterdir()] == [demo.MARK]


def demos_own_folder(folder: Path) -> Path:
    """A folder as a demo run leaves it: its mark, a simulation database, a Maildir."""
    demo.demo_folder(folder)
    engine = database(Settings(data_dir=folder, database_url=None))
    SqlSweepStore(engine).mark_simulation(at=datetime.now(UTC))
    engine.dispose()
    (folder / "maildir").mkdir()
    return folder


def test_the_demos_own_folder_is_emptied_and_made_again(tmp_path: Path) -> None:
    folder = demos_own_folder(tmp_path / "demo-data")
    (folder / "maildir" / "a-message").write_text("old")
    demo.demo_folder(folder)
    assert [p.name for p in folder.iterdir()] == [demo.MARK]


@pytest.mark.parametrize("added", ["my-notes.txt", "mystuff"])
def test_the_demos_own_folder_with_something_added_is_refused_and_left_as_it_was(tmp_path: Path, added: str) -> None:
    folder = demos_own_folder(tmp_path / "demo-data")
    if added == "mystuff":
        (folder / added).mkdir()
    else:
        (folder / added).write_text("mine")
    before = folder_dump(folder)
    with pytest.raises(DemoFolderRefused) as refused:
        demo.demo_folder(folder)
    assert added in str(refused.value)
    assert folder_dump(folder) == before


@pytest.mark.parametrize("marked", [False, True])
def test_a_folder_in_real_use_is_refused_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *, marked: bool
) -> None:
    folder = real_data_folder(tmp_path / "data")
    if marked:  # a mark copied beside a real database does not make it the demo's
        (folder / demo.MARK).write_text(demo.MARK_TEXT)
    before = folder_dump(folder)
    with pytest.raises(DemoFolderRefused) as refused:
        demo.demo_folder(folder)
    assert refused.value.codes == ["demo-folder-not-ours"]
    assert demo.main(["--data", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "[demo-folder-not-ours]" in err and "does not exist yet" in err and "Traceback" not in err
    assert folder_dump(folder) == before


def test_a_file_or_a_link_is_not_the_demos_folder(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("mine")
    target = real_data_folder(tmp_path / "target")
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    before = folder_dump(tmp_path)
    for path in (file, link):
        with pytest.raises(DemoFolderRefused):
            demo.demo_folder(path)
    assert folder_dump(tmp_path) == before


def test_onboarding_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    folder = real_data_folder(tmp_path / "data")
    before = folder_dump(folder)
    result = CliRunner().invoke(main, ["demo", "--data", str(folder), "--projects", "1", "--days", "1"])
    assert result.exit_code == 1
    assert folder_dump(folder) == before


@pytest.mark.parametrize(("option", "value"), [("--projects", "0"), ("--projects", "-5"), ("--days", "0")])
def test_a_demo_of_nothing_is_refused_before_anything_is_made(tmp_path: Path, option: str, value: str) -> None:
    folder = tmp_path / "demo-data"
    result = CliRunner().invoke(main, ["demo", "--data", str(folder), option, value])
    assert result.exit_code == 2 and option in result.output
    with pytest.raises(SystemExit) as exited:
        demo.main(["--data", str(folder), option, value])
    assert exited.value.code == 2
    assert not folder.exists()


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_demo_marks_its_database_a_simulation_that_sweeps_days_not_yet_come(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import onboarding_flows.report
    import onboarding_flows.sweep

    # what the demo sets in its environment, put back after it
    for name in ("ONBOARDING_DATA_DIR", "ONBOARDING_DATABASE_URL", "ONBOARDING_MAILDIR"):
        monkeypatch.setenv(name, "set by the demo")
    monkeypatch.setenv("ONBOARDING_MANAGERS", demo.MANAGERS)
    monkeypatch.setenv("ONBOARDING_SMTP_HOST", "smtp.example.invalid")  # the demo never uses it
    for name in ("TASK_RUN_RECORDER_BATCH_SIZE", "TASK_RUN_RECORDER_READ_BATCH_SIZE"):
        monkeypatch.setenv(f"PREFECT_SERVER_SERVICES_{name}", "200")
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    onboarding_flows.sweep._built.cache_clear()
    onboarding_flows.sweep.application.cache_clear()
    onboarding_flows.report._built.cache_clear()
    onboarding_flows.report.application.cache_clear()
    folder = tmp_path / "demo-data"
    days = (datetime.now(UTC).date() - demo.START).days + 10  # ten days past today
    try:
        assert demo.main(["--data", str(folder), "--projects", "1", "--days", str(days)]) == 0
    finally:
        onboarding_flows.sweep._built.cache_clear()
        onboarding_flows.sweep.application.cache_clear()
        onboarding_flows.report._built.cache_clear()
        onboarding_flows.report.application.cache_clear()
    assert "sweeps through Prefect" in capsys.readouterr().out
    engine = database(Settings(data_dir=folder, database_url=None))
    try:
        history = SqlSweepStore(engine).sweep_history()
    finally:
        engine.dispose()
    assert history.simulation and history.latest_swept_on is not None
    assert history.latest_swept_on > datetime.now(UTC).date()
    assert (folder / demo.MARK).is_file()
    assert any(p.is_file() for p in (folder / "maildir").rglob("*"))  # delivered to its Maildir, not by SMTP
    demo.demo_folder(folder)  # its own folder: emptied for the next run
    assert [p.name for p in folder.iterdir()] == [demo.MARK]
