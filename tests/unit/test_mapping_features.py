"""Engine features used by the mapping authors: roots anywhere in expressions, date functions, repeated
``foreach`` keys, YAML scalar styles, spec variables and ``extends``, writer options."""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.codecs import SourceRecord
from gateway.errors import ConfigurationError, SkippableRecordError
from gateway.mapping import CompiledMapping, load_mapping, reverse_bundles, translate_stream, write_partner
from gateway.mapping.expressions import ExpressionError, Roots, compile_expression, months_between

HEAD = """\
name: {name}
version: "1"
partner: {{system: "urn:test:{name}"}}
source: {{codec: json}}
"""


def spec(tmp_path: Path, body: str, name: str = "demo", head: str | None = None) -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mapping.yaml"
    text = (HEAD.format(name=name) if head is None else head) + textwrap.dedent(body)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as raised:
        load_mapping(path)
    return raised.value


def of(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


# ------------------------------------------------------------------------------------------ roots


def evaluate(text: str, scope: Any, **roots: Any) -> Any:
    return compile_expression(text).evaluate(scope, Roots(**roots))


RECORD = {"siret": "123", "code": "B", "items": [{"code": "A", "n": 1}, {"code": "B", "n": 2}]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$record.siret", "123"),
        ("[$record.siret, n]", ["123", 2]),  # multiselect
        ("join('-', [$record.siret, $context.flux, code])", "123-F1-B"),  # function arguments
        ("code == $record.code", True),  # comparison
        ("$record.items[?code == $record.code].n | [0]", 2),  # a root inside a filter, on each item
        ("{s: $record.siret, f: $context.flux}", {"s": "123", "f": "F1"}),
        ("sort_by($record.items, &n)[-1].code", "B"),
        ("$record", RECORD),
        ("$context.missing || 'x'", "x"),
        ("'$record.siret'", "$record.siret"),  # a raw string literal stays a literal
        ('"$record"', "dollar-field"),  # a quoted identifier stays a field name
        ('`"$context"`', "$context"),  # JSON literal
        ("join('', ['$record', code])", "$recordB"),
    ],
)
def test_roots_anywhere_in_an_expression(text: str, expected: Any) -> None:
    item = {"code": "B", "n": 2, "$record": "dollar-field"}
    assert evaluate(text, item, record=RECORD, context={"flux": "F1"}) == expected


def test_root_expressions_take_the_fast_path_when_simple() -> None:
    expression = compile_expression('[$context.a."001", $record.b, c]')
    assert expression.roots == {"context", "record"}
    assert expression.evaluate({"c": 3}, Roots(record={"b": 2}, context={"a": {"001": 1}})) == [1, 2, 3]
    assert compile_expression("a.b").roots == frozenset()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("$records.a", "unknown root '$records'"),
        ("$.a", "unknown root '$'"),
        ("a.$record", "Expecting"),
        ("$record(a)", "Invalid function name"),
        ("a $record", "Unexpected token"),
        ("nope(a)", "unknown function nope()"),
        ("months_between(a, b, 'MM/YYYY')", "needs a year"),
        ("to_iso_date(a, 'HH:mm')", "needs a date format"),
    ],
)
def test_bad_expressions_are_load_errors(text: str, words: str) -> None:
    with pytest.raises(
        ExpressionError, match=words.replace("(", r"\(").replace(")", r"\)").replace("$", r"\$")
    ):
        compile_expression(text)


def test_root_reads_count_for_coverage() -> None:
    expression = compile_expression("join('', [$record.numero, nir, $context.flux])")
    assert expression.read_paths(("membres",)) == {("numero",), ("membres", "nir")}
    assert compile_expression("$record.a.b").result_path(None) == ("a", "b")
    assert compile_expression("$view.Person").result_path(()) is None


