"""Settings from the environment (prefix ONBOARDING_), parsed once at the edge."""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONBOARDING_", frozen=True)

    data_dir: Path = Field(default=Path("data"), description="Where the SQLite database and the Maildir live.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file in the data folder. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    max_blueprint_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="Largest blueprint file read.")
    sender_name: str = "Onboarding"
    sender_email: str = "onboarding@localhost"
    mail_domain: str = Field(default="onboarding.localhost", description="Right-hand side of Message-IDs.")
    unsubscribe_url: str = Field(default="http://localhost/unsubscribe", description="Base of unsubscribe links.")
    secret_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Signs unsubscribe links; default: a random key made once in the data folder (file secret_key). "
        "Set it when several machines send emails.",
    )
    maildir: Path | None = Field(default=None, description="Maildir folder (default: the data folder's maildir/).")
    smtp_host: str | None = Field(default=None, description="Deliver by SMTP instead of to the Maildir.")
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest wait for the SMTP server on one message, connecting included."
    )
    delivery_retry_horizon_hours: float = Field(
        default=72.0,
        gt=0,
        description="How long after it was queued a message keeps being retried after temporary failures "
        "(server down, 4xx); a temporary failure after that holds it for `onboarding outbox retry`.",
    )
    delivery_backoff_cap_minutes: float = Field(
        default=60.0, gt=0, description="Longest wait between two tries of a message (1, 2, 4 ... minutes, capped)."
    )
    delivery_deadline_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Real time a sweep's delivery may take; what is left waits for the next sweep.",
    )

    @property
    def effective_maildir(self) -> Path:
        return self.maildir or self.data_dir / "maildir"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'onboarding.db').resolve()}"

    # -- the weekly report (flows/report.py) --------------------------------------

    managers: str = Field(
        default="",
        description="Who gets the weekly report: 'Name <email>, Name <email>' (quote a name that has a comma).",
    )

    @field_validator("managers")
    @classmethod
    def _managers_readable(cls, value: str) -> str:
        manager_addresses(value)
        return value

    @property
    def manager_addresses(self) -> tuple[tuple[str, str], ...]:
        """The managers as (name, email) pairs, in the order given."""
        return manager_addresses(self.managers)


_SECRET = frozenset({"secret_key", "smtp_password"})


def settings_problems() -> list[str]:
    """What is wrong with the settings in the environment, one line per variable (empty: nothing)."""
    try:
        Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            variable = "ONBOARDING_" + "_".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            if message.startswith(variable):
                pass
            elif error["loc"][0] in _SECRET:  # never echo a secret
                message = f"{variable}: {message.replace('items', 'characters')}"
            else:
                message = f"{variable}={error['input']!r}: {message}"
            lines.append(f"{message} (fix or unset that environment variable)")
        return lines
    return []


def manager_addresses(text: str) -> tuple[tuple[str, str], ...]:
    """``Name <email>, Name <email>`` as (name, email) pairs; raises ValueError saying which entry is unreadable."""
    out: list[tuple[str, str]] = []
    for entry in _entries(text):
        name, email = parseaddr(entry)
        local, at, domain = email.rpartition("@")
        unbalanced = entry.count("<") != entry.count(">")
        if unbalanced or not (at and local and "." in domain.strip(".")) or any(c.isspace() for c in email):
            raise ValueError(
                f"ONBOARDING_MANAGERS: cannot read an email address in {entry.strip()!r}; "
                "write the managers as 'Name <name@example.com>, Name <name@example.com>'"
            )
        out.append((name.strip(), email))
    return tuple(out)


def _entries(text: str) -> list[str]:
    """The comma-separated entries, keeping commas inside quoted names."""
    entries, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            entries.append(current)
            current = ""
        else:
            current += char
    entries.append(current)
    return [entry for entry in entries if entry.strip()]
