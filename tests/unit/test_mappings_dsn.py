"""DSN mapping on the real fictional DSN (drolow) and on generated DSN: values checked against the lines."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

from adapters.synthetic import generate
from gateway.codecs import SourceRecord
from gateway.mapping import load_mapping, translate_file, translate_stream
from gateway.model.nir import complete_nir
from gateway.model.validation import get_validator

SPEC = Path(__file__).resolve().parents[2] / "mappings/dsn-embauches-fins-contrat/mapping.yaml"
SAMPLE = "dsn/exemple-fictif-drolow.dsn"


def _individus(text: str) -> list[dict[str, str]]:
    """Independent reading: one dict per individu, rubric code -> value (first contract only)."""
    out: list[dict[str, str]] = []
    entreprise = etablissement = ""
    for line in text.splitlines():
        code, _, value = line.partition(",")
        value = value.strip("'")
        if code == "S21.G00.06.001":
            entreprise = value
        elif code == "S21.G00.11.001":
            etablissement = value
        elif code == "S21.G00.30.001":
            out.append({"siret": entreprise + etablissement})
        if out and code.startswith(("S21.G00.30", "S21.G00.40", "S21.G00.62")):
            out[-1].setdefault(code, value)
    return out


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _day(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%d%m%Y").date()


def _plus_months(day: dt.date, months: int) -> dt.date:
    """``day`` + ``months`` calendar months, the day clamped to the target month's length."""
    year, month = divmod(day.month - 1 + months, 12)
    target = dt.date(day.year + year, month + 1, 1)
    following = dt.date(target.year + (target.month == 12), target.month % 12 + 1, 1)
    return target.replace(day=min(day.day, (following - target).days))


def _expected_outcome(individu: dict[str, str]) -> str | None:
    """The documented rule (README "Outcome rule"), computed here with datetime."""
    if individu.get("S21.G00.40.008") == "71":
        return "iae"
    nature = individu["S21.G00.40.007"]
    if nature in {"01", "07", "08", "09", "82", "91"}:
        return "emploi-durable"
    if nature in {"02", "03", "10", "92"}:
        end = individu.get("S21.G00.62.001") or individu.get("S21.G00.40.010")
        start = _day(individu["S21.G00.40.001"])
        # the end day is worked: a contract from 01/01 to 30/06 lasts 6 months
        lasting = end is not None and _day(end) + dt.timedelta(days=1) >= _plus_months(start, 6)
        return "emploi-durable" if lasting else "emploi-transition"
    return None


def _check(bundle: dict[str, Any], individu: dict[str, str]) -> None:
    assert get_validator().validate(bundle) == []
    (person,) = _resources(bundle, "Person")
    assert person["identifier"][0]["value"] == complete_nir(individu["S21.G00.30.001"])
    assert person["name"]["family"] == individu.get("S21.G00.30.003", individu["S21.G00.30.002"])
    assert person["name"]["given"] == [individu["S21.G00.30.004"]]
    assert person["gender"] == {"01": "male", "02": "female"}[individu["S21.G00.30.005"]]
    assert (
        person["birthDate"] == dt.datetime.strptime(individu["S21.G00.30.006"], "%d%m%Y").date().isoformat()
    )
    (employer,) = _resources(bundle, "Organization")
    assert employer["identifier"][0] == {"system": "urn:fr:insee:siret", "value": individu["siret"]}
    (contract,) = _resources(bundle, "EmploymentContract")
    assert contract["employer"]["reference"] == f"Organization/{employer['id']}"
    assert contract["nature"]["code"] == individu["S21.G00.40.007"]
    assert (
        contract["startDate"] == dt.datetime.strptime(individu["S21.G00.40.001"], "%d%m%Y").date().isoformat()
    )
    end = individu.get("S21.G00.62.001") or individu.get("S21.G00.40.010")
    assert contract.get("endDate") == (
        dt.datetime.strptime(end, "%d%m%Y").date().isoformat() if end else None
    )
    assert contract.get("endReason", {}).get("code") == individu.get("S21.G00.62.002")
    assert contract.get("dispositif", {}).get("code") == individu.get("S21.G00.40.008")
    outcomes = _resources(bundle, "Outcome")
    expected = _expected_outcome(individu)
    assert [o["type"]["code"] for o in outcomes] == ([expected] if expected else [])


def test_drolow_sample_five_individus(domain_data: Path) -> None:
    mapping = load_mapping(SPEC)
    individus = _individus((domain_data / SAMPLE).read_text(encoding="latin-1"))
    # The sample breaks the norm's formats (contract numbers of 4 chars): accept them, as the codec allows.
    bundles = list(translate_file(domain_data / SAMPLE, mapping, options={"on_format_error": "accept"}))
    assert len(bundles) == len(individus) == 5
    for bundle, individu in zip(bundles, individus, strict=True):
        assert isinstance(bundle, dict), bundle
        _check(bundle, individu)


@pytest.mark.parametrize("replace", [False, True])
def test_generated_dsn_values_and_annule_et_remplace(replace: bool) -> None:
    stream = io.BytesIO()
    generate("dsn", 150, stream, seed=11, annule_et_remplace=replace)
    individus = _individus(stream.getvalue().decode("ascii"))
    stream.seek(0)
    bundles = list(translate_stream(stream, load_mapping(SPEC)))
    assert len(bundles) == len(individus) == 150
    for bundle, individu in zip(bundles, individus, strict=True):
        assert isinstance(bundle, dict), bundle
        _check(bundle, individu)
        (contract,) = _resources(bundle, "EmploymentContract")
        urls = [ext["url"] for ext in contract.get("extension", [])]
        assert urls == (["urn:fr:dsn:declaration-annulee-remplacee"] if replace else [])


