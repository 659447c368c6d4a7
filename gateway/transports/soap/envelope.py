"""Reading SOAP envelopes safely (no DTD, no entities, no network, size cap) and finding the payload.

Both SOAP 1.1 and SOAP 1.2 envelopes are understood. Parse errors never quote the document.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from gateway.errors import FatalError

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP_NAMESPACES = (SOAP11, SOAP12)
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"

MAX_ENVELOPE_BYTES = 16 * 1024 * 1024


class MalformedEnvelopeError(FatalError):
    """The bytes are not a SOAP envelope (not XML, DTD present, no Envelope/Body, too large)."""


def safe_parser() -> etree.XMLParser:
    """An lxml parser that never resolves entities, loads DTDs or reaches the network."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=True
    )


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed envelope: its namespace (SOAP version), header (may be None) and body payload."""

    root: etree._Element
    namespace: str
    header: etree._Element | None
    body: etree._Element

    @property
    def payload(self) -> etree._Element | None:
        """First element child of the Body (the operation's message or a Fault)."""
        for child in self.body:
            if isinstance(child.tag, str):
                return child
        return None

    def header_text(self, namespace: str, name: str) -> str | None:
        if self.header is None:
            return None
        found = self.header.find(f"{{{namespace}}}{name}")
        return None if found is None or found.text is None else found.text.strip()


def parse_envelope(data: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES) -> Envelope:
    """Parse ``data`` as a SOAP envelope or raise :class:`MalformedEnvelopeError` (no value quoted)."""
    if len(data) > max_bytes:
        raise MalformedEnvelopeError(f"SOAP message larger than {max_bytes} bytes")
    try:
        tree = etree.fromstring(data, safe_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        raise MalformedEnvelopeError(f"SOAP message is not well-formed XML (line {exc.lineno})") from None
    if tree.docinfo.doctype:  # type: ignore[union-attr]  # lxml-stubs: DocInfo | Any
        raise MalformedEnvelopeError("SOAP message carries a DTD (refused)")
    root = tree.getroot()
    namespace = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "Envelope" or namespace not in SOAP_NAMESPACES:
        raise MalformedEnvelopeError("root element is not a SOAP 1.1/1.2 Envelope")
    body = root.find(f"{{{namespace}}}Body")
    if body is None:
        raise MalformedEnvelopeError("SOAP Envelope has no Body")
    return Envelope(root=root, namespace=namespace, header=root.find(f"{{{namespace}}}Header"), body=body)


def element_bytes(element: etree._Element) -> bytes:
    """The element as a standalone document (in-scope namespace declarations carried along)."""
    return bytes(etree.tostring(element, encoding="utf-8", xml_declaration=True))
