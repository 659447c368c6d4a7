"""Dialect-aware bulk writes: "insert unless it exists" for idempotent writes, and plain executemany
for narrow high-volume tables (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite


def _statement(connection: Connection, table: Table, key: Sequence[str]) -> Insert:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(key))
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key))


def insert_ignore_one(connection: Connection, table: Table, row: dict[str, Any], key: Sequence[str]) -> bool:
    """Insert ``row`` unless a row with the same ``key`` exists; True if it was inserted.

    Told by RETURNING, not ``rowcount``: psycopg reports -1 for ``INSERT … ON CONFLICT DO NOTHING``
    through SQLAlchemy 2.1, which made every insert look like a conflict on PostgreSQL.
    """
    statement = _statement(connection, table, key).returning(*table.primary_key.columns)
    return connection.execute(statement, row).first() is not None


def insert_ignore_many(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str]
) -> None:
    """Insert ``rows`` in one round trip, silently skipping those whose ``key`` already exists."""
    if rows:
        connection.execute(_statement(connection, table, key), list(rows))


def insert_plain_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert many rows of plain values (strings, numbers) through the driver's executemany.

    For narrow, high-volume tables (the audit person index: a dozen rows per record) SQLAlchemy's
    per-row parameter processing costs more than the insert itself; values must need no conversion.
    """
    if not rows:
        return
    quote = connection.dialect.identifier_preparer.quote
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(quote(table.c[name].name) for name in columns)
    markers = ", ".join([marker] * len(columns))
    # Identifiers come from the table's metadata (quoted), values are bound: nothing from outside.
    statement = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({markers})"  # noqa: S608
    connection.exec_driver_sql(statement, list(rows))
