"""Typed settings: defaults < config file (YAML) < environment variables (``GATEWAY_*``).

The config file is ``config/gateway.yaml`` under the gateway home, or the file named by
``GATEWAY_CONFIG``. Secrets (pseudonym key, checkpoint signing key) should come from the environment
or a secrets file in production; the demo configuration ships throw-away values and says so.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from ruamel.yaml import YAML

from gateway.errors import ConfigurationError

PROJECT_HOME = Path(__file__).resolve().parent.parent


def _config_file() -> Path:
    explicit = os.environ.get("GATEWAY_CONFIG")
    if explicit:
        return Path(explicit)
    home = Path(os.environ.get("GATEWAY_HOME", PROJECT_HOME))
    return home / "config" / "gateway.yaml"


class _YamlSource(PydanticBaseSettingsSource):
    """Reads the ``gateway:`` section of the config file (or the whole file if it has none)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = _config_file()
        if not path.is_file():
            if "GATEWAY_CONFIG" in os.environ:
                raise ConfigurationError("config file not found", file=str(path))
            return {}
        try:
            data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
        except Exception as exc:  # ruamel raises several error types; all mean "bad file"
            raise ConfigurationError(f"cannot parse config: {exc}", file=str(path)) from exc
        if not isinstance(data, dict):
            raise ConfigurationError("config file must be a mapping", file=str(path))
        section = data.get("gateway", data)
        base = path.parent.parent
        # Relative paths in the file are relative to the gateway home (the config folder's parent).
        for key in ("data_dir", "mappings_dir", "conventions_dir", "config_dir"):
            if isinstance(section.get(key), str) and not Path(section[key]).is_absolute():
                section[key] = str(base / section[key])
        return dict(section)


class Settings(BaseSettings):
    """Gateway settings. Every field can be set as ``GATEWAY_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    home: Path = PROJECT_HOME
    data_dir: Path = Field(default_factory=lambda: PROJECT_HOME / "var")
    database_url: str = ""
    """SQLAlchemy URL; empty means the embedded SQLite file ``<data_dir>/gateway.db``."""
    mappings_dir: Path = Field(default_factory=lambda: PROJECT_HOME / "mappings")
    conventions_dir: Path = Field(default_factory=lambda: PROJECT_HOME / "conventions")
    config_dir: Path = Field(default_factory=lambda: PROJECT_HOME / "config")
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    pseudonym_key: SecretStr = SecretStr("")
    """HMAC key for the audit log's keyed pseudonyms. Changing it breaks person searches on old rows."""
    checkpoint_key: SecretStr = SecretStr("")
    """Ed25519 private key seed (hex, 32 bytes) signing audit chain checkpoints."""
    api_token_key: SecretStr = SecretStr("")
    """Signs API access tokens and console session cookies; empty outside production = random per process."""
    environment: Literal["demo", "test", "production"] = "demo"
    retry_initial_seconds: float = 2.0
    retry_max_seconds: float = 3600.0
    retry_max_attempts: int = 10
    retry_max_age_hours: float = 48.0
    audit_checkpoint_minutes: float = 15.0
    """How often the running gateway signs the audit chain head (0 = never)."""
    delivery_lease_seconds: float = 120.0
    """How long a worker owns a claimed outbox item; after that (worker died) another takes it."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls), file_secret_settings)

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        if self.environment == "production":
            for name in ("pseudonym_key", "checkpoint_key", "api_token_key"):
                if len(getattr(self, name).get_secret_value()) < 32:
                    raise ValueError(f"{name} must be set (≥ 32 characters) in production")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'gateway.db'}"


@cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
