"""PostgreSQL: the pipeline's large JSON columns are compressed with lz4, not pglz.

A canonical Bundle (records.bundle) is 3 to 5 KB, past PostgreSQL's TOAST threshold, so each one is
compressed as it is written; pglz made that the largest single cost of a chunk's commit (a record's row
took 37 µs to COPY, 18 µs with lz4, measured on this machine with PostgreSQL 15). lz4 also decompresses
faster on reads. Only values written from now on are affected; existing ones stay readable as they are.

Skipped where it cannot apply: SQLite (it does not compress), PostgreSQL before 14 or built without lz4.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = (
    ("records", "bundle"),
    ("outbox", "payload"),
    ("audit_log", "person_pseudonyms"),
    ("audit_log", "fields"),
)


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    version = int(bind.execute(sa.text("SHOW server_version_num")).scalar_one())
    if version < 140000:
        return False
    methods = bind.execute(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    return "lz4" in (methods or ())


def _set(method: str) -> None:
    if not _lz4_available():
        return
    for table, column in COLUMNS:
        # Names are this module's constants; SET COMPRESSION takes no bound parameter.
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION {method}')


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("pglz")
