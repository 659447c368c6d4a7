"""What CSV and XLSX share: header matching (aliases), required headers, null literals, multi-values.

Headers are matched on a *key*: accents removed, case folded, whitespace, ``_`` and ``-`` dropped, so
``"Date de naissance"``, ``"date_de_naissance"`` and ``"DATE DE NAISSANCE"`` are the same header. A record's
keys are the canonical names from the ``aliases`` option (or the file's header, trimmed, when no alias
matches).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.common.options import Options
from gateway.errors import SkippableRecordError, UnreadableFileError

TABULAR_OPTIONS = frozenset({"aliases", "required", "null_literals", "multi_values", "write_null", "columns"})
DEFAULT_NULL_LITERALS = ("NULL", "")
_IGNORED_IN_KEYS = str.maketrans("", "", " \t\r\n\u00a0_-")


def header_key(text: str) -> str:
    """The form headers are compared in: no accents, case folded, no spaces, underscores or hyphens."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return stripped.casefold().translate(_IGNORED_IN_KEYS)


@dataclass(frozen=True, slots=True)
class TabularSettings:
    """Options common to tabular codecs, checked once."""

    alias_index: Mapping[str, str]
    required: tuple[str, ...]
    null_literals: frozenset[str]
    multi_values: Mapping[str, str]
    write_null: str
    columns: tuple[str, ...] | None

    @classmethod
    def from_options(cls, options: Options) -> TabularSettings:
        aliases = options.string_list_map("aliases")
        index: dict[str, str] = {}
        for canonical, names in aliases.items():
            for name in (canonical, *names):
                key = header_key(name)
                if index.get(key, canonical) != canonical:
                    raise options.error("aliases", f"gives {name!r} to both {index[key]!r} and {canonical!r}")
                index[key] = canonical
        columns = options.string_list("columns", []) if options.has("columns") else None
        return cls(
            alias_index=index,
            required=tuple(options.string_list("required", [])),
            null_literals=frozenset(options.string_list("null_literals", list(DEFAULT_NULL_LITERALS))),
            multi_values=options.string_map("multi_values"),
            write_null=options.string("write_null", ""),
            columns=tuple(columns) if columns is not None else None,
        )

    def canonical_headers(self, raw: Sequence[str | None], *, source: str, line: int) -> list[str | None]:
        """Map the file's header cells to canonical names; ``None`` for an empty header cell.

        Raises :class:`UnreadableFileError` when two columns map to one name or a required header is
        missing (header names are not personal data, so they are named).
        """
        headers: list[str | None] = []
        seen: set[str] = set()
        for position, cell in enumerate(raw, start=1):
            text = (cell or "").strip().lstrip("\ufeff")
            if not text:
                headers.append(None)
                continue
            name = self.alias_index.get(header_key(text), text)
            if name in seen:
                raise UnreadableFileError(
                    f"column {position} repeats header {name!r}", file=source, line=line
                )
            seen.add(name)
            headers.append(name)
        missing = [name for name in self.required if name not in seen]
        if missing:
            raise UnreadableFileError(
                f"missing required header(s): {', '.join(map(repr, missing))}", file=source, line=line
            )
        return headers

    def read_value(self, header: str, value: Any) -> Any:
        """Apply null literals and multi-value splitting to one cell."""
        if value is None or (isinstance(value, str) and value in self.null_literals):
            return None
        separator = self.multi_values.get(header)
        if separator is not None and isinstance(value, str):
            return value.split(separator)
        return value

    def read_row(self, headers: Sequence[str | None], cells: Sequence[Any]) -> dict[str, Any]:
        """:meth:`read_value` for each cell of a row (headers and cells of the same length), unnamed columns
        dropped: one call per row rather than per cell."""
        nulls = self.null_literals
        data = {
            header: None if value is None or (isinstance(value, str) and value in nulls) else value
            for header, value in zip(headers, cells, strict=True)
            if header is not None
        }
        for header, separator in self.multi_values.items():
            value = data.get(header)
            if isinstance(value, str):
                data[header] = value.split(separator)
        return data

    def write_value(self, header: str, value: Any, *, record: int) -> Any:
        """Inverse of :meth:`read_value`: lists joined with the column's separator, None as ``write_null``."""
        if value is None:
            return self.write_null
        if isinstance(value, list | tuple):
            separator = self.multi_values.get(header)
            if separator is None:
                raise SkippableRecordError(
                    "list value in a column without multi_values separator", record=record, field=header
                )
            items = [self.write_value(header, item, record=record) for item in value]
            if any(not isinstance(item, str) or separator in item for item in items):
                raise SkippableRecordError(
                    "list item contains the multi-value separator or is not text", record=record, field=header
                )
            return separator.join(items)
        return value

    def header_for(self, records_keys: Sequence[str]) -> tuple[str, ...]:
        """Column order for a writer: the ``columns`` option, else the first record's keys."""
        return self.columns if self.columns is not None else tuple(records_keys)

    def rows_to_write(
        self, records: Iterable[Mapping[str, Any]]
    ) -> Iterator[tuple[tuple[str, ...], int, Mapping[str, Any]]]:
        """(header, record number, record) for a writer; a key outside the header rejects the record."""
        header = self.columns
        for number, record in enumerate(records, start=1):
            if header is None:
                header = self.header_for(list(record))
            extra = [key for key in record if key not in header]
            if extra:
                raise SkippableRecordError("field is not one of the columns", record=number, field=extra[0])
            yield header, number, record
