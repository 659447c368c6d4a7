"""One exception tree for the whole gateway.

Every failure is classified so that the pipeline knows what to do with it:

- ``RetriableError``: the same action may succeed later (receiver down, timeout, 503, lock not
  obtained, broker unavailable). The outbox retries it with backoff, then dead-letters it.
- ``FatalError``: retrying cannot help (malformed configuration, refused by the receiver with a 4xx,
  convention revoked, unreadable file). The item goes straight to the dead letters, kept for replay
  after someone fixes the cause.
- ``SkippableRecordError``: one record of a file is bad (a field does not parse, a row lacks a key);
  the record is rejected with its location and the rest of the file goes on.

Messages never carry personal values: errors name the file, the record number, the field and the rule,
never the value that broke it.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    retriable: bool = False


class RetriableError(GatewayError):
    """A transient failure: retry later with backoff."""

    retriable = True


class FatalError(GatewayError):
    """A permanent failure: do not retry; dead-letter and report."""


class ConfigurationError(FatalError):
    """A settings, mapping or convention file is invalid. Names the file and, where known, the line."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}")


class UnreadableFileError(FatalError):
    """A whole input cannot be read (wrong encoding, truncated XML, DSN without envoi block)."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}")


class PolicyDenied(FatalError):
    """A convention forbids the exchange (no active flow, outside validity, purpose missing...)."""

    def __init__(self, message: str, *, rules: tuple[str, ...] = ()) -> None:
        self.rules = rules
        super().__init__(message)


class SkippableRecordError(GatewayError):
    """One record is bad; reject it with its location and continue with the next one."""

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        record: int | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.record = record
        self.line = line
        self.field = field
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.field:
            parts.append(f"field {self.field!r}")
        where = ", ".join(parts)
        return f"{where}: {self.reason}" if where else self.reason
