"""Inbound SOAP push: stored durably before the acknowledgement, faults otherwise."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from lxml import etree
from sqlalchemy import Engine, select

from gateway.store.engine import make_engine, upgrade
from gateway.store.payloads import read_payload
from gateway.store.tables import exchanges
from gateway.transports.soap import InboundSoapConfig, SoapInboundApp

ACK = "urn:fr:reseau-emploi:gateway:soap-ack"
OPERATION = "BijstandsregelingenInfoResponse"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    return make_engine(url)


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[WSGIServer] = []

    def start(app: SoapInboundApp) -> str:
        server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_Quiet)
        servers.append(server)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}/soap/push"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def envelope(domain_data: Path, message_id: str | None = None) -> bytes:
    body = (
        domain_data
        / "soap-suwinet-bijstandsregelingen"
        / "examples"
        / "Bijstandsregelingen_BijstandsregelingenInfo_999999990.xml"
    ).read_bytes()
    header = (
        f'<soap:Header><wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">{message_id}'
        "</wsa:MessageID></soap:Header>"
        if message_id
        else ""
    )
    return (
        (
            f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">{header}<soap:Body>'
        ).encode()
        + body
        + b"</soap:Body></soap:Envelope>"
    )


def config(**extra: object) -> InboundSoapConfig:
    return InboundSoapConfig(endpoint="suwinet-push", sender="gsd-test", operation_element=OPERATION, **extra)  # type: ignore[arg-type]


def stored(engine: Engine) -> list[tuple[str, bytes]]:
    with engine.connect() as connection:
        ids = connection.execute(select(exchanges.c.id).order_by(exchanges.c.received_at)).scalars().all()
    return [(exchange_id, read_payload(engine, exchange_id)) for exchange_id in ids]


def test_push_is_stored_before_the_ack_and_deduplicated_on_message_id(
    engine: Engine, serve: object, domain_data: Path
) -> None:
    url = serve(SoapInboundApp(engine, config()))  # type: ignore[operator]
    message = envelope(domain_data, "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427")

    first = httpx.post(url, content=message, headers={"Content-Type": "text/xml"}, timeout=5)
    second = httpx.post(url, content=message, headers={"Content-Type": "text/xml"}, timeout=5)

    assert first.status_code == 200
    ack = etree.fromstring(first.content)
    exchange_id = ack.findtext(f".//{{{ACK}}}ExchangeId")
    assert stored(engine) == [(exchange_id, message)]
    assert ack.findtext(f".//{{{ACK}}}Duplicate") == "false"
    assert etree.fromstring(second.content).findtext(f".//{{{ACK}}}ExchangeId") == exchange_id
    assert etree.fromstring(second.content).findtext(f".//{{{ACK}}}Duplicate") == "true"


def test_no_ack_when_the_store_fails(tmp_path: Path, serve: object, domain_data: Path) -> None:
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables: receive() fails
    url = serve(SoapInboundApp(unmigrated, config()))  # type: ignore[operator]

    answer = httpx.post(url, content=envelope(domain_data), headers={"Content-Type": "text/xml"}, timeout=5)

    assert answer.status_code == 503
    fault = etree.fromstring(answer.content)
    assert fault.findtext(".//faultcode") == "soap:Server"
    assert fault.find(f".//{{{ACK}}}ExchangeId") is None


def test_wrong_operation_and_malformed_xml_get_client_faults(engine: Engine, serve: object) -> None:
    url = serve(SoapInboundApp(engine, config()))  # type: ignore[operator]
    other = b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><Other/></soap:Body></soap:Envelope>'
    dtd = b'<!DOCTYPE x [<!ENTITY e "boom">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&e;</soap:Body></soap:Envelope>'

    for payload in (other, b"<not-xml", dtd):
        answer = httpx.post(url, content=payload, headers={"Content-Type": "text/xml"}, timeout=5)
        assert answer.status_code == 500
        assert etree.fromstring(answer.content).findtext(".//faultcode") == "soap:Client"
    assert stored(engine) == []


def test_username_token_is_required_when_configured(engine: Engine, serve: object, domain_data: Path) -> None:
    url = serve(SoapInboundApp(engine, config(username="gsd", password="pw-123")))  # type: ignore[operator]
    answer = httpx.post(url, content=envelope(domain_data), headers={"Content-Type": "text/xml"}, timeout=5)
    assert answer.status_code == 500
    assert "authentication failed" in answer.text
    assert stored(engine) == []
