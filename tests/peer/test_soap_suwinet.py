"""SOAP client against the fake Suwinet service serving the real WSDL/XSD set and stored responses."""

from __future__ import annotations

import datetime
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from gateway.errors import ConfigurationError, FatalError, RetriableError
from gateway.mapping import load_mapping
from gateway.model.validation import get_validator
from gateway.transports.base import Delivery
from gateway.transports.soap import SoapClient, SoapOut, X509Signing, XsdViolation, response_bundles
from gateway.transports.soap.addressing import message_id_for
from tests.peers.suwinet_wsgi import SuwinetPeer

SERVICE = "Bijstandsregelingen-v0500"
PORT = "BrokerIntegratietest"
OPERATION = "BijstandsregelingenInfo"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
VALID_BSN = "999999990"  # the only stored response valid against BodyReaction.xsd (an FWI answer)
FACET_BREAKING = [
    "022264541",
    "111111110",
    "689735273",
    "999990238",
    "999991322",
    "999991954",
    "999993549",
    "999998493",
]


@pytest.fixture(scope="module")
def peer(domain_data: Path) -> Iterator[SuwinetPeer]:
    server = SuwinetPeer(domain_data / "soap-suwinet-bijstandsregelingen").start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _reset(peer: SuwinetPeer) -> None:
    peer.mode = "ok"
    peer.serve_files = True
    peer.signature_cert = None


def client(peer: SuwinetPeer, **options: object) -> SoapClient:
    return SoapClient(peer.wsdl_url, service=SERVICE, port=PORT, timeout=5, **options)  # type: ignore[arg-type]


def test_zeep_call_is_mapped_to_canonical_person_and_benefit_rights(
    peer: SuwinetPeer, project_root: Path
) -> None:
    document = client(peer).call(OPERATION, {"Burgerservicenr": "111111110"})
    mapping = load_mapping(project_root / "mappings" / "suwinet-bijstandsregelingen" / "mapping.yaml")

    [bundle] = response_bundles(document, mapping)

    assert get_validator().validate(bundle) == []
    resources = [entry["resource"] for entry in bundle["entry"]]
    [person] = [r for r in resources if r["resourceType"] == "Person"]
    rights = [r for r in resources if r["resourceType"] == "BenefitRight"]
    assert person["identifier"] == [{"system": "urn:nl:bsn", "value": "111111110"}]
    assert person["birthDate"] == "1985-03-15"
    assert {r["benefit"]["code"] for r in rights} == {"PW", "WWB"}
    assert all(r["subject"] == {"reference": f"Person/{person['id']}"} for r in rights)
    request = etree.fromstring(peer.requests[-1])
    assert request.findtext(".//Burgerservicenr") == "111111110"


@pytest.mark.parametrize("bsn", FACET_BREAKING)
def test_facet_breaking_response_is_refused_with_the_xsd_reason(peer: SuwinetPeer, bsn: str) -> None:
    validating = client(peer, validate_response_xsd=True, response_xsd=peer.response_xsd)
    stored = etree.parse(str(peer.response_file(bsn)))

    with pytest.raises(XsdViolation) as caught:
        validating.call(OPERATION, {"Burgerservicenr": bsn})

    message = str(caught.value)
    assert isinstance(caught.value, FatalError)
    assert "BodyReaction.xsd" in message and "ClientSuwi/Voorletters: facet 'pattern'" in message
    assert bsn not in message
    assert f"'{stored.findtext('.//Voorletters')}'" not in message


@pytest.mark.parametrize("bsn", FACET_BREAKING[:2])
def test_facet_breaking_response_is_accepted_when_validation_is_off(peer: SuwinetPeer, bsn: str) -> None:
    document = client(peer).call(OPERATION, {"Burgerservicenr": bsn})
    assert etree.fromstring(document.body).findtext("ClientSuwi/Burgerservicenr") == bsn


def test_valid_response_passes_validation(peer: SuwinetPeer) -> None:
    validating = client(peer, validate_response_xsd=True, response_xsd=peer.response_xsd)
    document = validating.call(OPERATION, {"Burgerservicenr": VALID_BSN})
    assert etree.QName(document.element()).localname == "BijstandsregelingenInfoResponse"
    assert document.element().findtext(".//Code") == "FWI0001"


def test_transient_server_fault_is_retriable(peer: SuwinetPeer) -> None:
    peer.mode = "fault-server"
    with pytest.raises(RetriableError, match="FWI0001"):
        client(peer, transient_fault_codes=frozenset({"FWI0001"})).call(
            OPERATION, {"Burgerservicenr": "111111110"}
        )


def test_server_fault_without_a_transient_code_is_fatal(peer: SuwinetPeer) -> None:
    peer.mode = "fault-server"
    with pytest.raises(FatalError, match=r"server; codes: Server, FWI0001"):
        client(peer).call(OPERATION, {"Burgerservicenr": "111111110"})


