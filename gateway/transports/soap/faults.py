"""SOAP faults and HTTP outcomes → the gateway's error classes (retriable or fatal).

Classification (documented in gateway/transports/soap/README.md):

================================================  ===============
What the service answered                          Error
================================================  ===============
connection refused / reset, DNS failure, timeout  RetriableError
HTTP 408, 425, 429, 502, 503, 504 (fault or not)   RetriableError
HTTP 500 without a SOAP fault                      RetriableError
soap:Server / env:Receiver with a transient code   RetriableError
soap:Server / env:Receiver, other codes            FatalError
soap:Client / env:Sender, VersionMismatch,
MustUnderstand, any other fault                    FatalError
other HTTP 4xx without a fault                     FatalError
body not valid against the response XSD            FatalError
================================================  ===============

A "code" is the fault code's local name (``Server``, ``Server.Busy``), any SOAP 1.2 subcode, and any
``Code`` element inside the fault detail (Suwinet puts ``FWI0001`` there). Error messages carry codes
only: fault strings and details may echo the request's personal data and are never copied.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from lxml import etree

from gateway.errors import FatalError, GatewayError, RetriableError
from gateway.transports.soap.envelope import SOAP11, Envelope

TRANSIENT_HTTP_STATUS = frozenset({408, 425, 429, 502, 503, 504})
DEFAULT_TRANSIENT_CODES = frozenset({"Server.Busy", "Server.Unavailable", "ServiceUnavailable", "Timeout"})
_SIDES = {"Server": "server", "Receiver": "server", "Client": "client", "Sender": "client"}
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


@dataclass(frozen=True, slots=True)
class SoapFault:
    side: str
    """``server`` (soap:Server, env:Receiver), ``client`` (soap:Client, env:Sender) or ``other``."""
    codes: tuple[str, ...]

    def describe(self) -> str:
        return f"SOAP fault ({self.side}; codes: {', '.join(self.codes) or 'none'})"


def find_fault(envelope: Envelope) -> SoapFault | None:
    payload = envelope.payload
    if payload is None or etree.QName(payload).localname != "Fault":
        return None
    if envelope.namespace == SOAP11:
        raw_code = _text(payload.find("faultcode"))
        codes = [_local(raw_code)] if raw_code else []
        detail = payload.find("detail")
    else:
        ns = envelope.namespace
        values = payload.findall(f"{{{ns}}}Code/{{{ns}}}Value")
        values += payload.findall(f".//{{{ns}}}Subcode/{{{ns}}}Value")
        codes = [_local(_text(value)) for value in values if _text(value)]
        detail = payload.find(f"{{{ns}}}Detail")
    if detail is not None:
        codes += [_text(el) for el in detail.iter() if isinstance(el.tag, str) and _is_code(el)]
    safe = tuple(dict.fromkeys(code for code in codes if code and _SAFE_CODE.match(code)))
    main = safe[0].split(".")[0] if safe else ""
    return SoapFault(side=_SIDES.get(main, "other"), codes=safe)


def fault_error(fault: SoapFault, what: str, transient_codes: Collection[str]) -> GatewayError:
    """The error to raise for ``fault``: retriable only for a server-side fault with a transient code."""
    if fault.side == "server" and any(code in transient_codes for code in fault.codes):
        return RetriableError(f"{what}: transient {fault.describe()}")
    return FatalError(f"{what}: {fault.describe()}")


def status_error(status: int, what: str) -> GatewayError | None:
    """The error for an HTTP status when no fault was found (None for 2xx)."""
    if 200 <= status < 300:
        return None
    if status in TRANSIENT_HTTP_STATUS or status == 500:
        return RetriableError(f"{what} answered HTTP {status}")
    return FatalError(f"{what} refused the request (HTTP {status})")


def _is_code(element: etree._Element) -> bool:
    return etree.QName(element).localname.lower() in {"code", "errorcode", "foutcode"}


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _local(qname_text: str) -> str:
    return qname_text.rpartition(":")[2]
