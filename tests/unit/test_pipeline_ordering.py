"""Per-person ordering asked by a convention flow (``ordering: per-person``), not only by an endpoint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.errors import ConfigurationError
from gateway.pipeline.intake import Envelope, receive
from gateway.policy import ConventionRegistry
from gateway.runtime import Gateway
from gateway.store.tables import outbox, records
from tests.pipeline_support import AT, PROJECT, make_settings, plie_file


def _conventions(tmp: Path, ordering: str | None) -> Path:
    folder = tmp / "conventions"
    shutil.copytree(PROJECT / "conventions", folder)
    path = folder / "plie-lille-ft.yaml"
    text = path.read_text(encoding="utf-8")
    assert "  - id: plie-to-ft\n" in text
    if ordering is not None:
        text = text.replace("  - id: plie-to-ft\n", f"  - id: plie-to-ft\n    ordering: {ordering}\n", 1)
    path.write_text(text, encoding="utf-8")
    return folder


def _queued(tmp: Path, ordering: str | None) -> list[tuple[str | None, str | None]]:
    """(ordering key, the record's person key) of each item queued for the PLIE → France Travail flow."""
    settings = make_settings(tmp, "http://127.0.0.1:9/inbox", conventions_dir=_conventions(tmp, ordering))
    endpoints = settings.config_dir / "endpoints.yaml"
    endpoints.write_text(endpoints.read_text(encoding="utf-8").replace("    ordered: true\n", ""), "utf-8")
    gateway = Gateway(settings)
    receipt = receive(gateway.engine, Envelope("plie-in", "plie-mel", "test", plie_file(6)))
    gateway.processor.process(receipt.exchange_id, at=AT)
    with gateway.engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.ordering_key, records.c.person_key)
            .join(records, records.c.id == outbox.c.record_id)
            .where(outbox.c.flow_id == "plie-to-ft")
        ).all()
    gateway.engine.dispose()
    return [(row.ordering_key, row.person_key) for row in rows]


def test_a_flow_asking_for_per_person_ordering_keys_its_items_by_person(tmp_path: Path) -> None:
    queued = _queued(tmp_path, "per-person")
    assert len(queued) >= 6
    assert all(key is not None and key == person for key, person in queued)


def test_without_the_setting_items_are_not_ordered(tmp_path: Path) -> None:
    queued = _queued(tmp_path, None)
    assert queued and all(key is None for key, _person in queued)


def test_an_unknown_ordering_is_refused_with_its_place(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ConventionRegistry.load(_conventions(tmp_path, "by-receiver"))
    assert "plie-lille-ft.yaml" in str(caught.value) and "ordering" in str(caught.value)
