"""data·inclusion v1 structures/services round-trip exactly; v0 services map to the v1 shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.mapping import load_mapping, translate_file
from gateway.model.validation import get_validator

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/mappings_other/data-inclusion-v0-services.json"


def _non_empty(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if value not in (None, [], "")}


@pytest.mark.parametrize("kind", ["structures", "services"])
def test_v1_sample_round_trips_every_schema_field(domain_data: Path, kind: str) -> None:
    mapping = load_mapping(ROOT / f"mappings/data-inclusion-v1-{kind}/mapping.yaml")
    sample = domain_data / f"data-inclusion/samples/api-v1-{kind}-page.sample.json"
    schema = json.loads((domain_data / f"data-inclusion/schema-v1/{kind[:-1]}.json").read_text())
    items = json.loads(sample.read_text())["items"]
    bundles = list(translate_file(sample, mapping))
    assert len(bundles) == len(items)
    for bundle, item in zip(bundles, items, strict=True):
        assert isinstance(bundle, dict), bundle
        assert get_validator().validate(bundle) == []
        (resource,) = [entry["resource"] for entry in bundle["entry"]]
        assert {k: resource[k] for k in schema["properties"] if k in resource} == {
            k: v for k, v in _non_empty(item).items() if k in schema["properties"]
        }
        (back,) = mapping.from_canonical(bundle)
        # null and empty-list fields are omitted both ways (documented); everything else comes back as is
        assert _non_empty(back) == _non_empty(item)
        assert set(schema["properties"]) >= set(_non_empty(back)) - {"score_qualite", "adresse_certifiee"}


def test_v0_services_renamed_fields_and_codes() -> None:
    mapping = load_mapping(ROOT / "mappings/data-inclusion-v0-services/mapping.yaml")
    source = json.loads(FIXTURE.read_text())["items"]
    bundles = list(translate_file(FIXTURE, mapping))
    assert all(isinstance(b, dict) and get_validator().validate(b) == [] for b in bundles)
    first, second = (b["entry"][0]["resource"] for b in bundles)  # type: ignore[index]
    assert first["description"] == source[0]["presentation_detail"]
    assert first["type"] == "atelier"
    assert first["frais"] == "gratuit"  # gratuit-sous-conditions
    assert first["publics"] == ["beneficiaires-des-minimas-sociaux", "jeunes"]  # locataires has no v1 code
    assert first["thematiques"] == ["famille--garde-denfants"]  # v0-only thematiques dropped
    assert first["modes_mobilisation"] == ["envoyer-un-courriel", "telephoner"]
    assert first["mobilisable_par"] == ["professionnels", "usagers"]
    assert first["zone_eligibilite"] == ["35238"]
    assert first["conditions_acces"] == "Savoir lire; Pièce d'identité"
    assert second["description"] == source[1]["presentation_resume"]
    assert second["type"] == "aide-financiere"  # v0 financement
    assert second["publics"] == ["demandeurs-emploi"]


def test_v0_crosswalks_only_give_v1_codes(domain_data: Path) -> None:
    extra = domain_data / "data-inclusion/schema-v1/extra"
    targets = {
        "typologie_service.csv": "types-de-services.json",
        "frais.csv": "frais.json",
        "profils.csv": "publics.json",
        "thematiques.csv": "thematiques.json",
        "modes_orientation_accompagnateur.csv": "modes-mobilisation.json",
    }
    for crosswalk, values in targets.items():
        allowed = {v["value"] for v in json.loads((extra / values).read_text())}
        rows = (
            (ROOT / "mappings/data-inclusion-v0-services/crosswalks" / crosswalk).read_text().splitlines()[1:]
        )
        assert rows and {row.split(",")[1] for row in rows} <= allowed, crosswalk
