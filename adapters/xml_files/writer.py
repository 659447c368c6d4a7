"""Incremental XML writer (``etree.xmlfile``): declaration, root element, one element per record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from lxml import etree

from adapters.xml_files.tree import fill_element
from gateway.errors import SkippableRecordError


@dataclass(frozen=True, slots=True)
class XmlWriter:
    root_element: str
    record_element: str
    namespace: str | None
    encoding: str

    def _name(self, local: str) -> str:
        return f"{{{self.namespace}}}{local}" if self.namespace else local

    def write(self, records: Iterable[Mapping[str, Any]], stream: BinaryIO) -> int:
        """Each record becomes one ``record_element`` (see :mod:`adapters.xml_files.tree` for the
        conversion); a record that cannot be written raises :class:`SkippableRecordError` before any
        of its bytes are written."""
        count = 0
        nsmap = {None: self.namespace} if self.namespace else None
        with etree.xmlfile(stream, encoding=self.encoding) as document:
            document.write_declaration()
            with document.element(self._name(self.root_element), nsmap=nsmap):
                for number, record in enumerate(records, start=1):
                    element = etree.Element(self._name(self.record_element), nsmap=nsmap)  # type: ignore[arg-type]
                    fill_element(element, record, self.namespace, record=number, path=self.record_element)
                    try:
                        document.write(element)
                    except UnicodeEncodeError:
                        raise SkippableRecordError(
                            f"character not representable in {self.encoding}", record=number
                        ) from None
                    count += 1
        return count
