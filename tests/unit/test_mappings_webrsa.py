"""webrsa ALI XML (mappings/webrsa-ali-*): WebRSA-ALI → canonical, ALI-WebRSA both ways, XSD-valid output."""

from __future__ import annotations

import datetime as dt
import io
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.codecs import SourceRecord
from gateway.mapping import CompiledMapping, load_mapping
from gateway.mapping.translate import make_codec

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "mappings_departements" / "webrsa"


@cache
def mapping(name: str) -> CompiledMapping:
    return load_mapping(ROOT / "mappings" / name / "mapping.yaml")


@pytest.fixture(scope="module")
def xsd_dir(domain_data: Path) -> Path:
    return domain_data / "webrsa" / "xml-ali"


def read_bundles(name: str, path: Path, xsd: Path | None) -> list[dict[str, Any]]:
    m = mapping(name)
    variable = "WEBRSA_ALI_XSD" if name == "webrsa-ali-vers-ali" else "ALI_WEBRSA_XSD"
    options = {"xsd": None} if xsd is None else None
    reader = make_codec(m).reader(m.codec_options(options, {variable: str(xsd)} if xsd else None))
    with path.open("rb") as stream:
        return [m.map_and_validate(item) for item in reader.read(stream, source_name=path.name)]  # type: ignore[arg-type]


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_synthetic_fixtures_are_valid_against_the_xsds(xsd_dir: Path) -> None:
    for fixture, xsd in (
        ("webrsa-ali-synthetique.xml", "WebRSA-ALI.xsd"),
        ("ali-webrsa-synthetique.xml", "ALI-WebRSA.xsd"),
    ):
        schema = etree.XMLSchema(etree.parse(str(xsd_dir / xsd)))
        assert schema.validate(etree.parse(str(FIXTURES / fixture))), schema.error_log


def test_webrsa_to_ali_dossiers(xsd_dir: Path) -> None:
    path = FIXTURES / "webrsa-ali-synthetique.xml"
    bundles = read_bundles("webrsa-ali-vers-ali", path, xsd_dir / "WebRSA-ALI.xsd")
    tree = etree.parse(str(path))
    dossiers = tree.findall(".//dossier")
    assert len(bundles) == len(dossiers)
    for dossier, bundle in zip(dossiers, bundles, strict=True):
        (person,) = resources(bundle, "Person")
        assert {"system": "urn:fr:webrsa:personne", "value": dossier.findtext("id_personne")} in person[
            "identifier"
        ]
        orientations = resources(bundle, "Orientation")
        assert sorted(o["decisionDate"] for o in orientations) == sorted(
            e.text for e in dossier.findall("orientations/orientation/date_orient")
        )
        assert all(o["person"]["reference"] == f"Person/{person['id']}" for o in orientations)
        nir = dossier.findtext("allocataire/nir")
        if nir:
            assert any(
                i["system"] == "urn:fr:insee:nir" and i["value"][:13] == nir for i in person["identifier"]
            )
            assert person["meta"]["security"][0]["code"] == "nir"
        (right,) = resources(bundle, "BenefitRight")
        assert right["status"]["code"] == "2"  # referential id 3 → ETATDOSRSA 2 (crosswalks/etatdos.csv)
    first = bundles[0]
    (accompaniment,) = resources(first, "Accompaniment")
    assert accompaniment["referent"]["identifier"] == {"system": "urn:fr:webrsa:referent", "value": "55"}
    assert resources(first, "Household")[0]["childrenCount"] == 2


def ali_document(dossiers: bytes) -> etree._Element:
    """The writer gives <dossiers>…</dossiers>; the sending step adds the ALI-WebRSA root and entete."""
    root = etree.Element("ALI-WebRSA")
    entete = etree.SubElement(root, "entete")
    for name, value in (
        ("date_generation", "2025-03-15 18:00:00"),
        ("id_structure_ali", "42"),
        ("fichier_stock", "false"),
    ):
        etree.SubElement(entete, name).text = value
    root.append(etree.fromstring(dossiers))
    return root


