"""Settings read at the edge: the managers who get the weekly report."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from onboarding.settings import Settings, manager_addresses


def test_managers_are_read_in_order_with_quoted_names() -> None:
    assert manager_addresses(
        'Pat Lee <pat@vendor.example>, "Ruiz, Dana" <dana@vendor.example>, ola@vendor.example'
    ) == (
        ("Pat Lee", "pat@vendor.example"),
        ("Ruiz, Dana", "dana@vendor.example"),
        ("", "ola@vendor.example"),
    )
    assert manager_addresses("") == () and manager_addresses(" , ") == ()


@pytest.mark.parametrize("text", ["Pat Lee", "Pat <pat>", "pat@vendor.example, nonsense", "Pat <pat@vendor.example"])
def test_an_unreadable_manager_is_refused_saying_which(text: str) -> None:
    with pytest.raises(ValueError, match="ONBOARDING_MANAGERS"):
        manager_addresses(text)


def test_settings_take_managers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONBOARDING_MANAGERS", "Pat Lee <pat@vendor.example>")
    assert Settings().manager_addresses == (("Pat Lee", "pat@vendor.example"),)
    monkeypatch.setenv("ONBOARDING_MANAGERS", "Pat Lee")
    with pytest.raises(ValidationError, match="ONBOARDING_MANAGERS: entry 1: 'Pat Lee' is not an email address"):
        Settings()


def test_the_cli_names_each_unreadable_setting_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from onboarding.cli import main

    monkeypatch.setenv("ONBOARDING_SMTP_PORT", "abc")
    monkeypatch.setenv("ONBOARDING_SECRET_KEY", "hunter2")
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 1
    lines = sorted(result.output.strip().splitlines())
    assert lines[0].startswith("ONBOARDING_SECRET_KEY: ") and "32 characters" in lines[0]
    assert lines[1].startswith("ONBOARDING_SMTP_PORT='abc': ")
    assert "hunter2" not in result.output and "Traceback" not in result.output


def test_the_schema_needs_no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from onboarding.cli import main

    monkeypatch.setenv("ONBOARDING_SMTP_PORT", "abc")
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0 and '"$schema"' in result.output


@pytest.mark.parametrize(
    ("variable", "value", "code"),
    [
        ("ONBOARDING_SENDER_EMAIL", "jürgen@vendor.example", "invalid-address"),
        ("ONBOARDING_SENDER_EMAIL", "onboarding@vendor.example\r\nBcc: x@evil.example", "invalid-address"),
        ("ONBOARDING_SENDER_NAME", "Onboarding\nBcc: x@evil.example", "invalid-name"),
        ("ONBOARDING_MANAGERS", 'Pat <pat@vendor.example>, "a:b"@vendor.example', "invalid-address"),
    ],
)
def test_addresses_in_settings_follow_the_address_rule(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, code: str
) -> None:
    from click.testing import CliRunner

    from onboarding.cli import main

    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 1 and f"[{code}]" in result.output and variable in result.output
    assert "Traceback" not in result.output


def test_a_non_ascii_sender_domain_is_used_in_its_ascii_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONBOARDING_SENDER_EMAIL", "onboarding@bücher.example")
    monkeypatch.setenv("ONBOARDING_MANAGERS", "Pat <pat@bücher.example>")
    settings = Settings()
    assert settings.sender_email == "onboarding@xn--bcher-kva.example"
    assert settings.manager_addresses == (("Pat", "pat@xn--bcher-kva.example"),)


def test_public_url_defaults_to_the_unsubscribe_pages_server() -> None:
    assert Settings(unsubscribe_url="https://on.example.com/base/unsubscribe").effective_public_url == (
        "https://on.example.com/base"
    )
    assert Settings(public_url="https://pages.example.com/").effective_public_url == "https://pages.example.com"


@pytest.mark.parametrize("url", ["ftp://example.com", "example.com", "https://x.example/?a=1", "https://x y"])
def test_public_url_must_be_a_web_address(url: str) -> None:
    with pytest.raises(ValidationError, match="public_url"):
        Settings(public_url=url)
