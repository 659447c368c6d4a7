"""The canonical model: JSON Schemas (``schemas/``), code systems (``codesystems/``), validation.

Entry points: ``gateway.model.validation.get_validator()``, ``gateway.model.field_paths.field_paths()``,
``gateway.model.codesystems.load()``, ``gateway.model.nir``, ``gateway.model.identifiers``.
The contract is docs/canonical-model.md.
"""
