"""Suwinet Bijstandsregelingen (mappings/suwinet-bijstandsregelingen): one BenefitRight per dated item."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from gateway.mapping import load_mapping, translate_stream
from gateway.model.validation import get_validator

SPEC = Path(__file__).resolve().parents[2] / "mappings" / "suwinet-bijstandsregelingen" / "mapping.yaml"
EXAMPLES = "soap-suwinet-bijstandsregelingen/examples"
# list element → (date element, extra key elements): what identifies one right of that list
LISTS = {
    "AanvraagUitkering": ("DatAanvraagUitkering", ()),
    "SpecifiekeGegevensBijzBijstand": ("DatBetaalbaarBijzBijstand", ("CdClusterBijzBijstand",)),
    "Uitkeringsverhouding": ("DatBUitkeringsverhouding", ()),
}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _expected_rights(path: Path) -> list[tuple[str, str]]:
    """(law code, ISO date) of each distinct dated item, read with ElementTree (not the engine)."""
    rights: set[tuple[str, ...]] = set()
    for element in ElementTree.parse(path).iter():
        spec = LISTS.get(_local(element.tag))
        if spec is None:
            continue
        texts = {_local(child.tag): (child.text or "").strip() for child in element.iter()}
        date = texts.get(spec[0])
        if date:
            rights.add((_local(element.tag), texts["CdSzWet"], date, *(texts.get(k, "") for k in spec[1])))
    return sorted((right[1], dt.datetime.strptime(right[2], "%Y%m%d").date().isoformat()) for right in rights)


def _dates(right: dict[str, Any]) -> str:
    start = right.get("period", {}).get("start")
    applied = [
        e["valueDate"] for e in right.get("extension", []) if e["url"].endswith("DatAanvraagUitkering")
    ]
    return str(start or applied[0])


def test_every_dated_item_is_one_benefit_right(domain_data: Path) -> None:
    mapping = load_mapping(SPEC)
    ids: dict[str, str] = {}
    files = sorted((domain_data / EXAMPLES).glob("*.xml"))
    for path in files:
        bundles = [b for b in translate_stream(io.BytesIO(path.read_bytes()), mapping) if isinstance(b, dict)]
        if not bundles:
            continue  # an error report or "nothing found" response
        (bundle,) = bundles
        assert get_validator().validate(bundle) == []
        rights = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "BenefitRight"]
        assert sorted((r["benefit"]["code"], _dates(r)) for r in rights) == _expected_rights(path)
        for right in rights:
            assert right["id"] not in ids, (path.name, ids.get(right["id"]))  # unique across persons
            ids[right["id"]] = path.name
    assert len(set(ids.values())) >= 5 and len(ids) > 2 * len(set(ids.values()))


def test_rights_ids_are_keyed_with_the_person(domain_data: Path) -> None:
    """The same items under another BSN give other ids (the key reads the record's Burgerservicenr)."""
    mapping = load_mapping(SPEC)
    path = next((domain_data / EXAMPLES).glob("*_111111110.xml"))
    text = path.read_bytes()
    (first,) = translate_stream(io.BytesIO(text), mapping)
    (second,) = translate_stream(io.BytesIO(text.replace(b"111111110", b"999999990")), mapping)
    assert isinstance(first, dict) and isinstance(second, dict)
    first_ids = {e["resource"]["id"] for e in first["entry"]}
    second_ids = {e["resource"]["id"] for e in second["entry"]}
    assert len(first_ids) == len(second_ids) >= 3 and first_ids.isdisjoint(second_ids)
