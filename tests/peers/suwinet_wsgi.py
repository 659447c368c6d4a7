"""A fake Suwinet "Bijstandsregelingen-v0500" SOAP service on loopback (WSGI, wsgiref, threaded).

It serves the REAL WSDL/XSD set of ``shared/domain-data/soap-suwinet-bijstandsregelingen/suwinet`` by path
(relative imports keep working; files on disk are never touched) with the WSDL's ``soap:address``
rewritten on the fly to this server, and answers ``BijstandsregelingenInfo`` with the STORED simulator
responses (``examples/Bijstandsregelingen_BijstandsregelingenInfo_<BSN>.xml``) chosen by the request's
``Burgerservicenr``. Modes: ``ok``, ``fault-server`` (soap:Server, FWI code FWI0001), ``fault-client``
(soap:Client), ``unavailable`` (HTTP 503, no envelope).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from lxml import etree

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_WSDL = "suwinet/Bijstandsregelingen/Diensten/Bijstandsregelingen/v0500-b04/Impl/BKWI.wsdl"
RESPONSE_XSD = "suwinet/Bijstandsregelingen/Diensten/Bijstandsregelingen/v0500-b04/BodyReaction.xsd"
_ADDRESS = re.compile(rb'(<soap:address\s+location=")[^"]*(")')


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *_args: Any) -> None:
        return


class SuwinetPeer:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        """``shared/domain-data/soap-suwinet-bijstandsregelingen``."""
        self.mode = "ok"
        self.requests: list[bytes] = []
        """Every SOAP request envelope received, in order."""
        self.serve_files = True
        """False: WSDL/XSD requests get 404 (shows that a client uses its cache)."""
        self.signature_cert: str | None = None
        """When set, requests must carry a valid WS-Security X.509 signature by this certificate."""
        self._server: _ThreadingWSGIServer | None = None
        self.port = 0

    @property
    def wsdl_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{SERVICE_WSDL}"

    @property
    def soap_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/soap/Bijstandsregelingen-v0500"

    @property
    def response_xsd(self) -> Path:
        return self.root / RESPONSE_XSD

    def response_file(self, bsn: str) -> Path:
        return self.root / "examples" / f"Bijstandsregelingen_BijstandsregelingenInfo_{bsn}.xml"

    def start(self) -> SuwinetPeer:
        self._server = make_server(
            "127.0.0.1", 0, self.app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- WSGI ------------------------------------------------------------------------------------------

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ["REQUEST_METHOD"] == "GET" and self.serve_files:
            return self._serve_file(path.lstrip("/"), start_response)
        if environ["REQUEST_METHOD"] == "POST" and path.startswith("/soap/"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            return self._soap(environ["wsgi.input"].read(length), start_response)
        return _reply(start_response, "404 Not Found", b"not found", "text/plain")

    def _serve_file(self, relative: str, start_response: Any) -> list[bytes]:
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root / "suwinet") or not target.is_file():
            return _reply(start_response, "404 Not Found", b"not found", "text/plain")
        data = target.read_bytes()
        if target.suffix == ".wsdl":
            data = _ADDRESS.sub(rb"\g<1>" + self.soap_url.encode() + rb"\g<2>", data)
        return _reply(start_response, "200 OK", data, "text/xml; charset=utf-8")

    def _soap(self, body: bytes, start_response: Any) -> list[bytes]:
        self.requests.append(body)
        if self.mode == "unavailable":
            return _reply(start_response, "503 Service Unavailable", b"<html>maintenance</html>", "text/html")
        if self.mode == "fault-server":
            return _fault(start_response, "soap:Server", "FWI0001")
        if self.mode == "fault-client":
            return _fault(start_response, "soap:Client", "FWI0002")
        request = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
        if self.signature_cert is not None:
            from zeep.exceptions import SignatureVerificationFailed
            from zeep.wsse.signature import verify_envelope

            try:
                verify_envelope(request, self.signature_cert)  # type: ignore[no-untyped-call]
            except (SignatureVerificationFailed, AttributeError):  # AttributeError: no wsse:Security at all
                return _fault(start_response, "soap:Client", "FWI0003")
        bsn = request.findtext(".//Burgerservicenr") or ""
        stored = self.response_file(bsn) if re.fullmatch(r"\d{9}", bsn) else None
        if stored is None or not stored.is_file():
            payload = (
                b'<bij:BijstandsregelingenInfoResponse xmlns:bij="http://bkwi.nl/SuwiML/Diensten/'
                b'Bijstandsregelingen/v0500" xmlns:fwi="http://bkwi.nl/SuwiML/FWI/v0205">'
                b"<fwi:NietsGevonden/></bij:BijstandsregelingenInfoResponse>"
            )
        else:
            payload = stored.read_bytes()
        return _reply(start_response, "200 OK", _envelope(payload), "text/xml; charset=utf-8")


def _envelope(payload: bytes) -> bytes:
    payload = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", payload.lstrip())
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<soap:Envelope xmlns:soap="'
        + SOAP11.encode()
        + b'"><soap:Body>'
        + payload
        + b"</soap:Body></soap:Envelope>"
    )


def _fault(start_response: Any, code: str, fwi_code: str) -> list[bytes]:
    fault = (
        b"<soap:Fault><faultcode>" + code.encode() + b"</faultcode>"
        b"<faultstring>Er is een fout opgetreden</faultstring><detail>"
        b'<fwi:Fout xmlns:fwi="http://bkwi.nl/SuwiML/FWI/v0205"><Code>' + fwi_code.encode() + b"</Code>"
        b"<Tekst>Fout</Tekst><Bron><DN>Bijstandsregelingen</DN></Bron></fwi:Fout></detail></soap:Fault>"
    )
    return _reply(start_response, "500 Internal Server Error", _envelope(fault), "text/xml; charset=utf-8")


def _reply(start_response: Any, status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
