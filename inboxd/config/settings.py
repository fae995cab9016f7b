"""The process environment (pydantic-settings): ``INBOXD_*`` and systemd's ``STATE_DIRECTORY``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    Field,
    PlainValidator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict


def _state_directory(value: object) -> Path | None:
    """systemd's ``STATE_DIRECTORY`` lists every StateDirectory=, separated by colons; the first is ours."""
    if value is None or isinstance(value, Path):
        return value
    if isinstance(value, str):
        first = value.split(":", 1)[0]
        return Path(first) if first else None
    raise ValueError("expected a directory path")


class Settings(BaseSettings):
    """The process environment."""

    model_config = SettingsConfigDict(
        env_prefix="INBOXD_", env_ignore_empty=True, extra="ignore", frozen=True
    )

    config: Path | None = None
    database_url: str | None = None
    log_format: Literal["json", "console"] | None = None
    state_directory: Annotated[Path | None, PlainValidator(_state_directory)] = Field(
        default=None, validation_alias=AliasChoices("STATE_DIRECTORY", "state_directory")
    )

    def config_path(self) -> Path:
        """``INBOXD_CONFIG``, else ``config/inboxd.yaml`` if it is here, else ``/etc/inboxd/inboxd.yaml``."""
        if self.config is not None:
            return self.config
        local = Path("config/inboxd.yaml")
        if local.is_file():
            return local
        return Path("/etc/inboxd/inboxd.yaml")

    def resolved_database_url(self) -> str:
        """``INBOXD_DATABASE_URL``, else SQLite in ``$STATE_DIRECTORY``, else in the working directory."""
        if self.database_url:
            return self.database_url
        directory = self.state_directory if self.state_directory is not None else Path.cwd()
        return f"sqlite:///{directory.absolute() / 'inboxd.db'}"

