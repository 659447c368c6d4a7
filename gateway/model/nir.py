"""NIR (numéro d'inscription au répertoire, "numéro de sécurité sociale"): key computation and checks.

The key is ``97 - (N mod 97)`` where N is the 13-character NIR read as a number, Corsica's département
codes being replaced first (``2A`` -> ``19``, ``2B`` -> ``18``). Functions never echo the NIR in errors.
"""

from __future__ import annotations

import re

_NIR13 = re.compile(r"^[0-9]{5}(?:[0-9]{2}|2[AB])[0-9]{6}$")
_NIR15 = re.compile(r"^([0-9]{5}(?:[0-9]{2}|2[AB])[0-9]{6})([0-9]{2})$")
_CORSICA = {"2A": "19", "2B": "18"}


def _numeric(nir13: str) -> int:
    department = nir13[5:7]
    return int(nir13[:5] + _CORSICA.get(department, department) + nir13[7:])


def nir_key(nir13: str) -> str:
    """Two-digit key of a 13-character NIR. ValueError (without the value) if it is not one."""
    nir13 = nir13.upper()
    if not _NIR13.match(nir13):
        raise ValueError("not a 13-character NIR (digits, département 2A/2B allowed)")
    return f"{97 - _numeric(nir13) % 97:02d}"


def complete_nir(nir13: str) -> str:
    """The 15-character NIR: the 13 characters (upper-cased) followed by their key."""
    return nir13.upper() + nir_key(nir13)


def is_valid_nir(nir15: str) -> bool:
    """True if ``nir15`` has the NIR shape and its last two digits are the right key."""
    match = _NIR15.match(nir15)
    if match is None:
        return False
    return nir_key(match.group(1)) == match.group(2)
