"""End to end on SQLite: PLIE file → mapping → conventions → outbox → real HTTP receiver, with the audit
log, duplicates, dead letters, replay and a replay refused after the convention is revoked."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.delivery.replay import open_dead_letters, replay
from gateway.pipeline.intake import Envelope, receive
from gateway.policy import change_status
from gateway.runtime import Gateway
from gateway.store.tables import audit_log, exchanges, outbox, records
from tests.peers.http_receiver import Receiver
from tests.pipeline_support import AT, PLIE_SIRET, make_gateway, plie_file

NIR_SYSTEM = "urn:fr:insee:nir"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    peer = Receiver().start()
    yield peer
    peer.stop()


@pytest.fixture
def gateway(tmp_path: Path, receiver: Receiver) -> Gateway:
    return make_gateway(tmp_path, receiver.url)


def _ingest(gateway: Gateway, payload: bytes, name: str = "participants.csv") -> str:
    receipt = receive(gateway.engine, Envelope("plie-in", "plie-mel", "test", payload, source_name=name))
    gateway.processor.process(receipt.exchange_id, at=AT)
    return receipt.exchange_id


def _drain(gateway: Gateway) -> int:
    """Run delivery until nothing is due (per-person ordering releases one item per person per pass)."""
    worker, delivered = gateway.worker(), 0
    while (stats := worker.run_once(limit=1000)).claimed:
        delivered += stats.delivered
    return delivered


def _count(gateway: Gateway, table: object, *where: object) -> int:
    with gateway.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


def test_records_flow_to_the_receiver_with_only_the_allowed_fields(
    gateway: Gateway, receiver: Receiver
) -> None:
    payload = plie_file(15)
    exchange_id = _ingest(gateway, payload)
    with gateway.engine.connect() as connection:
        row = connection.execute(select(exchanges).where(exchanges.c.id == exchange_id)).one()
    assert row.status == "processed" and row.records_rejected == 0
    queued = _count(gateway, outbox)
    assert queued == row.records_total > 0

    assert _drain(gateway) == queued
    assert len(receiver.accepted) == queued and receiver.duplicates == 0

    for body in receiver.accepted.values():
        bundle = json.loads(body)
        types = {e["resource"]["resourceType"] for e in bundle["entry"]}
        assert types == {"Person", "Accompaniment"}
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "Person":
                systems = {i["system"] for i in resource.get("identifier", [])}
                assert NIR_SYSTEM not in systems, "the NIR may not travel to France Travail under this flow"
                labels = {label["code"] for label in resource["meta"].get("security", [])}
                assert "nir" not in labels, "the label goes with the NIR"
                assert "address" not in resource and "telecom" not in resource
                assert "birthName" not in resource.get("name", {})
            else:
                assert set(resource) <= {
                    "resourceType",
                    "id",
                    "meta",
                    "person",
                    "program",
                    "organization",
                    "referent",
                    "period",
                    "status",
                    "endReason",
                }
    # Every delivery is audited (decision + delivery event), with pseudonyms only.
    with gateway.engine.connect() as connection:
        events = dict(
            connection.execute(select(audit_log.c.event, func.count()).group_by(audit_log.c.event)).all()
        )
        serialized = " ".join(str(r) for r in connection.execute(select(audit_log)).all())
    assert events["egress"] >= queued and events["delivery"] == queued
    for line in payload.decode().splitlines()[1:]:
        nir = line.split(";")[2]
        if nir:
            assert nir not in serialized


def test_same_file_twice_and_same_record_in_another_file_are_delivered_once(
    gateway: Gateway, receiver: Receiver
) -> None:
    payload = plie_file(5, seed=7)
    first = _ingest(gateway, payload, "a.csv")
    again = receive(gateway.engine, Envelope("plie-in", "plie-mel", "test", payload, source_name="a.csv"))
    assert again.duplicate and again.exchange_id == first
    # The same records in a new file (a partner re-sends yesterday's export plus nothing new).
    lines = payload.decode().splitlines()
    resent = ("\n".join([lines[0], *reversed(lines[1:])]) + "\n").encode()
    summary = gateway.processor.process(
        receive(
            gateway.engine, Envelope("plie-in", "plie-mel", "test", resent, source_name="b.csv")
        ).exchange_id,
        at=AT,
    )
    assert summary.queued == 0 and summary.duplicates == len(lines) - 1
    _drain(gateway)
    assert len(receiver.accepted) == len(lines) - 1 and receiver.duplicates == 0


def test_receiver_down_dead_letter_then_replay_delivers_once(gateway: Gateway, receiver: Receiver) -> None:
    _ingest(gateway, plie_file(3, seed=11))
    receiver.mode = "fail503"
    worker = gateway.worker()
    for _ in range(gateway.settings.retry_max_attempts):
        worker.run_once(limit=100)
    letters = open_dead_letters(gateway)
    assert letters and all(letter.stage == "deliver" for letter in letters)
    assert all("503" in letter.reason for letter in letters)
    receiver.mode = "ok"
    for letter in letters:
        assert replay(gateway, letter.id, "operator:test", at=AT).outcome == "queued"
        assert replay(gateway, letter.id, "operator:test", at=AT).outcome == "already-replayed"
    assert _drain(gateway) == len(letters)
    assert len(receiver.accepted) == len(letters) and receiver.duplicates == 0
    assert open_dead_letters(gateway) == []
    with gateway.engine.connect() as connection:
        replays = connection.execute(
            select(audit_log.c.record_ref, audit_log.c.replay_of, audit_log.c.actor).where(
                audit_log.c.event == "replay"
            )
        ).all()
    assert len({r.record_ref for r in replays}) == len(letters)
    assert all(r.replay_of is not None and r.actor == "operator:test" for r in replays)


def test_replay_after_revocation_is_refused_and_audited(
    gateway: Gateway, receiver: Receiver, tmp_path: Path
) -> None:
    import shutil

    conventions = tmp_path / "conventions"
    shutil.copytree(gateway.settings.conventions_dir, conventions)
    gateway = make_gateway(tmp_path, receiver.url, conventions_dir=conventions)
    _ingest(gateway, plie_file(2, seed=5))
    receiver.mode = "reject400"
    gateway.worker().run_once(limit=100)
    letters = open_dead_letters(gateway)
    assert letters
    change_status(gateway.registry, "plie-lille-ft", "revoked", by="dpo:test", engine=gateway.engine, at=AT)
    fresh = make_gateway(tmp_path, receiver.url, conventions_dir=conventions)
    result = replay(fresh, letters[0].id, "operator:test", at=AT)
    assert result.outcome == "refused" and "revoked" in result.detail
    with fresh.engine.connect() as connection:
        refused = connection.execute(select(audit_log).where(audit_log.c.event == "replay-refused")).one()
    assert refused.actor == "operator:test" and refused.person_pseudonyms
    assert len(open_dead_letters(fresh)) == len(letters), "a refused replay leaves the dead letter open"


def test_bad_rows_are_rejected_with_their_line_and_field_and_the_rest_goes_on(gateway: Gateway) -> None:
    lines = plie_file(4, seed=2).decode().splitlines()
    fields = lines[1].split(";")
    fields[7] = "31/02/1990"  # date_naissance that does not exist
    lines[1] = ";".join(fields)
    exchange_id = _ingest(gateway, ("\n".join(lines) + "\n").encode(), "broken.csv")
    with gateway.engine.connect() as connection:
        rejected = connection.execute(
            select(records).where(records.c.exchange_id == exchange_id, records.c.status == "rejected")
        ).all()
    assert len(rejected) == 1
    assert rejected[0].number == 1 and rejected[0].line == 2
    assert "broken.csv" in rejected[0].error and "birthDate" in rejected[0].error
    assert "31/02/1990" not in rejected[0].error
    assert _count(gateway, records, records.c.status == "routed") == len(lines) - 2


def test_unreadable_file_is_refused_whole_and_replayable(gateway: Gateway) -> None:
    exchange_id = _ingest(gateway, b"not;the;expected;header\n1;2;3;4\n", "wrong.csv")
    with gateway.engine.connect() as connection:
        status, error = connection.execute(
            select(exchanges.c.status, exchanges.c.error).where(exchanges.c.id == exchange_id)
        ).one()
    assert status == "failed" and "wrong.csv" in error and "plie_siret" in error
    letters = open_dead_letters(gateway, stage="decode")
    assert [letter.exchange_id for letter in letters] == [exchange_id]
    assert replay(gateway, letters[0].id, "operator:test").outcome == "reprocessed"


def test_interrupted_processing_resumes_without_duplicates(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = plie_file(30, seed=3)
    receipt = receive(gateway.engine, Envelope("plie-in", "plie-mel", "test", payload, source_name="big.csv"))
    processor = gateway.processor
    processor.chunk_size = 7
    real_commit = processor._commit
    calls = {"n": 0}

    def crash_after_two_chunks(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process dies between two chunks
        real_commit(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(processor, "_commit", crash_after_two_chunks)
    with pytest.raises(KeyboardInterrupt):
        processor.process(receipt.exchange_id, at=AT)
    assert _count(gateway, records) == 14
    monkeypatch.setattr(processor, "_commit", real_commit)
    assert receipt.exchange_id in processor.pending()
    processor.process(receipt.exchange_id, at=AT)
    total = _count(gateway, records)
    assert total == len(payload.decode().splitlines()) - 1
    assert _count(gateway, outbox) == total
    numbers = _count(gateway, records, records.c.exchange_id == receipt.exchange_id)
    assert numbers == total
    assert PLIE_SIRET in payload.decode()


def test_canonical_bundles_submitted_through_the_api_are_enforced_like_mapped_ones(
    gateway: Gateway, receiver: Receiver
) -> None:
    from gateway.delivery.render import CANONICAL_CONTENT_TYPE
    from gateway.mapping import translate_stream

    mapping = gateway.catalog.get("plie-participants-csv")
    bundle = next(b for b in translate_stream(io.BytesIO(plie_file(1)), mapping) if isinstance(b, dict))
    envelope = Envelope(
        "plie-in", "plie-mel", "api", json.dumps(bundle).encode(), content_type=CANONICAL_CONTENT_TYPE
    )
    exchange_id = receive(gateway.engine, envelope).exchange_id
    summary = gateway.processor.process(exchange_id, at=AT)
    assert (summary.read, summary.mapped, summary.queued) == (1, 1, 1)
    assert _drain(gateway) == 1
    [body] = receiver.accepted.values()
    delivered = json.loads(body)
    person = next(e["resource"] for e in delivered["entry"] if e["resource"]["resourceType"] == "Person")
    assert "address" not in person and NIR_SYSTEM not in {i["system"] for i in person.get("identifier", [])}
