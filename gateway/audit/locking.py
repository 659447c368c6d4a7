"""One appender at a time on the chain head, across processes and machines.

PostgreSQL: a transaction-scoped advisory lock (released at commit or rollback). SQLite: ``BEGIN
IMMEDIATE`` takes the database's write lock before the head is read. Batches keep the lock short per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

AUDIT_LOCK_KEY = 0x617564_69745F6C6F67 & 0x7FFFFFFFFFFFFFFF
"""Advisory lock id of the audit chain ("audit_log" in hex, as a positive bigint)."""


@contextmanager
def chain_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.rollback()
            raise
        connection.commit()
