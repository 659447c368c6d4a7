"""Choosing the delimiter of a CSV file from its first lines."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator

CANDIDATES = ";,\t|"
SNIFF_CHARS = 1024


def peek_lines(lines: Iterator[str], chars: int = SNIFF_CHARS) -> tuple[list[str], Iterator[str]]:
    """Take whole lines until ``chars`` characters are seen; return them and an iterator over all lines."""
    head: list[str] = []
    size = 0
    for line in lines:
        head.append(line)
        size += len(line)
        if size >= chars:
            break
    return head, itertools.chain(head, lines)


def sniff_delimiter(sample: str) -> str:
    """``csv.Sniffer`` restricted to ``; , tab |``; if it gives up, the candidate most frequent in the
    first line; ``,`` for a one-column file."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=CANDIDATES).delimiter
    except csv.Error:
        first_line = sample.splitlines()[0] if sample else ""
        counts = {candidate: first_line.count(candidate) for candidate in CANDIDATES}
        best = max(counts, key=lambda candidate: counts[candidate])
        return best if counts[best] else ","
