"""Leases: one poller per endpoint across all nodes sharing the store.

A lease is a row of the ``leases`` table: a name (``poll:<endpoint>``), the node holding it and when it
expires. Taking it is one atomic statement pair in one transaction: insert the row if there is none, else
take it over only if it is ours already (a renewal) or has expired. Both SQLite (one writer at a time)
and PostgreSQL (the row lock of the conditional ``UPDATE``, re-checked after a concurrent commit) make
sure two nodes never both succeed.

Time: on PostgreSQL "now" is the database server's clock, so nodes with skewed clocks still agree; on
SQLite there is only one machine, so its clock is used.

Why no ``pg_try_advisory_lock``: an advisory lock would free the endpoint at once when a node dies, but
it pins one pooled connection per held lease and silently breaks behind transaction-pooling proxies
(PgBouncer). The table lease works the same on both databases; the cost is that after a crash the
endpoint waits at most ``ttl`` seconds before another node takes it over. Correctness does not rest on
the lease anyway: pollers also remember what they took (``polled_files``) and ``receive`` is idempotent,
so the lease only prevents wasted double work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, or_, select, update

from gateway.clock import aware, utcnow
from gateway.store.tables import leases
from gateway.store.upsert import insert_ignore_one


def _database_now(connection: Connection) -> datetime:
    """The current time: the database server's clock on PostgreSQL, this machine's on SQLite."""
    if connection.dialect.name == "postgresql":
        return aware(connection.execute(select(func.statement_timestamp())).scalar_one())
    return utcnow()


def _check_ttl(ttl: float) -> None:
    if ttl <= 0:
        raise ValueError("a lease needs a positive ttl")


def acquire_lease(engine: Engine, name: str, holder: str, ttl: float) -> bool:
    """Take lease ``name`` for ``ttl`` seconds; True if ``holder`` holds it now.

    Re-entrant: a holder that already has the lease gets it extended. An expired lease is taken over.
    """
    _check_ttl(ttl)
    with engine.begin() as connection:
        now = _database_now(connection)
        expires_at = now + timedelta(seconds=ttl)
        row = {"name": name, "holder": holder, "expires_at": expires_at}
        if insert_ignore_one(connection, leases, row, ["name"]):
            return True
        taken = connection.execute(
            update(leases)
            .where(leases.c.name == name, or_(leases.c.holder == holder, leases.c.expires_at < now))
            .values(holder=holder, expires_at=expires_at)
        )
        return taken.rowcount == 1


def renew_lease(engine: Engine, name: str, holder: str, ttl: float) -> bool:
    """Extend a lease ``holder`` still holds; False if it expired and someone else took it (or none)."""
    _check_ttl(ttl)
    with engine.begin() as connection:
        renewed = connection.execute(
            update(leases)
            .where(leases.c.name == name, leases.c.holder == holder)
            .values(expires_at=_database_now(connection) + timedelta(seconds=ttl))
        )
        return renewed.rowcount == 1


def release_lease(engine: Engine, name: str, holder: str) -> bool:
    """Give the lease up so another node can take it at once; False if ``holder`` did not hold it."""
    with engine.begin() as connection:
        released = connection.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))
        return released.rowcount == 1


def lease_holder(engine: Engine, name: str) -> tuple[str, datetime] | None:
    """Who holds lease ``name`` and until when (expired leases included), for status pages and tests."""
    with engine.connect() as connection:
        row = connection.execute(leases.select().where(leases.c.name == name)).one_or_none()
    return None if row is None else (str(row.holder), aware(row.expires_at))
