"""Envelopes move from exchanges.payload to exchange_payloads, in slices.

SQLite rewrites a whole row on every UPDATE: with the envelope inside ``exchanges``, each status or
counter change copied the file (a 40 MB file processed in 500-record chunks was rewritten 40 times).
Slices also keep reading memory flat. Existing payloads move as one slice each (the reader accepts any
slice size).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_payloads",
        sa.Column("exchange_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False, comment="position of the slice's first byte"),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_id"], ["exchanges.id"], name=op.f("fk_exchange_payloads_exchange_id_exchanges")
        ),
        sa.PrimaryKeyConstraint("exchange_id", "seq", name=op.f("pk_exchange_payloads")),
        comment="the envelope as received, in slices, stored before acknowledgement; apart from "
        "exchanges so that status updates never rewrite it",
    )
    op.execute(
        "INSERT INTO exchange_payloads (exchange_id, seq, start, data) "
        "SELECT id, 0, 0, payload FROM exchanges WHERE payload IS NOT NULL AND size > 0"
    )
    with op.batch_alter_table("exchanges") as batch:
        batch.drop_column("payload")


def downgrade() -> None:
    with op.batch_alter_table("exchanges") as batch:
        batch.add_column(
            sa.Column(
                "payload",
                sa.LargeBinary(),
                nullable=True,
                comment="the envelope as received, stored before acknowledgement",
            )
        )
    # Slices concatenated in order (string_agg on PostgreSQL; on SQLite group_concat, cast back to BLOB).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE exchanges SET payload = (SELECT string_agg(data, ''::bytea ORDER BY seq) "
            "FROM exchange_payloads WHERE exchange_id = exchanges.id)"
        )
    else:
        op.execute(
            "UPDATE exchanges SET payload = (SELECT CAST(group_concat(data, '') AS BLOB) FROM "
            "(SELECT data FROM exchange_payloads WHERE exchange_id = exchanges.id ORDER BY seq))"
        )
    op.drop_table("exchange_payloads")
