"""The audit chain on SQLite: appends, verification against any single tampering, checkpoints, purge."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import multiprocessing
import shutil
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, insert, select, update

from gateway.audit import AuditLog, AuditQueries, DecisionEntry, KeyedPseudonymiser
from gateway.audit.chain import HASHED_COLUMNS, chain_key, row_hash
from gateway.policy import ConventionRegistry, enforce_egress
from gateway.settings import Settings
from gateway.store.engine import make_engine
from gateway.store.tables import audit_checkpoints, audit_log, audit_person_index, metadata
from tests.fixtures.policy.bundles import CLEAR_NIR, bundle_for

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = Settings(
    pseudonym_key="audit-test-key-0123456789abcdef", checkpoint_key="5e" * 32, environment="test"
)
KEY = chain_key(SETTINGS.checkpoint_key.get_secret_value())
AT = dt.datetime(2025, 9, 15, 9, 30, tzinfo=dt.UTC)
ROWS = 12
EGRESS_KEY = KeyedPseudonymiser(b"egress-key-for-tests-0123456789ab")
_copies = count()


def new_engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    return engine


def sample_entries(n: int, start: dt.datetime = AT) -> list[DecisionEntry]:
    """Real decisions of the example conventions, one per minute."""
    registry = ConventionRegistry.load(ROOT / "conventions")
    flows = [flow for convention in registry for flow in convention.flows]
    entries = []
    for i in range(n):
        flow = flows[i % len(flows)]
        bundle = bundle_for(flow)
        decision = enforce_egress(flow, bundle, start, EGRESS_KEY)
        entries.append(
            DecisionEntry(decision, f"ex-{i}", bundle, record_ref=f"r{i}", at=start + dt.timedelta(minutes=i))
        )
    return entries


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "template.db"
    engine = new_engine(path)
    log = AuditLog(engine, SETTINGS)
    log.record_decisions(sample_entries(ROWS))
    log.checkpoint(at=AT + dt.timedelta(hours=1))
    engine.dispose()
    return path


def copy_of(template: Path) -> Engine:
    target = template.with_name(f"copy-{next(_copies)}.db")
    shutil.copy(template, target)
    return make_engine(f"sqlite:///{target}")


def test_appends_are_chained_without_gaps(template: Path) -> None:
    engine = copy_of(template)
    with engine.connect() as connection:
        rows = connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()
    assert [row["seq"] for row in rows] == list(range(1, len(rows) + 1))
    assert all(row["hash"] == row_hash(row, KEY) for row in rows)
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(rows))
    assert AuditQueries(engine, SETTINGS).verify().ok


TAMPERABLE = [c for c in HASHED_COLUMNS if c != "seq"] + ["hash"]


def _altered(value: object, column: str) -> object:
    if column in {"at", "retention_until"}:
        return (value or AT) + dt.timedelta(seconds=1)  # type: ignore[operator]
    if isinstance(value, list):
        return [*value, "x"]
    if isinstance(value, dict):
        return {**value, "x": 1}
    if isinstance(value, int):
        return value + 1
    if value is None:
        return 7 if column == "replay_of" else {"x": 1} if column == "details" else "x"
    return str(value)[:-1] + ("0" if str(value)[-1:] != "0" else "1")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.integers(1, ROWS), column=st.sampled_from(TAMPERABLE))
def test_any_altered_cell_is_found(template: Path, seq: int, column: str) -> None:
    engine = copy_of(template)
    with engine.begin() as connection:
        value = connection.execute(select(audit_log.c[column]).where(audit_log.c.seq == seq)).scalar()
        connection.execute(
            update(audit_log).where(audit_log.c.seq == seq).values({column: _altered(value, column)})
        )
    result = AuditQueries(engine, SETTINGS).verify()
    assert not result.ok and result.first_bad_seq == seq, (column, result)
    engine.dispose()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.integers(1, ROWS))
def test_any_deleted_row_is_found(template: Path, seq: int) -> None:
    engine = copy_of(template)
    with engine.begin() as connection:
        connection.execute(delete(audit_log).where(audit_log.c.seq == seq))
    result = AuditQueries(engine, SETTINGS).verify()
    assert not result.ok and result.first_bad_seq == seq, result
    engine.dispose()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(1, ROWS))
def test_any_inserted_row_is_found(template: Path, position: int) -> None:
    """A forged row slid in at ``position``, correctly chained to its predecessor, later rows renumbered.

    (A row correctly chained after the head is an append: see docs/audit.md, "What the chain cannot see".)
    """
    engine = copy_of(template)
    with engine.begin() as connection:
        for seq in range(ROWS, position - 1, -1):
            connection.execute(update(audit_log).where(audit_log.c.seq == seq).values(seq=seq + 1))
        previous = connection.execute(
            select(audit_log.c.hash).where(audit_log.c.seq == position - 1)
        ).scalar()
        model = dict(
            connection.execute(select(audit_log).where(audit_log.c.seq == position + 1)).mappings().one()
        )
        forged = {**model, "seq": position, "prev_hash": previous or "0" * 64, "decision": "allowed"}
        forged["hash"] = row_hash(forged, KEY)
        connection.execute(insert(audit_log).values(forged))
    result = AuditQueries(engine, SETTINGS).verify()
    assert not result.ok and result.first_bad_seq is not None and result.first_bad_seq >= position, result
    engine.dispose()


def test_a_rewritten_chain_is_caught_by_the_signed_checkpoint(template: Path) -> None:
    engine = copy_of(template)
    with engine.begin() as connection:
        rows = [dict(r) for r in connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings()]
        rows[4]["decision"] = "refused"
        previous = rows[3]["hash"]
        for row in rows[4:]:
            row["prev_hash"] = previous
            row["hash"] = previous = row_hash(row, KEY)
            connection.execute(update(audit_log).where(audit_log.c.seq == row["seq"]).values(row))
    result = AuditQueries(engine, SETTINGS).verify()
    assert not result.ok and result.first_bad_seq == ROWS and "checkpoint" in (result.reason or "")


def test_tail_truncation_is_caught_by_the_checkpoint(template: Path) -> None:
    engine = copy_of(template)
    with engine.begin() as connection:
        connection.execute(delete(audit_log).where(audit_log.c.seq >= ROWS - 2))
    result = AuditQueries(engine, SETTINGS).verify()
    assert (result.ok, result.first_bad_seq) == (False, ROWS - 2)
    assert "tail" in (result.reason or "")


def test_forged_checkpoint_signature_is_refused(template: Path) -> None:
    engine = copy_of(template)
    with engine.begin() as connection:
        connection.execute(update(audit_checkpoints).values(seq=ROWS - 1))
    result = AuditQueries(engine, SETTINGS).verify()
    assert not result.ok and "signature" in (result.reason or "")


def test_person_history_from_nir_and_birth_date_without_clear_identifiers(tmp_path: Path) -> None:
    engine = new_engine(tmp_path / "gateway.db")
    log = AuditLog(engine, SETTINGS)
    entries = sample_entries(6)
    log.record_decisions(entries)
    queries = AuditQueries(engine, SETTINGS)
    history = queries.person_history(
        {"urn:fr:insee:nir": CLEAR_NIR[:13]}, "1990-04-12", actor="dpo:a.bernard"
    )
    about_nir = [i + 1 for i, entry in enumerate(entries) if CLEAR_NIR in json.dumps(entry.subject)]
    with_person = [
        i + 1 for i, entry in enumerate(entries) if '"resourceType": "Person"' in json.dumps(entry.subject)
    ]
    assert 0 < len(with_person) < len(about_nir) < len(entries)  # the sample has every case
    assert [row["seq"] for row in history] == about_nir
    for row in history:  # full bundles: Persons are born on 1990-04-12; a foyer alone has no birth date
        both = {"urn:fr:insee:nir", "urn:fr:insee:nir+birthDate"}
        assert set(row["matched_on"]) == (both if row["seq"] in with_person else {"urn:fr:insee:nir"})
    assert queries.person_history({"urn:fr:insee:nir": CLEAR_NIR}, "1990-04-13", record_read=False)[0][
        "matched_on"
    ] == ["urn:fr:insee:nir"]
    assert queries.person_history({"urn:fr:insee:nir": "2" + CLEAR_NIR[1:]}, record_read=False) == []
    # the search itself is recorded, under the person's pseudonyms, and shows up in the next search
    again = queries.person_history({"urn:fr:insee:nir": CLEAR_NIR}, record_read=False)
    assert again[-1]["event"] == "dpo-read" and again[-1]["actor"] == "dpo:a.bernard"
    assert queries.verify().ok
    engine.dispose()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in (CLEAR_NIR, CLEAR_NIR[:13], "1234567A", "PLIE-000042", "WEBRSA-5521"):
        assert secret.encode() not in stored


def test_rows_hold_field_names_and_one_row_per_person(tmp_path: Path) -> None:
    engine = new_engine(tmp_path / "gateway.db")
    registry = ConventionRegistry.load(ROOT / "conventions")
    flow = registry.flow("caf-drome-departement-rsa", "caf-to-cd26-beneficiaires")
    bundle = bundle_for(flow)
    person = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Person")
    second = json.loads(json.dumps(person))  # another Person of the foyer
    second["id"], second["identifier"] = "p2", [{"system": "urn:fr:insee:nir", "value": "286022A01234567"}]
    bundle["entry"].append({"resource": second})
    decision = enforce_egress(flow, bundle, AT, EGRESS_KEY)
    seqs = AuditLog(engine, SETTINGS).record_decision(decision, exchange_id="ex-9", subject=bundle, at=AT)
    assert len(seqs) == 2
    with engine.connect() as connection:
        rows = connection.execute(select(audit_log)).mappings().all()
        indexed = connection.execute(select(func.count()).select_from(audit_person_index)).scalar_one()
    assert rows[0]["fields"] == list(decision.fields) and "Person.name.family" in rows[0]["fields"]
    assert rows[0]["retention_until"].replace(tzinfo=dt.UTC) == AT + dt.timedelta(days=365)  # nir category
    assert rows[0]["retention_category"] == "nir"
    # indexed: each identifier's pseudonym, not its "+ birth date" twin (both Persons have a birth date)
    assert indexed == sum(len(row["person_pseudonyms"]) for row in rows) // 2
    assert set(rows[0]["person_pseudonyms"]) != set(rows[1]["person_pseudonyms"])


def test_purge_removes_the_expired_prefix_and_keeps_the_chain_verifiable(tmp_path: Path) -> None:
    engine = new_engine(tmp_path / "gateway.db")
    log = AuditLog(engine, SETTINGS)
    days = [10, 10, 10, 100, 10, 100]  # row 5 expires before row 4: it must wait for it
    for i, retention in enumerate(days):
        log.record_event(
            "test",
            actor="t",
            convention_id=f"c{i % 2}",
            retention_days=retention,
            pseudonyms=[f"{i:064x}"],
            at=AT,
        )
    log.checkpoint(at=AT)
    queries = AuditQueries(engine, SETTINGS)
    report = queries.purge(AT + dt.timedelta(days=20), actor="dpo")
    assert (report.purged, report.up_to_seq, report.expired_kept) == (3, 3, 1)
    assert report.counts == {"c0": {"event": 2}, "c1": {"event": 1}}
    result = queries.verify()
    assert result.ok and result.checked == 4, result  # rows 4, 5, 6 and the purge event
    with engine.connect() as connection:
        seqs = connection.execute(select(audit_log.c.seq).order_by(audit_log.c.seq)).scalars().all()
        purge_row = connection.execute(select(audit_log).where(audit_log.c.event == "purge")).mappings().one()
        indexed = connection.execute(select(audit_person_index.c.seq)).scalars().all()
    assert seqs == [4, 5, 6, 7] and purge_row["seq"] == 7
    assert purge_row["details"]["purged"] == 3 and purge_row["details"]["expired_kept"] == 1
    assert sorted(indexed) == [4, 5, 6]
    # tampering after a purge is still found; new appends continue the chain
    log.record_event("test", actor="t", at=AT + dt.timedelta(days=21))
    assert queries.verify().ok
    with engine.begin() as connection:
        connection.execute(update(audit_log).where(audit_log.c.seq == 4).values(actor="intrus"))
    assert queries.verify().first_bad_seq == 4
    # so is the re-insertion of a purged row before the anchor
    with engine.begin() as connection:
        connection.execute(update(audit_log).where(audit_log.c.seq == 4).values(actor="t"))
        connection.execute(insert(audit_log).values({**purge_row, "seq": 2}))
    assert queries.verify().first_bad_seq == 2


def test_purging_everything_keeps_the_chain_going(tmp_path: Path) -> None:
    engine = new_engine(tmp_path / "gateway.db")
    log = AuditLog(engine, SETTINGS)
    for _ in range(3):
        log.record_event("test", actor="t", retention_days=1, at=AT)
    queries = AuditQueries(engine, SETTINGS)
    assert queries.purge(AT + dt.timedelta(days=2)).purged == 3
    assert queries.purge(AT + dt.timedelta(days=2)).purged == 0  # the purge event itself is not expired
    log.record_event("test", actor="t", at=AT + dt.timedelta(days=3))
    result = queries.verify()
    assert result.ok and result.checked == 3


def test_export_csv_and_json(template: Path) -> None:
    engine = copy_of(template)
    queries = AuditQueries(engine, SETTINGS)
    rows = queries.period()
    out = io.StringIO()
    assert queries.export(rows, "json", out) == ROWS
    exported = json.loads(out.getvalue())
    assert [row["seq"] for row in exported] == list(range(1, ROWS + 1))
    out = io.StringIO()
    queries.export(rows, "csv", out)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert parsed[0]["hash"] == rows[0]["hash"] and json.loads(parsed[0]["fields"]) == rows[0]["fields"]
    by_convention = queries.by_convention("plie-lille-ft", AT, AT + dt.timedelta(hours=2))
    assert by_convention and all(row["convention_id"] == "plie-lille-ft" for row in by_convention)


def _append_many(url: str, worker: int, n: int) -> None:
    log = AuditLog(make_engine(url), SETTINGS)
    for i in range(n):
        log.record_event("test", actor=f"worker-{worker}", details={"i": i})


def test_concurrent_writer_processes_keep_one_gapless_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    new_engine(tmp_path / "gateway.db").dispose()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(url, w, 25)) for w in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    engine = make_engine(url)
    result = AuditQueries(engine, SETTINGS).verify()
    assert result.ok and result.checked == 75


@pytest.mark.parametrize("forger_key", [None, b"a key that is not the gateway's"])
def test_a_row_appended_after_the_head_without_the_chain_key_is_found(
    template: Path, forger_key: bytes | None
) -> None:
    """Write access to the database is not enough to extend the log: the chain is keyed."""
    import hashlib

    from gateway.audit.chain import canonical_json

    engine = copy_of(template)
    with engine.begin() as connection:
        head = dict(connection.execute(select(audit_log).where(audit_log.c.seq == ROWS)).mappings().one())
        forged = {**head, "seq": ROWS + 1, "prev_hash": head["hash"], "decision": "allowed"}
        message = canonical_json({name: forged.get(name) for name in HASHED_COLUMNS})
        forged["hash"] = (
            hashlib.sha256(message).hexdigest() if forger_key is None else row_hash(forged, forger_key)
        )
        connection.execute(insert(audit_log).values(forged))
    result = AuditQueries(engine, SETTINGS).verify()
    assert (result.ok, result.first_bad_seq) == (False, ROWS + 1), result
    engine.dispose()


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _JSON_VALUES, max_size=6))
def test_canonical_json_is_the_documented_spelling(values: dict[str, object]) -> None:
    """The chain's bytes are json.dumps(sort_keys, compact, UTF-8) whatever writes them (orjson is faster)."""
    from gateway.audit.chain import canonical_json

    try:
        expected = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:  # lone surrogates cannot be hashed either way
        return
    assert canonical_json(values) == expected


def test_events_with_floats_in_their_details_are_refused(tmp_path: Path) -> None:
    """orjson and json spell some floats differently: the chain's bytes must not depend on the writer."""
    log = AuditLog(new_engine(tmp_path / "gateway.db"), SETTINGS)
    with pytest.raises(ValueError, match="no float"):
        log.record_event("test", actor="t", details={"ratio": [1e-05]})
    assert log.record_event("test", actor="t", details={"count": 3}) == 1
