"""Migrations on the real PostgreSQL server of this machine (not a mock)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from gateway.store.engine import make_engine, upgrade
from gateway.store.tables import metadata
from tests.conftest import require_service
from tests.pg import PG_ADMIN_URL, temporary_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with temporary_database(f"gw_mig_{uuid.uuid4().hex[:8]}") as url:
        yield url


def test_migrations_on_postgres_match_metadata(pg_url: str) -> None:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
        version = connection.execute(text("SELECT version()")).scalar()
    engine.dispose()
    assert diff == [], f"migrations and tables.py differ on PostgreSQL: {diff}"
    assert "PostgreSQL" in str(version)
    assert PG_ADMIN_URL.startswith("postgresql")
