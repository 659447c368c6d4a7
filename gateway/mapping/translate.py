"""Wire a codec and a mapping: partner file → Bundles, and Bundles → partner records/bytes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from gateway import registry
from gateway.codecs import Codec
from gateway.errors import SkippableRecordError
from gateway.mapping.compiled import CompiledMapping

Outcome = dict[str, Any] | SkippableRecordError


def make_codec(mapping: CompiledMapping) -> Codec:
    """The codec instance the mapping's ``source.codec`` names."""
    factory = registry.codec(mapping.spec.source.codec)
    codec: Codec = factory() if isinstance(factory, type) else factory
    return codec


def translate_stream(
    stream: BinaryIO,
    mapping: CompiledMapping,
    *,
    source_name: str = "<stream>",
    options: Mapping[str, Any] | None = None,
    variables: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Iterator[Outcome]:
    """Read partner records from ``stream`` and map each; bad records are yielded as errors, not raised.

    ``context`` is merged into every record's context: what the caller knows and the payload does not say
    (e.g. the individual an API answer is about). ``variables`` fill ``${NAME}`` in codec options and set the
    spec's own variables (``CompiledMapping.bind``).
    """
    mapping = mapping.bind(variables)
    reader = make_codec(mapping).reader(mapping.codec_options(options, variables))
    for item in reader.read(stream, source_name=source_name):
        if isinstance(item, SkippableRecordError):
            yield item
            continue
        if context:
            item = replace(item, context={**item.context, **context})
        try:
            yield mapping.to_canonical(item)
        except SkippableRecordError as error:
            yield error


def translate_file(
    path: str | Path,
    mapping: CompiledMapping,
    *,
    options: Mapping[str, Any] | None = None,
    variables: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Iterator[Outcome]:
    """``registry.codec(spec.source.codec).reader(options).read(file)`` → ``to_canonical`` per record."""
    path = Path(path)
    with path.open("rb") as stream:
        yield from translate_stream(
            stream, mapping, source_name=str(path), options=options, variables=variables, context=context
        )


def reverse_bundles(
    bundles: Iterable[Mapping[str, Any]],
    mapping: CompiledMapping,
    *,
    variables: Mapping[str, str] | None = None,
) -> Iterator[dict[str, Any] | SkippableRecordError]:
    """Partner records for each Bundle; a Bundle that cannot be reversed is yielded as an error.

    ``variables`` set the spec's own variables (``CompiledMapping.bind``), as when translating forward.
    """
    mapping = mapping.bind(variables)
    for bundle in bundles:
        try:
            yield from mapping.from_canonical(bundle)
        except SkippableRecordError as error:
            yield error


def write_partner(
    records: Iterable[Mapping[str, Any]],
    mapping: CompiledMapping,
    stream: BinaryIO,
    *,
    options: Mapping[str, Any] | None = None,
    variables: Mapping[str, str] | None = None,
) -> int:
    """Write partner records with the codec writer built from ``source.writer_options`` (not the reader's
    ``source.options``), ``options`` overriding them; returns how many were written."""
    mapping = mapping.bind(variables)
    writer = make_codec(mapping).writer(mapping.codec_options(options, variables, writer=True))
    return writer.write(records, stream)
