"""SIRET check: the Luhn key INSEE uses, with La Poste's documented exception."""

from __future__ import annotations

LA_POSTE_SIREN = "356000000"
"""La Poste's establishments share one SIREN; their SIRET satisfies "sum of digits divisible by 5"."""


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_valid_siret(siret: str) -> bool:
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith(LA_POSTE_SIREN):
        return luhn_ok(siret) or sum(int(char) for char in siret) % 5 == 0
    return luhn_ok(siret)
