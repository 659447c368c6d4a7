"""Date formats written with tokens (``DD/MM/YYYY``, ``YYYYMMDD``, ``D/M/YY``, ``HH:mm:ss``…), compiled once.

A format has a full date part (year, month, day), with or without a time, or is time-only (``HH:mm``,
``HH:mm:ss``, ``HHmmss``…; a time-only format parses to 1900-01-01 at that time). A format compiles to a
regular expression for parsing and to a list of pieces for formatting, so
that ``format(parse(x)) == x`` for values written in that format. ``ISO`` stands for ISO 8601 as read by
``datetime.fromisoformat`` (with offsets and fractions).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

_TOKENS = re.compile(r"YYYY|YY|MM|M|DD|D|HH|mm|ss|S+")
_PATTERNS = {
    "YYYY": r"(?P<Y>\d{4})",
    "YY": r"(?P<y>\d{2})",
    "MM": r"(?P<m>\d{2})",
    "M": r"(?P<m>\d{1,2})",
    "DD": r"(?P<d>\d{2})",
    "D": r"(?P<d>\d{1,2})",
    "HH": r"(?P<H>\d{2})",
    "mm": r"(?P<M>\d{2})",
    "ss": r"(?P<S>\d{2})",
}
ISO = "ISO"


class DateFormatError(ValueError):
    """The value does not match the format, or is not a real date (the message never holds the value)."""


@dataclass(frozen=True)
class DateFormat:
    """One compiled format."""

    text: str
    regex: re.Pattern[str] | None
    pieces: tuple[str, ...]
    has_time: bool
    has_date: bool = True
    """False for a time-only format (``HH:mm:ss``)."""

    @property
    def two_digit_year(self) -> bool:
        """Whether the century is guessed (``yy``): the result then depends on today's date."""
        return self.regex is not None and "(?P<y>" in self.regex.pattern

    def parse(self, value: str) -> dt.datetime:
        value = value.strip()
        if self.regex is None:
            try:
                return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise DateFormatError(f"not an ISO 8601 date ({self.text})") from None
        match = self.regex.fullmatch(value)
        if match is None:
            raise DateFormatError(f"does not match date format {self.text}")
        parts = match.groupdict()
        if parts.get("Y") is not None:
            year = int(parts["Y"])
        elif parts.get("y") is not None:
            year = _pivot_year(int(parts["y"]))
        else:
            year = 1900  # time-only format
        fraction = parts.get("f") or "0"
        try:
            return dt.datetime(
                year,
                int(parts.get("m") or 1),
                int(parts.get("d") or 1),
                int(parts.get("H") or 0),
                int(parts.get("M") or 0),
                int(parts.get("S") or 0),
                int(fraction[:6].ljust(6, "0")),
            )
        except ValueError:
            raise DateFormatError(f"not a valid calendar date ({self.text})") from None

    def format(self, value: dt.date | dt.datetime) -> str:
        if self.regex is None:
            return value.isoformat()
        moment = value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
        out: list[str] = []
        for piece in self.pieces:
            out.append(_format_token(piece, moment) if _TOKENS.fullmatch(piece) else piece)
        return "".join(out)


def _pivot_year(two_digits: int) -> int:
    """Two-digit years: not after this year's last two digits → 2000s, else 1900s (birth dates)."""
    current = dt.date.today().year % 100
    return 2000 + two_digits if two_digits <= current else 1900 + two_digits


_FORMATTERS: dict[str, Callable[[dt.datetime], str]] = {
    "YYYY": lambda moment: f"{moment.year:04d}",
    "YY": lambda moment: f"{moment.year % 100:02d}",
    "MM": lambda moment: f"{moment.month:02d}",
    "M": lambda moment: str(moment.month),
    "DD": lambda moment: f"{moment.day:02d}",
    "D": lambda moment: str(moment.day),
    "HH": lambda moment: f"{moment.hour:02d}",
    "mm": lambda moment: f"{moment.minute:02d}",
    "ss": lambda moment: f"{moment.second:02d}",
}


def _format_token(piece: str, moment: dt.datetime) -> str:
    formatter = _FORMATTERS.get(piece)
    return formatter(moment) if formatter is not None else f"{moment.microsecond:06d}"[: len(piece)]


def compile_format(text: str) -> DateFormat:
    """Compile a token format; ValueError if its date part is incomplete or it repeats a field.

    Accepted: a full date (year, month and day) with or without a time, or a time alone (hours and minutes,
    optionally seconds and fraction).
    """
    if text == ISO:
        return DateFormat(text, None, (), True)
    pieces: list[str] = []
    regex: list[str] = []
    position = 0
    for match in _TOKENS.finditer(text):
        if match.start() > position:
            literal = text[position : match.start()]
            pieces.append(literal)
            regex.append(re.escape(literal))
        token = match.group(0)
        pieces.append(token)
        regex.append(_PATTERNS.get(token, r"(?P<f>\d+)"))
        position = match.end()
    if position < len(text):
        pieces.append(text[position:])
        regex.append(re.escape(text[position:]))
    try:
        compiled = re.compile("".join(regex))
    except re.error:
        raise ValueError(f"date format {text!r} repeats a field") from None
    groups = set(compiled.groupindex)
    date_groups = groups & {"Y", "y", "m", "d"}
    has_time = bool(groups & {"H", "M", "S"})
    if not date_groups and {"H", "M"} <= groups:
        return DateFormat(text, compiled, tuple(pieces), True, has_date=False)
    if not ({"Y", "y"} & groups) or "m" not in groups or "d" not in groups:
        raise ValueError(
            f"date format {text!r} needs a year (YYYY or YY), a month (MM or M) and a day (DD or D), "
            f"or only a time (HH:mm, HH:mm:ss)"
        )
    return DateFormat(text, compiled, tuple(pieces), has_time)
