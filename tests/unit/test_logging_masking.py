"""Personal data never reaches the logs: keys are masked, NIR-shaped strings are masked anywhere."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.logging_setup import MASK, configure_logging, get_logger, mask_text


@pytest.mark.parametrize("nir", ["1850775123456", "185077512345678", "185072A12345678", "285022B123456"])
def test_nir_shaped_strings_are_masked_inside_text(nir: str) -> None:
    assert nir not in mask_text(f"record 3 nir={nir}, refused")
    assert MASK in mask_text(f"record 3 nir={nir}, refused")


def test_ordinary_numbers_are_kept() -> None:
    text = "records 100000, line 1234567, siret 12345678901234 no"
    assert mask_text("records 100000, line 1234567") == "records 100000, line 1234567"
    assert "12345678901234" in mask_text(text)  # 14 digits (SIRET) is not NIR-shaped


@given(
    sex=st.sampled_from("12"),
    rest=st.text(alphabet="0123456789", min_size=12, max_size=12),
    key=st.one_of(st.just(""), st.text(alphabet="0123456789", min_size=2, max_size=2)),
)
def test_any_nir_is_masked(sex: str, rest: str, key: str) -> None:
    nir = sex + rest + key
    assert nir not in mask_text(f"x {nir} y")


def test_structlog_events_mask_personal_keys_and_values(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    get_logger("t").info(
        "mapped", nir="185077512345678", nom="Dupont", detail={"prenom": "Jean", "note": "x 1850775123456"}
    )
    line = capsys.readouterr().err.strip().splitlines()[-1]
    event = json.loads(line)
    assert event["event"] == "mapped"
    assert event["nir"] == MASK and event["nom"] == MASK
    assert event["detail"]["prenom"] == MASK
    assert "1850775123456" not in line and "Dupont" not in line and "Jean" not in line
