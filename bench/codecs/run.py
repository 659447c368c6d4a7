"""Read throughput and peak memory of each codec on synthetic files.

    .venv/bin/python bench/codecs/run.py --records 10000
    .venv/bin/python bench/codecs/run.py --records 200000 --codecs csv ndjson xml dsn

Each file is generated with the codec's own writer, then read in a fresh subprocess so that the peak
resident memory (``ru_maxrss``) is the reader's alone; "growth" is the peak minus the RSS measured just
before reading (interpreter and imports excluded). Flat memory means growth does not follow the record count.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.registry import codec  # noqa: E402

CODECS = ["csv", "xlsx", "json", "ndjson", "xml", "dsn"]
FIRST_NAMES = ["Élodie", "Jean-Pierre", "Zoé", "Mathis", "Chloé", "Noël"]
CITIES = ["Sète", "Béziers", "Saint-Étienne", "Lyon 3e", "Paris; 15e", 'Le "Mans"']


def flat_rows(count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        yield {
            "identifiant": f"ID{i:09d}",
            "nom": f"NOM{i % 997}",
            "prenom": FIRST_NAMES[i % len(FIRST_NAMES)],
            "date_naissance": f"{1 + i % 28:02d}/{1 + i % 12:02d}/{1950 + i % 50}",
            "commune": CITIES[i % len(CITIES)],
            "code_postal": f"{1000 + i % 95000:05d}",
        }


def dsn_rows(count: int) -> Iterator[dict[str, Any]]:
    context = {
        "envoi": {
            "001": "BENCH",
            "002": "GATEWAY",
            "003": "1.0",
            "005": "01",
            "006": "P24V01",
            "007": "01",
            "008": "01",
        },
        "declaration": {"001": "01", "002": "01", "003": "11", "004": "1", "005": "01052024", "010": "01"},
        "entreprise": {"001": "123456782", "002": "00015"},
        "etablissement": {"001": "00015"},
    }
    for i in range(count):
        individu = {
            "S21.G00.30": {"001": f"1850575{i % 900 + 100:03d}107", "002": f"NOM{i % 997}", "004": "JEAN"},
            "S21.G00.40": [{"001": "01092015", "002": "04", "009": f"CONTRAT{i:06d}"}],
        }
        yield {**context, "individu": individu}


def generate(name: str, records: int, folder: Path) -> tuple[Path, dict[str, Any]]:
    read_options: dict[str, Any] = {}
    write_options: dict[str, Any] = {}
    if name == "json":
        read_options = write_options = {"records_path": "items"}
    elif name == "xml":
        write_options = {"root_element": "Flux", "record_element": "Personne"}
        read_options = {"record_element": "Personne"}
    path = folder / f"bench.{name}"
    rows = dsn_rows(records) if name == "dsn" else flat_rows(records)
    with path.open("wb") as stream:
        codec(name)().writer(write_options).write(rows, stream)
    return path, read_options


def measure(name: str, path: str, options: str) -> None:
    """Child process: read the whole file, print one JSON line."""
    reader = codec(name)().reader(json.loads(options))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    count = 0
    with open(path, "rb") as stream:
        for _ in reader.read(stream, source_name=path):
            count += 1
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"records": count, "seconds": elapsed, "before_kb": before, "peak_kb": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--codecs", nargs="+", choices=CODECS, default=CODECS)
    parser.add_argument("--measure", nargs=3, metavar=("CODEC", "PATH", "OPTIONS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    columns = ("records", "file MB", "seconds", "records/s", "peak MB", "growth MB")
    print(f"{'codec':<8}" + "".join(f"{column:>11}" for column in columns))
    with tempfile.TemporaryDirectory() as folder:
        for name in args.codecs:
            path, options = generate(name, args.records, Path(folder))
            output = subprocess.run(
                [sys.executable, __file__, "--measure", name, str(path), json.dumps(options)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(output)
            size = path.stat().st_size / 1e6
            rate = result["records"] / result["seconds"]
            growth = (result["peak_kb"] - result["before_kb"]) / 1024
            print(
                f"{name:<8}{result['records']:>11}{size:>11.1f}{result['seconds']:>11.2f}{rate:>11,.0f}"
                f"{result['peak_kb'] / 1024:>11.1f}{growth:>11.1f}"
            )
            path.unlink()


if __name__ == "__main__":
    main()
