"""Convention files: the examples load; every kind of mistake is reported with its file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import ConfigurationError
from gateway.policy import ConventionRegistry
from gateway.policy.checks import check_conventions
from gateway.policy.purposes import national_purposes
from gateway.policy.siret import is_valid_siret, luhn_ok

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "conventions" / "plie-lille-ft.yaml"


def test_examples_load_and_name_real_parties() -> None:
    registry = ConventionRegistry.load(ROOT / "conventions")
    assert len(registry) == 5
    for convention in registry:
        assert all(is_valid_siret(party.siret) for party in convention.parties.values())
        assert convention.flows


def test_the_eight_national_purposes() -> None:
    purposes = national_purposes()
    assert sorted(p.number for p in purposes.values()) == list(range(1, 9))
    assert all(not p.is_local for p in purposes.values())


@given(st.text("0123456789", min_size=13, max_size=13))
def test_exactly_one_check_digit_completes_a_siret(body: str) -> None:
    assert sum(luhn_ok(body + digit) for digit in "0123456789") == 1


@given(st.integers(0, 13), st.integers(1, 9))
def test_luhn_catches_every_single_digit_error(position: int, shift: int) -> None:
    siret = "78451209300013"
    wrong = siret[:position] + str((int(siret[position]) + shift) % 10) + siret[position + 1 :]
    assert is_valid_siret(siret) and not is_valid_siret(wrong)


def _broken(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    target = tmp_path / "conv.yaml"
    target.write_text(text, encoding="utf-8")
    line = text[: text.index(new)].count("\n") + 1 + new[: len(new) - len(new.lstrip("\n"))].count("\n")
    return target, line


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('siret: "78451209300013"', 'siret: "78451209300014"', "Luhn"),
        ("kind: accompanied_by_sender", "kind: lives_on_the_moon", "kind"),
        (
            "purpose: diagnostic-accompagnement\n    resource_types: [Person, Accompaniment]",
            "purpose: local:inconnue\n    resource_types: [Person, Accompaniment]",
            "purpose",
        ),
        ("- Person.birthDate", "- Person.shoeSize", "not a field of the canonical model"),
        ("- Accompaniment.status", "- Registration.status", "not in the flow's resource_types"),
        ("    to: ft-hdf\n", "    to: ft-paris\n", "is not a party"),
        ("status: active", "status: signed", "status"),
        (
            "nir_allowed: false\n    population:\n      - id: participants-plie",
            "nir_allowed: false\n    sensitive_categories_allowed: [health]\n    population:\n"
            "      - id: participants-plie",
            "legal_basis",
        ),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    path, line = _broken(tmp_path, old, new)
    with pytest.raises(ConfigurationError) as caught:
        ConventionRegistry.load(tmp_path)
    assert caught.value.file == str(path)
    assert message in str(caught.value)
    lines = path.read_text(encoding="utf-8").splitlines()
    # the reported line holds the offending node (the key or the list item)
    assert caught.value.line is not None
    assert abs(caught.value.line - line) <= 2, (caught.value.line, line, lines[caught.value.line - 1])


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: x\nflows: [\n  - a: 1\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        ConventionRegistry.load(tmp_path)
    assert caught.value.line is not None and caught.value.file.endswith("bad.yaml")


def test_duplicate_convention_ids_are_refused(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "a.yaml")
    shutil.copy(EXAMPLE, tmp_path / "b.yaml")
    with pytest.raises(ConfigurationError, match="also defined"):
        ConventionRegistry.load(tmp_path)


def test_static_check_reports_broken_files_nir_without_permission_and_expiry(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "ok.yaml")
    text = EXAMPLE.read_text(encoding="utf-8").replace("id: plie-lille-ft\n", "id: other\n", 1)
    text = text.replace(
        "matching_keys: [urn:fr:francetravail:identifiant]", "matching_keys: [urn:fr:insee:nir]", 1
    )
    text = text.replace('to: "2027-12-31"', 'to: "2025-03-31"')
    (tmp_path / "nir.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("id: [\n", encoding="utf-8")
    findings = check_conventions(tmp_path)
    assert any(f.startswith("error:") and "broken.yaml" in f for f in findings)
    assert any(f.startswith("warning:") and "plie-to-ft" in f and "NIR" in f for f in findings)
    assert any(f.startswith("info:") and "(other)" in f and "expired" in f for f in findings)
    assert not any("(plie-lille-ft)" in f for f in findings)


class _Mapping:
    def __init__(self, paths: frozenset[str]) -> None:
        self.paths = paths

    def emitted_field_paths(self) -> frozenset[str]:
        return self.paths


class _Catalog:
    def names(self) -> list[str]:
        return ["plie-export"]

    def get(self, name: str) -> _Mapping:
        return _Mapping(frozenset({"Person.name.family", "Person.telecom.value", "Accompaniment.status"}))


def test_static_check_reports_mapped_fields_no_flow_allows(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "ok.yaml")
    findings = check_conventions(tmp_path, _Catalog())
    assert findings == [
        "info: mapping plie-export: emits Person.telecom.value, "
        "which no convention flow allows (always stripped)"
    ]
