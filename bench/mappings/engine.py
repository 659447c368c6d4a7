"""The mapping step alone (``to_canonical``, no codec, no validation): records/s on one core.

    .venv/bin/python bench/mappings/engine.py [--records 30000] [--repeat 3]

Cases: a one-resource, six-field spec (the "simple records" figure of docs/mapping-spec.md), the France
Travail extraction spec (12 resource templates) on a minimal row, and the DSN spec on one individu (foreach
contracts, ``$record``/``$context`` keys and the date functions of the Outcome rule). Prints the best of
``--repeat`` runs per case; nothing is asserted (figures depend on the machine).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SIMPLE_SPEC = """\
name: simple
version: "1"
partner: {system: "urn:bench:simple"}
source: {codec: json}
resources:
  - name: person
    resourceType: Person
    id: id
    fields:
      identifier[]: {from: id, transforms: [{identifier: "urn:bench:id"}]}
      name.family: {from: nom, transforms: [trim]}
      name.given[]: prenom
      birthDate: {from: naissance, transforms: [{date: DD/MM/YYYY}]}
      gender: {from: sexe, transforms: [{map: {"1": male, "2": female}}]}
      address[]: {fields: {postalCode: cp}}
"""
FT_ROW = {
    "civilite": "MME", "nom": "TIFOUR", "prenom": "SOPHIE", "date_naissance": "1982-02-01 00:00:00.0",
    "inscription": "2019-10-17 00:00:00.0", "categorie_inscription": "1", "brsa": "O",
}  # fmt: skip
DSN_CONTEXT = {
    "entreprise": {"001": "707173555"},
    "etablissement": {"001": "00011", "003": "2 PLACE DE LA GARE", "004": "08300", "005": "RETHEL"},
    "replaces": None,
    "cancels": None,
}


def _simple_row(n: int) -> dict[str, Any]:
    row = {"id": f"id-{n}", "nom": " Tifour ", "prenom": "Sophie", "naissance": "01/02/1982", "sexe": "2"}
    return {**row, "cp": "75011"}


def _ft_row(n: int) -> dict[str, Any]:
    return dict(FT_ROW, identifiant_unique_de=f"id-{n}")


def _dsn_individu(n: int) -> dict[str, Any]:
    person = {"001": "1611299350195", "002": "MARTIN", "004": "JEAN", "005": "01", "006": "05121961"}
    contract = {
        "001": "01012025",
        "004": "684A",
        "007": "02",
        "008": "99",
        "009": f"C{n:08d}",
        "010": "30062025",
    }
    return {"S21.G00.30": person, "S21.G00.40": [contract]}


def cases(tmp: Path) -> dict[str, tuple[Any, Callable[[int], dict[str, Any]]]]:
    from gateway.mapping import load_mapping

    folder = tmp / "simple"
    folder.mkdir()
    (folder / "mapping.yaml").write_text(SIMPLE_SPEC, encoding="utf-8")
    mappings = ROOT / "mappings"
    return {
        "simple (1 resource, 6 fields)": (load_mapping(folder / "mapping.yaml"), _simple_row),
        "france-travail-extraction-csv": (
            load_mapping(mappings / "france-travail-extraction-csv" / "mapping.yaml"),
            _ft_row,
        ),
        "dsn-embauches-fins-contrat": (
            load_mapping(mappings / "dsn-embauches-fins-contrat" / "mapping.yaml"),
            _dsn_individu,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from gateway.codecs import SourceRecord

    print(f"{'case':40} {'records':>9} {'rec/s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (mapping, make) in cases(Path(tmp)).items():
            context = DSN_CONTEXT if name.startswith("dsn") else {}
            records = [SourceRecord(n, make(n), context=context) for n in range(args.records)]
            best = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                for record in records:
                    mapping.to_canonical(record)
                best = min(best, time.perf_counter() - start)
            print(f"{name:40} {args.records:>9} {args.records / best:>9.0f}")


if __name__ == "__main__":
    main()
