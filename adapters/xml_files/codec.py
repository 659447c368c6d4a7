"""The ``xml`` codec: options checked here, reading and writing in :mod:`.reader` / :mod:`.writer`."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.common.options import Options
from adapters.xml_files.reader import XmlReader
from adapters.xml_files.writer import XmlWriter
from adapters.xml_files.xsd import load_schema

READ_OPTIONS = {"record_element", "namespace", "context_elements", "force_list", "max_bytes", "xsd"}
WRITE_OPTIONS = {"root_element", "record_element", "namespace", "encoding"}
DEFAULT_MAX_BYTES = 2 * 1024**3
_NAME = re.compile(r"[A-Za-z_][\w.\-]*")


class XmlCodec:
    """XML files with repeated record elements. See ``adapters/xml_files/README.md``."""

    name = "xml"

    def reader(self, options: Mapping[str, Any]) -> XmlReader:
        # An empty ``xsd`` (e.g. an unset ${VARIABLE} given as "") switches validation off explicitly.
        options = {**options, "xsd": options.get("xsd") or None}
        opts = Options(options, codec=self.name, known=READ_OPTIONS)
        xsd = opts.optional_string("xsd")
        return XmlReader(
            record_element=_element_name(opts, "record_element"),
            namespace=opts.optional_string("namespace"),
            context_elements=frozenset(opts.string_list("context_elements", [])),
            force_list=frozenset(opts.string_list("force_list", [])),
            max_bytes=opts.integer("max_bytes", DEFAULT_MAX_BYTES, minimum=1),
            schema=load_schema(xsd) if xsd else None,
            xsd_name=Path(xsd).name if xsd else None,
        )

    def writer(self, options: Mapping[str, Any]) -> XmlWriter:
        opts = Options(options, codec=self.name, known=WRITE_OPTIONS)
        encoding = opts.string("encoding", "utf-8")
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise opts.error("encoding", "is not a known encoding") from None
        return XmlWriter(
            root_element=_element_name(opts, "root_element"),
            record_element=_element_name(opts, "record_element"),
            namespace=opts.optional_string("namespace"),
            encoding=encoding,
        )


def _element_name(opts: Options, name: str) -> str:
    value = opts.required_string(name)
    if not _NAME.fullmatch(value):
        raise opts.error(name, "must be an XML element local name (no prefix)")
    return value
