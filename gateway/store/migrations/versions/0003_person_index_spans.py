"""Person index entries cover a record's audit rows: ``audit_person_index.last_seq``.

Before, each audit row had one index entry per pseudonym of its person, identifier + birth date
pseudonyms included: about 13 entries per record routed to one flow. Now an entry ``(pseudonym, seq,
last_seq)`` covers the consecutive rows of one record, and only identifier pseudonyms are indexed (a
search always names an identifier; the birth-date pseudonyms in ``person_pseudonyms`` confirm the rows it
finds). Existing entries stay valid as they are (``last_seq`` null: one row). The downgrade rebuilds the
old index from ``audit_log.person_pseudonyms``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("audit_person_index") as batch:
        batch.add_column(
            sa.Column(
                "last_seq",
                sa.BigInteger(),
                nullable=True,
                comment="the entry covers rows seq..last_seq (one record's); null: seq",
            )
        )


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM audit_person_index"))
    rows = bind.execute(sa.text("SELECT seq, person_pseudonyms FROM audit_log ORDER BY seq"))
    entries: list[dict[str, Any]] = []
    insert = sa.text("INSERT INTO audit_person_index (pseudonym, seq) VALUES (:pseudonym, :seq)")
    for seq, pseudonyms in rows:
        if isinstance(pseudonyms, str):  # SQLite returns JSON as text here
            pseudonyms = json.loads(pseudonyms)
        entries.extend({"pseudonym": p, "seq": seq} for p in pseudonyms or ())
        if len(entries) >= _BATCH:
            bind.execute(insert, entries)
            entries = []
    if entries:
        bind.execute(insert, entries)
    with op.batch_alter_table("audit_person_index") as batch:
        batch.drop_column("last_seq")
