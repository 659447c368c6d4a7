"""NIR key: 97 - (NIR13 mod 97), Corsica 2A -> 19 and 2B -> 18 before the computation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.model.nir import complete_nir, is_valid_nir, nir_key
from gateway.model.strategies import nir13


def test_published_example() -> None:
    # Worked example of Wikipedia "Numéro de sécurité sociale en France": 2 55 08 14 168 025 38.
    assert nir_key("2550814168025") == "38"
    assert complete_nir("2550814168025") == "255081416802538"


def test_corsica_replaces_department_before_computing() -> None:
    body = "1850720123456"  # département 20 (pre-1976 Corsica) replaced by 2A then 2B
    for corsica, numeric in (("2A", "19"), ("2B", "18")):
        corsican = body[:5] + corsica + body[7:]
        expected = 97 - int(body[:5] + numeric + body[7:]) % 97
        assert nir_key(corsican) == f"{expected:02d}"
        assert nir_key(corsican.lower()) == f"{expected:02d}"


@given(nir13())
def test_complete_nir_is_valid_and_keyed(body: str) -> None:
    full = complete_nir(body)
    assert len(full) == 15 and full.startswith(body)
    assert 1 <= int(full[13:]) <= 97
    assert is_valid_nir(full)


@given(nir13(), st.integers(0, 99))
def test_any_other_key_is_invalid(body: str, key: int) -> None:
    full = complete_nir(body)
    assert is_valid_nir(body + f"{key:02d}") == (f"{key:02d}" == full[13:])


@given(nir13(), st.integers(0, 12), st.sampled_from("0123456789"))
def test_single_digit_change_is_detected(body: str, position: int, digit: str) -> None:
    full = complete_nir(body)
    if body[position] in "AB" or body[position] == digit or (position == 5 and body[5:7] in ("2A", "2B")):
        return
    changed = full[:position] + digit + full[position + 1 :]
    assert not is_valid_nir(changed)


@pytest.mark.parametrize(
    "bad", ["", "123", "1850775123456X", "18507751234567", "185072C123456", "ABCDEFGHIJKLM"]
)
def test_bad_shapes(bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        nir_key(bad)
    if bad:
        assert bad not in str(caught.value)
    assert not is_valid_nir(bad + "00")