def test_generated_cdd_and_interim_cover_both_sides_of_six_months() -> None:
    stream = io.BytesIO()
    generate("dsn", 300, stream, seed=3)
    individus = _individus(stream.getvalue().decode("ascii"))
    stream.seek(0)
    codes: dict[str, set[str]] = {}
    for bundle, individu in zip(translate_stream(stream, load_mapping(SPEC)), individus, strict=True):
        assert isinstance(bundle, dict), bundle
        _check(bundle, individu)
        for outcome in _resources(bundle, "Outcome"):
            codes.setdefault(individu["S21.G00.40.007"], set()).add(outcome["type"]["code"])
    assert codes["02"] >= {"emploi-durable", "emploi-transition", "iae"}
    assert codes["03"] >= {"emploi-durable", "emploi-transition"}
    assert codes["01"] == {"emploi-durable"}


ETABLISSEMENT = {"001": "00011", "003": "2 PLACE DE LA GARE", "004": "08300", "005": "RETHEL"}
CONTEXT: dict[str, Any] = {
    "entreprise": {"001": "707173555"},
    "etablissement": ETABLISSEMENT,
    "replaces": None,
    "cancels": None,
}
INDIVIDU = {"001": "1611299350195", "002": "MARTIN", "004": "JEAN", "005": "01", "006": "05121961"}


def _contract(nature: str, start: str, planned_end: str | None = None, **more: Any) -> dict[str, Any]:
    contract: dict[str, Any] = {"001": start, "004": "684A", "007": nature, "008": "99", "009": "C0001"}
    if planned_end is not None:
        contract["010"] = planned_end
    contract.update(more)
    return contract


def _outcome_of(contract: dict[str, Any], **context: Any) -> str | None:
    record = SourceRecord(
        1, {"S21.G00.30": INDIVIDU, "S21.G00.40": [contract]}, context={**CONTEXT, **context}
    )
    bundle = load_mapping(SPEC).to_canonical(record)
    assert get_validator().validate(bundle) == []
    outcomes = _resources(bundle, "Outcome")
    return outcomes[0]["type"]["code"] if outcomes else None


@pytest.mark.parametrize(
    ("contract", "expected"),
    [
        (_contract("02", "01012025", "30062025"), "emploi-durable"),  # 6 months, last day included
        (_contract("02", "01012025", "29062025"), "emploi-transition"),  # one day short
        (_contract("03", "31082025", "27022026"), "emploi-durable"),  # 31/08 + 6 months = 28/02 (clamped)
        (_contract("03", "31082025", "26022026"), "emploi-transition"),
        (_contract("10", "15032025", "14092025"), "emploi-durable"),
        (_contract("92", "15032025", "13092025"), "emploi-transition"),
        (_contract("02", "01012025"), "emploi-transition"),  # terme imprécis: no known end
        # the actual end (S21.G00.62) wins over the planned one
        (
            _contract("02", "01012025", "31122025", **{"S21.G00.62": [{"001": "28022025"}]}),
            "emploi-transition",
        ),
        (_contract("03", "01012025", "31012025", **{"S21.G00.62": [{"001": "31072025"}]}), "emploi-durable"),
        (_contract("02", "01012025", "31012025", **{"008": "71"}), "iae"),  # CDDI, whatever its length
        (_contract("01", "01012025"), "emploi-durable"),
        (_contract("91", "01012025"), "emploi-durable"),  # CDI maritime
        (_contract("29", "01012025", "30062025"), None),  # stage: no Outcome
    ],
)
def test_outcome_rule_on_synthetic_contracts(contract: dict[str, Any], expected: str | None) -> None:
    assert _outcome_of(contract) == expected


def test_contract_ids_include_the_employer_and_the_individu() -> None:
    mapping = load_mapping(SPEC)
    contract = _contract("02", "01012025", "30062025")

    def ids(individu: dict[str, str], **context: Any) -> tuple[str, str]:
        record = SourceRecord(
            1, {"S21.G00.30": individu, "S21.G00.40": [contract]}, context={**CONTEXT, **context}
        )
        bundle = mapping.to_canonical(record)
        (found,) = _resources(bundle, "EmploymentContract")
        (outcome,) = _resources(bundle, "Outcome")
        assert outcome["employmentContract"] == {"reference": f"EmploymentContract/{found['id']}"}
        return found["id"], outcome["id"]

    base = ids(INDIVIDU)
    assert ids(INDIVIDU) == base  # deterministic
    other_etablissement = ids(INDIVIDU, etablissement={**ETABLISSEMENT, "001": "00022"})
    other_entreprise = ids(INDIVIDU, entreprise={"001": "552100554"})
    other_individu = ids({**INDIVIDU, "001": "2820251108030"})
    assert len({base, other_etablissement, other_entreprise, other_individu}) == 4
    assert (
        len({i for pair in (base, other_etablissement, other_entreprise, other_individu) for i in pair}) == 8
    )
