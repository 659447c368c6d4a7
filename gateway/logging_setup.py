"""Structured logging (structlog, JSON lines) with a processor that keeps personal data out of logs.

Two guards, because one is not enough: keys known to hold personal data are masked whatever their value,
and any string value that looks like a NIR (13 or 15 characters, Corsica included) is masked wherever it
appears. Code should not log personal data at all; this processor is the safety net.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

MASK = "***"

PERSONAL_KEYS = frozenset(
    {
        "nir",
        "nir13",
        "nir15",
        "name",
        "nom",
        "prenom",
        "prénom",
        "family",
        "given",
        "birth_date",
        "birthdate",
        "date_naissance",
        "address",
        "adresse",
        "email",
        "courriel",
        "telephone",
        "phone",
        "jeton",
        "ft_jeton_usager",
        "token",
        "password",
        "secret",
        "api_key",
        "authorization",
    }
)

# NIR: sex digit, year, month, department (2 digits or 2A/2B), commune, order, optional key.
_NIR_RE = re.compile(r"(?<![0-9A-Za-z])[12378]\d{4}(?:\d{2}|2[AaBb])\d{6}(?:\d{2})?(?![0-9A-Za-z])")


def mask_text(text: str) -> str:
    """Replace anything shaped like a NIR in ``text``."""
    return _NIR_RE.sub(MASK, text)


def _mask(value: Any, depth: int = 0) -> Any:
    if depth > 6:
        return value
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {
            k: (MASK if str(k).lower() in PERSONAL_KEYS else _mask(v, depth + 1)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_mask(v, depth + 1) for v in value]
    return value


def mask_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask personal keys and NIR-shaped strings in every event."""
    for key in list(event_dict):
        if key.lower() in PERSONAL_KEYS:
            event_dict[key] = MASK
        else:
            event_dict[key] = _mask(event_dict[key])
    return event_dict


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # Resolve sys.stderr at each use: it may be replaced (test capture, daemonisation) after configuration.
    return structlog.PrintLogger(file=sys.stderr)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that always writes to the current ``sys.stderr``."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        return None


def configure_logging(level: str = "info", fmt: str = "json") -> None:
    """Configure structlog and the stdlib root logger (uvicorn, alembic) to one JSON stream on stderr."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_personal_data,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # httpx logs every request at INFO (with URLs that may carry query identifiers): keep it quiet.
    for noisy in ("httpx", "httpcore", "paramiko", "pika"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
