"""The alembic migrations create exactly the tables of gateway.store.tables, on SQLite."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from gateway.store.engine import current_revision, make_engine, upgrade
from gateway.store.tables import metadata


def test_upgrade_creates_every_table_and_matches_metadata(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'gateway.db'}"
    upgrade(url)
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == [], f"migrations and tables.py differ: {diff}"
    assert current_revision(engine) is not None


def test_upgrade_is_idempotent_and_uses_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_payloads_move_to_slices_and_back(tmp_path: Path) -> None:
    """0002 moves envelopes out of ``exchanges`` (binary, NUL bytes kept); its downgrade puts them back."""
    from alembic import command

    from gateway.store.engine import alembic_config
    from gateway.store.payloads import read_payload

    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url, "0001")
    payload = bytes(range(256)) * 3 + "é\x00fin".encode()
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO exchanges (id, received_at, updated_at, endpoint, sender, transport, size, "
                "digest, idempotency_key, payload, status, records_total, records_ok, records_rejected) "
                "VALUES ('x1', '2026-01-01', '2026-01-01', 'e', 's', 't', :size, 'd', 'k', :payload, "
                "'received', 0, 0, 0)"
            ),
            {"size": len(payload), "payload": payload},
        )
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    assert read_payload(engine, "x1") == payload
    assert "payload" not in {c["name"] for c in inspect(engine).get_columns("exchanges")}
    engine.dispose()
    command.downgrade(alembic_config(url), "0001")
    engine = make_engine(url)
    with engine.connect() as connection:
        restored = connection.execute(text("SELECT payload FROM exchanges WHERE id = 'x1'")).scalar()
    engine.dispose()
    assert bytes(restored) == payload
