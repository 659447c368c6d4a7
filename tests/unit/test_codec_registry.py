"""Every built-in codec name resolves to a class with the Codec shape."""

from __future__ import annotations

import pytest

from gateway.registry import BUILTIN_CODECS, codec


@pytest.mark.parametrize("name", ["csv", "xlsx", "json", "ndjson", "xml", "dsn"])
def test_builtin_codec_loads(name: str) -> None:
    assert name in BUILTIN_CODECS
    factory = codec(name)()
    assert factory.name == name
    assert callable(factory.reader) and callable(factory.writer)
