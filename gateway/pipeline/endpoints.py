"""Partners and endpoints: where exchanges come in and go out (``config/endpoints.yaml``).

An inbound endpoint says who sends (a party id of the conventions), which mapping reads the input and
which transport brings it (file drop, HTTP, SFTP, AMQP, SOAP). An outbound endpoint says who receives,
in which format (canonical JSON, or a mapping's reverse direction), and by which transport.
Integrators add partners here without code when the partner's format is one the gateway already reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from gateway.errors import ConfigurationError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Partner(_Strict):
    name: str
    siret: str | None = None
    default_endpoint: str | None = None
    """Outbound endpoint used for flows toward this partner that name none."""


class Transport(_Strict):
    type: Literal["file-drop", "http", "sftp", "amqp", "soap", "pull", "api"]
    options: dict[str, Any] = Field(default_factory=dict)


class Endpoint(_Strict):
    name: str
    direction: Literal["in", "out"]
    partner: str
    transport: Transport
    mapping: str | None = None
    """Inbound: the mapping reading the input. Outbound: the mapping whose reverse renders the output."""
    format: Literal["canonical", "mapping"] = "canonical"
    purpose: str | None = None
    """Inbound: the purpose the sender declares for everything it sends here (else: any flow's)."""
    batch: Literal["none", "daily"] = "none"
    """Outbound: "daily" gathers the day's items of this endpoint in one file (file-based receivers)."""
    ordered: bool = False
    """Outbound: deliver each person's items in the order they were produced."""
    poll_seconds: float = 5.0
    variables: dict[str, str] = Field(default_factory=dict)
    """Run-time values for the mapping's ``${NAME}`` options (e.g. the path of a partner's XSD)."""
    codec_options: dict[str, Any] = Field(default_factory=dict)
    """Overrides of the mapping's codec options for this endpoint (e.g. ``{xsd: null}``)."""


class EndpointConfig(_Strict):
    partners: dict[str, Partner] = Field(default_factory=dict)
    endpoints: dict[str, Endpoint] = Field(default_factory=dict)

    def endpoint(self, name: str) -> Endpoint:
        try:
            return self.endpoints[name]
        except KeyError:
            raise ConfigurationError(f"unknown endpoint {name!r}") from None

    def inbound(self) -> list[Endpoint]:
        return [e for e in self.endpoints.values() if e.direction == "in"]

    def outbound_for(self, receiver: str, flow_endpoint: str | None = None) -> Endpoint:
        """The endpoint delivering to ``receiver``: the flow's own, else the partner's default."""
        name = flow_endpoint or (
            self.partners[receiver].default_endpoint if receiver in self.partners else None
        )
        if name is None:
            candidates = [
                e for e in self.endpoints.values() if e.direction == "out" and e.partner == receiver
            ]
            if len(candidates) != 1:
                raise ConfigurationError(f"no single outbound endpoint for receiver {receiver!r}")
            return candidates[0]
        endpoint = self.endpoint(name)
        if endpoint.direction != "out":
            raise ConfigurationError(f"endpoint {name!r} is not outbound")
        return endpoint


def load_endpoints(path: Path, base_dir: Path | None = None) -> EndpointConfig:
    """Load and check the endpoints file; errors name the file, the line and the key."""
    if not path.is_file():
        return EndpointConfig()
    yaml = YAML()  # round-trip loader: keeps line numbers for error messages
    try:
        data = yaml.load(path.read_text(encoding="utf-8")) or CommentedMap()
    except Exception as exc:  # ruamel's parser errors share no useful base class
        raise ConfigurationError(f"not valid YAML: {exc}", file=str(path)) from exc
    endpoints = data.get("endpoints") or {}
    for name, body in endpoints.items():
        if isinstance(body, dict):
            body.setdefault("name", name)
    try:
        config = EndpointConfig.model_validate(_plain(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        location = [str(part) for part in first["loc"]]
        raise ConfigurationError(
            f"{'.'.join(location)}: {first['msg']}", file=str(path), line=_line_of(data, location)
        ) from exc
    for endpoint in config.endpoints.values():
        if endpoint.partner not in config.partners:
            raise ConfigurationError(
                f"endpoints.{endpoint.name}.partner: unknown partner {endpoint.partner!r}",
                file=str(path),
                line=_line_of(data, ["endpoints", endpoint.name, "partner"]),
            )
        if endpoint.direction == "in" and not endpoint.mapping:
            raise ConfigurationError(
                f"endpoints.{endpoint.name}: an inbound endpoint needs a mapping", file=str(path)
            )
    return _resolve_paths(config, base_dir or path.parent.parent)


def _resolve_paths(config: EndpointConfig, base: Path) -> EndpointConfig:
    """Make relative local directories (file drops) relative to the gateway home.

    Remote paths (SFTP) are left alone: they are the partner server's, not ours.
    """
    endpoints = {}
    for name, endpoint in config.endpoints.items():
        if endpoint.transport.type != "file-drop":
            endpoints[name] = endpoint
            continue
        options = dict(endpoint.transport.options)
        for key in ("directory", "processed_directory"):
            if isinstance(options.get(key), str) and not Path(options[key]).is_absolute():
                options[key] = str(base / options[key])
        transport = endpoint.transport.model_copy(update={"options": options})
        endpoints[name] = endpoint.model_copy(update={"transport": transport})
    return config.model_copy(update={"endpoints": endpoints})


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _line_of(data: Any, location: list[str]) -> int | None:
    """1-based line of the deepest key of ``location`` that exists in the YAML tree."""
    line: int | None = None
    node = data
    for key in location:
        if isinstance(node, CommentedMap) and key in node:
            position = node.lc.key(key)
            line = position[0] + 1
            node = node[key]
        else:
            break
    return line
