"""Every transform of the mapping engine, forward, reverse and inverse (round-trips by hypothesis)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.mapping.crosswalks import load_crosswalk
from gateway.mapping.dates import compile_format
from gateway.mapping.nodes import run_steps
from gateway.mapping.transforms import (
    TRANSFORMS,
    BuildEnv,
    NotInvertible,
    ParamError,
    TransformError,
    build_step,
)
from gateway.model.nir import is_valid_nir, nir_key

ENV = BuildEnv({})


def apply(name: str, params: Any, value: Any, direction: str = "forward", env: BuildEnv = ENV) -> Any:
    return run_steps([build_step(name, params, env, direction)], value)  # type: ignore[arg-type]


@pytest.fixture
def crosswalk_env(tmp_path: Path) -> BuildEnv:
    path = tmp_path / "roles.csv"
    path.write_text(
        "source_code,canonical_code,system,display\n"
        "DEM,demandeur,caf-role-personne,Demandeur\n"
        "CJT,conjoint,caf-role-personne,Conjoint\n"
        "X,a,caf-role-personne,A\n"
        "X,b,caf-role-personne,B\n",
        encoding="utf-8",
    )
    return BuildEnv({"roles": load_crosswalk("roles", path)})


def test_every_registered_transform_is_tested_here() -> None:
    tested = {
        "trim", "upper", "lower", "title", "split", "join", "concat", "first", "default", "regex_extract",
        "integer", "decimal", "boolean", "date", "datetime", "time", "nir15", "nir13", "crosswalk", "map",
        "coding", "identifier",
    }  # fmt: skip
    assert set(TRANSFORMS) == tested


def test_text_transforms() -> None:
    assert apply("trim", None, "  a b ") == "a b"
    assert apply("upper", None, "éa") == "ÉA"
    assert apply("lower", None, "AB") == "ab"
    assert apply("title", None, "jean-marie") == "Jean-Marie"
    assert apply("trim", None, ["  x", " ", "y "]) == ["x", "y"]  # item by item, empties dropped
    assert apply("trim", None, 42) == "42"
    assert apply("trim", None, "   ") == ""
    with pytest.raises(TransformError):
        apply("upper", None, {"a": 1})


def test_case_transforms_invert_to_identity() -> None:
    assert apply("upper", None, "Mixed", "inverse") == "Mixed"


def test_split_join_concat_first() -> None:
    assert apply("split", ";", "a; b;;c") == ["a", "b", "c"]
    assert apply("join", {"sep": "-"}, ["a", "b"]) == "a-b"
    assert apply("join", ",", "single") == "single"
    assert apply("concat", " ", ["CAF", None, "521"]) == "CAF 521"
    assert apply("first", None, [None, "", "x", "y"]) == "x"
    assert apply("split", ",", ["a", "b"], "inverse") == "a,b"
    assert apply("join", ",", "a,b", "inverse") == ["a", "b"]
    with pytest.raises(NotInvertible):
        build_step("concat", None, ENV, "inverse")


def test_default_applies_to_empty_values_only() -> None:
    assert apply("default", "x", None) == "x"
    assert apply("default", "x", "") == "x"
    assert apply("default", "x", "y") == "y"
    with pytest.raises(ParamError):
        build_step("default", {}, ENV, "forward")


def test_regex_extract() -> None:
    assert apply("regex_extract", r"^(\d{5})\b", "08300 RETHEL") == "08300"
    assert apply("regex_extract", {"pattern": r"\d+", "group": 0}, "abc 123") == "123"
    with pytest.raises(TransformError) as error:
        apply("regex_extract", r"^(\d{5})", "RETHEL")
    assert "RETHEL" not in str(error.value)
    with pytest.raises(ParamError):
        build_step("regex_extract", "(", ENV, "forward")
    with pytest.raises(ParamError):
        build_step("regex_extract", {"pattern": "(a)", "group": 2}, ENV, "forward")


def test_numbers() -> None:
    assert apply("integer", None, " 042 ") == 42
    assert apply("decimal", None, "0001675.00") == 1675.0
    assert apply("decimal", None, "12,5") == 12.5
    assert apply("integer", None, 7, "inverse") == "7"
    for bad in ("1.5", "x", True):
        with pytest.raises(TransformError):
            apply("integer", None, bad)
    with pytest.raises(TransformError):
        apply("decimal", None, "n/a")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("O", True),
        ("oui", True),
        ("true", True),
        ("0", False),
        ("N", False),
        ("non", False),
        (True, True),
    ],
)
def test_boolean_defaults(raw: Any, expected: bool) -> None:
    assert apply("boolean", None, raw) is expected


def test_boolean_custom_and_reverse() -> None:
    params = {"true": ["O"], "false": ["N"]}
    assert apply("boolean", params, "O") is True
    with pytest.raises(TransformError):
        apply("boolean", params, "1")
    assert apply("boolean", params, True, "reverse") == "O"
    assert apply("boolean", params, False, "inverse") == "N"
    assert apply("boolean", {"output": ["oui", "non"]}, False, "reverse") == "non"
    with pytest.raises(ParamError):
        build_step("boolean", {"output": ["x"]}, ENV, "forward")


@pytest.mark.parametrize(
    ("formats", "raw", "expected"),
    [
        ("DDMMYYYY", "01021982", "1982-02-01"),
        ("YYYYMMDD", "19820201", "1982-02-01"),
        ("DD/MM/YYYY", "01/02/1982", "1982-02-01"),
        ("YYYY-MM-DD", "1982-02-01", "1982-02-01"),
        ("D/M/YY", "1/2/82", "1982-02-01"),
        ("YYYY-MM-DD HH:mm:ss.S", "1982-02-01 00:00:00.0", "1982-02-01"),
        (["DD/MM/YYYY", "YYYY-MM-DD"], "1982-02-01", "1982-02-01"),
        ("ISO", "2022-12-08T23:00:00.000+00:00", "2022-12-09"),  # midnight in Paris
    ],
)
def test_date_parsing(formats: Any, raw: str, expected: str) -> None:
    assert apply("date", formats, raw) == expected


def test_date_failures_name_the_rule_not_the_value() -> None:
    with pytest.raises(TransformError) as error:
        apply("date", "DD/MM/YYYY", "31/02/1982")
    assert "31/02/1982" not in str(error.value)
    with pytest.raises(TransformError):
        apply("date", "DD/MM/YYYY", "1982-02-01")
    with pytest.raises(ParamError):
        build_step("date", "MM/YYYY", ENV, "forward")
    with pytest.raises(ParamError):
        build_step("date", {"formats": "DD/MM/YYYY", "timezone": "Nowhere/City"}, ENV, "forward")


def test_two_digit_years_pivot_on_this_year() -> None:
    this_year = dt.date.today().year % 100
    assert apply("date", "DD/MM/YY", f"01/01/{this_year:02d}").startswith("20")
    assert apply("date", "DD/MM/YY", f"01/01/{(this_year + 1) % 100:02d}").startswith("19")


def test_date_results_are_remembered_per_step_failures_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.mapping import dates, transforms

    calls: list[str] = []
    parse = dates.DateFormat.parse

    def counting(self: dates.DateFormat, value: str) -> dt.datetime:
        calls.append(value)
        return parse(self, value)

    monkeypatch.setattr(dates.DateFormat, "parse", counting)
    monkeypatch.setattr(transforms, "_MEMO_SIZE", 2)
    step = build_step("date", "DD/MM/YYYY", ENV, "forward")
    assert [run_steps([step], "01/02/1982") for _ in range(3)] == ["1982-02-01"] * 3
    assert calls == ["01/02/1982"]
    for _ in range(2):  # a failure raises every time, with the same message
        with pytest.raises(TransformError, match="matches none"):
            run_steps([step], "31/02/1982")
    assert calls.count("31/02/1982") == 2
    run_steps([step], "02/02/1982")
    run_steps([step], "03/02/1982")  # the memo was full: the least recently used went
    assert run_steps([step], "01/02/1982") == "1982-02-01"
    assert calls.count("01/02/1982") == 2
    two_digits = build_step("date", "DD/MM/YY", ENV, "forward")
    for _ in range(2):
        run_steps([two_digits], "01/02/82")
    assert calls.count("01/02/82") == 2  # the century depends on today: not remembered


def test_datetime_forward_and_reverse() -> None:
    assert apply("datetime", "YYYY-MM-DD HH:mm:ss.S", "2020-02-13 10:30:00.0") == "2020-02-13T10:30:00+01:00"
    assert apply("datetime", "ISO", "2021-05-17T14:47:11+00:00") == "2021-05-17T14:47:11+00:00"
    assert apply("datetime", "YYYY-MM-DD HH:mm:ss.S", "2020-02-13T09:30:00+00:00", "reverse") == (
        "2020-02-13 10:30:00.0"
    )


@pytest.mark.parametrize(
    ("formats", "raw", "expected"),
    [
        ("HH:mm:ss", "09:05:30", "09:05:30"),
        ("HH:mm", "23:59", "23:59:00"),
        ("HHmmss", "070000", "07:00:00"),
        (["HH:mm:ss", "HH:mm"], "18:45", "18:45:00"),
        ("YYYY-MM-DD HH:mm:ss", "2024-05-02 14:00:00", "14:00:00"),  # the time of a date-time
        ("ISO", "2024-05-02T07:00:00+00:00", "09:00:00"),  # offset → Europe/Paris (summer time)
        ("ISO", "10:15:00", "10:15:00"),
    ],
)
def test_time_forward(formats: Any, raw: str, expected: str) -> None:
    assert apply("time", formats, raw) == expected


def test_time_reverse_writes_the_local_time_of_a_datetime() -> None:
    assert apply("time", "HH:mm:ss", "2024-05-02T09:00:00+02:00", "reverse") == "09:00:00"
    assert apply("time", "HH:mm:ss", "2024-01-15T08:00:00+00:00", "reverse") == "09:00:00"  # winter: +01
    assert apply("time", "HHmm", "09:30:00", "inverse") == "0930"
    assert apply("datetime", "HH:mm:ss", "2024-05-02T07:00:00+00:00", "reverse") == "09:00:00"


def test_time_only_formats_are_refused_where_a_date_is_needed() -> None:
    with pytest.raises(TransformError) as error:
        apply("time", "HH:mm:ss", "25:00:00")
    assert "25:00" not in str(error.value)
    with pytest.raises(TransformError):
        apply("time", "HH:mm:ss", "9h30")
    for name in ("date", "datetime"):
        with pytest.raises(ParamError, match="no date part"):
            build_step(name, "HH:mm:ss", ENV, "forward")
    with pytest.raises(ParamError, match="no date part"):
        build_step("date", "HH:mm", ENV, "reverse")
    with pytest.raises(ParamError, match="time-only"):
        build_step("time", "YYYY-MM-DD HH:mm", ENV, "reverse")
    with pytest.raises(ParamError, match="needs a year"):
        build_step("time", "HH", ENV, "forward")  # hours alone are not a time


@given(st.times().map(lambda t: t.replace(microsecond=0)), st.sampled_from(["HH:mm:ss", "HHmmss", "ISO"]))
def test_time_round_trip(clock: dt.time, fmt: str) -> None:
    partner = (
        clock.isoformat()
        if fmt == "ISO"
        else compile_format(fmt).format(dt.datetime.combine(dt.date(1900, 1, 1), clock))
    )
    iso = apply("time", fmt, partner)
    assert iso == clock.isoformat()
    assert apply("time", fmt, iso, "inverse") == partner


DATE_FORMATS = ["DDMMYYYY", "YYYYMMDD", "DD/MM/YYYY", "YYYY-MM-DD", "D/M/YYYY", "YYYY-MM-DD HH:mm:ss.S"]


@given(
    day=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)),
    fmt=st.sampled_from(DATE_FORMATS),
)
def test_date_round_trip(day: dt.date, fmt: str) -> None:
    partner = compile_format(fmt).format(day)
    iso = apply("date", fmt, partner)
    assert iso == day.isoformat()
    assert apply("date", fmt, iso, "inverse") == partner


@given(moment=st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(2090, 1, 1)))
def test_datetime_round_trip(moment: dt.datetime) -> None:
    moment = moment.replace(microsecond=0)
    fmt = "YYYY-MM-DD HH:mm:ss"
    partner = compile_format(fmt).format(moment)
    iso = apply("datetime", fmt, partner)
    assert apply("datetime", fmt, iso, "reverse") == partner


DEPARTMENTS = st.one_of(st.integers(1, 95).map(lambda n: f"{n:02d}"), st.sampled_from(["2A", "2B"]))
NIR13 = st.builds(
    lambda sex, year, month, dep, rest: f"{sex}{year:02d}{month:02d}{dep}{rest:06d}",
    st.sampled_from("12"),
    st.integers(0, 99),
    st.integers(1, 12),
    DEPARTMENTS,
    st.integers(0, 999_999),
)


@given(NIR13)
def test_nir15_adds_the_key_and_nir13_removes_it(nir13: str) -> None:
    nir15 = apply("nir15", None, nir13)
    assert len(nir15) == 15 and nir15.startswith(nir13) and is_valid_nir(nir15)
    assert nir15[13:] == nir_key(nir13)
    assert apply("nir13", None, nir15) == nir13
    assert apply("nir15", None, nir15) == nir15  # 15 chars: checked, kept
    assert apply("nir15", None, nir15, "inverse") == nir13
    assert apply("nir13", None, nir13, "inverse") == nir15


def test_nir_corsica_and_errors() -> None:
    # 2A is read as 19 for the key, 2B as 18.
    assert apply("nir15", None, "185012A123456") == "185012A123456" + f"{97 - 1850119123456 % 97:02d}"
    assert apply("nir15", None, "185012B123456") == "185012B123456" + f"{97 - 1850118123456 % 97:02d}"
    assert apply("nir15", None, "185012a123456")[5:7] == "2A"
    for bad in ("12345", "285012B12345678", "X820251108030"):
        with pytest.raises(TransformError) as error:
            apply("nir15", None, bad)
        assert bad not in str(error.value)
    valid = apply("nir15", None, "2820251108030")
    wrong_key = valid[:13] + f"{(int(valid[13:]) % 97) + 1:02d}"
    with pytest.raises(TransformError):
        apply("nir13", None, wrong_key)


def test_crosswalk_forward_reverse_and_many_to_many(crosswalk_env: BuildEnv) -> None:
    assert apply("crosswalk", "roles", "DEM", env=crosswalk_env) == "demandeur"
    assert apply("crosswalk", "roles", "X", env=crosswalk_env) == ["a", "b"]
    coding = apply("crosswalk", {"name": "roles", "output": "coding"}, "CJT", env=crosswalk_env)
    assert coding == {
        "system": "urn:fr:reseau-emploi:cs:caf-role-personne",
        "code": "conjoint",
        "display": "Conjoint",
    }
    assert apply("crosswalk", "roles", "conjoint", "reverse", env=crosswalk_env) == "CJT"
    assert apply("crosswalk", "roles", {"code": "b"}, "inverse", env=crosswalk_env) == "X"
    with pytest.raises(TransformError) as error:
        apply("crosswalk", "roles", "ZZZ", env=crosswalk_env)
    assert "ZZZ" not in str(error.value)
    assert apply("crosswalk", {"name": "roles", "on_missing": "keep"}, "ZZZ", env=crosswalk_env) == "ZZZ"
    assert (
        apply("crosswalk", {"name": "roles", "on_missing": "default", "default": "?"}, "Z", env=crosswalk_env)
        == "?"
    )
    with pytest.raises(ParamError):
        build_step("crosswalk", "nope", crosswalk_env, "forward")
    with pytest.raises(ParamError):
        build_step("crosswalk", {"name": "roles", "on_missing": "default"}, crosswalk_env, "forward")


def test_map_transform() -> None:
    assert apply("map", {"1": "male", "2": "female"}, "2") == "female"
    assert apply("map", {"values": {"O": "rsa"}}, "rsa", "reverse") == "O"
    with pytest.raises(TransformError):
        apply("map", {"1": "male"}, "3")
    with pytest.raises(ParamError):
        build_step("map", {"values": {}}, ENV, "forward")


def test_coding_uses_the_code_systems() -> None:
    coding = apply("coding", "etatdosrsa", "2")
    assert coding == {
        "system": "urn:fr:reseau-emploi:cs:etatdosrsa",
        "code": "2",
        "display": "Droit ouvert et versable",
    }
    # Aliases of partner spellings resolve to the canonical code, and back with output: alias.
    assert apply("coding", "orientation-parcours", "PED")["code"] == "emploi"
    assert (
        apply("coding", {"system": "orientation-parcours", "output": "alias"}, {"code": "emploi"}, "reverse")
        == "PED"
    )
    assert apply("coding", {"system": "etatdosrsa", "display": False}, "5") == {
        "system": "urn:fr:reseau-emploi:cs:etatdosrsa",
        "code": "5",
    }
    with pytest.raises(TransformError):
        apply("coding", {"system": "etatdosrsa", "strict": True}, "9")
    assert apply("coding", "no-such-system", "x") == {
        "system": "urn:fr:reseau-emploi:cs:no-such-system",
        "code": "x",
    }
    with pytest.raises(ParamError):
        build_step("coding", {"system": "no-such-system", "strict": True}, ENV, "forward")


def test_identifier_transform() -> None:
    assert apply("identifier", "NIR", "282025110803094") == {
        "system": "urn:fr:insee:nir",
        "value": "282025110803094",
    }
    assert apply("identifier", "urn:x:y", 12) == {"system": "urn:x:y", "value": "12"}
    assert apply("identifier", "NIR", {"system": "urn:fr:insee:nir", "value": "v"}, "inverse") == "v"
    assert apply("identifier", "NIR", {"system": "urn:other", "value": "v"}, "reverse") is None
    with pytest.raises(ParamError):
        build_step("identifier", "nir", ENV, "forward")
    with pytest.raises(ParamError):
        build_step("identifier", "NOT_A_SYSTEM", ENV, "forward")


def test_unknown_transform_and_parameters() -> None:
    with pytest.raises(ParamError, match="unknown transform"):
        build_step("dat", None, ENV, "forward")
    with pytest.raises(ParamError, match="unknown parameter"):
        build_step("date", {"format": "DDMMYYYY"}, ENV, "forward")
    with pytest.raises(ParamError, match="takes no parameter"):
        build_step("trim", "x", ENV, "forward")


def test_chain_stops_on_empty_and_flattens_lists() -> None:
    steps = [build_step("trim", None, ENV, "forward"), build_step("upper", None, ENV, "forward")]
    assert run_steps(steps, "   ") is None
    assert run_steps(steps, None) is None
    split = [build_step("split", ",", ENV, "forward"), build_step("split", "-", ENV, "forward")]
    assert run_steps(split, "a-b,c") == ["a", "b", "c"]
