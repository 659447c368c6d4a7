"""Endpoint options (``transport: {type: soap, options: {...}}``) → SOAP client, outbound transport,
inbound WSGI app. Keys are documented in gateway/transports/soap/README.md; unknown keys are refused."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from gateway.errors import ConfigurationError
from gateway.pipeline.endpoints import Endpoint
from gateway.transports.soap.client import SoapClient, X509Signing
from gateway.transports.soap.faults import DEFAULT_TRANSIENT_CODES
from gateway.transports.soap.inbound import DEFAULT_MAX_BYTES, InboundSoapConfig, SoapInboundApp
from gateway.transports.soap.outbound import SoapOut

CLIENT_KEYS = {
    "wsdl",
    "service",
    "port",
    "address",
    "cache_dir",
    "timeout",
    "verify",
    "ws_addressing",
    "username_token",
    "x509",
    "validate_response_xsd",
    "response_xsd",
    "transient_fault_codes",
}
OUTBOUND_KEYS = CLIENT_KEYS | {"operation"}
INBOUND_KEYS = {"operation_element", "operation_namespace", "username_token", "max_bytes"}


def soap_client(name: str, options: Mapping[str, Any], known: set[str] = CLIENT_KEYS) -> SoapClient:
    _refuse_unknown(name, options, known)
    if not options.get("wsdl"):
        raise ConfigurationError(f"endpoint {name}: soap option 'wsdl' is required")
    token = options.get("username_token")
    x509 = options.get("x509")
    signing = (
        X509Signing(str(x509["key_file"]), str(x509["cert_file"]), x509.get("password_env")) if x509 else None
    )
    codes = options.get("transient_fault_codes")
    transient = frozenset(str(c) for c in codes) if codes is not None else DEFAULT_TRANSIENT_CODES
    return SoapClient(
        str(options["wsdl"]),
        service=options.get("service"),
        port=options.get("port"),
        address=options.get("address"),
        cache_dir=options.get("cache_dir"),
        timeout=float(options.get("timeout", 10)),
        verify=options.get("verify", True),
        ws_addressing=bool(options.get("ws_addressing", False)),
        username_token=(str(token["user"]), str(token["password_env"])) if token else None,
        x509=signing,
        validate_response_xsd=bool(options.get("validate_response_xsd", False)),
        response_xsd=options.get("response_xsd"),
        transient_fault_codes=transient,
        name=f"endpoint {name}",
    )


def soap_out(endpoint: Endpoint) -> SoapOut:
    options = endpoint.transport.options
    if not options.get("operation"):
        raise ConfigurationError(f"endpoint {endpoint.name}: soap option 'operation' is required (outbound)")
    return SoapOut(soap_client(endpoint.name, options, OUTBOUND_KEYS), str(options["operation"]))


def soap_inbound_app(engine: Engine, endpoint: Endpoint) -> SoapInboundApp:
    options = endpoint.transport.options
    _refuse_unknown(endpoint.name, options, INBOUND_KEYS)
    if not options.get("operation_element"):
        raise ConfigurationError(
            f"endpoint {endpoint.name}: soap option 'operation_element' is required (inbound)"
        )
    token = options.get("username_token")
    password = None
    if token:
        password = os.environ.get(str(token["password_env"]))
        if password is None:
            raise ConfigurationError(
                f"environment variable {token['password_env']} (for username_token) is not set"
            )
    return SoapInboundApp(
        engine,
        InboundSoapConfig(
            endpoint=endpoint.name,
            sender=endpoint.partner,
            operation_element=str(options["operation_element"]),
            operation_namespace=options.get("operation_namespace"),
            username=str(token["user"]) if token else None,
            password=password,
            max_bytes=int(options.get("max_bytes", DEFAULT_MAX_BYTES)),
        ),
    )


def _refuse_unknown(name: str, options: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigurationError(f"endpoint {name}: unknown soap option(s): {', '.join(unknown)}")
