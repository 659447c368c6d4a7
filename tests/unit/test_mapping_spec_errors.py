"""Load-time errors point at the spec file and line, and say what is wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gateway.errors import ConfigurationError
from gateway.mapping import MappingCatalog, load_mapping

VALID = """\
name: demo
version: "1"
partner: {system: "urn:test:demo"}
source: {codec: csv}
resources:
  - name: person
    resourceType: Person
    id: id
    fields:
      name.family: nom
      birthDate: {from: dn, transforms: [{date: DD/MM/YYYY}]}
"""


def write_spec(tmp_path: Path, text: str, name: str = "demo") -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mapping.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(path: Path) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as error:
        load_mapping(path)
    assert error.value.file == str(path)
    return error.value


def test_valid_spec_loads(tmp_path: Path) -> None:
    assert load_mapping(write_spec(tmp_path, VALID)).name == "demo"


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("{date: DD/MM/YYYY}", "{dat: DD/MM/YYYY}", 11, "unknown transform 'dat'"),
        ("{date: DD/MM/YYYY}", "{date: MM/YYYY}", 11, "needs a year"),
        ("{date: DD/MM/YYYY}", "{date: {fmt: x}}", 11, "unknown parameter"),
        ("name.family: nom", 'name.family: "nom["', 10, "invalid JMESPath"),
        ("name.family: nom", "name.family: 12", 10, "is not of types"),
        ("name.family: nom", "name.family: [{from: nom}]", 10, "only allowed on a path ending with []"),
        ("name.family: nom", "name.family: {const: x, from: y}", 10, "exactly one of"),
        ("name.family: nom", "name.family: {from: nom, to: x}", 10, "unknown key"),
        ("name.family: nom", "name..family: nom", 10, "invalid field path"),
        ("name.family: nom", "household: {ref: foyer}", 10, "unknown resource 'foyer'"),
        ("    id: id\n", "    idd: id\n", 6, '"id" is a required property'),
        ("resourceType: Person", "resourceType: person", 7, "does not match"),
        ("source: {codec: csv}", "source: {codec: csv, option: {}}", 4, "Additional properties"),
        ("    id: id\n", "    id: id\n    security: [secret]\n", 9, "unknown sensitivity code"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, old: str, new: str, line: int, words: str) -> None:
    assert old in VALID
    error = load_error(write_spec(tmp_path, VALID.replace(old, new)))
    assert error.line == line, str(error)
    assert words in str(error)
    assert str(error).startswith(f"{tmp_path / 'demo' / 'mapping.yaml'}:{line}: ")


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    error = load_error(write_spec(tmp_path, VALID.replace("name.family: nom", "name.family: [nom")))
    assert error.line is not None and error.line >= 10


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    error = load_error(
        write_spec(tmp_path, VALID.replace("name.family: nom", "name.family: nom\n      name.family: x"))
    )
    assert error.line is not None


def test_name_must_match_the_folder(tmp_path: Path) -> None:
    error = load_error(write_spec(tmp_path, VALID, name="other"))
    assert error.line == 1 and "folder name" in str(error)


def test_ref_to_a_foreach_resource_needs_a_key(tmp_path: Path) -> None:
    spec = VALID + textwrap.indent(
        textwrap.dedent("""\
        - name: child
          resourceType: Person
          foreach: enfants
          id: "@"
          fields: {name.family: "@"}
        - name: household
          resourceType: Household
          id: id
          fields:
            member[]: {fields: {person: {ref: child}}}
        """),
        "  ",
    )
    error = load_error(write_spec(tmp_path, spec))
    assert "needs a key" in str(error) and error.line == 21


def test_crosswalk_errors_point_at_the_csv(tmp_path: Path) -> None:
    path = write_spec(tmp_path, VALID.replace("resources:", "crosswalks: {sexe: sexe.csv}\nresources:"))
    (path.parent / "sexe.csv").write_text("source_code,canonical_code\n1,male\n2,\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as raised:
        load_mapping(path)
    assert raised.value.file == str((path.parent / "sexe.csv").resolve()) and raised.value.line == 3
    (path.parent / "sexe.csv").write_text("code,canonical\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="header") as raised:
        load_mapping(path)
    assert raised.value.line == 1


def test_unknown_crosswalk_in_a_transform(tmp_path: Path) -> None:
    error = load_error(write_spec(tmp_path, VALID.replace("{date: DD/MM/YYYY}", "{crosswalk: sexe}")))
    assert error.line == 11 and "unknown crosswalk 'sexe'" in str(error)


def test_unresolved_variable_names_the_option_line(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        VALID.replace("source: {codec: csv}", "source:\n  codec: xml\n  options:\n    xsd: ${NO_SUCH_VAR_X}"),
    )
    mapping = load_mapping(path)
    with pytest.raises(ConfigurationError) as error:
        mapping.codec_options()
    assert error.value.line == 7 and "NO_SUCH_VAR_X" in str(error.value)
    assert mapping.codec_options(variables={"NO_SUCH_VAR_X": "/x.xsd"}) == {"xsd": "/x.xsd"}
    assert mapping.codec_options({"xsd": ""}) == {"xsd": ""}


def test_reverse_auto_with_nothing_derivable_is_an_error(tmp_path: Path) -> None:
    spec = VALID.replace("name.family: nom", "name.family: {from: nom, when: nom}").replace(
        "{date: DD/MM/YYYY}", "{regex_extract: x}"
    )
    error = load_error(write_spec(tmp_path, spec + "reverse: auto\n"))
    assert "reverse produces no field" in str(error)


def test_catalog_collects_errors_and_loads_the_rest(tmp_path: Path) -> None:
    write_spec(tmp_path, VALID)
    write_spec(tmp_path, VALID.replace("name: demo", "name: broken").replace("nom", "nom["), name="broken")
    catalog = MappingCatalog(tmp_path)
    assert catalog.names() == ["demo"]
    assert [e.file for e in catalog.errors()] == [str(tmp_path / "broken" / "mapping.yaml")]
    with pytest.raises(ConfigurationError, match="unknown mapping"):
        catalog.get("broken")
    assert MappingCatalog(tmp_path / "absent").errors()