def test_foreach_ids_keyed_with_the_record(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
        resources:
          - name: person
            resourceType: Person
            foreach: membres
            id: "[$record.foyer, nir]"
            fields:
              name.family: nom
              identifier[]:
                from: "join(':', [$record.foyer, nir])"
                transforms: [{identifier: "urn:test:id"}]
              household: {ref: foyer}
          - name: foyer
            resourceType: Household
            id: foyer
            fields:
              member[]: {foreach: membres, fields: {person: {ref: person, key: "[$record.foyer, nir]"}}}
        """,
    )
    mapping = load_mapping(path)
    data = {"foyer": "F1", "membres": [{"nir": "1", "nom": "A"}, {"nir": "2", "nom": "B"}]}
    bundle = mapping.to_canonical(SourceRecord(1, data))
    other = mapping.to_canonical(SourceRecord(2, {**data, "foyer": "F2"}))
    persons = of(bundle, "Person")
    assert [p["identifier"][0]["value"] for p in persons] == ["F1:1", "F1:2"]
    assert {p["id"] for p in persons}.isdisjoint(p["id"] for p in of(other, "Person"))
    (household,) = of(bundle, "Household")
    assert [m["person"]["reference"] for m in household["member"]] == [f"Person/{p['id']}" for p in persons]
    assert mapping.unused_source_fields(data) == []


# --------------------------------------------------------------------------------- date functions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to_iso_date('01022025', 'DDMMYYYY')", "2025-02-01"),
        ("to_iso_date('2025-02-01T23:30:00+00:00', 'ISO')", "2025-02-02"),  # Europe/Paris day
        ("to_iso_date('31022025', 'DDMMYYYY')", None),  # not a date: null, no error
        ("to_iso_date(missing, 'DDMMYYYY')", None),
        ("days_between('01/01/2024', '01/03/2024', 'DD/MM/YYYY')", 60),  # leap year
        ("days_between('01/03/2024', '01/01/2024', 'DD/MM/YYYY')", -60),
        ("months_between('15012025', '14072025', 'DDMMYYYY')", 5),
        ("months_between('15012025', '15072025', 'DDMMYYYY')", 6),
        ("months_between('31012025', '28022025', 'DDMMYYYY')", 1),  # end of a shorter month
        ("months_between('31012024', '28022024', 'DDMMYYYY')", 0),  # 2024 has a 29th
        ("months_between('15072025', '15012025', 'DDMMYYYY')", -6),
        ("months_between('', '15012025', 'DDMMYYYY')", None),
        ("add_days('30062025', `1`, 'DDMMYYYY')", "01072025"),
        ("add_days('2024-02-28', `-59`, 'YYYY-MM-DD')", "2023-12-31"),
        ("add_days('30062025', `1.5`, 'DDMMYYYY')", None),
        ("months_between(start, add_days(end, `1`, 'DDMMYYYY'), 'DDMMYYYY') >= `6`", True),
        ("months_between(start, nothing, 'DDMMYYYY') >= `6`", None),  # null compares to null: falsy
    ],
)
def test_date_functions(text: str, expected: Any) -> None:
    assert evaluate(text, {"start": "01012025", "end": "30062025"}) == expected


def _plus_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.month - 1 + months, 12)
    for last in (31, 30, 29, 28):
        try:
            return dt.date(day.year + year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@given(
    st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31)),
    st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31)),
)
def test_months_between_is_the_largest_whole_number_of_months(start: dt.date, end: dt.date) -> None:
    months = months_between(start, end)
    if end >= start:
        assert _plus_months(start, months) <= end < _plus_months(start, months + 1)
    else:
        assert months == -months_between(end, start)


# ----------------------------------------------------------------------------- repeated foreach keys

DUPLICATES = """\
resources:
  - name: person
    resourceType: Person
    id: id
    fields: {{name.family: nom}}
  - name: structure
    resourceType: Organization
    foreach: parcours
    id: siret
    {policy}
    fields:
      name: nom
      telecom[]: {{fields: {{system: {{const: email}}, value: mail}}}}
      identifier[]: {{from: siret, transforms: [{{identifier: SIRET}}]}}
  - name: parcours
    resourceType: Accompaniment
    foreach: parcours
    id: "[$record.id, numero]"
    fields:
      person: {{ref: person}}
      performer: {{ref: structure, key: siret}}
"""
PARCOURS = {
    "id": "P1",
    "nom": "Durand",
    "parcours": [
        {"numero": "1", "siret": "55210055400013", "mail": "a@x.fr"},
        {"numero": "2", "siret": "55210055400013", "nom": "Mission locale", "mail": "b@x.fr"},
        {"numero": "3", "siret": "55210055400013", "nom": "Autre nom", "mail": "a@x.fr"},
    ],
}


def _with_policy(tmp_path: Path, policy: str) -> CompiledMapping:
    line = f"on_duplicate_key: {policy}" if policy else ""
    return load_mapping(spec(tmp_path, DUPLICATES.format(policy=line), name=f"dup-{policy or 'default'}"))


def test_repeated_key_is_rejected_by_default_naming_template_and_field(tmp_path: Path) -> None:
    mapping = _with_policy(tmp_path, "")
    with pytest.raises(SkippableRecordError) as raised:
        mapping.to_canonical(SourceRecord(4, PARCOURS, line=9, source="p.json"))
    error = raised.value
    assert (error.field, error.record, error.line) == ("Organization.id", 4, 9)
    assert "'structure'" in error.reason and "'siret'" in error.reason and "on_duplicate_key" in error.reason
    assert "55210055400013" not in str(error) and "Durand" not in str(error)
    assert _with_policy(tmp_path, "reject").spec.resources[1].on_duplicate_key == "reject"


def test_repeated_key_first_keeps_the_first_item(tmp_path: Path) -> None:
    bundle = _with_policy(tmp_path, "first").to_canonical(SourceRecord(1, PARCOURS))
    (structure,) = of(bundle, "Organization")
    assert "name" not in structure and structure["telecom"] == [{"system": "email", "value": "a@x.fr"}]
    accompaniments = of(bundle, "Accompaniment")
    assert len(accompaniments) == 3
    assert all(a["performer"] == {"reference": f"Organization/{structure['id']}"} for a in accompaniments)


def test_repeated_key_merge_fills_gaps_and_gathers_list_items(tmp_path: Path) -> None:
    bundle = _with_policy(tmp_path, "merge").to_canonical(SourceRecord(1, PARCOURS))
    (structure,) = of(bundle, "Organization")
    assert structure["name"] == "Mission locale"  # missing from the first item; then the first value stays
    assert structure["telecom"] == [
        {"system": "email", "value": "a@x.fr"},
        {"system": "email", "value": "b@x.fr"},
    ]
    assert structure["identifier"] == [{"system": "urn:fr:insee:siret", "value": "55210055400013"}]
    assert len(of(bundle, "Accompaniment")) == 3


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("    id: siret\n", "    id: siret\n    on_duplicate_key: keep\n", "on_duplicate_key"),
        ("    id: id\n", "    id: id\n    on_duplicate_key: first\n", "applies to a resource with a foreach"),
    ],
)
def test_on_duplicate_key_errors(tmp_path: Path, old: str, new: str, words: str) -> None:
    body = DUPLICATES.format(policy="").replace(old, new, 1)
    error = load_error(spec(tmp_path, body))
    assert words in str(error) and error.line is not None


# ------------------------------------------------------------------------------------ YAML scalars


def test_folded_literal_anchored_and_typed_scalars_load(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
        description: >-
          A folded
          description.
        resources:
          - name: person
            resourceType: Person
            description: |
              A literal block.
            id: &key id
            fields:
              name.family:
                from: >-
                  nom
                  || 'inconnu'
                description: >
                  folded again
              active: {const: &yes true}
              multipleBirthBoolean: {const: *yes}
              scalars.decimal: {const: 1.5}
              scalars.hex: {const: 0x10}
              scalars.date: {const: 2024-01-02}
              scalars.text: {const: !!str 5}
          - name: other
            resourceType: Household
            id: *key
            fields: {"identifier[]": {from: id, transforms: [{identifier: "urn:test:foyer"}]}}
        """,
    )
    mapping = load_mapping(path)
    assert mapping.spec.description == "A folded description."
    bundle = mapping.to_canonical(SourceRecord(1, {"id": "7"}))
    (person,) = of(bundle, "Person")
    assert person["name"]["family"] == "inconnu"
    assert person["active"] is True and person["multipleBirthBoolean"] is True
    values = list(person["scalars"].values())
    assert values == [1.5, 16, "2024-01-02", "5"]
    assert [type(v) for v in values] == [float, int, str, str]


