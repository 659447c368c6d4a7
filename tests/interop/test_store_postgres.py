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


def test_payloads_are_stored_in_slices_and_stream_back(pg_url: str) -> None:
    from gateway.pipeline.intake import Envelope, receive
    from gateway.store.payloads import CHUNK, open_payload

    upgrade(pg_url)
    engine = make_engine(pg_url)
    payload = bytes(range(256)) * 10_000 + b"\x00end"  # 2.5 MB: three slices
    exchange_id = receive(engine, Envelope("caf-in", "caf26", "test", payload)).exchange_id
    with engine.connect() as connection:
        sizes = (
            connection.execute(
                text("SELECT length(data) FROM exchange_payloads WHERE exchange_id = :id ORDER BY seq"),
                {"id": exchange_id},
            )
            .scalars()
            .all()
        )
    stream = open_payload(engine, exchange_id, len(payload))
    read_back = b"".join(iter(lambda: stream.read(300_000), b""))
    stream.seek(CHUNK - 3)
    across = stream.read(6)
    engine.dispose()
    assert sizes == [CHUNK, CHUNK, len(payload) - 2 * CHUNK]
    assert read_back == payload
    assert across == payload[CHUNK - 3 : CHUNK + 3]


def test_receive_tells_a_new_envelope_from_a_duplicate_on_postgres(pg_url: str) -> None:
    """insert_ignore_one relies on RETURNING: psycopg's rowcount is -1 for ON CONFLICT DO NOTHING."""
    from gateway.pipeline.intake import Envelope, receive

    upgrade(pg_url)
    engine = make_engine(pg_url)
    first = receive(engine, Envelope("plie-in", "plie-mel", "test", b"a;b\n1;2\n"))
    again = receive(engine, Envelope("plie-in", "plie-mel", "test", b"a;b\n1;2\n"))
    with engine.connect() as connection:
        slices = connection.execute(text("SELECT count(*) FROM exchange_payloads")).scalar()
    engine.dispose()
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.exchange_id == first.exchange_id
    assert slices == 1


def test_large_json_columns_are_compressed_with_lz4_and_the_downgrade_restores_pglz(pg_url: str) -> None:
    from alembic import command

    from gateway.store.engine import alembic_config

    query = text(
        "SELECT c.relname || '.' || a.attname, a.attcompression FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relname IN ('records', 'outbox', 'audit_log') AND a.attcompression <> ''"
    )
    upgrade(pg_url)
    engine = make_engine(pg_url)
    with engine.connect() as connection:
        methods = {name: method for name, method in connection.execute(query)}
    assert methods == {
        "records.bundle": "l",
        "outbox.payload": "l",
        "audit_log.person_pseudonyms": "l",
        "audit_log.fields": "l",
    }
    command.downgrade(alembic_config(pg_url), "0003")
    with engine.connect() as connection:
        methods = {name: method for name, method in connection.execute(query)}
    engine.dispose()
    assert set(methods.values()) == {"p"}
    assert len(methods) == 4
