"""All mapping specs of a folder (``mappings/<name>/mapping.yaml``), loaded once, by name."""

from __future__ import annotations

from pathlib import Path

from gateway.errors import ConfigurationError
from gateway.mapping.compiled import CompiledMapping
from gateway.mapping.loader import load_mapping

SPEC_FILE = "mapping.yaml"


def default_mappings_dir() -> Path:
    """The mappings folder of the settings (``GATEWAY_MAPPINGS_DIR``, config file, or the project's)."""
    from gateway.settings import get_settings

    return Path(get_settings().mappings_dir)


class MappingCatalog:
    """Loads every spec under ``directory``; a broken spec is recorded in ``errors()``, not raised."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_mappings_dir()
        self._mappings: dict[str, CompiledMapping] = {}
        self._errors: list[ConfigurationError] = []
        if not self.directory.is_dir():
            self._errors.append(ConfigurationError("mappings folder not found", file=str(self.directory)))
            return
        for spec_file in sorted(self.directory.glob(f"*/{SPEC_FILE}")):
            try:
                mapping = load_mapping(spec_file)
            except ConfigurationError as exc:
                self._errors.append(exc)
                continue
            self._mappings[mapping.name] = mapping

    def get(self, name: str) -> CompiledMapping:
        """The mapping named ``name``; ConfigurationError naming the known ones otherwise."""
        try:
            return self._mappings[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise ConfigurationError(
                f"unknown mapping {name!r} (known: {known})", file=str(self.directory)
            ) from None

    def names(self) -> list[str]:
        return sorted(self._mappings)

    def errors(self) -> list[ConfigurationError]:
        """Load errors, each naming the spec (or crosswalk) file and line: what ``gateway check`` prints."""
        return list(self._errors)

    def __contains__(self, name: object) -> bool:
        return name in self._mappings

    def __len__(self) -> int:
        return len(self._mappings)