def test_unsupported_yaml_tag_is_a_load_error_with_its_line(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
        resources:
          - name: person
            resourceType: Person
            id: id
            fields: {name.family: {const: !custom x}}
        """,
    )
    error = load_error(path)
    assert "unsupported YAML tag" in str(error) and error.line == 9


# ---------------------------------------------------------------------------- variables and extends

BASE = """\
variables:
  DEPARTEMENT: generique
  LABEL: Département ${DEPARTEMENT}
source:
  codec: csv
  options: &opts {delimiter: ";", required: [id], columns: [id, nom]}
  writer_options: *opts
crosswalks: {roles: roles.csv}
resources:
  - name: person
    resourceType: Person
    id: id
    fields:
      identifier[]: {from: id, transforms: [{identifier: "urn:fr:departement:${DEPARTEMENT}:id"}]}
      name.family: nom
      role: {from: role, transforms: [{crosswalk: roles}]}
      name.text: {const: "${LABEL}"}
reverse:
  flat: true
  fields:
    id: {from: Person.identifier, transforms: [{identifier: "urn:fr:departement:${DEPARTEMENT}:id"}, first]}
    nom: Person.name.family
"""
BASE_HEAD = """\
name: base
version: "1"
partner: {system: "urn:fr:departement:${DEPARTEMENT}:export"}
"""


def _family(tmp_path: Path, child: str) -> tuple[Path, Path]:
    base = spec(tmp_path, BASE, name="base", head=BASE_HEAD)
    (base.parent / "roles.csv").write_text("source_code,canonical_code\nD,DEM\n", encoding="utf-8")
    return base, spec(tmp_path, child, name="child", head="")


CHILD = """\
extends: base
name: child
version: "2"
partner: {system: "urn:fr:departement:${DEPARTEMENT}:export", format_version: "v2"}
variables: {DEPARTEMENT: "26"}
source:
  options: {delimiter: ",", required: [id, nom]}
"""


def test_variables_in_constants_transform_params_and_partner(tmp_path: Path) -> None:
    base_path, _ = _family(tmp_path, CHILD)
    base = load_mapping(base_path)
    assert base.spec.partner_system == "urn:fr:departement:generique:export"
    bundle = base.to_canonical(SourceRecord(1, {"id": "X1", "nom": "Lopez", "role": "D"}))
    (person,) = of(bundle, "Person")
    assert person["identifier"] == [{"system": "urn:fr:departement:generique:id", "value": "X1"}]
    assert person["name"]["text"] == "Département ${DEPARTEMENT}"  # values are not expanded again
    assert "Person.identifier[urn:fr:departement:generique:id]" in base.emitted_field_paths()
    assert load_mapping(base_path, variables={"DEPARTEMENT": "07", "OTHER": "x"}).spec.variables == {
        "DEPARTEMENT": "07",
        "LABEL": "Département ${DEPARTEMENT}",
    }


def test_extends_inherits_and_overrides(tmp_path: Path) -> None:
    base_path, child_path = _family(tmp_path, CHILD)
    child = load_mapping(child_path)
    assert (child.name, child.version, child.spec.path) == ("child", "2", child_path)
    assert child.spec.partner_system == "urn:fr:departement:26:export" and child.spec.format_version == "v2"
    assert child.codec_options() == {"delimiter": ",", "required": ["id", "nom"], "columns": ["id", "nom"]}
    assert child.codec_options(writer=True) == {
        "delimiter": ";",
        "required": ["id"],
        "columns": ["id", "nom"],
    }
    bundle = child.to_canonical(SourceRecord(1, {"id": "X1", "nom": "Lopez", "role": "D"}))
    (person,) = of(bundle, "Person")
    assert person["identifier"] == [{"system": "urn:fr:departement:26:id", "value": "X1"}]
    assert person["role"] == "DEM"  # the base's crosswalk, found next to the base spec
    assert bundle["extension"][0]["valueString"] == "child@2"
    (back,) = child.from_canonical(bundle)
    assert back == {"id": "X1", "nom": "Lopez"}
    # the base's own id system is not the child's
    assert load_mapping(base_path).from_canonical(bundle) == [{"nom": "Lopez"}]


@pytest.mark.parametrize(
    ("child", "file", "line", "words"),
    [
        (CHILD + "resources: []\n", "child", 8, "cannot give 'resources'"),
        (CHILD.replace("extends: base", "extends: nowhere"), "child", 1, "no nowhere/mapping.yaml"),
        (CHILD.replace("extends: base", "extends: child"), "child", 1, "cycle"),
        (CHILD.replace("extends: base", "extends: Base!"), "child", 1, "names another mapping"),
        (CHILD.replace('{DEPARTEMENT: "26"}', "{DEPARTEMENT: 26}"), "child", 5, "is not of type"),
        (CHILD.replace('delimiter: ","', "delimiter: 1"), "child", 7, None),
    ],
)
def test_extends_errors_point_at_the_right_file(
    tmp_path: Path, child: str, file: str, line: int, words: str | None
) -> None:
    _, child_path = _family(tmp_path, child)
    if words is None:  # a codec option error shows when the reader is built
        with pytest.raises(ConfigurationError, match="delimiter"):
            list(translate_stream(io.BytesIO(b"id,nom\n1,a\n"), load_mapping(child_path)))
        return
    error = load_error(child_path)
    assert error.file == str(tmp_path / file / "mapping.yaml") and error.line == line, str(error)
    assert words in str(error)


def test_errors_in_inherited_parts_name_the_base_file(tmp_path: Path) -> None:
    base_path, child_path = _family(tmp_path, CHILD)
    base_path.write_text(
        base_path.read_text().replace('${DEPARTEMENT}:id"}]}\n      name', '${DEPT}:id"}]}\n      name')
    )
    error = load_error(child_path)
    assert error.file == str(base_path) and error.line == 17, str(error)
    assert "variable ${DEPT} is not declared" in str(error) and "DEPARTEMENT" in str(error)


def test_bind_recompiles_once_per_values_and_translate_uses_it(tmp_path: Path) -> None:
    base_path, _ = _family(tmp_path, CHILD)
    base = load_mapping(base_path)
    assert base.bind(None) is base and base.bind({"DEPARTEMENT": "generique", "X": "1"}) is base
    bound = base.bind({"DEPARTEMENT": "30"})
    assert base.bind({"DEPARTEMENT": "30"}) is bound and bound.spec.partner_system.endswith(":30:export")
    (bundle,) = translate_stream(io.BytesIO(b"id;nom\nX1;Lopez\n"), base, variables={"DEPARTEMENT": "30"})
    assert isinstance(bundle, dict)
    assert of(bundle, "Person")[0]["identifier"][0]["system"] == "urn:fr:departement:30:id"
    assert list(reverse_bundles([bundle], base)) == [{"nom": "Lopez"}]
    assert list(reverse_bundles([bundle], base, variables={"DEPARTEMENT": "30"})) == [
        {"id": "X1", "nom": "Lopez"}
    ]


def test_spec_variables_are_the_last_fallback_of_codec_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = spec(
        tmp_path,
        """\
        variables: {SEP: ";"}
        resources:
          - name: person
            resourceType: Person
            id: id
            fields: {name.family: nom}
        """,
        head=HEAD.format(name="demo").replace(
            "source: {codec: json}", 'source: {codec: csv, options: {delimiter: "${SEP}"}}'
        ),
    )
    mapping = load_mapping(path)
    monkeypatch.delenv("SEP", raising=False)
    assert mapping.codec_options() == {"delimiter": ";"}
    monkeypatch.setenv("SEP", "|")
    assert mapping.codec_options() == {"delimiter": "|"}
    assert mapping.codec_options(variables={"SEP": ","}) == {"delimiter": ","}


# ------------------------------------------------------------------------------------ writer options


def test_write_partner_uses_writer_options_not_reader_options(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
        resources:
          - name: person
            resourceType: Person
            id: id
            fields: {name.family: nom, "identifier[]": {from: id, transforms: [{identifier: "urn:test:id"}]}}
        reverse: auto
        """,
        head=HEAD.format(name="demo").replace(
            "source: {codec: json}",
            'source:\n  codec: csv\n  options: {delimiter: ",", encoding: latin-1}\n'
            '  writer_options: {delimiter: "|", columns: [id, nom], line_terminator: "\\n",\n'
            '                   encoding: "${ENC}"}',
        ),
    )
    mapping = load_mapping(path)
    (bundle,) = translate_stream(io.BytesIO(b"id,nom\n1,Zo\xe9\n"), mapping)
    assert isinstance(bundle, dict)
    records = mapping.from_canonical(bundle)
    out = io.BytesIO()
    assert write_partner(records, mapping, out, variables={"ENC": "utf-8"}) == 1
    assert out.getvalue() == "id|nom\n1|Zoé\n".encode()
    with pytest.raises(ConfigurationError) as raised:
        write_partner(records, mapping, io.BytesIO())
    assert "source.writer_options.encoding" in str(raised.value) and raised.value.line == 8


