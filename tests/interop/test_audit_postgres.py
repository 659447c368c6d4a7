"""The audit chain on the real PostgreSQL: concurrent writer processes, tamper detection, no clear NIR."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select, text, update

from gateway.audit import AuditEvent, AuditLog, AuditQueries
from gateway.audit.chain import HASHED_COLUMNS
from gateway.settings import Settings
from gateway.store.engine import make_engine
from gateway.store.tables import audit_checkpoints, audit_log, audit_person_index, metadata
from tests.conftest import require_service
from tests.fixtures.policy.bundles import CLEAR_NIR
from tests.pg import temporary_database
from tests.unit.test_audit_chain import AT, ROWS, _altered, sample_entries

SETTINGS = Settings(
    pseudonym_key="audit-test-key-0123456789abcdef", checkpoint_key="5e" * 32, environment="test"
)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with temporary_database(f"audit_{uuid.uuid4().hex[:12]}") as url:
        engine = make_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="module")
def snapshot(pg_url: str) -> dict[str, list[dict[str, Any]]]:
    """A chain of ROWS real decisions and a checkpoint, written once; tests restore it before tampering."""
    engine = make_engine(pg_url)
    _clear(engine)
    log = AuditLog(engine, SETTINGS)
    log.record_decisions(sample_entries(ROWS))
    log.checkpoint(at=AT + dt.timedelta(hours=1))
    assert AuditQueries(engine, SETTINGS).verify().ok
    with engine.connect() as connection:
        saved = {
            table.name: [dict(row) for row in connection.execute(select(table)).mappings()]
            for table in (audit_log, audit_person_index, audit_checkpoints)
        }
    engine.dispose()
    return saved


def _clear(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in (audit_person_index, audit_log, audit_checkpoints):
            connection.execute(delete(table))


def _restore(engine: Engine, saved: dict[str, list[dict[str, Any]]]) -> None:
    _clear(engine)
    with engine.begin() as connection:
        for table in (audit_log, audit_person_index, audit_checkpoints):
            connection.execute(insert(table), saved[table.name])


@pytest.fixture(scope="module")
def engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.integers(1, ROWS), column=st.sampled_from([c for c in HASHED_COLUMNS if c != "seq"] + ["hash"]))
def test_any_altered_cell_is_found(
    engine: Engine, snapshot: dict[str, list[dict[str, Any]]], seq: int, column: str
) -> None:
    _restore(engine, snapshot)
    with engine.begin() as connection:
        value = connection.execute(select(audit_log.c[column]).where(audit_log.c.seq == seq)).scalar()
        connection.execute(
            update(audit_log).where(audit_log.c.seq == seq).values({column: _altered(value, column)})
        )
    result = AuditQueries(engine, SETTINGS).verify()
    assert not result.ok and result.first_bad_seq == seq, (column, result)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.integers(1, ROWS))
def test_any_deleted_row_is_found(
    engine: Engine, snapshot: dict[str, list[dict[str, Any]]], seq: int
) -> None:
    _restore(engine, snapshot)
    with engine.begin() as connection:
        connection.execute(delete(audit_log).where(audit_log.c.seq == seq))
    result = AuditQueries(engine, SETTINGS).verify()
    assert not result.ok and result.first_bad_seq == seq, result


def test_person_history_and_no_clear_identifier_in_the_database(
    engine: Engine, snapshot: dict[str, list[dict[str, Any]]]
) -> None:
    _restore(engine, snapshot)
    history = AuditQueries(engine, SETTINGS).person_history({"urn:fr:insee:nir": CLEAR_NIR}, "1990-04-12")
    assert history and all("urn:fr:insee:nir" in row["matched_on"] for row in history)
    with engine.connect() as connection:
        for table in ("audit_log", "audit_person_index", "audit_checkpoints"):
            dump = connection.execute(text(f"SELECT string_agg(t::text, '|') FROM {table} t")).scalar() or ""
            assert CLEAR_NIR not in dump and CLEAR_NIR[:13] not in dump and "1234567A" not in dump


def _append_many(url: str, worker: int, n: int) -> None:
    log = AuditLog(make_engine(url), SETTINGS)
    for batch in range(n // 5):
        log.record_events(
            [
                AuditEvent(event="test", actor=f"worker-{worker}", details={"b": batch, "i": i})
                for i in range(5)
            ]
        )


def test_concurrent_writer_processes_keep_one_gapless_chain(engine: Engine, pg_url: str) -> None:
    _clear(engine)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(pg_url, w, 50)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    result = AuditQueries(engine, SETTINGS).verify()
    assert result.ok and result.checked == 200, result
    with engine.connect() as connection:
        actors = connection.execute(select(audit_log.c.actor).order_by(audit_log.c.seq)).scalars().all()
    assert len(set(actors)) == 4
