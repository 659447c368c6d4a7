"""Transport options of an endpoint, validated by the transport's own pydantic model."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from gateway.errors import ConfigurationError
from gateway.pipeline.endpoints import Endpoint

OptionsT = TypeVar("OptionsT", bound=BaseModel)


def parse_options(model: type[OptionsT], endpoint: Endpoint) -> OptionsT:
    """Validate an endpoint's options; errors name the endpoint and the key, never a (secret) value."""
    try:
        return model.model_validate(endpoint.transport.options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigurationError(
            f"endpoint {endpoint.name}: transport.options{'.' + where if where else ''}: {first['msg']}"
        ) from exc
