"""Read+map throughput and peak memory per codec+mapping, on synthetic files of growing size.

    .venv/bin/python bench/mappings/run.py [--sizes 10000 200000] [--million] [--only plie-csv ...]

Each measurement runs in its own subprocess (fresh interpreter) so that peak RSS (``ru_maxrss``) belongs to
that run alone; a flat peak RSS between sizes shows that reading and mapping stream.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# generator format -> mapping that reads it
CASES = {
    "caf-vrsb0801": "caf-rsa-vrsb0801",
    "france-travail-csv": "france-travail-extraction-csv",
    "plie-csv": "plie-participants-csv",
    "dsn": "dsn-embauches-fins-contrat",
    "departement-csv": "carnet-de-bord-beneficiaires",
}


def child(path: str, mapping_name: str) -> None:
    """Runs in the subprocess: read + map the whole file, print one JSON line."""
    sys.path.insert(0, str(ROOT))
    from gateway.mapping import load_mapping, translate_file

    mapping = load_mapping(ROOT / "mappings" / mapping_name / "mapping.yaml")
    # CAF: XSD validation off (the XSD is not shipped; codec benchmarks measure it apart)
    # CAF: no XSD (not shipped); 1M foyers exceed the codec's default 2 GiB guard, so raise it here.
    options = {"xsd": None, "max_bytes": 8 << 30} if mapping_name == "caf-rsa-vrsb0801" else None
    start = time.perf_counter()
    bundles = errors = 0
    for outcome in translate_file(path, mapping, options=options):
        if isinstance(outcome, dict):
            bundles += 1
        else:
            errors += 1
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"bundles": bundles, "errors": errors, "seconds": elapsed, "peak_mb": peak_kb / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--million", action="store_true", help="also run 1,000,000 records")
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), default=sorted(CASES))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sys.path.insert(0, str(ROOT))
    from adapters.synthetic import generate

    sizes = [*args.sizes, *([1_000_000] if args.million else [])]
    header = ("format", "mapping", "records", "bundles", "rejects", "rec/s", "peak MB")
    print(f"{header[0]:20} {header[1]:32} " + " ".join(f"{h:>9}" for h in header[2:]))
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.only:
            mapping = CASES[fmt]
            if not (ROOT / "mappings" / mapping / "mapping.yaml").is_file():
                print(f"{fmt:20} {mapping:32} (mapping absent, skipped)")
                continue
            for size in sizes:
                path = Path(tmp) / f"{fmt}-{size}"
                with path.open("wb") as stream:
                    generate(fmt, size, stream, seed=1)
                run = subprocess.run(
                    [sys.executable, __file__, "--child", str(path), mapping],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                result = json.loads(run.stdout.strip().splitlines()[-1])
                rate = size / result["seconds"]
                print(
                    f"{fmt:20} {mapping:32} {size:>9} {result['bundles']:>9} {result['errors']:>9} "
                    f"{rate:>9.0f} {result['peak_mb']:>9.1f}"
                )
                path.unlink()


if __name__ == "__main__":
    main()