def test_data_of_an_unexpected_type_rejects_the_record_not_the_file(tmp_path: Path) -> None:
    """join() meeting an object in partner data: a record error naming the field, never the value."""
    path = spec(
        tmp_path,
        """\
        resources:
          - name: person
            resourceType: Person
            id: id
            fields:
              name.family: "join(' ', noms)"
          - name: others
            resourceType: Person
            foreach: "sort(autres || `[]`)"
            id: "@"
            fields:
              gender: "'unknown'"
        """,
        name="unexpected-types",
    )
    mapping = load_mapping(path)
    assert of(mapping.to_canonical(SourceRecord(1, {"id": "A", "noms": ["Durand", "Marie"]})), "Person")
    with pytest.raises(SkippableRecordError) as raised:
        mapping.to_canonical(SourceRecord(2, {"id": "A", "noms": [{"secret": "Durand"}]}, line=3, source="f"))
    assert (raised.value.field, raised.value.record, raised.value.line) == ("Person.name.family", 2, 3)
    assert "unexpected type" in raised.value.reason and "Durand" not in str(raised.value)
    with pytest.raises(SkippableRecordError) as raised:
        mapping.to_canonical(SourceRecord(3, {"id": "A", "autres": [1, {"nom": "Durand"}]}))
    assert "unexpected type" in raised.value.reason and "Durand" not in str(raised.value)
