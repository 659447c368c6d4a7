"""JSON and NDJSON codecs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from adapters.json_files.codec import JsonCodec, NdjsonCodec
from gateway.codecs import SourceRecord
from gateway.errors import ConfigurationError, SkippableRecordError, UnreadableFileError


def read_json(data: bytes, **options: object) -> list[SourceRecord | SkippableRecordError]:
    return list(JsonCodec().reader(options).read(io.BytesIO(data), source_name="in.json"))


def test_records_path_nested_and_non_objects_skipped() -> None:
    items = read_json(
        b'{"total": 2, "data": {"resultats": [{"id": 1, "x": 1.5}, 7]}}', records_path="data.resultats"
    )
    assert isinstance(items[0], SourceRecord) and items[0].data == {"id": 1, "x": 1.5}
    assert isinstance(items[1], SkippableRecordError) and items[1].record == 2


def test_top_level_array_and_single_object() -> None:
    assert [r.data for r in read_json(b'\xef\xbb\xbf [{"a": 1}, {"a": 2}]')] == [{"a": 1}, {"a": 2}]  # type: ignore[union-attr]
    assert [r.data for r in read_json(b'{"a": {"b": null}}')] == [{"a": {"b": None}}]  # type: ignore[union-attr]


def test_absent_records_path_is_an_error_but_empty_array_is_not() -> None:
    assert read_json(b'{"items": []}', records_path="items") == []
    with pytest.raises(UnreadableFileError, match="records_path 'items'"):
        read_json(b'{"itemz": [{"a": 1}]}', records_path="items")


def test_malformed_json_does_not_echo_the_document() -> None:
    with pytest.raises(UnreadableFileError) as caught:
        read_json(b'[\n{"nir": "1850575116107"},\n{"nir": "SECRET" x}]')
    assert "SECRET" not in str(caught.value) and "line 3" in str(caught.value)


def test_bad_records_path_option() -> None:
    with pytest.raises(ConfigurationError, match="records_path"):
        JsonCodec().reader({"records_path": "a..b"})


def test_ndjson_bad_lines_are_skipped_with_line_numbers() -> None:
    data = b'{"a": 1}\n\n{"a": "SECRET\n[1]\n\xff\n{"a": 2}\n'
    items = list(NdjsonCodec().reader({}).read(io.BytesIO(data), source_name="in.ndjson"))
    kinds = [(type(i).__name__, i.line) for i in items]
    assert kinds == [
        ("SourceRecord", 1),
        ("SkippableRecordError", 3),
        ("SkippableRecordError", 4),
        ("SkippableRecordError", 5),
        ("SourceRecord", 6),
    ]
    assert all("SECRET" not in str(i) for i in items)


def test_json_writer_wraps_records_path_and_refuses_nan() -> None:
    out = io.BytesIO()
    JsonCodec().writer({"records_path": "data.items"}).write([{"a": "é"}, {"b": [1, None]}], out)
    items = read_json(out.getvalue(), records_path="data.items")
    assert [r.data for r in items if isinstance(r, SourceRecord)] == [{"a": "é"}, {"b": [1, None]}]
    with pytest.raises(SkippableRecordError) as caught:
        JsonCodec().writer({}).write([{"a": 1}, {"a": float("nan")}], io.BytesIO())
    assert caught.value.record == 2


def test_real_api_page(domain_data: Path) -> None:
    path = domain_data / "data-inclusion" / "samples" / "api-v1-services-page.sample.json"
    with path.open("rb") as stream:
        records = list(JsonCodec().reader({"records_path": "items"}).read(stream))
    assert records and all(isinstance(r, SourceRecord) and "id" in r.data for r in records)
