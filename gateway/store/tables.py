"""Tables of the gateway store (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Migrations in ``gateway/store/migrations`` create exactly these tables; a test compares both so that
they cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = DateTime(timezone=True)

exchanges = Table(
    "exchanges",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("received_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("endpoint", String(128), nullable=False),
    Column("sender", String(128), nullable=False),
    Column("transport", String(32), nullable=False),
    Column("source_name", String(512)),
    Column("content_type", String(128)),
    Column("size", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False, comment="sha256 of the payload"),
    Column("idempotency_key", String(256), nullable=False, unique=True),
    Column("status", String(32), nullable=False),
    Column("records_total", Integer, nullable=False, default=0),
    Column("records_ok", Integer, nullable=False, default=0),
    Column("records_rejected", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("claimed_by", String(128), comment="processor currently working on it (lease)"),
    Column("claimed_until", TS),
    Index(None, "status", "received_at"),
    Index(None, "endpoint", "received_at"),
)

exchange_payloads = Table(
    "exchange_payloads",
    metadata,
    Column("exchange_id", String(36), ForeignKey("exchanges.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("start", BigInteger, nullable=False, comment="position of the slice's first byte"),
    Column("data", LargeBinary, nullable=False),
    comment="the envelope as received, in slices, stored before acknowledgement; apart from "
    "exchanges so that status updates never rewrite it",
)

records = Table(
    "records",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("exchange_id", String(36), ForeignKey("exchanges.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("line", Integer),
    Column("status", String(32), nullable=False),
    Column("error", Text, comment="location and rule only, never a personal value"),
    Column("bundle", JSON),
    Column("person_key", String(64), comment="keyed pseudonym used for per-person ordering"),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("exchange_id", "number"),
    Index(None, "exchange_id", "status"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("exchange_id", String(36), ForeignKey("exchanges.id"), nullable=False),
    Column("record_id", String(36), ForeignKey("records.id")),
    Column("convention_id", String(128), nullable=False),
    Column("convention_version", String(32), nullable=False),
    Column("flow_id", String(128), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("receiver", String(128), nullable=False),
    Column("endpoint", String(128), nullable=False),
    Column("idempotency_key", String(256), nullable=False, unique=True),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False, comment="pending, in_flight, delivered, dead"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TS, nullable=False),
    Column("last_error", Text),
    Column("ordering_key", String(128)),
    Column("batch_key", String(128)),
    Column("claimed_by", String(128)),
    Column("claimed_until", TS),
    Column("created_at", TS, nullable=False),
    Column("delivered_at", TS),
    Column("receipt", Text),
    Column("replay_of", String(36)),
    Index(None, "status", "next_attempt_at"),
    Index(None, "ordering_key", "created_at"),
    Index(None, "endpoint", "status"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("outbox_id", String(36), ForeignKey("outbox.id")),
    Column("exchange_id", String(36), ForeignKey("exchanges.id")),
    Column("stage", String(32), nullable=False, comment="where it failed: decode, map, policy, deliver"),
    Column("reason", Text, nullable=False),
    Column("error_class", String(128), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("replayed_at", TS),
    Column("replayed_by", String(128)),
    Column("replay_outbox_id", String(36)),
    Index(None, "replayed_at", "created_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", TS, nullable=False),
    Column("event", String(32), nullable=False, comment="exchange decision, replay, read, purge..."),
    Column("exchange_id", String(36)),
    Column("record_ref", String(64)),
    Column("convention_id", String(128)),
    Column("convention_version", String(32)),
    Column("flow_id", String(128)),
    Column("purpose", String(64)),
    Column("sender", String(128)),
    Column("receiver", String(128)),
    Column("actor", String(128), comment="who did it (partner, operator, dpo, system)"),
    Column("person_pseudonyms", JSON, comment="keyed HMAC pseudonyms, never clear identifiers"),
    Column("resource_types", JSON),
    Column("fields", JSON, comment="field names only, never values"),
    Column("decision", String(32), nullable=False),
    Column("rules", JSON),
    Column("receipt", String(256)),
    Column("replay_of", BigInteger),
    Column("retention_until", TS),
    Column("retention_category", String(32), comment="which retention of the convention applies"),
    Column("details", JSON, comment="event details (counts, status change); never personal data"),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "convention_id", "at"),
    Index(None, "at"),
)

audit_person_index = Table(
    "audit_person_index",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("last_seq", BigInteger, comment="the entry covers rows seq..last_seq (one record's); null: seq"),
    Index(None, "seq"),
    comment="lookup table from person pseudonym to audit rows; rebuilt from audit_log if in doubt",
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "kind", String(16), nullable=False, comment="checkpoint, or purge (anchor: chain starts after seq)"
    ),
    Column("seq", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("at", TS, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", Text, nullable=False),
)

conventions = Table(
    "conventions",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("version", String(32), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("valid_from", TS),
    Column("valid_to", TS),
    Column("source_file", String(512)),
    Column("digest", String(64), nullable=False),
    Column("content", JSON, nullable=False),
    Column("loaded_at", TS, nullable=False),
    Column("status_changed_at", TS),
    Column("status_changed_by", String(128)),
)

polled_files = Table(
    "polled_files",
    metadata,
    Column("endpoint", String(128), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("mtime", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("taken_at", TS, nullable=False),
    Column("exchange_id", String(36)),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", TS, nullable=False),
    comment="one poller per endpoint across nodes; PostgreSQL also uses advisory locks",
)
