"""Settings from the environment (prefix ONBOARDING_), parsed once at the edge."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONBOARDING_", frozen=True)

    data_dir: Path = Field(default=Path("data"), description="Where the database and the Maildir live.")
    max_blueprint_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="Largest blueprint file read.")