def test_ali_to_webrsa_round_trip_writes_xsd_valid_xml(xsd_dir: Path) -> None:
    path = FIXTURES / "ali-webrsa-synthetique.xml"
    m = mapping("webrsa-ali-retour-ali")
    bundles = read_bundles("webrsa-ali-retour-ali", path, xsd_dir / "ALI-WebRSA.xsd")
    records = [record for bundle in bundles for record in m.from_canonical(bundle)]
    buffer = io.BytesIO()
    assert make_codec(m).writer(m.codec_options(writer=True)).write(records, buffer) == len(bundles)
    document = ali_document(buffer.getvalue())
    schema = etree.XMLSchema(etree.parse(str(xsd_dir / "ALI-WebRSA.xsd")))
    assert schema.validate(document), schema.error_log
    original = etree.parse(str(path)).getroot()
    written = [etree.tostring(d, method="c14n") for d in document.iter("dossier")]
    assert written == [etree.tostring(_strip(d), method="c14n") for d in original.iter("dossier")]


def _strip(element: etree._Element) -> etree._Element:
    """A copy without whitespace-only text (the fixture is indented, the writer is not)."""
    copy = etree.fromstring(etree.tostring(element))
    for node in copy.iter():
        if node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    return copy


_id = st.integers(1, 99999).map(str)
PARIS = ZoneInfo("Europe/Paris")


def _exists_in_paris(moment: dt.datetime) -> bool:
    """False for the local times skipped when clocks go forward (02:30 on the last Sunday of March)."""
    local = moment.replace(tzinfo=PARIS)
    return local.astimezone(dt.UTC).astimezone(PARIS).replace(tzinfo=None) == moment


@st.composite
def ali_dossiers(draw: st.DrawFn) -> dict[str, Any]:
    dossier: dict[str, Any] = {"id_personne": draw(_id)}
    if draw(st.booleans()):
        dossier["liste_referents_parcours"] = {
            "referent_parcours": {
                "id_webrsa": draw(_id),
                "id_ali": draw(_id),
                "date_designation": draw(st.dates(dt.date(2015, 1, 1), dt.date(2035, 1, 1))).isoformat(),
            }
        }
    rdvs = []
    for id_ali in draw(st.lists(_id, max_size=3, unique=True)):
        start = draw(
            st.datetimes(dt.datetime(2015, 1, 1), dt.datetime(2035, 1, 1))
            .map(lambda moment: moment.replace(microsecond=0))
            .filter(_exists_in_paris)
        )
        rdv: dict[str, Any] = {
            "id_ali": id_ali,
            "id_structurereferente": draw(_id),
            "id_objet_rdv": draw(_id),
            "thematiques": {"id_thematique_rdv": draw(st.lists(_id, min_size=1, max_size=3))},
            "id_statut_rdv": draw(st.sampled_from(["1", "2", "3", "4", "5"])),
            "date_rdv": start.date().isoformat(),
            "heure_rdv": start.time().isoformat(),
        }
        for key in ("id_webrsa", "id_referent"):
            if draw(st.booleans()):
                rdv[key] = draw(_id)
        if draw(st.booleans()):
            rdv["objectif_rdv"] = draw(
                st.text("abcdef ghij", min_size=1, max_size=20).map(str.strip).filter(bool)
            )
        rdvs.append(rdv)
    if rdvs:
        dossier["liste_rendez_vous"] = {"rendez_vous": rdvs}
    return dossier


@settings(max_examples=60, deadline=None)
@given(ali_dossiers())
def test_ali_webrsa_round_trip_property(dossier: dict[str, Any]) -> None:
    m = mapping("webrsa-ali-retour-ali")
    bundle = m.map_and_validate(SourceRecord(number=1, data=dossier))
    assert m.from_canonical(bundle) == [dossier]


def test_rendez_vous_written_in_paris_local_time() -> None:
    """A start given in another offset is written as the Europe/Paris date and time (winter and summer)."""
    m = mapping("webrsa-ali-retour-ali")
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": {"resourceType": "Person", "id": "p", "identifier": [
                {"system": "urn:fr:webrsa:personne", "value": "42"}]}},
            {"resource": {"resourceType": "Appointment", "id": "a1", "start": "2024-05-02T22:30:00+00:00",
                          "identifier": [{"system": "urn:fr:webrsa:ali:rendez-vous", "value": "1"}]}},
            {"resource": {"resourceType": "Appointment", "id": "a2", "start": "2024-01-15T08:00:00Z",
                          "identifier": [{"system": "urn:fr:webrsa:ali:rendez-vous", "value": "2"}]}},
        ],
    }  # fmt: skip
    (dossier,) = m.from_canonical(bundle)
    rdvs = dossier["liste_rendez_vous"]["rendez_vous"]
    assert [(r["date_rdv"], r["heure_rdv"]) for r in rdvs] == [
        ("2024-05-03", "00:30:00"),
        ("2024-01-15", "09:00:00"),
    ]
