"""Settings from the environment (prefix ONBOARDING_), parsed once at the edge."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONBOARDING_", frozen=True)

    data_dir: Path = Field(default=Path("data"), description="Where the SQLite database and the Maildir live.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: a SQLite file in the data folder. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db"
    )
    max_blueprint_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="Largest blueprint file read.")
    sender_name: str = "Onboarding"
    sender_email: str = "onboarding@localhost"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'onboarding.db').resolve()}"
