"""Inbound SOAP: a WSGI app that takes a partner's push for ONE operation and stores it before answering.

Sequence for each POST: read (size-capped) → parse safely → check the body element is the expected
operation → check the UsernameToken when configured → :func:`gateway.pipeline.intake.receive` (durable)
→ answer an acknowledgement envelope naming the exchange id. Anything refused gets a SOAP fault:
``Client`` (HTTP 400/500 per SOAP 1.1: 500) for a bad message, ``Server`` (HTTP 503) when storing failed
so that the partner retries. The whole envelope is stored (headers included, for audit); mappings read it
with the ``xml`` codec (``record_element`` matches by local name anywhere in the document).

The partner's ``wsa:MessageID`` (when present) is the message id of the exchange: a push repeated with
the same MessageID is acknowledged again without being stored twice.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lxml import etree
from sqlalchemy import Engine

from gateway.logging_setup import get_logger
from gateway.pipeline.intake import Envelope, receive
from gateway.transports.soap.envelope import (
    SOAP11,
    WSA,
    WSSE,
    MalformedEnvelopeError,
    parse_envelope,
)
from gateway.transports.soap.envelope import Envelope as SoapEnvelope

log = get_logger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
ACK_NAMESPACE = "urn:fr:reseau-emploi:gateway:soap-ack"
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class InboundSoapConfig:
    endpoint: str
    """Name of the inbound endpoint (config/endpoints.yaml); part of the idempotency key."""
    sender: str
    """Party id of the partner pushing here."""
    operation_element: str
    """Local name of the body element accepted (e.g. ``BijstandsregelingenInfoResponse``)."""
    operation_namespace: str | None = None
    username: str | None = None
    password: str | None = None
    """When both are set, a wsse:UsernameToken with this PasswordText is required."""
    max_bytes: int = DEFAULT_MAX_BYTES


class _Refused(Exception):
    def __init__(self, side: str, reason: str, status: int) -> None:
        self.side, self.reason, self.status = side, reason, status
        super().__init__(reason)


class SoapInboundApp:
    """WSGI application: mount it on the path given to the partner (any path is accepted)."""

    def __init__(self, engine: Engine, config: InboundSoapConfig) -> None:
        self.engine = engine
        self.config = config

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, 405, _fault("Client", "only POST is accepted"))
        try:
            data = self._read(environ)
            envelope = parse_envelope(data, max_bytes=self.config.max_bytes)
            self._check(envelope)
        except MalformedEnvelopeError as exc:
            return _answer(start_response, 500, _fault("Client", str(exc)))
        except _Refused as exc:
            log.warning("soap_in.refused", endpoint=self.config.endpoint, reason=exc.reason)
            return _answer(start_response, exc.status, _fault(exc.side, exc.reason))
        message_id = envelope.header_text(WSA, "MessageID")
        try:
            receipt = receive(
                self.engine,
                Envelope(
                    endpoint=self.config.endpoint,
                    sender=self.config.sender,
                    transport="soap",
                    payload=data,
                    source_name=self.config.operation_element,
                    content_type=environ.get("CONTENT_TYPE") or "text/xml",
                    message_id=message_id,
                ),
            )
        except Exception as exc:  # whatever broke the store, nothing was kept: the partner must retry
            log.error("soap_in.store_failed", endpoint=self.config.endpoint, error=type(exc).__name__)
            return _answer(start_response, 503, _fault("Server", "message not stored; retry later"))
        log.info(
            "soap_in.stored",
            endpoint=self.config.endpoint,
            exchange=receipt.exchange_id,
            duplicate=receipt.duplicate,
        )
        return _answer(start_response, 200, _ack(receipt.exchange_id, receipt.duplicate, message_id))

    def _read(self, environ: dict[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise _Refused("Client", "invalid Content-Length", 400) from None
        if length <= 0:
            raise _Refused("Client", "empty request", 400)
        if length > self.config.max_bytes:
            raise _Refused("Client", f"message larger than {self.config.max_bytes} bytes", 413)
        data: bytes = environ["wsgi.input"].read(length)
        return data

    def _check(self, envelope: SoapEnvelope) -> None:
        payload = envelope.payload
        if payload is None:
            raise _Refused("Client", "empty SOAP Body", 500)
        name = etree.QName(payload)
        if name.localname != self.config.operation_element or (
            self.config.operation_namespace is not None and name.namespace != self.config.operation_namespace
        ):
            raise _Refused("Client", f"this endpoint accepts {self.config.operation_element} only", 500)
        if self.config.username is not None and self.config.password is not None:
            self._check_username_token(envelope)

    def _check_username_token(self, envelope: SoapEnvelope) -> None:
        header = envelope.header
        token = None if header is None else header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
        user = None if token is None else token.findtext(f"{{{WSSE}}}Username")
        password = None if token is None else token.findtext(f"{{{WSSE}}}Password")
        expected_user = (self.config.username or "").encode()
        expected_password = (self.config.password or "").encode()
        if not (
            user is not None
            and password is not None
            and hmac.compare_digest(user.encode(), expected_user)
            and hmac.compare_digest(password.encode(), expected_password)
        ):
            raise _Refused("Client", "authentication failed", 500)


def _envelope(body: etree._Element) -> bytes:
    root = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soap": SOAP11})
    etree.SubElement(root, f"{{{SOAP11}}}Body").append(body)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _fault(side: str, reason: str) -> bytes:
    fault = etree.Element(f"{{{SOAP11}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soap:{side}"
    etree.SubElement(fault, "faultstring").text = reason
    return _envelope(fault)


def _ack(exchange_id: str, duplicate: bool, message_id: str | None) -> bytes:
    ack = etree.Element(f"{{{ACK_NAMESPACE}}}Acknowledgement", nsmap={"ack": ACK_NAMESPACE})
    etree.SubElement(ack, f"{{{ACK_NAMESPACE}}}ExchangeId").text = exchange_id
    etree.SubElement(ack, f"{{{ACK_NAMESPACE}}}Duplicate").text = "true" if duplicate else "false"
    if message_id:
        etree.SubElement(ack, f"{{{ACK_NAMESPACE}}}RelatesTo").text = message_id
    return _envelope(ack)


def _answer(start_response: StartResponse, status: int, body: bytes) -> list[bytes]:
    reason = {
        200: "OK",
        400: "Bad Request",
        405: "Method Not Allowed",
        413: "Payload Too Large",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }[status]
    start_response(
        f"{status} {reason}",
        [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
