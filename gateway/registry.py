"""Registry of pluggable parts (codecs, transports) by name.

The core never imports ``adapters/``: built-in adapters are listed here as ``"module:attribute"`` strings
and imported on first use; third parties add theirs through the ``gateway.adapters`` entry-point group
(`name = "package.module:Codec"`).
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from gateway.errors import ConfigurationError

BUILTIN_CODECS: dict[str, str] = {}
"""Codec name -> "module:attribute". Filled by the built-in adapters' declarations below."""

BUILTIN_CODECS.update(
    {
        "csv": "adapters.csv_files.codec:CsvCodec",
        "xlsx": "adapters.xlsx_files.codec:XlsxCodec",
        "json": "adapters.json_files.codec:JsonCodec",
        "ndjson": "adapters.json_files.codec:NdjsonCodec",
        "xml": "adapters.xml_files.codec:XmlCodec",
        "dsn": "adapters.dsn.codec:DsnCodec",
    }
)


BUILTIN_GENERATORS: dict[str, str] = {
    name: "adapters.synthetic:generate"
    for name in ("caf-vrsb0801", "france-travail-csv", "plie-csv", "plie-json", "dsn", "departement-csv")
}
"""Synthetic file generator name -> "module:attribute" of
``generate(fmt, records, stream, seed, **options) -> int``."""


def _load(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"cannot load {target!r}: {exc}") from exc


@cache
def _third_party() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group="gateway.adapters")}


def codec(name: str) -> Any:
    """Return the codec class registered under ``name`` (built-in first, then entry points)."""
    target = BUILTIN_CODECS.get(name) or _third_party().get(name)
    if target is None:
        known = ", ".join(sorted({*BUILTIN_CODECS, *_third_party()}))
        raise ConfigurationError(f"unknown codec {name!r} (known: {known})")
    return _load(target)


def generator(name: str) -> Any:
    """Return the synthetic data generator registered under ``name`` (a callable, see BUILTIN_GENERATORS)."""
    target = BUILTIN_GENERATORS.get(name)
    if target is None:
        known = ", ".join(sorted(BUILTIN_GENERATORS))
        raise ConfigurationError(f"unknown generator {name!r} (known: {known})")
    return _load(target)
