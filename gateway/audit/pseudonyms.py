"""Keyed pseudonyms: HMAC-SHA256 with the gateway's secret key, domain-separated per identifier system.

``pseudonym(system, value) = HMAC(key, system + "|" + normalised value)`` — never a bare hash (a NIR has
too few possible values: a bare hash is reversed by enumeration), never the clear value. The same key
recomputes the pseudonym from an identifier a DPO is given, which is how person searches work.
``derive(context)`` gives an independent key for another use (a receiver's pseudonyms), so pseudonyms of
different uses cannot be linked.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re

from gateway.errors import ConfigurationError
from gateway.model.identifiers import NIR
from gateway.model.nir import complete_nir
from gateway.settings import Settings

MIN_KEY_LENGTH = 16
_SPACES = re.compile(r"[\s.\-]")


def normalise_identifier(system: str, value: str) -> str:
    """One spelling per identifier: no spaces, dots or dashes, upper case; a 13-character NIR gets its key."""
    # Most values have nothing to remove: isalnum() is one C call where the substitution is a regex run.
    normalised = (value if value.isalnum() else _SPACES.sub("", value)).upper()
    if system == NIR and len(normalised) == 13:
        # Not a NIR body: kept as given, it will simply match nothing.
        with contextlib.suppress(ValueError):
            normalised = complete_nir(normalised)
    return normalised


class KeyedPseudonymiser:
    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigurationError(f"pseudonym key must have at least {MIN_KEY_LENGTH} bytes")
        self._key = key
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)
        """Copied for each message: the key's padding is hashed once, not at every pseudonym."""

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyedPseudonymiser:
        secret = settings.pseudonym_key.get_secret_value()
        if len(secret) < MIN_KEY_LENGTH:
            raise ConfigurationError(
                "pseudonym_key is not set (GATEWAY_PSEUDONYM_KEY, at least 16 characters)"
            )
        return cls(secret.encode("utf-8"))

    def _mac(self, message: str) -> str:
        mac = self._keyed.copy()
        mac.update(message.encode("utf-8"))
        return mac.hexdigest()

    def pseudonym(self, system: str, value: str) -> str:
        return self._mac(f"{system}|{normalise_identifier(system, value)}")

    def with_birth_date(self, system: str, value: str, birth_date: str) -> str:
        """Pseudonym of (identifier, birth date): the DPO's "NIR + date de naissance" search key."""
        return self._mac(f"{system}+birthDate|{normalise_identifier(system, value)}|{birth_date.strip()}")

    def derive(self, context: str) -> KeyedPseudonymiser:
        return KeyedPseudonymiser(hmac.new(self._key, f"derive|{context}".encode(), hashlib.sha256).digest())
