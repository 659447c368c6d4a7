"""End-to-end pipeline benchmark: records/s through parse → map → validate → policy → audit → outbox
(``e2e``), against two floors measured in the same run, per input format and per store:

* ``floor`` (the issue's): parse, with the codec's own checks, + one batched insert per parsed record;
* ``mapped``: parse → map → canonical validation + one batched insert per Bundle (the translation alone).

``ratio`` is e2e/floor, ``e2e/mapped`` what policy, routing, audit and outbox cost on top of translation.
Peak memory is the e2e process's ru_maxrss; ``growth`` is what processing added to the loaded gateway.

    .venv/bin/python bench/pipeline/run.py                      # 20k records, SQLite
    .venv/bin/python bench/pipeline/run.py --records 100000 --store both

The input is generated and stored as a received exchange in one process; each measurement then runs in
a fresh process that only processes it (so that its peak RSS belongs to that run alone). PostgreSQL is the
server of this machine (postgresql://postgres@127.0.0.1:5432), in a throw-away database.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))

from sqlalchemy import select  # noqa: E402

# (label, generator, inbound endpoint, partner, mapping, generator options)
FORMATS = {
    "plie-csv": (
        "plie-csv",
        "plie-in",
        "plie-mel",
        "plie-participants-csv",
        {"plie_siret": "78451209300013"},
    ),
    "caf-xml": ("caf-vrsb0801", "caf-in", "caf26", "caf-rsa-vrsb0801", {"residence_departement": "26"}),
    "dsn": ("dsn", "aci-dsn", "aci-ateliers-avenir", "dsn-embauches-fins-contrat", {}),
}

ENDPOINTS = """
partners:
  plie-mel: {{name: PLIE, siret: "78451209300013"}}
  ft-hdf: {{name: FT HDF}}
  caf26: {{name: CAF 26}}
  cd26: {{name: CD 26}}
  aci-ateliers-avenir: {{name: ACI}}
endpoints:
  plie-in:
    {{direction: in, partner: plie-mel, mapping: plie-participants-csv, transport: {{type: api}}}}
  caf-in:
    direction: in
    partner: caf26
    mapping: caf-rsa-vrsb0801
    variables: {{CAF_VRSB0801_XSD: ""}}
    transport: {{type: api}}
  aci-dsn:
    direction: in
    partner: aci-ateliers-avenir
    mapping: dsn-embauches-fins-contrat
    transport: {{type: api}}
  ft-api-partenaires-hdf:
    {{direction: out, partner: ft-hdf, transport: {{type: file-drop, options: {{directory: {out}}}}}}}
  sftp-cd26-flux-caf:
    {{direction: out, partner: cd26, transport: {{type: file-drop, options: {{directory: {out}}}}}}}
  sftp-plie-mel-depot:
    {{direction: out, partner: plie-mel, transport: {{type: file-drop, options: {{directory: {out}}}}}}}
