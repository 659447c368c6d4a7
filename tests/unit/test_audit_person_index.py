"""The person index: one entry per identifier and record, covering the record's audit rows.

A record routed to flows gives consecutive rows (ingress, then one per flow) about the same persons;
one entry ``(pseudonym, seq, last_seq)`` covers them, and a search keeps, among the rows covered, those
whose ``person_pseudonyms`` hold a searched pseudonym (a foyer Bundle's rows about another person are not
returned). Only identifier pseudonyms are indexed; "+ birth date" pseudonyms confirm matches.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, insert, select, text

from gateway.audit import AuditLog, AuditQueries, DecisionEntry, KeyedPseudonymiser
from gateway.policy import ConventionRegistry, enforce_egress
from gateway.settings import Settings
from gateway.store.engine import make_engine, upgrade
from gateway.store.tables import audit_log, audit_person_index, metadata
from tests.fixtures.policy.bundles import CLEAR_NIR, bundle_for

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = Settings(
    pseudonym_key="audit-test-key-0123456789abcdef", checkpoint_key="5e" * 32, environment="test"
)
AT = dt.datetime(2025, 9, 15, 9, 30, tzinfo=dt.UTC)
NIR = "urn:fr:insee:nir"
OTHER_NIR = "286022A01234567"
CAF = "urn:fr:cnaf:matricule"
EGRESS_KEY = KeyedPseudonymiser(b"egress-key-for-tests-0123456789ab")


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    metadata.create_all(engine)
    return engine


def _foyer_record() -> tuple[list[DecisionEntry], dict[str, object]]:
    """One CAF record about two persons, decided twice (two flows): four rows."""
    registry = ConventionRegistry.load(ROOT / "conventions")
    flow = registry.flow("caf-drome-departement-rsa", "caf-to-cd26-beneficiaires")
    bundle = bundle_for(flow)
    person = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Person")
    second = copy.deepcopy(person)
    second["id"], second["identifier"] = "p2", [{"system": NIR, "value": OTHER_NIR}]
    bundle["entry"].append({"resource": second})
    for entry in bundle["entry"]:  # the fixture's foyer carries every identifier: keep its matricule only
        if entry["resource"]["resourceType"] == "Household":
            entry["resource"]["identifier"] = [{"system": CAF, "value": "2604417"}]
    decision = enforce_egress(flow, bundle, AT, EGRESS_KEY)
    entries = [DecisionEntry(decision, "ex-1", bundle, record_ref="r1", at=AT) for _ in range(2)]
    return entries, bundle


def _stored_pseudonyms(engine: Engine) -> list[tuple[int, list[str]]]:
    """(seq, person_pseudonyms) of every audit row."""
    with engine.connect() as connection:
        rows = connection.execute(select(audit_log.c.seq, audit_log.c.person_pseudonyms)).all()
    return [(int(seq), list(found)) for seq, found in rows]


def test_one_entry_per_identifier_covers_the_records_rows(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    log = AuditLog(engine, SETTINGS)
    entries, _ = _foyer_record()
    seqs = log.record_decisions(entries)
    assert seqs == [1, 2, 3, 4]  # two decisions x two persons
    with engine.connect() as connection:
        index = connection.execute(select(audit_person_index)).mappings().all()
        rows = connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()
    nir = log.pseudonymiser.pseudonym(NIR, CLEAR_NIR)
    dated = log.pseudonymiser.with_birth_date(NIR, CLEAR_NIR, "1990-04-12")
    assert dated in rows[0]["person_pseudonyms"]  # kept in the row, where the chain covers it
    assert {(e["seq"], e["last_seq"]) for e in index if e["pseudonym"] == nir} == {(1, 3)}
    assert all(e["pseudonym"] != dated for e in index)
    foyer = log.pseudonymiser.pseudonym(CAF, "2604417")  # in both persons' rows
    assert {(e["seq"], e["last_seq"]) for e in index if e["pseudonym"] == foyer} == {(1, 4)}
    other = log.pseudonymiser.pseudonym(NIR, OTHER_NIR)
    assert {(e["seq"], e["last_seq"]) for e in index if e["pseudonym"] == other} == {(2, 4)}
    row_pseudonyms = sum(len(row["person_pseudonyms"]) for row in rows)
    assert len(index) == len({p for row in rows for p in row["person_pseudonyms"]}) // 2 < row_pseudonyms


def test_a_search_returns_only_the_searched_persons_rows(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    entries, _ = _foyer_record()
    AuditLog(engine, SETTINGS).record_decisions(entries)
    queries = AuditQueries(engine, SETTINGS)
    first = queries.person_history({NIR: CLEAR_NIR}, "1990-04-12", record_read=False)
    assert [row["seq"] for row in first] == [1, 3]
    assert all(row["matched_on"] == [NIR, f"{NIR}+birthDate"] for row in first)
    second = queries.person_history({NIR: OTHER_NIR}, record_read=False)
    assert [(row["seq"], row["matched_on"]) for row in second] == [(2, [NIR]), (4, [NIR])]
    foyer = queries.person_history({CAF: "2604417"}, record_read=False)
    assert [row["seq"] for row in foyer] == [1, 2, 3, 4]
    # a wrong birth date still finds the rows by identifier, without confirming them
    wrong = queries.person_history({NIR: CLEAR_NIR}, "1990-04-13", record_read=False)
    assert [(row["seq"], row["matched_on"]) for row in wrong] == [(1, [NIR]), (3, [NIR])]


def test_entries_written_one_per_row_are_still_found(tmp_path: Path) -> None:
    """Entries of stores written before spans (``last_seq`` null, birth-date pseudonyms indexed)."""
    engine = _engine(tmp_path)
    log = AuditLog(engine, SETTINGS)
    entries, _ = _foyer_record()
    log.record_decisions(entries)
    pseudonyms = _stored_pseudonyms(engine)
    with engine.begin() as connection:
        connection.execute(audit_person_index.delete())
        connection.execute(
            insert(audit_person_index),
            [{"pseudonym": p, "seq": seq, "last_seq": None} for seq, found in pseudonyms for p in found],
        )
    history = AuditQueries(engine, SETTINGS).person_history({NIR: CLEAR_NIR}, "1990-04-12", record_read=False)
    assert [row["seq"] for row in history] == [1, 3]


def test_purge_keeps_an_entry_that_still_covers_kept_rows(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    log = AuditLog(engine, SETTINGS)
    entries, _ = _foyer_record()
    log.record_decisions(entries)
    with engine.begin() as connection:  # rows 1-2 expire first, rows 3-4 later
        connection.execute(
            text("UPDATE audit_log SET retention_until = :until WHERE seq <= 2"),
            {"until": AT + dt.timedelta(days=10)},
        )
    queries = AuditQueries(engine, SETTINGS)
    report = queries.purge(AT + dt.timedelta(days=20))
    assert report.up_to_seq == 2
    history = queries.person_history({NIR: CLEAR_NIR}, record_read=False)
    assert [row["seq"] for row in history] == [3]  # found through the entry (1, 3), which stayed
    with engine.connect() as connection:
        assert connection.execute(text("SELECT min(seq) FROM audit_log")).scalar() == 3


def test_migration_0003_keeps_old_entries_and_its_downgrade_rebuilds_them(tmp_path: Path) -> None:
    from alembic import command

    from gateway.store.engine import alembic_config

    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    engine = make_engine(url)
    log = AuditLog(engine, SETTINGS)
    entries, _ = _foyer_record()
    log.record_decisions(entries)
    all_pseudonyms = {(p, seq) for seq, found in _stored_pseudonyms(engine) for p in found}
    engine.dispose()
    command.downgrade(alembic_config(url), "0002")
    engine = make_engine(url)
    with engine.connect() as connection:
        rebuilt = set(connection.execute(text("SELECT pseudonym, seq FROM audit_person_index")).all())
        columns = [c[1] for c in connection.execute(text("PRAGMA table_info(audit_person_index)"))]
    engine.dispose()
    assert rebuilt == all_pseudonyms and "last_seq" not in columns
    upgrade(url)
    engine = make_engine(url)
    history = AuditQueries(engine, SETTINGS).person_history({NIR: OTHER_NIR}, record_read=False)
    assert [row["seq"] for row in history] == [2, 4]
