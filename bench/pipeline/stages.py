"""Where the end-to-end time goes: µs per record for each stage of ``Processor.process``.

    .venv/bin/python bench/pipeline/stages.py                      # 10k records of each format, SQLite
    .venv/bin/python bench/pipeline/stages.py --formats caf-xml --records 20000 --store postgres

Stages are timed by wrapping the functions the processor calls (wall clock, one process, the exchange
prepared beforehand as in run.py). Nested stages are included in their parent: ``audit`` is inside
``commit``; ``decode+map`` is what remains of the total once routing and commits are taken out.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import FORMATS, PROJECT, _end_to_end, _gateway, _prepare

STAGES = [
    ("validate", "canonical validation"),
    ("ingress", "ingress policy"),
    ("routes", "routing"),
    ("egress", "egress policy (all flows)"),
    ("keys", "person key + outbox key + item row"),
    ("commit", "one transaction per chunk, of which:"),
    ("audit.rows", "  audit: persons, pseudonyms, rows"),
    ("audit.hash", "  audit: chain hashes"),
    ("audit.insert", "  audit: row and person index inserts"),
    ("audit.append", "  audit: chain + inserts (hash and index included)"),
    ("inserts", "  records and outbox inserts"),
]


def _timed(owner: Any, name: str, label: str, totals: dict[str, float]) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[label] = totals.get(label, 0.0) + time.perf_counter() - start

    setattr(owner, name, wrapper)


def measure(fmt: str, records: int, store: str) -> dict[str, float]:
    from gateway.audit import writer
    from gateway.logging_setup import configure_logging
    from gateway.pipeline import processor

    configure_logging("warning", "json")
    totals: dict[str, float] = {}
    for owner, name, label in [
        (writer.AuditLog, "_decision_rows", "audit.rows"),
        (writer, "append_rows", "audit.append"),
        (writer, "row_hash", "audit.hash"),
        (writer, "insert_rows", "audit.insert"),
        (processor, "insert_rows", "inserts"),
        (processor.Processor, "_commit", "commit"),
        (processor.Processor, "_route", "route"),
        (processor, "enforce_ingress", "ingress"),
        (processor, "enforce_egress", "egress"),
        (processor.Processor, "_person_key", "keys"),
        (processor, "_outbox_key", "keys"),
        (processor, "new_item_row", "keys"),
    ]:
        _timed(owner, name, label, totals)
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        tmp = Path(folder)
        database = ""
        if store == "postgres":
            import uuid

            sys.path.insert(0, str(PROJECT))
            from tests.pg import temporary_database

            database = stack.enter_context(temporary_database(f"gw_stages_{uuid.uuid4().hex[:8]}"))
        exchange_id, _input_mb = _prepare(tmp, fmt, records, database)
        gateway = _gateway(tmp, database)
        gateway.warm_up()
        _timed(gateway.processor.validator, "validate", "validate", totals)
        _timed(gateway.processor.registry, "routes", "routes", totals)
        start = time.perf_counter()
        count = _end_to_end(gateway, fmt, exchange_id)
        totals["total"] = time.perf_counter() - start
        gateway.engine.dispose()
    per_record = {label: seconds / count * 1e6 for label, seconds in totals.items()}
    per_record["decode+map"] = per_record["total"] - per_record["route"] - per_record["commit"]
    return per_record


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    formats = args.formats.split(",")
    results = {fmt: measure(fmt, args.records, args.store) for fmt in formats}
    print(f"µs per record, {args.records} records, {args.store}")
    print(f"{'stage':<52}" + "".join(f"{fmt:>10}" for fmt in formats))
    rows = [("total", "end to end"), ("decode+map", "read + map"), *STAGES]
    for label, text in rows:
        print(f"{text:<52}" + "".join(f"{results[fmt].get(label, 0.0):>10.0f}" for fmt in formats))


if __name__ == "__main__":
    main()
