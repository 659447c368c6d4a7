"""Who to look up at France Travail, and what rechercher-usager answered.

``codeRetour`` values (from public clients of rechercher-usager v2 — **to confirm against the FT docs**):

======  ==========================================  =================================
code    meaning (as understood)                     gateway outcome
======  ==========================================  =================================
S001    usager trouvé ("approchant trouvé")         FOUND (+ ``topIdentiteCertifiee``)
S002    aucun usager trouvé                         NOT_FOUND (a result, not an error)
S003    plusieurs usagers / données insuffisantes   AMBIGUOUS (a result, not an error)
R001    requête refusée (invalide / non autorisée)  FatalError
R997    erreur de validation de la requête          FatalError
R998    un service FT a répondu en erreur           RetriableError
R999    service indisponible                        RetriableError
other   —                                           FatalError
======  ==========================================  =================================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.transports.france_travail.jeton import UsagerHandle


class ResolutionOutcome(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not-found"
    AMBIGUOUS = "ambiguous"


OUTCOMES = {
    "S001": ResolutionOutcome.FOUND,
    "S002": ResolutionOutcome.NOT_FOUND,
    "S003": ResolutionOutcome.AMBIGUOUS,
}
RETRIABLE_CODES = frozenset({"R998", "R999"})


@dataclass(frozen=True, slots=True, repr=False)
class IdentityQuery:
    """NIR + birth date (``YYYY-MM-DD``), or a France Travail number. Its repr shows no value."""

    nir: str | None = None
    birth_date: str | None = None
    france_travail_id: str | None = None
    """Also used, when known, as the ``individu`` the FT mappings attach the data to."""

    def __post_init__(self) -> None:
        if not ((self.nir and self.birth_date) or self.france_travail_id):
            raise ValueError("IdentityQuery needs a NIR and a birth date, or a France Travail number")

    def __repr__(self) -> str:
        kind = "nir+birth_date" if self.nir else "france_travail_id"
        return f"IdentityQuery({kind}, ***)"

    @property
    def by_nir(self) -> bool:
        return bool(self.nir and self.birth_date)

    def cache_parts(self) -> tuple[str, ...]:
        if self.by_nir:
            return ("nir", (self.nir or "")[:13], self.birth_date or "")
        return ("ft", self.france_travail_id or "")

    def body(self) -> dict[str, str]:
        if self.by_nir:
            return {"nir": self.nir or "", "dateNaissance": self.birth_date or ""}
        return {"numeroFranceTravail": self.france_travail_id or ""}

    def context(self) -> dict[str, str]:
        return {"individu": self.france_travail_id} if self.france_travail_id else {}


@dataclass(frozen=True, slots=True)
class Resolution:
    outcome: ResolutionOutcome
    code: str
    certified: bool | None
    """``topIdentiteCertifiee`` == "O" (identity certified by France Travail); None when not found."""
    handle: UsagerHandle | None
    """Only for FOUND: pass it to the data calls."""
