"""Structure and Service follow the data·inclusion v1 schema exactly (plus resourceType/meta)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.model.codesystems import load
from gateway.model.schema_store import SCHEMA_DIR, load_schemas
from gateway.model.tools import build_data_inclusion
from gateway.model.validation import get_validator

KINDS = [("structure", "Structure"), ("service", "Service")]
OURS_ONLY = {"resourceType", "meta"}


def upstream_schema(domain_data: Path, kind: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (domain_data / f"data-inclusion/schema-v1/{kind}.json").read_text("utf-8")
    )
    return data


@pytest.mark.parametrize(("kind", "title"), KINDS)
def test_api_sample_records_validate(domain_data: Path, kind: str, title: str) -> None:
    page = json.loads(
        (domain_data / f"data-inclusion/samples/api-v1-{kind}s-page.sample.json").read_text("utf-8")
    )
    assert page["items"]
    for record in page["items"]:
        assert get_validator().validate({**record, "resourceType": title}) == []


@pytest.mark.parametrize(("kind", "title"), KINDS)
def test_same_required_fields_and_properties(domain_data: Path, kind: str, title: str) -> None:
    upstream, ours = upstream_schema(domain_data, kind), load_schemas()[title]
    assert set(ours["required"]) - OURS_ONLY == set(upstream["required"])
    assert set(upstream["properties"]) <= set(ours["properties"])
    for name, field in upstream["properties"].items():
        mine = dict(ours["properties"][name])
        mine.pop("pattern", None)  # our one strengthening: a date pattern on date_maj
        assert mine == field, name


@pytest.mark.parametrize(
    ("codesystem", "def_name"),
    [(name, d) for name, d in build_data_inclusion.CODE_LISTS.items() if d is not None],
)
def test_code_lists_equal_schema_enums(codesystem: str, def_name: str) -> None:
    schemas = load_schemas()
    defs = {**schemas["Structure"]["$defs"], **schemas["Service"]["$defs"]}
    assert load(codesystem).codes() == set(defs[def_name]["enum"])


def test_build_reproduces_the_committed_files(domain_data: Path, tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "codesystems").mkdir()
    build_data_inclusion.build(domain_data / "data-inclusion/schema-v1", tmp_path)
    for built in [*tmp_path.glob("schemas/*.json"), *tmp_path.glob("codesystems/*.json")]:
        committed = SCHEMA_DIR.parent / built.parent.name / built.name
        assert json.loads(built.read_text("utf-8")) == json.loads(committed.read_text("utf-8")), built.name


def test_typos_and_bad_enums_are_caught() -> None:
    service = {
        "resourceType": "Service",
        "id": "cd26--atelier",
        "source": "cd26",
        "structure_id": "cd26--mds",
        "nom": "Atelier CV",
        "description": "Atelier collectif.",
        "date_maj": "2025-02-14",
    }
    assert get_validator().validate(service) == []
    issues = get_validator().validate(
        {**service, "thematique": [], "frais": "libre", "date_maj": "14/02/2025"}
    )
    assert {(i.path, i.rule) for i in issues} == {
        ("$", "additionalProperties"),
        ("$.frais", "anyOf"),
        ("$.date_maj", "pattern"),
    }
