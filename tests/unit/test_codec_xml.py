"""XML codec: record conversion, context, XSD validation, hardening, writer."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from adapters.xml_files.codec import XmlCodec
from adapters.xml_files.hardening import safe_message
from gateway.codecs import SourceRecord
from gateway.errors import ConfigurationError, UnreadableFileError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "codecs"
CAF = {"record_element": "InfosFoyerRSA", "context_elements": ["IdentificationFlux"]}


def read(data: bytes, **options: object) -> list[SourceRecord]:
    items = list(XmlCodec().reader(options).read(io.BytesIO(data), source_name="in.xml"))
    assert all(isinstance(item, SourceRecord) for item in items)
    return items  # type: ignore[return-value]


def test_records_context_and_repeated_children() -> None:
    first, second = read((FIXTURES / "caf-flux-minimal.xml").read_bytes(), **CAF)
    assert first.context == {"IdentificationFlux": {"TYPEFLUX": "M", "DTREF": "2024-01-31"}}
    assert first.data["IdentificationRSA"] == {"Organisme": {"MATRICULE": "0000001"}}
    assert first.data["Personne"] == {"Identification": {"NOM": "A"}}
    assert [p["Identification"]["NOM"] for p in second.data["Personne"]] == ["B", "C"]
    assert (first.line, second.line) == (4, 8)


def test_force_list_attributes_mixed_text_and_namespaces() -> None:
    doc = b"""<r xmlns="urn:a" xmlns:b="urn:b"><rec id="7"><b:p>x</b:p><n t="1">v</n>hello<e/></rec></r>"""
    (record,) = read(doc, record_element="rec", force_list=["p"])
    assert record.data == {
        "@id": "7",
        "p": ["x"],
        "n": {"@t": "1", "#text": "v"},
        "#text": "hello",
        "e": None,
    }
    assert read(doc, record_element="rec", namespace="urn:other") == []


def test_caf_files_valid_against_the_cnaf_xsd(domain_data: Path) -> None:
    folder = domain_data / "carnet-de-bord" / "caf-msa"
    reader = XmlCodec().reader({**CAF, "xsd": str(folder / "vrsb0801.xsd")})
    with (folder / "RSABEM.xml").open("rb") as stream:
        records = list(reader.read(stream, source_name="RSABEM.xml"))
    assert len(records) == 2
    assert isinstance(records[0], SourceRecord)
    assert records[0].context["IdentificationFlux"]["TYPEFLUX"] == "M"
    with (folder / "RSABEM-ouvert.xml").open("rb") as stream:
        assert len(list(reader.read(stream))) == 1


def test_invalid_caf_file_is_refused_with_xsd_reason_and_line(domain_data: Path) -> None:
    folder = domain_data / "carnet-de-bord" / "caf-msa"
    reader = XmlCodec().reader({**CAF, "xsd": str(folder / "vrsb0801.xsd")})
    with (folder / "RSABEI_invalid.xml").open("rb") as stream, pytest.raises(UnreadableFileError) as caught:
        list(reader.read(stream, source_name="RSABEI_invalid.xml"))
    assert caught.value.line == 12
    assert "Personne" in str(caught.value) and "vrsb0801.xsd" in str(caught.value)


def test_xsd_errors_do_not_echo_values(tmp_path: Path) -> None:
    xsd = tmp_path / "s.xsd"
    xsd.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="r"><xs:complexType>'
        '<xs:sequence><xs:element name="nir" maxOccurs="unbounded"><xs:simpleType>'
        '<xs:restriction base="xs:string">'
        '<xs:pattern value="[0-9]{13}"/></xs:restriction></xs:simpleType></xs:element></xs:sequence>'
        "</xs:complexType></xs:element></xs:schema>"
    )
    doc = b"<r>\n<nir>1234567890123</nir>\n<nir>SECRET42</nir>\n</r>"
    with pytest.raises(UnreadableFileError) as caught:
        read(doc, record_element="nir", xsd=str(xsd))
    assert caught.value.line == 3 and "SECRET42" not in str(caught.value) and "nir" in str(caught.value)


def test_webrsa_xsds_compile_and_refuse_an_empty_document(domain_data: Path) -> None:
    folder = domain_data / "webrsa" / "xml-ali"
    for name in ("ALI-WebRSA.xsd", "WebRSA-ALI.xsd"):
        reader = XmlCodec().reader({"record_element": "dossier", "xsd": str(folder / name)})
        root = name.removesuffix(".xsd")
        with pytest.raises(UnreadableFileError, match="Missing child element"):
            list(reader.read(io.BytesIO(f"<{root}>\n</{root}>".encode()), source_name="x.xml"))


@pytest.mark.parametrize(
    "doc",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<r><rec>&b;</rec></r>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r><rec>&x;</rec></r>',
        b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://example.invalid/r.dtd"><r><rec>x</rec></r>',
    ],
)
def test_entity_declarations_and_external_dtds_are_refused(doc: bytes) -> None:
    with pytest.raises(UnreadableFileError, match="refused"):
        read(doc, record_element="rec")


def test_truncated_file_names_the_line() -> None:
    with pytest.raises(UnreadableFileError) as caught:
        read(b"<r>\n<rec>1</rec>\n<rec>2", record_element="rec")
    assert caught.value.line == 3


def test_wrong_declared_encoding_is_unreadable() -> None:
    doc = '<?xml version="1.0" encoding="UTF-8"?><r><rec>Zoé</rec></r>'.encode("latin-1")
    with pytest.raises(UnreadableFileError, match="encoding") as caught:
        read(doc, record_element="rec")
    assert "0xE9" not in str(caught.value)


def test_max_bytes_is_enforced() -> None:
    with pytest.raises(UnreadableFileError, match="max_bytes"):
        read(b"<r>" + b"<rec>x</rec>" * 1000 + b"</r>", record_element="rec", max_bytes=500)


def test_safe_message_keeps_names_and_masks_values() -> None:
    message = (
        "Element 'NIR': [facet 'pattern'] The value '185057' is not accepted by the pattern '[0-9]{13}'."
    )
    assert safe_message(message) == (
        "Element 'NIR': [facet 'pattern'] The value '…' is not accepted by the pattern '[0-9]{13}'."
    )
    assert "185" not in safe_message("'185' is not a valid value of the atomic type 'xs:date'.")


def test_missing_options_and_xsd_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="record_element"):
        XmlCodec().reader({})
    with pytest.raises(ConfigurationError, match="xsd"):
        XmlCodec().reader({"record_element": "r", "xsd": "/nonexistent.xsd"})


def test_writer_declares_encoding_and_namespace() -> None:
    out = io.BytesIO()
    writer = XmlCodec().writer(
        {
            "root_element": "Racine",
            "record_element": "Foyer",
            "namespace": "urn:x",
            "encoding": "windows-1252",
        }
    )
    assert writer.write([{"@id": "1", "NOM": "Zoé", "Enfant": [{"PRENOM": "A"}, {"PRENOM": "B"}]}], out) == 1
    text = out.getvalue()
    assert (
        text.startswith(b"<?xml version='1.0' encoding='windows-1252'?>") and "Zoé".encode("cp1252") in text
    )
    (record,) = read(text, record_element="Foyer", namespace="urn:x")
    assert record.data == {"@id": "1", "NOM": "Zoé", "Enfant": [{"PRENOM": "A"}, {"PRENOM": "B"}]}


def test_empty_xsd_option_switches_validation_off() -> None:
    from adapters.xml_files.codec import XmlCodec

    reader = XmlCodec().reader({"record_element": "R", "xsd": ""})
    records = list(reader.read(io.BytesIO(b"<root><R><A>1</A></R></root>"), source_name="x.xml"))
    assert [r.data for r in records] == [{"A": "1"}]  # type: ignore[union-attr]


def test_records_in_containers_between_headers_and_nested_names() -> None:
    """lxml shows Python only the record and context elements: what surrounds them must not matter."""
    doc = (
        b"<flux><entete><n>1</n></entete>"
        b"<lot><rec>a</rec><autre><rec>b</rec></autre></lot>"
        b"<lot><ctx>c1</ctx><rec><rec>inner</rec><v>c</v></rec></lot><fin/></flux>"
    )
    records = read(doc, record_element="rec", context_elements=["ctx"])
    assert [r.data for r in records] == [
        {"#text": "a"},
        {"#text": "b"},
        {"rec": "inner", "v": "c"},  # a record element inside a record belongs to it
    ]
    assert records[0].context == {} and records[2].context == {"ctx": {"#text": "c1"}}


@pytest.mark.parametrize("record_element", ["rec", "absent"])
def test_entity_declarations_are_refused_even_without_any_record(record_element: str) -> None:
    doc = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r><x>&a;</x></r>'
    with pytest.raises(UnreadableFileError, match="refused"):
        read(doc, record_element=record_element)


def test_elements_other_than_records_do_not_pile_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A large file whose records are named otherwise: the tree is trimmed between pieces."""
    from adapters.xml_files import reader

    sizes: list[int] = []
    original = reader._trim

    def measured(root: object) -> None:
        original(root)  # type: ignore[arg-type]
        sizes.append(sum(1 for _ in root.iter()))  # type: ignore[attr-defined]

    monkeypatch.setattr(reader, "_trim", measured)
    body = b"".join(b"<lot><item><v>%d</v></item></lot>" % i for i in range(20_000))
    assert read(b"<flux>" + body + b"</flux>", record_element="absent") == []
    assert len(sizes) > 20 and max(sizes) < 2_000  # 60,000 elements read, a few hundred kept at most
