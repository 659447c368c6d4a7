"""Ordered row ids: valid RFC 9562 UUIDs that sort the way the rows are written."""

from __future__ import annotations

import uuid

import pytest

from gateway.store.ids import record_id, time_ordered_id


def test_record_ids_are_deterministic_uuid8_sorted_by_number() -> None:
    ids = [record_id("exchange-a", number) for number in (1, 2, 9, 10, 255, 256, 70_000)]
    assert ids == sorted(ids)
    assert ids[0] == record_id("exchange-a", 1)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (8, uuid.RFC_4122)
        assert str(parsed) == text
    assert parsed.int & (1 << 48) - 1 == 70_000


def test_record_ids_of_an_exchange_share_a_prefix_other_exchanges_do_not() -> None:
    a1, a2 = record_id("exchange-a", 1), record_id("exchange-a", 123_456)
    b1 = record_id("exchange-b", 1)
    assert a1[:23] == a2[:23]
    assert a1[:23] != b1[:23]
    assert a1 != b1


@pytest.mark.parametrize("number", [-1, 1 << 48])
def test_record_number_out_of_range_is_refused(number: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        record_id("exchange-a", number)


def test_time_ordered_ids_are_uuid7_sorted_by_time_and_unique() -> None:
    base = 1_790_000_000_000_000_000  # ns, in 2026
    earlier = [time_ordered_id(base) for _ in range(500)]
    later = time_ordered_id(base + 1_000_000)  # one millisecond on
    assert len(set(earlier)) == 500
    assert all(text < later for text in earlier)
    parsed = uuid.UUID(later)
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert parsed.int >> 80 == (base + 1_000_000) // 1_000_000
