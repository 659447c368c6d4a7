"""Settings: defaults, the YAML config file, environment overrides, production secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.errors import ConfigurationError
from gateway.settings import Settings


def test_config_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "gateway.yaml").write_text("gateway:\n  port: 9001\n  data_dir: store\n")
    monkeypatch.setenv("GATEWAY_HOME", str(tmp_path))
    settings = Settings()
    assert settings.port == 9001
    assert settings.data_dir == tmp_path / "store"
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'store' / 'gateway.db'}"
    monkeypatch.setenv("GATEWAY_PORT", "9002")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", "postgresql://u@h/db")
    settings = Settings()
    assert settings.port == 9002
    assert settings.effective_database_url == "postgresql://u@h/db"


def test_missing_explicit_config_file_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigurationError, match=r"nope\.yaml"):
        Settings()


def test_production_requires_real_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_HOME", str(tmp_path))
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="pseudonym_key"):
        Settings()
    monkeypatch.setenv("GATEWAY_PSEUDONYM_KEY", "k" * 40)
    monkeypatch.setenv("GATEWAY_CHECKPOINT_KEY", "c" * 64)
    monkeypatch.setenv("GATEWAY_API_TOKEN_KEY", "t" * 40)
    assert Settings().environment == "production"
