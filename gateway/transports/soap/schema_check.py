"""Validating a response body against the partner's XSD with lxml.

zeep reads responses leniently and never checks facets (patterns, lengths, enumerations); conventions
that require well-formed partner data turn this check on. The reason names the element path and the
broken rule (facet or libxml2 error type), never the value.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from gateway.errors import ConfigurationError, FatalError
from gateway.transports.soap.envelope import element_bytes

_ELEMENT = re.compile(r"Element '([^']+)'")
_ATTRIBUTE = re.compile(r"attribute '([^']+)'")
_FACET = re.compile(r"\[facet '(\w+)'\]")


class XsdViolation(FatalError):
    """A response body breaks the XSD; ``reason`` is safe to log (no value)."""

    def __init__(self, what: str, xsd_name: str, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{what}: response body not valid against {xsd_name}: {reason}")


class ResponseSchema:
    """An XSD compiled once (relative includes resolved from its own folder, no network)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            self._schema = etree.XMLSchema(etree.parse(str(self.path), parser))
        except OSError:
            raise ConfigurationError("response XSD not found", file=str(self.path)) from None
        except (etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigurationError(f"response XSD not usable: {first}", file=str(self.path)) from None

    def check(self, element: etree._Element, what: str) -> None:
        """Raise :class:`XsdViolation` unless ``element`` (the body payload) is valid."""
        document = etree.fromstring(element_bytes(element))
        if self._schema.validate(document):
            return
        errors: list[etree._LogEntry] = list(iter(self._schema.error_log))  # type: ignore[call-overload]
        reason = describe(errors[0])
        if len(errors) > 1:
            reason += f" (+{len(errors) - 1} more)"
        raise XsdViolation(what, self.path.name, reason)


def describe(error: etree._LogEntry) -> str:
    """``<path>: facet 'pattern'`` or ``<path>: SCHEMAV_ELEMENT_CONTENT`` — never the offending value."""
    message = error.message or ""
    facet = _FACET.search(message)
    rule = f"facet '{facet.group(1)}'" if facet else error.type_name
    where = error.path or ""
    if not where:
        element = _ELEMENT.search(message)
        where = f"element '{element.group(1)}'" if element else "document"
    attribute = _ATTRIBUTE.search(message)
    if attribute:
        where += f"/@{attribute.group(1)}"
    return f"{where}: {rule}"
