"""The lease tests of ``tests/unit/test_leases.py``, run on the real PostgreSQL server (server clock)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from gateway.pipeline.leases import acquire_lease, lease_holder
from gateway.store.engine import make_engine, upgrade
from tests.conftest import require_service
from tests.pg import temporary_database
from tests.unit.test_leases import (  # noqa: F401 - collected again here, against PostgreSQL
    test_a_lease_has_one_holder_at_a_time,
    test_a_ttl_must_be_positive,
    test_an_expired_lease_is_taken_over,
    test_concurrent_nodes_racing_for_an_expired_lease_get_one_winner,
    test_leases_of_different_names_are_independent,
    test_release_frees_the_lease_only_for_its_holder,
    test_taking_a_lease_again_extends_it,
)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with temporary_database(f"gw_lease_{uuid.uuid4().hex[:8]}") as url:
        upgrade(url)
        yield url


@pytest.fixture
def lease_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM leases")
    yield engine
    engine.dispose()


def test_the_database_server_clock_decides_expiry(lease_engine: Engine) -> None:
    assert acquire_lease(lease_engine, "poll:clock", "node-a", ttl=60)
    with lease_engine.connect() as connection:
        server_now = connection.exec_driver_sql("SELECT statement_timestamp()").scalar_one()
    holder = lease_holder(lease_engine, "poll:clock")
    assert holder is not None
    assert 50 <= (holder[1] - server_now).total_seconds() <= 60
