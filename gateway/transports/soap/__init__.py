"""SOAP transport for legacy partner services: zeep client, lxml XSD checks, classified faults,
an outbound transport and an inbound WSGI endpoint. See gateway/transports/soap/README.md."""

from __future__ import annotations

from gateway.transports.soap.client import ResponseDocument, SoapClient, X509Signing
from gateway.transports.soap.config import soap_client, soap_inbound_app, soap_out
from gateway.transports.soap.faults import SoapFault
from gateway.transports.soap.inbound import InboundSoapConfig, SoapInboundApp
from gateway.transports.soap.mapped import response_bundles
from gateway.transports.soap.outbound import SoapOut
from gateway.transports.soap.schema_check import ResponseSchema, XsdViolation

__all__ = [
    "InboundSoapConfig",
    "ResponseDocument",
    "ResponseSchema",
    "SoapClient",
    "SoapFault",
    "SoapInboundApp",
    "SoapOut",
    "X509Signing",
    "XsdViolation",
    "response_bundles",
    "soap_client",
    "soap_inbound_app",
    "soap_out",
]
