"""Round trips: write(records) then read gives the same records, for generated awkward text."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.codecs import SourceRecord
from gateway.registry import codec

# Text with accents, quotes, delimiters, newlines and apostrophes; no surrogates or NUL.
TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30)
XML_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xD7FF), min_size=1, max_size=30)
LATIN1_LINE = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    min_size=1,
    max_size=30,
)
NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def round_trip(
    name: str,
    records: Sequence[Mapping[str, Any]],
    options: Mapping[str, Any] | None = None,
    read_options: Mapping[str, Any] | None = None,
) -> list[SourceRecord]:
    factory = codec(name)()
    out = io.BytesIO()
    assert factory.writer(options or {}).write(records, out) == len(records)
    items = list(
        factory.reader(read_options if read_options is not None else options or {}).read(
            io.BytesIO(out.getvalue())
        )
    )
    assert all(isinstance(item, SourceRecord) for item in items), items
    return items


def tables(text: st.SearchStrategy[str]) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(NAMES, min_size=1, max_size=5, unique_by=str.casefold).flatmap(
        lambda columns: st.lists(
            st.fixed_dictionaries({c: st.none() | text for c in columns}), min_size=1, max_size=8
        )
    )


@FAST
@given(
    tables(TEXT.filter(lambda s: s not in {"", "NULL"} and "\r" not in s)),
    st.sampled_from([";", ",", "\t", "|"]),
)
def test_csv(records: list[dict[str, Any]], delimiter: str) -> None:
    items = round_trip("csv", records, {"delimiter": delimiter, "encoding": "utf-8"})
    assert [item.data for item in items] == records


@FAST
@given(
    tables(
        st.one_of(
            XML_TEXT.filter(lambda s: s != "NULL" and "\r" not in s),
            st.integers(-(10**6), 10**6),
        )
    )
)
def test_xlsx(records: list[dict[str, Any]]) -> None:
    items = round_trip("xlsx", records)
    expected = [r for r in records if any(v is not None for v in r.values())]  # empty rows are not records
    assert [item.data for item in items] == expected


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)
JSON_RECORDS = st.lists(st.dictionaries(TEXT, JSON_VALUES, max_size=4), max_size=6)


@FAST
@given(JSON_RECORDS, st.sampled_from(["", "items", "data.resultats"]))
def test_json(records: list[dict[str, Any]], path: str) -> None:
    items = round_trip("json", records, {"records_path": path}, {"records_path": path})
    if path == "" and len(records) == 0:
        return
    assert [item.data for item in items] == records


@FAST
@given(JSON_RECORDS)
def test_ndjson(records: list[dict[str, Any]]) -> None:
    assert [item.data for item in round_trip("ndjson", records)] == records


XML_TREES = st.recursive(
    XML_TEXT,
    lambda inner: st.dictionaries(
        NAMES, inner | st.lists(inner, min_size=2, max_size=3), min_size=1, max_size=3
    ),
    max_leaves=8,
)


@FAST
@given(st.lists(st.dictionaries(NAMES, XML_TREES, min_size=1, max_size=3), min_size=1, max_size=5))
def test_xml(records: list[dict[str, Any]]) -> None:
    options = {"root_element": "Racine", "record_element": "Record", "encoding": "utf-8"}
    items = round_trip("xml", records, options, {"record_element": "Record"})
    assert [item.data for item in items] == records


# Every DSN block instance starts with rubric 001 (that is how a reader tells two instances apart).
RUBRICS = st.builds(
    lambda first, rest: {"001": first, **rest},
    LATIN1_LINE,
    st.dictionaries(st.from_regex(r"0[0-9][2-9]", fullmatch=True), LATIN1_LINE, max_size=3),
)


@FAST
@given(
    st.lists(
        st.fixed_dictionaries(
            {"S21.G00.30": RUBRICS, "S21.G00.40": st.lists(RUBRICS, min_size=1, max_size=3)}
        ),
        min_size=1,
        max_size=4,
    )
)
def test_dsn(individus: list[dict[str, Any]]) -> None:
    context = {
        "envoi": {"001": "LOGICIEL", "006": "P24V01"},
        "declaration": {"001": "01", "002": "01"},
        "entreprise": {"001": "123456782"},
        "etablissement": {"001": "00015"},
    }
    records = [{**context, "individu": individu} for individu in individus]
    tolerant = {"on_format_error": "accept", "on_unknown_rubric": "accept"}
    items = round_trip("dsn", records, {}, tolerant)
    assert [item.data for item in items] == [
        {
            "S21.G00.30": dict(sorted(i["S21.G00.30"].items())),
            "S21.G00.40": [dict(sorted(c.items())) for c in i["S21.G00.40"]],
        }
        for i in individus
    ]
    assert all({k: item.context[k] for k in context} == context for item in items)
