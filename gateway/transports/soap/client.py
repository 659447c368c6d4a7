"""SOAP client for legacy partner services (zeep builds the request, lxml reads the raw response).

The WSDL is read once per :class:`SoapClient` (file path or URL, relative imports/includes followed).
Documents fetched over HTTP are cached by zeep: in SQLite under ``cache_dir`` when given (shared by the
processes of one machine, survives restarts), else in zeep's in-memory cache (per process).

Responses are taken raw (``raw_response=True``) so that the body can be checked against the XSD with
lxml — zeep does not check facets — and faults classified (see :mod:`.faults`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.cache import InMemoryCache, SqliteCache
from zeep.proxy import ServiceProxy
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from gateway.errors import ConfigurationError, FatalError, RetriableError
from gateway.logging_setup import get_logger
from gateway.transports.soap.addressing import AddressingPlugin
from gateway.transports.soap.envelope import (
    MalformedEnvelopeError,
    element_bytes,
    parse_envelope,
    safe_parser,
)
from gateway.transports.soap.faults import (
    DEFAULT_TRANSIENT_CODES,
    TRANSIENT_HTTP_STATUS,
    fault_error,
    find_fault,
    status_error,
)
from gateway.transports.soap.schema_check import ResponseSchema

log = get_logger(__name__)

WSDL_CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class X509Signing:
    """WS-Security X.509 signature (BinarySecurityToken + RSA-SHA256 over Body and headers)."""

    key_file: str
    cert_file: str
    password_env: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseDocument:
    """A successful answer: the raw envelope (kept for audit/replay) and the body payload element."""

    operation: str
    status: int
    envelope: bytes
    body: bytes
    """The first element of soap:Body as a standalone XML document (what mappings read)."""

    def element(self) -> etree._Element:
        return etree.fromstring(self.body, safe_parser())


class SoapClient:
    """One partner SOAP service: ``call(operation, request)`` → :class:`ResponseDocument` or an error."""

    def __init__(
        self,
        wsdl: str,
        *,
        service: str | None = None,
        port: str | None = None,
        address: str | None = None,
        cache_dir: str | Path | None = None,
        timeout: float = 10.0,
        ws_addressing: bool = False,
        username_token: tuple[str, str] | None = None,
        x509: X509Signing | None = None,
        validate_response_xsd: bool = False,
        response_xsd: str | Path | None = None,
        transient_fault_codes: frozenset[str] = DEFAULT_TRANSIENT_CODES,
        verify: bool | str = True,
        name: str = "SOAP service",
    ) -> None:
        if (service is None) != (port is None):
            raise ConfigurationError(f"{name}: give both 'service' and 'port', or neither")
        if validate_response_xsd and not response_xsd:
            raise ConfigurationError(f"{name}: validate_response_xsd needs 'response_xsd' (path of the XSD)")
        self.wsdl = wsdl
        self.service = service
        self.port = port
        self.address = address
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.timeout = timeout
        self.verify = verify
        self.name = name
        self.transient_fault_codes = frozenset(transient_fault_codes)
        self._addressing = AddressingPlugin(add_headers=ws_addressing)
        self._wsse = _wsse(name, username_token, x509)
        self._schema = ResponseSchema(response_xsd) if validate_response_xsd and response_xsd else None
        self._lock = threading.Lock()
        self._client: zeep.Client | None = None
        self._proxy: Any = None

    # -- loading -------------------------------------------------------------------------------------

    def _cache(self) -> Any:
        if self.cache_dir is None:
            return InMemoryCache(timeout=WSDL_CACHE_SECONDS)  # type: ignore[no-untyped-call]
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path = str(self.cache_dir / "zeep-wsdl.sqlite")
        return SqliteCache(path=path, timeout=WSDL_CACHE_SECONDS)  # type: ignore[no-untyped-call]

    def _service(self) -> Any:
        with self._lock:
            if self._proxy is not None:
                return self._proxy
            session = requests.Session()
            session.verify = self.verify
            transport = Transport(  # type: ignore[no-untyped-call]
                session=session, cache=self._cache(), timeout=self.timeout, operation_timeout=self.timeout
            )
            plugins = [self._addressing]
            try:
                client = zeep.Client(  # type: ignore[no-untyped-call]
                    self.wsdl, transport=transport, plugins=plugins, wsse=self._wsse
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise RetriableError(f"{self.name}: WSDL unreachable ({type(exc).__name__})") from exc
            except (requests.HTTPError, zeep.exceptions.TransportError) as exc:
                raise _download_error(self.name, exc) from exc
            except (OSError, etree.XMLSyntaxError, zeep.exceptions.Error) as exc:
                raise ConfigurationError(f"{self.name}: WSDL not usable: {type(exc).__name__}") from exc
            proxy = self._bind(client)
            self._client, self._proxy = client, proxy
            log.info("soap.wsdl_loaded", service=self.name)
            return proxy

    def _bind(self, client: zeep.Client) -> Any:
        """The service proxy: the named (or first) service and port, at ``address`` when overridden."""
        try:
            service = (
                client.wsdl.services[self.service]
                if self.service
                else next(iter(client.wsdl.services.values()))
            )
            port = service.ports[self.port] if self.port else next(iter(service.ports.values()))
        except (KeyError, StopIteration):
            raise ConfigurationError(
                f"{self.name}: no service {self.service!r} / port {self.port!r} in the WSDL"
            ) from None
        options = {**port.binding_options, **self._address_option()}
        return ServiceProxy(client, port.binding, **options)  # type: ignore[no-untyped-call]

    def _address_option(self) -> dict[str, str]:
        return {"address": self.address} if self.address else {}

    # -- calling -------------------------------------------------------------------------------------

    def call(
        self, operation: str, request: Mapping[str, Any], *, message_id: str | None = None
    ) -> ResponseDocument:
        """Call ``operation`` with ``request`` (element names → values, as zeep takes them)."""
        proxy = self._service()
        what = f"{self.name} {operation}"
        try:
            method = getattr(proxy, operation)
        except AttributeError:
            raise ConfigurationError(f"{self.name}: no operation {operation!r} in WSDL") from None
        self._addressing.use_message_id(message_id)
        assert self._client is not None
        try:
            with self._client.settings(raw_response=True):
                response = method(**dict(request))
        except requests.Timeout as exc:
            raise RetriableError(f"{what}: timed out") from exc
        except requests.ConnectionError as exc:
            raise RetriableError(f"{what}: service unreachable ({type(exc).__name__})") from exc
        except zeep.exceptions.ValidationError as exc:
            raise FatalError(f"{what}: request does not match the WSDL ({exc.message})") from None
        except TypeError as exc:
            raise FatalError(f"{what}: request does not match the WSDL ({exc})") from None
        finally:
            self._addressing.use_message_id(None)
        return self._interpret(operation, what, response.status_code, response.content)

    def _interpret(self, operation: str, what: str, status: int, content: bytes) -> ResponseDocument:
        if status in TRANSIENT_HTTP_STATUS:
            raise RetriableError(f"{what} answered HTTP {status}")
        try:
            envelope = parse_envelope(content)
        except MalformedEnvelopeError as exc:
            error = status_error(status, what)
            if error is not None:
                raise error from None
            raise FatalError(f"{what}: answer is not a SOAP envelope ({exc})") from None
        fault = find_fault(envelope)
        if fault is not None:
            log.warning(
                "soap.fault", service=self.name, operation=operation, side=fault.side, codes=fault.codes
            )
            raise fault_error(fault, what, self.transient_fault_codes)
        error = status_error(status, what)
        if error is not None:
            raise error
        payload = envelope.payload
        if payload is None:
            raise FatalError(f"{what}: empty SOAP Body")
        if self._schema is not None:
            self._schema.check(payload, what)
        return ResponseDocument(
            operation=operation, status=status, envelope=content, body=element_bytes(payload)
        )

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.transport.session.close()
            self._client = self._proxy = None


def _download_error(name: str, exc: Exception) -> RetriableError | ConfigurationError:
    """A WSDL/XSD download refused: retriable for 5xx/429/408, a configuration error otherwise (404...)."""
    response = getattr(exc, "response", None)
    status = int(getattr(exc, "status_code", None) or getattr(response, "status_code", 0) or 0)
    message = f"{name}: WSDL download answered HTTP {status}"
    if status in TRANSIENT_HTTP_STATUS or status >= 500:
        return RetriableError(message)
    return ConfigurationError(message)


def _wsse(name: str, username_token: tuple[str, str] | None, x509: X509Signing | None) -> Any:
    """zeep WS-Security objects: UsernameToken (PasswordText) and/or an X.509 binary signature."""
    parts: list[Any] = []
    if username_token:
        user, password_env = username_token
        parts.append(UsernameToken(user, _env(name, password_env)))  # type: ignore[no-untyped-call]
    if x509:
        try:
            import xmlsec
            from zeep.wsse.signature import BinarySignature
        except ImportError:  # pragma: no cover - depends on the installation
            raise ConfigurationError(f"{name}: X.509 signature needs the 'xmlsec' package") from None
        password = _env(name, x509.password_env) if x509.password_env else None
        parts.append(
            BinarySignature(  # type: ignore[no-untyped-call]
                x509.key_file,
                x509.cert_file,
                password,
                signature_method=xmlsec.constants.TransformRsaSha256,
                digest_method=xmlsec.constants.TransformSha256,
            )
        )
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else parts


def _env(name: str, variable: str) -> str:
    value = os.environ.get(variable)
    if value is None:
        raise ConfigurationError(f"{name}: environment variable {variable} is not set")
    return value
