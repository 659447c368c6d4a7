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


def test_a_stream_is_received_in_slices_and_deduplicated_like_its_bytes(tmp_path: Path) -> None:
    from gateway.store.payloads import CHUNK, read_payload

    engine = _engine(tmp_path)
    payload = bytes(range(256)) * (CHUNK // 256) * 2 + b"tail"  # two full slices and a bit
    path = tmp_path / "flux.xml"
    path.write_bytes(payload)
    with path.open("rb") as stream:
        first = receive(engine, Envelope("e", "p", "test", stream, source_name="flux.xml"))
    again = receive(engine, Envelope("e", "p", "test", payload))
    assert (first.duplicate, again.duplicate, again.exchange_id) == (False, True, first.exchange_id)
    assert read_payload(engine, first.exchange_id) == payload
    engine.dispose()


class _Changing(io.BytesIO):
    """A file rewritten between the digest pass and the storing pass."""

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = super().seek(offset, whence)
        if offset == 0 and whence == io.SEEK_SET and self.getbuffer().nbytes < 10:
            self.write(b"more bytes")
            super().seek(0)
        return position


def test_a_file_that_changes_while_it_is_received_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    import pytest
    from sqlalchemy import func, select

    from gateway.errors import UnreadableFileError
    from gateway.store.tables import exchange_payloads, exchanges

    engine = _engine(tmp_path)
    with pytest.raises(UnreadableFileError, match="changed"):
        receive(engine, Envelope("e", "p", "test", _Changing(b"short"), source_name="f.csv"))
    with engine.connect() as connection:
        counts = [
            connection.execute(select(func.count()).select_from(t)).scalar()
            for t in (exchanges, exchange_payloads)
        ]
    assert counts == [0, 0]
    engine.dispose()
