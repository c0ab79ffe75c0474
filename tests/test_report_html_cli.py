"""``onboarding report --html``: bad input is refused before anything is read or written."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from onboarding.cli import main


def test_a_folder_is_not_a_report_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--html", str(tmp_path)], env={"ONBOARDING_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert "--html" in result.output and "is a directory" in result.output
    assert list(tmp_path.iterdir()) == []  # no database made, nothing written


def test_an_unreadable_day_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        main, ["report", "--html", str(out), "--as-of", "01/03/2027"], env={"ONBOARDING_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2 and "--as-of" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_without_html_or_a_subcommand_the_group_shows_its_help(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report"], env={"ONBOARDING_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0 and "--html" in result.output and "ttfv" in result.output


def test_a_file_the_engine_did_not_write_is_refused_and_kept(tmp_path: Path) -> None:
    notes = tmp_path / "notes.html"
    notes.write_text("my notes\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["report", "--html", str(notes)], env={"ONBOARDING_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2 and "--html" in result.output
    assert str(notes) in result.output and "not a report" in result.output and "another path" in result.output
    assert "[report-file-not-ours]" in result.output
    assert notes.read_text(encoding="utf-8") == "my notes\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.html"]  # refused before anything is read or made
