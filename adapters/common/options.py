"""Checked access to a codec's options (the plain mapping of a mapping spec's ``source:``/``target:``).

Every accessor raises :class:`~gateway.errors.ConfigurationError` naming the codec and the option, so a
typo in a mapping file is reported at load time rather than as a confusing failure mid-file.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from gateway.errors import ConfigurationError


class Options:
    """Validated view of one codec's options; unknown option names are refused."""

    def __init__(self, raw: Mapping[str, Any] | None, *, codec: str, known: Collection[str]) -> None:
        self.codec = codec
        self._raw: Mapping[str, Any] = raw or {}
        if not isinstance(self._raw, Mapping):
            raise ConfigurationError(f"{codec} codec: options must be a mapping")
        unknown = sorted(set(self._raw) - set(known))
        if unknown:
            raise ConfigurationError(
                f"{codec} codec: unknown option(s) {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(sorted(known))})"
            )

    def error(self, name: str, rule: str) -> ConfigurationError:
        return ConfigurationError(f"{self.codec} codec: option {name!r} {rule}")

    def has(self, name: str) -> bool:
        return self._raw.get(name) is not None

    def string(self, name: str, default: str, *, choices: Collection[str] | None = None) -> str:
        value = self._raw.get(name, default)
        if not isinstance(value, str):
            raise self.error(name, "must be a string")
        if choices is not None and value not in choices:
            raise self.error(name, f"must be one of {', '.join(map(repr, sorted(choices)))}")
        return value

    def optional_string(self, name: str) -> str | None:
        value = self._raw.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.error(name, "must be a non-empty string")
        return value

    def required_string(self, name: str) -> str:
        value = self.optional_string(name)
        if value is None:
            raise self.error(name, "is required")
        return value

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self._raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, "must be an integer")
        if minimum is not None and value < minimum:
            raise self.error(name, f"must be at least {minimum}")
        return value

    def optional_integer(self, name: str, *, minimum: int | None = None) -> int | None:
        if self._raw.get(name) is None:
            return None
        return self.integer(name, 0, minimum=minimum)

    def boolean(self, name: str, default: bool) -> bool:
        value = self._raw.get(name, default)
        if not isinstance(value, bool):
            raise self.error(name, "must be true or false")
        return value

    def string_list(self, name: str, default: list[str]) -> list[str]:
        value = self._raw.get(name, default)
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise self.error(name, "must be a list of strings")
        if not all(isinstance(item, str) for item in value):
            raise self.error(name, "must be a list of strings")
        return list(value)

    def string_map(self, name: str) -> dict[str, str]:
        value = self._raw.get(name) or {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
        ):
            raise self.error(name, "must map names to non-empty strings")
        return dict(value)

    def string_list_map(self, name: str) -> dict[str, list[str]]:
        value = self._raw.get(name) or {}
        if not isinstance(value, Mapping):
            raise self.error(name, "must map names to lists of strings")
        result: dict[str, list[str]] = {}
        for key, items in value.items():
            if isinstance(items, str):
                items = [items]
            if not isinstance(key, str) or not isinstance(items, list | tuple):
                raise self.error(name, "must map names to lists of strings")
            if not all(isinstance(item, str) for item in items):
                raise self.error(name, f"entry {key!r} must be a list of strings")
            result[key] = list(items)
        return result
