"""Settings from the environment (prefix ONBOARDING_), parsed once at the edge."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
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
    smtp_timeout_seconds: float = 30.0

    @property
    def effective_maildir(self) -> Path:
        return self.maildir or self.data_dir / "maildir"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'onboarding.db').resolve()}"
