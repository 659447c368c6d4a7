"""Build outbound transports from endpoint configuration (one instance per endpoint, reused)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gateway.errors import ConfigurationError
from gateway.pipeline.endpoints import Endpoint
from gateway.transports.base import OutboundTransport
from gateway.transports.file_drop import FileDropOut
from gateway.transports.http import HttpOut, OAuth2ClientCredentials


def secret(options: dict[str, Any], key: str) -> str | None:
    """A secret given as ``<key>_env`` (name of an environment variable) or, for demos, in clear."""
    env_name = options.get(f"{key}_env")
    if env_name:
        value = os.environ.get(str(env_name))
        if value is None:
            raise ConfigurationError(f"environment variable {env_name} (for {key}) is not set")
        return value
    value = options.get(key)
    return None if value is None else str(value)


def build_outbound(endpoint: Endpoint) -> OutboundTransport:
    options = endpoint.transport.options
    kind = endpoint.transport.type
    if kind == "file-drop":
        return FileDropOut(Path(options["directory"]))
    if kind == "http":
        auth = None
        oauth = options.get("oauth2")
        if oauth:
            auth = OAuth2ClientCredentials(
                token_url=oauth["token_url"],
                client_id=oauth["client_id"],
                client_secret=secret(oauth, "client_secret") or "",
                scope=oauth.get("scope"),
                extra_params=dict(oauth.get("params", {})),
            )
        return HttpOut(
            options["url"],
            auth=auth,
            timeout=float(options.get("timeout", 10)),
            verify=options.get("verify", True),
            headers=dict(options.get("headers", {})),
        )
    if kind == "sftp":
        from gateway.transports.sftp import SftpOut  # imported here: paramiko is loaded only when used

        return SftpOut.from_endpoint(endpoint)
    if kind == "amqp":
        from gateway.transports.amqp import AmqpOut  # imported here: pika is the optional `amqp` extra

        return AmqpOut.from_endpoint(endpoint)
    if kind == "soap":
        from gateway.transports.soap import soap_out  # imported here: zeep is loaded only when used

        return soap_out(endpoint)
    raise ConfigurationError(f"endpoint {endpoint.name}: outbound transport {kind!r} is not available")


class TransportPool:
    """Lazily built transports, one per outbound endpoint; tests may pre-seed instances."""

    def __init__(self, overrides: dict[str, OutboundTransport] | None = None) -> None:
        self._transports: dict[str, OutboundTransport] = dict(overrides or {})

    def get(self, endpoint: Endpoint) -> OutboundTransport:
        if endpoint.name not in self._transports:
            self._transports[endpoint.name] = build_outbound(endpoint)
        return self._transports[endpoint.name]

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()
