"""Warm-up before processing: what processing needs is loaded, then kept out of the collector's passes."""

from __future__ import annotations

import gc
from pathlib import Path

from gateway.runtime import Gateway
from tests.pipeline_support import make_settings


def test_warm_up_loads_the_inbound_mappings_and_freezes_them(tmp_path: Path) -> None:
    gateway = Gateway(make_settings(tmp_path, "http://127.0.0.1:9/inbox"))
    try:
        gateway.warm_up()
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert frozen > 10_000
    assert "registry" in gateway.__dict__ and "processor" in gateway.__dict__  # loaded, not lazily later
    gateway.engine.dispose()


def test_an_unusable_mapping_does_not_stop_the_warm_up(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/inbox")
    endpoints = settings.config_dir / "endpoints.yaml"
    endpoints.write_text(
        endpoints.read_text(encoding="utf-8").replace("mapping: plie-participants-csv", "mapping: nope"),
        encoding="utf-8",
    )
    gateway = Gateway(settings)
    try:
        gateway.warm_up()
    finally:
        gc.unfreeze()
    assert "processor" in gateway.__dict__
    gateway.engine.dispose()
