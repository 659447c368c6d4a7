"""Fill an SQLite audit log with N rows (default 1,000,000), then time person searches.

    .venv/bin/python bench/audit/person_query.py [--rows 1000000] [--db /tmp/audit-bench.db]

Rows are written through ``AuditLog.record_events`` in batches of 5,000 (hash chain and person index
included), each about one of 100,000 synthetic persons. Prints write throughput, the latency of
``person_history`` (NIR + birth date) and the time of a full ``verify``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

from gateway.audit import AuditEvent, AuditLog, AuditQueries
from gateway.settings import Settings
from gateway.store.engine import make_engine
from gateway.store.tables import metadata

PERSONS = 100_000
BATCH = 5_000
NIR_SYSTEM = "urn:fr:insee:nir"
SETTINGS = Settings(
    pseudonym_key="bench-key-0123456789abcdefghij", checkpoint_key="42" * 32, environment="test"
)


def nir(person: int) -> str:
    body = f"1{80 + person % 20:02d}{1 + person % 12:02d}59{person % 1000:03d}{person % 1000:03d}"[:13]
    body = (body + "0000000000000")[:13]
    return body + f"{97 - int(body) % 97:02d}"


def birth_date(person: int) -> str:
    return f"19{80 + person % 20}-{1 + person % 12:02d}-{1 + person % 28:02d}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/audit-bench.db"))
    args = parser.parse_args()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{args.db}")
    metadata.create_all(engine)
    log = AuditLog(engine, SETTINGS)
    keys = log.pseudonymiser
    start = time.perf_counter()
    at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for first in range(0, args.rows, BATCH):
        events = []
        for n in range(first, min(first + BATCH, args.rows)):
            person = n % PERSONS
            value = nir(person)
            pseudonyms = [
                keys.pseudonym(NIR_SYSTEM, value),
                keys.with_birth_date(NIR_SYSTEM, value, birth_date(person)),
            ]
            events.append(
                AuditEvent(
                    event="egress",
                    actor="bench",
                    convention_id=f"conv-{n % 7}",
                    flow_id="f",
                    pseudonyms=pseudonyms,
                    at=at + dt.timedelta(seconds=n),
                )
            )
        log.record_events(events)
    elapsed = time.perf_counter() - start
    print(
        f"wrote {args.rows:,} rows in {elapsed:.1f} s ({args.rows / elapsed:,.0f} rows/s), "
        f"database {args.db.stat().st_size / 1e6:,.0f} MB"
    )
    queries = AuditQueries(engine, SETTINGS)
    timings = []
    for person in range(0, PERSONS, PERSONS // 50):
        t0 = time.perf_counter()
        rows = queries.person_history({NIR_SYSTEM: nir(person)}, birth_date(person), record_read=False)
        timings.append(time.perf_counter() - t0)
        assert len(rows) >= args.rows // PERSONS, (person, len(rows))
    timings.sort()
    print(
        f"person_history (NIR + birth date), {len(timings)} persons, ~{args.rows // PERSONS} rows each: "
        f"median {statistics.median(timings) * 1000:.1f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)] * 1000:.1f} ms"
    )
    t0 = time.perf_counter()
    result = queries.verify()
    print(f"verify: ok={result.ok}, {result.checked:,} rows in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