def test_client_fault_is_fatal_and_names_codes_not_text(peer: SuwinetPeer) -> None:
    peer.mode = "fault-client"
    with pytest.raises(FatalError) as caught:
        client(peer, transient_fault_codes=frozenset({"FWI0002"})).call(
            OPERATION, {"Burgerservicenr": "111111110"}
        )
    assert "client; codes: Client, FWI0002" in str(caught.value)
    assert "fout opgetreden" not in str(caught.value)


def test_http_503_is_retriable(peer: SuwinetPeer) -> None:
    peer.mode = "unavailable"
    with pytest.raises(RetriableError, match="HTTP 503"):
        client(peer).call(OPERATION, {"Burgerservicenr": "111111110"})


def test_connection_refused_is_retriable(peer: SuwinetPeer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    soap = client(peer, address=f"http://127.0.0.1:{closed_port}/soap")
    with pytest.raises(RetriableError, match="unreachable"):
        soap.call(OPERATION, {"Burgerservicenr": "111111110"})


def test_request_not_matching_the_wsdl_is_fatal(peer: SuwinetPeer) -> None:
    with pytest.raises(FatalError, match="does not match the WSDL"):
        client(peer).call(OPERATION, {"Onbekend": "x"})


def test_soap_out_sets_the_message_id_from_the_idempotency_key(peer: SuwinetPeer) -> None:
    out = SoapOut(client(peer, ws_addressing=True), OPERATION)
    delivery = Delivery(
        body=json.dumps({"Burgerservicenr": VALID_BSN}).encode(),
        content_type="application/json",
        filename="x.json",
        idempotency_key="endpoint:item-42",
        headers={},
    )
    out.send(delivery)
    out.send(delivery)

    ids = [etree.fromstring(body).findall(f".//{{{WSA}}}MessageID") for body in peer.requests[-2:]]
    assert [[e.text for e in found] for found in ids] == [[message_id_for("endpoint:item-42")]] * 2
    out.close()


def test_soap_out_refuses_a_non_json_delivery(peer: SuwinetPeer) -> None:
    out = SoapOut(client(peer), OPERATION)
    with pytest.raises(FatalError, match="JSON"):
        out.send(Delivery(b"<x/>", "application/xml", "x.xml", "k", {}))


def test_username_token_is_sent(peer: SuwinetPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUWI_TEST_PASSWORD", "s3cret-pw")
    client(peer, username_token=("gateway", "SUWI_TEST_PASSWORD")).call(
        OPERATION, {"Burgerservicenr": VALID_BSN}
    )
    token = etree.fromstring(peer.requests[-1]).find(f".//{{{WSSE}}}UsernameToken")
    assert token is not None
    assert token.findtext(f"{{{WSSE}}}Username") == "gateway"
    assert token.findtext(f"{{{WSSE}}}Password") == "s3cret-pw"


def test_x509_signature_is_verified_by_the_peer(peer: SuwinetPeer, tmp_path: Path) -> None:
    key_file, cert_file = _self_signed(tmp_path)
    peer.signature_cert = str(cert_file)
    signed = client(peer, x509=X509Signing(str(key_file), str(cert_file)))
    document = signed.call(OPERATION, {"Burgerservicenr": VALID_BSN})
    assert document.status == 200

    unsigned = client(peer)
    with pytest.raises(FatalError, match="FWI0003"):
        unsigned.call(OPERATION, {"Burgerservicenr": VALID_BSN})


def test_wsdl_comes_from_the_sqlite_cache_once_fetched(peer: SuwinetPeer, tmp_path: Path) -> None:
    client(peer, cache_dir=tmp_path).call(OPERATION, {"Burgerservicenr": VALID_BSN})
    assert (tmp_path / "zeep-wsdl.sqlite").is_file()
    peer.serve_files = False

    client(peer, cache_dir=tmp_path).call(OPERATION, {"Burgerservicenr": VALID_BSN})
    with pytest.raises(ConfigurationError, match="WSDL download answered HTTP 404"):  # no cache: no WSDL
        client(peer, cache_dir=tmp_path / "empty").call(OPERATION, {"Burgerservicenr": VALID_BSN})


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gateway-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / "key.pem", folder / "cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


def test_endpoint_options_build_a_working_soap_out(peer: SuwinetPeer) -> None:
    from gateway.pipeline.endpoints import Endpoint
    from gateway.transports.factory import build_outbound

    endpoint = Endpoint.model_validate(
        {
            "name": "suwinet-out",
            "direction": "out",
            "partner": "gsd",
            "transport": {
                "type": "soap",
                "options": {
                    "wsdl": peer.wsdl_url,
                    "service": SERVICE,
                    "port": PORT,
                    "operation": OPERATION,
                    "validate_response_xsd": True,
                    "response_xsd": str(peer.response_xsd),
                },
            },
        }
    )
    transport = build_outbound(endpoint)
    delivery = Delivery(
        json.dumps({"Burgerservicenr": "111111110"}).encode(), "application/json", "x", "k1", {}
    )
    with pytest.raises(XsdViolation):
        transport.send(delivery)
    transport.close()
