"""The mapping engine: declarative YAML specs (docs/mapping-spec.md) compiled once, applied both ways.

Partner record (``SourceRecord``) → canonical Bundle with ``to_canonical``; Bundle → partner records with
``from_canonical``. Expressions are JMESPath; transforms come from a fixed table; nothing is ``eval``'d.
"""

from __future__ import annotations

from gateway.mapping.catalog import MappingCatalog, default_mappings_dir
from gateway.mapping.compiled import CompiledMapping, bundle_view
from gateway.mapping.loader import load_mapping
from gateway.mapping.transforms import TRANSFORMS
from gateway.mapping.translate import reverse_bundles, translate_file, translate_stream, write_partner

__all__ = [
    "TRANSFORMS",
    "CompiledMapping",
    "MappingCatalog",
    "bundle_view",
    "default_mappings_dir",
    "load_mapping",
    "reverse_bundles",
    "translate_file",
    "translate_stream",
    "write_partner",
]
