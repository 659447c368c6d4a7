"""Same-day comparison of two checkouts: e2e records/s of each, run alternately.

This machine's speed drifts by 10 to 20 % from one day to the next, so a change is measured against the
previous code run the same day, not against last session's table. Each run is a fresh process using the
``run.run("e2e", …)`` of its own tree (both trees share this project's virtual environment).

    git worktree add ../base <commit>
    .venv/bin/python bench/pipeline/compare.py ../base . --formats plie-csv,dsn --store both --rounds 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

_CHILD = """
import json, sys
sys.path.insert(0, {bench!r})
import run
if __name__ == "__main__":
    result = run.run("e2e", {fmt!r}, {records!r}, {store!r})
    print(json.dumps(result["records"] / result["seconds"]))
"""


def e2e_rate(tree: Path, fmt: str, records: int, store: str) -> float:
    """Records/s of one e2e run with ``tree``'s code."""
    script = _CHILD.format(bench=str(tree / "bench" / "pipeline"), fmt=fmt, records=records, store=store)
    output = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True, cwd=tree
    ).stdout
    return float(json.loads(output.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--formats", default="plie-csv,dsn")
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    stores = ("sqlite", "postgres") if args.store == "both" else (args.store,)
    trees = (args.before.resolve(), args.after.resolve())
    print(f"{'format':>9} {'store':>9} {'round':>5} {'before/s':>9} {'after/s':>9} {'change':>7}")
    for round_number in range(1, args.rounds + 1):
        for store in stores:
            for fmt in args.formats.split(","):
                before, after = (e2e_rate(tree, fmt, args.records, store) for tree in trees)
                change = (after / before - 1) * 100
                print(f"{fmt:>9} {store:>9} {round_number:>5} {before:>9.0f} {after:>9.0f} {change:>+6.1f}%")


if __name__ == "__main__":
    main()
