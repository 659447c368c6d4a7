"""Stored envelopes are read back in slices, byte for byte, with seeks (no whole-file load)."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from gateway.pipeline.intake import Envelope, receive
from gateway.store.engine import make_engine, upgrade
from gateway.store.payloads import StoredPayload, open_payload


def _engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'payloads.db'}"
    upgrade(url)
    return make_engine(url)


def test_a_large_payload_streams_back_identically(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    payload = bytes(range(256)) * 20_000  # 5 MB, several slices
    exchange_id = receive(engine, Envelope("e", "p", "test", payload)).exchange_id
    stream = open_payload(engine, exchange_id, len(payload))
    assert b"".join(iter(lambda: stream.read(777_777), b"")) == payload
    stream.seek(-10, io.SEEK_END)
    assert stream.read() == payload[-10:]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payload=st.binary(min_size=0, max_size=5000),
    reads=st.lists(st.tuples(st.integers(0, 6000), st.integers(1, 3000)), max_size=8),
)
def test_seek_and_read_match_bytesio(tmp_path: Path, payload: bytes, reads: list[tuple[int, int]]) -> None:
    engine = _engine(tmp_path)
    exchange_id = receive(engine, Envelope("e", "p", "test", payload)).exchange_id
    stored = StoredPayload(engine, exchange_id, len(payload))
    reference = io.BytesIO(payload)
    for offset, size in reads:
        assert stored.seek(offset) == reference.seek(min(offset, len(payload)))
        buffer = bytearray(size)
        count = stored.readinto(buffer)
        assert bytes(buffer[:count]) == reference.read(size)
    engine.dispose()
