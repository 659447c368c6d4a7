"""A complete gateway on a temporary store for end-to-end tests: the project's real mappings and
conventions, an endpoints file pointing the PLIE → France Travail flow at a test HTTP receiver."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from gateway.runtime import Gateway
from gateway.settings import Settings

PROJECT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
"""A date inside the validity of the example conventions."""
PLIE_SIRET = "78451209300013"

ENDPOINTS = """
partners:
  plie-mel: {{name: PLIE MEL, siret: "78451209300013"}}
  ft-hdf: {{name: France Travail HDF}}
  aci-ateliers-avenir: {{name: ACI}}
endpoints:
  plie-in:
    direction: in
    partner: plie-mel
    mapping: plie-participants-csv
    transport: {{type: file-drop, options: {{directory: {drop}}}}}
  ft-api-partenaires-hdf:
    direction: out
    partner: ft-hdf
    ordered: true
    transport: {{type: http, options: {{url: "{url}", timeout: 1}}}}
  sftp-plie-mel-depot:
    direction: out
    partner: plie-mel
    transport: {{type: file-drop, options: {{directory: {outdir}}}}}
  aci-dsn:
    direction: in
    partner: aci-ateliers-avenir
    mapping: dsn-embauches-fins-contrat
    transport: {{type: file-drop, options: {{directory: {drop}}}}}
"""


def make_settings(tmp: Path, receiver_url: str, database_url: str = "", **overrides: object) -> Settings:
    config = tmp / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "endpoints.yaml").write_text(
        ENDPOINTS.format(url=receiver_url, drop=tmp / "drop", outdir=tmp / "out"), encoding="utf-8"
    )
    values: dict[str, object] = {
        "home": tmp,
        "data_dir": tmp / "var",
        "database_url": database_url,
        "config_dir": config,
        "mappings_dir": PROJECT / "mappings",
        "conventions_dir": PROJECT / "conventions",
        "pseudonym_key": SecretStr("test-pseudonym-key-0123456789abcdef"),
        "checkpoint_key": SecretStr("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
        "environment": "test",
        "retry_initial_seconds": 0.0,
        "retry_max_attempts": 3,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def make_gateway(tmp: Path, receiver_url: str, database_url: str = "", **overrides: object) -> Gateway:
    return Gateway(make_settings(tmp, receiver_url, database_url, **overrides))


def plie_file(records: int, seed: int = 1) -> bytes:
    from gateway import registry

    stream = io.BytesIO()
    registry.generator("plie-csv")("plie-csv", records, stream, seed=seed, plie_siret=PLIE_SIRET)
    return stream.getvalue()