"""


def _generate(fmt: str, records: int) -> bytes:
    from gateway import registry

    generator, *_rest, options = FORMATS[fmt]
    stream = io.BytesIO()
    registry.generator(generator)(generator, records, stream, seed=42, **options)
    return stream.getvalue()


def _gateway(tmp: Path, database_url: str) -> Any:
    from pydantic import SecretStr

    from gateway.runtime import Gateway
    from gateway.settings import Settings

    config = tmp / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "endpoints.yaml").write_text(ENDPOINTS.format(out=tmp / "out"), encoding="utf-8")
    settings = Settings(
        home=tmp,
        data_dir=tmp / "var",
        database_url=database_url,
        config_dir=config,
        mappings_dir=PROJECT / "mappings",
        conventions_dir=PROJECT / "conventions",
        pseudonym_key=SecretStr("bench-pseudonym-key-0123456789abcdef"),
        checkpoint_key=SecretStr("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
        environment="test",
    )
    return Gateway(settings)


def _parse_floor(gateway: Any, fmt: str, exchange_id: str) -> int:
    """The issue's floor: parse (with the codec's own checks) + one batched insert per parsed record."""

    from gateway.codecs import SourceRecord
    from gateway.mapping.translate import make_codec

    _gen, endpoint_name, _partner, mapping_name, _opts = FORMATS[fmt]
    variables = gateway.endpoints.endpoint(endpoint_name).variables
    mapping = gateway.catalog.get(mapping_name).bind(variables)
    reader = make_codec(mapping).reader(mapping.codec_options(None, variables))
    items = reader.read(_stored(gateway, exchange_id))
    return _insert_records(
        gateway, exchange_id, (i.data if isinstance(i, SourceRecord) else None for i in items)
    )


def _mapped_floor(gateway: Any, fmt: str, exchange_id: str) -> int:
    """Parse + map + canonical validation + one batched insert per record (the records table)."""

    from gateway.mapping import translate_stream
    from gateway.model.validation import get_validator

    _gen, endpoint_name, _partner, mapping_name, _opts = FORMATS[fmt]
    endpoint = gateway.endpoints.endpoint(endpoint_name)
    validator = get_validator()
    mapping = gateway.catalog.get(mapping_name)
    outcomes = translate_stream(_stored(gateway, exchange_id), mapping, variables=endpoint.variables)
    valid = (o if isinstance(o, dict) and not validator.validate(o) else None for o in outcomes)
    return _insert_records(gateway, exchange_id, valid)


def _stored(gateway: Any, exchange_id: str) -> Any:
    """The stored envelope as a stream (read in slices, like the processor reads it)."""
    from gateway.store.payloads import open_payload
    from gateway.store.tables import exchanges

    with gateway.engine.connect() as connection:
        size = connection.execute(select(exchanges.c.size).where(exchanges.c.id == exchange_id)).scalar_one()
    return open_payload(gateway.engine, exchange_id, size)


def _insert_records(gateway: Any, exchange_id: str, documents: Iterator[dict[str, Any] | None]) -> int:
    """One batched insert per 500 records (None: a rejected record); returns how many there were."""
    import datetime as dt

    from gateway.store.tables import records
    from gateway.store.upsert import insert_rows

    batch: list[dict[str, Any]] = []
    count = 0
    created = dt.datetime.now(dt.UTC)
    for number, document in enumerate(documents, start=1):
        count += 1
        batch.append(
            {
                "id": str(uuid.uuid4()),
                "exchange_id": exchange_id,
                "number": number,
                "status": "routed" if document is not None else "rejected",
                "bundle": document,
                "created_at": created,
            }
        )
        if len(batch) >= 500:
            with gateway.engine.begin() as connection:
                insert_rows(connection, records, batch)  # as the pipeline writes them (COPY on PostgreSQL)
            batch = []
    if batch:
        with gateway.engine.begin() as connection:
            insert_rows(connection, records, batch)
    return count


def _end_to_end(gateway: Any, fmt: str, exchange_id: str) -> int:
    from datetime import UTC, datetime

    summary = gateway.processor.process(exchange_id, at=datetime(2026, 6, 15, tzinfo=UTC))
    return int(summary.read)


KINDS = {"floor": _parse_floor, "mapped": _mapped_floor, "e2e": _end_to_end}


def _prepare(tmp: Path, fmt: str, records: int, database_url: str) -> tuple[str, float]:
    """In the parent: generate the input and store it as a received exchange (not measured)."""
    from gateway.pipeline.intake import Envelope, receive

    _gen, endpoint_name, partner, _mapping, _opts = FORMATS[fmt]
    gateway = _gateway(tmp, database_url)
    payload = _generate(fmt, records)
    receipt = receive(gateway.engine, Envelope(endpoint_name, partner, "bench", payload))
    gateway.engine.dispose()
    return receipt.exchange_id, len(payload) / 1e6


def _measure(kind: str, fmt: str, tmp: Path, database_url: str, exchange_id: str, queue: Any) -> None:
    """In a fresh child process: process the stored exchange; its peak RSS is this run's alone."""
    from gateway.logging_setup import configure_logging

    configure_logging("warning", "json")
    gateway = _gateway(tmp, database_url)
    gateway.warm_up()  # as `gateway worker` and `gateway serve` do
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    count = KINDS[kind](gateway, fmt, exchange_id)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gateway.engine.dispose()
    growth = (peak - before) / 1024
    queue.put({"records": count, "seconds": elapsed, "peak_mb": peak / 1024, "growth_mb": growth})


def run(kind: str, fmt: str, records: int, store: str) -> dict[str, Any]:
    """Prepare a store holding the input as a received exchange, then measure ``kind`` on it."""
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        tmp = Path(folder)
        database = ""
        if store == "postgres":
            from tests.pg import temporary_database

            database = stack.enter_context(temporary_database(f"gw_bench_{uuid.uuid4().hex[:8]}"))
        # Both steps in fresh processes: on Linux a child's ru_maxrss starts from its parent's size
        # at fork time, so the process that generated the input must not be the measured one's parent.
        exchange_id, input_mb = _in_child(_prepare_child, tmp, fmt, records, database)
        result: dict[str, Any] = _in_child(_measure, kind, fmt, tmp, database, exchange_id)
        return {**result, "input_mb": input_mb}


def _prepare_child(tmp: Path, fmt: str, records: int, database_url: str, queue: Any) -> None:
    queue.put(_prepare(tmp, fmt, records, database_url))


def _in_child(target: Any, *args: Any) -> Any:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get(timeout=3600)
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    args = parser.parse_args()
    stores = ("sqlite", "postgres") if args.store == "both" else (args.store,)
    columns = [
        ("format", 9),
        ("store", 9),
        ("records", 8),
        ("floor/s", 8),
        ("mapped/s", 9),
        ("e2e/s", 7),
        ("ratio", 6),
        ("e2e/mapped", 11),
        ("e2e peak MB", 12),
        ("e2e growth MB", 14),
        ("input MB", 9),
    ]
    if not args.json:
        print(" ".join(f"{name:>{width}}" for name, width in columns))
    for fmt in args.formats.split(","):
        for store in stores:
            runs = {kind: run(kind, fmt, args.records, store) for kind in KINDS}
            rate = {kind: result["records"] / result["seconds"] for kind, result in runs.items()}
            e2e = runs["e2e"]
            row = {
                "format": fmt,
                "store": store,
                "records": e2e["records"],
                "floor/s": round(rate["floor"]),
                "mapped/s": round(rate["mapped"]),
                "e2e/s": round(rate["e2e"]),
                "ratio": round(rate["e2e"] / rate["floor"], 2),
                "e2e/mapped": round(rate["e2e"] / rate["mapped"], 2),
                "e2e peak MB": round(e2e["peak_mb"], 1),
                "e2e growth MB": round(e2e["growth_mb"], 1),
                "input MB": round(e2e["input_mb"], 1),
            }
            if args.json:
                print(json.dumps(row))
            else:
                print(" ".join(f"{row[name]:>{width}}" for name, width in columns), flush=True)


if __name__ == "__main__":
    main()
