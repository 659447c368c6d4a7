"""Leases on SQLite: one holder at a time, re-entrant, taken over once expired, released on demand.

``tests/interop/test_leases_postgres.py`` runs the same tests on the real PostgreSQL server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from gateway.pipeline.leases import acquire_lease, lease_holder, release_lease, renew_lease
from gateway.store.engine import make_engine, upgrade
from gateway.store.tables import leases


@pytest.fixture
def lease_engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path}/store.db"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def expire(engine: Engine, name: str) -> None:
    """Move the lease's expiry into the past, as if its holder had stopped renewing it long ago."""
    with engine.begin() as connection:
        connection.execute(
            update(leases)
            .where(leases.c.name == name)
            .values(expires_at=datetime.now(UTC) - timedelta(hours=1))
        )


def test_a_lease_has_one_holder_at_a_time(lease_engine: Engine) -> None:
    assert acquire_lease(lease_engine, "poll:dsn", "node-a", ttl=60)
    assert not acquire_lease(lease_engine, "poll:dsn", "node-b", ttl=60)
    holder = lease_holder(lease_engine, "poll:dsn")
    assert holder is not None and holder[0] == "node-a"


def test_taking_a_lease_again_extends_it(lease_engine: Engine) -> None:
    assert acquire_lease(lease_engine, "poll:dsn", "node-a", ttl=5)
    first = lease_holder(lease_engine, "poll:dsn")
    assert acquire_lease(lease_engine, "poll:dsn", "node-a", ttl=3600)
    second = lease_holder(lease_engine, "poll:dsn")
    assert first is not None and second is not None and second[1] > first[1] + timedelta(minutes=30)


def test_an_expired_lease_is_taken_over(lease_engine: Engine) -> None:
    assert acquire_lease(lease_engine, "poll:dsn", "node-a", ttl=60)
    expire(lease_engine, "poll:dsn")

    assert acquire_lease(lease_engine, "poll:dsn", "node-b", ttl=60)
    assert not renew_lease(lease_engine, "poll:dsn", "node-a", ttl=60)
    assert renew_lease(lease_engine, "poll:dsn", "node-b", ttl=60)


def test_release_frees_the_lease_only_for_its_holder(lease_engine: Engine) -> None:
    assert acquire_lease(lease_engine, "poll:dsn", "node-a", ttl=60)
    assert not release_lease(lease_engine, "poll:dsn", "node-b")
    assert not acquire_lease(lease_engine, "poll:dsn", "node-b", ttl=60)

    assert release_lease(lease_engine, "poll:dsn", "node-a")
    assert acquire_lease(lease_engine, "poll:dsn", "node-b", ttl=60)


def test_leases_of_different_names_are_independent(lease_engine: Engine) -> None:
    assert acquire_lease(lease_engine, "poll:dsn", "node-a", ttl=60)
    assert acquire_lease(lease_engine, "poll:caf", "node-b", ttl=60)


def test_concurrent_nodes_racing_for_an_expired_lease_get_one_winner(lease_engine: Engine) -> None:
    assert acquire_lease(lease_engine, "poll:dsn", "node-old", ttl=60)
    expire(lease_engine, "poll:dsn")
    nodes = [f"node-{n}" for n in range(8)]
    start = threading.Barrier(len(nodes))
    won: list[str] = []

    def race(node: str) -> None:
        start.wait(timeout=10)
        if acquire_lease(lease_engine, "poll:dsn", node, ttl=60):
            won.append(node)

    threads = [threading.Thread(target=race, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(won) == 1, f"expected one winner, got {won}"
    holder = lease_holder(lease_engine, "poll:dsn")
    assert holder is not None and holder[0] == won[0]


def test_a_ttl_must_be_positive(lease_engine: Engine) -> None:
    with pytest.raises(ValueError, match="positive"):
        acquire_lease(lease_engine, "poll:dsn", "node-a", ttl=0)
