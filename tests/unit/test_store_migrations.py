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
