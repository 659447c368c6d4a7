"""The engine's fast paths give exactly what the general code gives.

- expression closures against JMESPath's own interpreter (every node type, hypothesis data, and every
  expression of every mapping on synthetic records and their Bundles);
- ``uuid5_text`` against ``uuid.uuid5``, ``key_text``'s list shortcut against the JSON encoder;
- the XML tree conversion against the previous (two-pass) one, ``read_row`` against ``read_value``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from adapters.common.options import Options
from adapters.common.tabular import TabularSettings
from adapters.synthetic import generate
from adapters.xml_files.tree import element_to_value, local_name
from gateway.codecs import SourceRecord
from gateway.errors import SkippableRecordError
from gateway.mapping import CompiledMapping, MappingCatalog, bundle_view
from gateway.mapping.compiled import ID_NAMESPACE, uuid5_text
from gateway.mapping.expressions import REFERENCE_INDEX, Expression, Roots, compile_expression, interpreted
from gateway.mapping.nodes import key_text
from gateway.mapping.translate import make_codec

PROJECT = Path(__file__).resolve().parents[2]
CATALOG = MappingCatalog(PROJECT / "mappings")
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = ["a", "b", "c", "x y"]
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(-3, 3, allow_nan=False),
    st.sampled_from(["", " ", "x", "a", "m", "2024-01-31", "2024-03-01", "31/01/2024"]),
    st.text(max_size=4),
)
JSON = st.recursive(
    SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=20,
)
RECORD = st.dictionaries(st.sampled_from(KEYS), JSON, max_size=4)

EXPRESSIONS = [
    # fields, roots, literals, current
    "a", "a.b", "a.b.c", '"x y".a', "$record", "$record.a.b", "$context.a", "a | $record.b",
    "a[?b == $record.c].b", "@", "`[1, 2]`", "'lit'", "`null`",
    # indexes, slices, projections, flatten
    "a[0]", "a[-1]", "a[2]", "a[0][0]", "a.b[0].c", "a[1:]", "a[::-1]", "a[:2].b", "a[*].b", "a[]", "a[].b[]",
    "*.a", "a.*", "a[*][0]", "a | [0]", "a[0] | b", "a | b | c",
    # filters and comparators
    "a[?b]", "a[?b == 'x'].c", "a[?b == `1`]", "a[?b != `true`]", "a[?b < `2`]", "a[?b > c]",
    "a[?b <= `1.5`]", "a[?b >= 'm']", "a[?@]", "[a, b][?@]", "a == b", "a != b", "a == `1`", "a == `true`",
    "a < b", "a >= `0`",
    # logic
    "!a", "!a.b", "!`0`", "a && b", "a || b", "a || b || c", "a && b || c", "!(a || b)",
    # multi-selects
    "[a, b]", "[a, b.c, `1`]", "{x: a, y: b.c}", "a.[b, c]", "a.{k: b}",
    # functions: typed, any-typed, variadic, custom; wrong types raise JMESPath's errors
    "join(', ', a)", "join('-', [a, b])", "join(a, b)", "contains(a, 'x')", "contains(a, b)",
    "starts_with(a, 'x')", "ends_with(a, b)", "length(a)", "to_string(a)", "to_number(a)", "to_array(a)",
    "not_null(a, b)", "type(a)", "keys(a)", "values(a)", "max(a)", "min(a)", "sum(a)", "avg(a)", "sort(a)",
    "reverse(a)", "abs(a)", "floor(a)", "merge(a, b)", "a.length(@)", "a[?contains(b, 'x')].c",
    "to_iso_date(a, 'YYYY-MM-DD')", "months_between(a, b, 'YYYY-MM-DD')", "days_between(a, b, 'DD/MM/YYYY')",
    "add_days(a, `1`, 'YYYY-MM-DD')", "add_days(a, b, 'YYYY-MM-DD')", "resolve(a)",
    # expression references: the interpreter itself
    "sort_by(a, &b)", "map(&b, a)",
]  # fmt: skip


def outcome(expression: Expression, reference: Any, data: Any, roots: Roots) -> tuple[str, str]:
    """(kind, text) of both evaluations must match: the value with its types, or the error raised."""

    def run(search: Any) -> tuple[str, str]:
        try:
            return "value", repr(search(data, roots))
        except Exception as exc:  # the errors must be the same too
            return type(exc).__name__, str(exc)

    fast, general = run(expression.evaluate), run(reference)
    assert fast == general, expression.text
    return fast


@pytest.mark.parametrize("text", EXPRESSIONS)
@SETTINGS
@given(record=RECORD, context=RECORD)
def test_closures_evaluate_like_the_jmespath_interpreter(text: str, record: Any, context: Any) -> None:
    expression = compile_expression(text)
    reference = interpreted(expression.ast)
    roots = Roots(record=record, context=context)
    outcome(expression, reference, record, roots)
    for scope in record.values():  # foreach-like scopes: lists, scalars, nested objects
        outcome(expression, reference, scope, roots)


def test_only_expression_references_use_the_interpreter() -> None:
    for text in EXPRESSIONS:
        fast = compile_expression(text).evaluate
        assert fast.__qualname__.startswith("interpreted") == ("&b" in text), text


# ------------------------------------------------------------------------------ every mapping's expressions


def expressions_of(value: Any) -> Iterator[Expression]:
    """Every Expression inside a compiled spec (templates, nodes, labels, reverse section)."""
    if isinstance(value, Expression):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from expressions_of(getattr(value, item.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from expressions_of(item)


def scopes(value: Any) -> Iterator[Any]:
    """The value and every object or list inside it: where foreach items put expressions."""
    yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        if isinstance(child, dict | list):
            yield from scopes(child)


GENERATED = {
    "plie-participants-csv": ("plie-csv", {"plie_siret": "78451209300013"}),
    "plie-participants-json": ("plie-json", {}),
    "caf-rsa-vrsb0801": ("caf-vrsb0801", {}),
    "dsn-embauches-fins-contrat": ("dsn", {}),
    "france-travail-extraction-csv": ("france-travail-csv", {}),
    "carnet-de-bord-beneficiaires": ("departement-csv", {}),
}


def records(mapping: CompiledMapping, fmt: str, options: dict[str, Any]) -> list[SourceRecord]:
    stream = io.BytesIO()
    generate(fmt, 40, stream, seed=5, **options)
    variables = {"CAF_VRSB0801_XSD": ""}
    bound = mapping.bind(variables)
    reader = make_codec(bound).reader(bound.codec_options(None, variables))
    return [r for r in reader.read(io.BytesIO(stream.getvalue())) if isinstance(r, SourceRecord)]


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_every_expression_of_a_mapping_evaluates_like_the_interpreter(name: str) -> None:
    if name not in CATALOG:
        pytest.skip(f"mapping {name} not in this checkout")
    mapping = CATALOG.get(name)
    forward = list(expressions_of(mapping.spec.resources))
    backward = list(expressions_of(mapping.spec.reverse))
    assert forward
    seen: set[tuple[str, str]] = set()
    for record in records(mapping, *GENERATED[name]):
        roots = Roots(record=record.data, context=record.context)
        for expression in forward:
            reference = interpreted(expression.ast)
            for scope in scopes(record.data):
                seen.add(outcome(expression, reference, scope, roots))
        bundle = mapping.to_canonical(record)
        view, index = bundle_view(bundle)
        token = REFERENCE_INDEX.set(index)
        try:
            for expression in backward:
                reference = interpreted(expression.ast)
                for scope in [view, *view["all"].values()]:
                    outcome(expression, reference, scope, Roots(view=view))
        finally:
            REFERENCE_INDEX.reset(token)
    assert len(seen) > len(forward)  # the records reached real values, not only nulls


# ------------------------------------------------------------------------------------------ ids and keys


@SETTINGS
@given(name=st.text(max_size=12), resource_type=st.sampled_from(["Person", "Bundle"]), key=st.text())
def test_uuid5_text_is_uuid5(name: str, resource_type: str, key: str) -> None:
    text = f"{name}|{resource_type}|{key}"
    try:
        expected = str(uuid.uuid5(ID_NAMESPACE, text))
    except UnicodeEncodeError:  # lone surrogates: both refuse them
        with pytest.raises(UnicodeEncodeError):
            uuid5_text(ID_NAMESPACE.bytes + text.encode())
        return
    prefix = ID_NAMESPACE.bytes + f"{name}|".encode()  # as CompiledMapping holds it
    assert uuid5_text(prefix + f"{resource_type}|{key}".encode()) == expected


@SETTINGS
@given(key=st.one_of(st.lists(st.text(max_size=6), max_size=4), st.lists(SCALAR, max_size=4), JSON))
def test_key_text_writes_what_the_json_encoder_writes(key: Any) -> None:
    empty = key in (None, "", [], {}) or (isinstance(key, list) and all(k in (None, "", [], {}) for k in key))
    if empty:
        assert key_text(key) is None
    elif isinstance(key, str):
        assert key_text(key) == key
    elif isinstance(key, int | float) and not isinstance(key, bool):
        assert key_text(key) == str(key)
    else:
        assert key_text(key) == json.dumps(key, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------------------------------------ readers


def two_pass_element_to_value(element: etree._Element, force_list: Collection[str] = ()) -> Any:
    """The previous conversion, kept as the reference of the one-pass one."""
    children = [child for child in element if isinstance(child.tag, str)]
    attributes = element.attrib
    text = element.text
    if not children and not attributes:
        return text or None
    node: dict[str, Any] = {"@" + local_name(str(name)): value for name, value in attributes.items()}
    for child in children:
        key = local_name(str(child.tag))
        value = two_pass_element_to_value(child, force_list)
        if key in node:
            existing = node[key]
            if isinstance(existing, list):
                existing.append(value)
            else:
                node[key] = [existing, value]
        else:
            node[key] = [value] if key in force_list else value
    if children:
        pieces = [text, *(child.tail for child in element)]
        mixed = "".join(piece for piece in pieces if piece and not piece.isspace())
        if mixed:
            node["#text"] = mixed
    elif text:
        node["#text"] = text
    return node


XML_TEXT = st.one_of(st.none(), st.sampled_from(["", " ", "\n  ", "t", " u "]))
TAGS = st.sampled_from(["a", "b", "{urn:x}a", "{urn:y}c"])


@st.composite
def xml_trees(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    element = etree.Element(draw(TAGS))
    for name in draw(st.lists(st.sampled_from(["k", "{urn:x}k", "m"]), unique=True, max_size=2)):
        element.set(name, draw(st.sampled_from(["", "v"])))
    element.text = draw(XML_TEXT)
    for _ in range(draw(st.integers(0, 3 if depth < 3 else 0))):
        kind = draw(st.sampled_from(["element", "element", "comment", "pi", "entity"]))
        if kind == "element":
            child = draw(xml_trees(depth + 1))
        elif kind == "comment":
            child = etree.Comment("c")
        elif kind == "pi":
            child = etree.ProcessingInstruction("p", "x")
        else:
            child = etree.Entity("e")
        child.tail = draw(XML_TEXT)
        element.append(child)
    return element


@SETTINGS
@given(tree=xml_trees(), force_list=st.sets(st.sampled_from(["a", "b", "c"])))
def test_xml_conversion_matches_the_two_pass_one(tree: etree._Element, force_list: set[str]) -> None:
    assert json.dumps(element_to_value(tree, force_list)) == json.dumps(
        two_pass_element_to_value(tree, force_list)
    )


@SETTINGS
@given(
    cells=st.lists(st.one_of(st.none(), st.sampled_from(["", "NULL", "x", "a|b", "N/A", " "])), max_size=5),
    unnamed=st.sets(st.integers(0, 4)),
)
def test_read_row_is_read_value_per_cell(cells: list[str | None], unnamed: set[int]) -> None:
    tabular = TabularSettings.from_options(
        Options(
            {"null_literals": ["NULL", "", "N/A"], "multi_values": {"h1": "|", "h3": ";"}},
            codec="csv",
            known=frozenset({"null_literals", "multi_values"}),
        )
    )
    headers = [None if i in unnamed else f"h{i}" for i in range(len(cells))]
    expected = {h: tabular.read_value(h, v) for h, v in zip(headers, cells, strict=True) if h is not None}
    assert tabular.read_row(headers, cells) == expected
    assert list(tabular.read_row(headers, cells)) == list(expected)


def test_skippable_errors_are_unchanged_by_the_fast_paths() -> None:
    """A failing transform still names the field and the source expression (ValueNode's message)."""
    mapping = CATALOG.get("plie-participants-csv")
    data = {"plie_siret": "1", "id_participant": "2", "nom": "N", "id_parcours": "3"}
    data |= {"date_naissance": "31/02/2000", "date_entree_plie": "01/01/2024"}
    with pytest.raises(SkippableRecordError) as caught:
        mapping.to_canonical(SourceRecord(1, data, line=2, source="f.csv"))
    assert caught.value.field == "Person.birthDate"
    assert "'date_naissance'" in caught.value.reason


def read_all(reader: Any, payload: bytes) -> list[Any]:
    """Every item a reader gives, then the fatal error it stops on (as text), if any."""
    items: list[Any] = []
    try:
        for item in reader.read(io.BytesIO(payload), source_name="f"):
            items.append(repr(item) if isinstance(item, SkippableRecordError) else item)
    except Exception as exc:
        items.append(f"{type(exc).__name__}: {exc}")
    return items


@pytest.mark.parametrize("max_bytes", [None, 50_000, 123_457])
@pytest.mark.parametrize("damage", [None, 40_000, 90_001])
def test_xml_pieces_give_what_whole_reads_gave(
    max_bytes: int | None, damage: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parser fed in pieces yields the same records, and stops on the same error after the same
    records (a syntax error, or max_bytes reached), as when fed lxml's whole 32 KiB reads."""
    from adapters.xml_files import reader as xml_reader

    stream = io.BytesIO()
    generate("caf-vrsb0801", 60, stream, seed=3)
    payload = stream.getvalue()
    if damage is not None:
        payload = payload[:damage] + b"<<" + payload[damage:]
    mapping = CATALOG.get("caf-rsa-vrsb0801").bind({"CAF_VRSB0801_XSD": ""})
    options = mapping.codec_options({"max_bytes": max_bytes} if max_bytes else None, {"CAF_VRSB0801_XSD": ""})
    pieces = read_all(make_codec(mapping).reader(options), payload)
    monkeypatch.setattr(xml_reader, "PIECE", 1 << 30)  # whole reads: the previous behaviour
    assert pieces == read_all(make_codec(mapping).reader(options), payload)
    assert len(pieces) > 10


def test_dsn_blank_lines_are_skipped_and_counted() -> None:
    stream = io.BytesIO()
    generate("dsn", 3, stream, seed=2)
    lines = stream.getvalue().split(b"\n")
    spaced = b"\n".join([*lines[:30], b"", b"   \r", *lines[30:]])
    reader = make_codec(CATALOG.get("dsn-embauches-fins-contrat")).reader({})
    plain, blank = read_all(reader, stream.getvalue()), read_all(reader, spaced)
    assert [r.data for r in plain] == [r.data for r in blank]
    assert [r.line for r in blank] == [r.line + 2 * (r.line > 30) for r in plain]
    broken = b"\n".join([*lines[:30], b"", b" x", *lines[30:]])
    assert read_all(reader, broken) == [
        "UnreadableFileError: f:32: line is not of the form Sxx.Gxx.xx.xxx,'value'"
    ]
