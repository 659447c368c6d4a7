"""Identifier systems of the canonical model: one URI per identifier scheme.

Every `identifier[]` entry of a canonical resource is `{"system": <one of these>, "value": "..."}`.
Systems parameterised by an organisation (a département's own number, a PLIE's participant id) end with
the organisation code: use the helper functions so that every adapter spells them the same way.
"""

from __future__ import annotations

NIR = "urn:fr:insee:nir"
"""Numéro d'inscription au répertoire (15 characters with the key; 13 without is normalised to 15)."""
FRANCE_TRAVAIL_ID = "urn:fr:francetravail:identifiant"
"""Identifiant France Travail (ex-Pôle emploi) of a job seeker, e.g. 8 chars + key."""
FRANCE_TRAVAIL_IDRCI = "urn:fr:francetravail:idrci"
"""Identifiant national (IDRCI / identifiant_unique_de) used in France Travail extractions."""
CAF_MATRICULE = "urn:fr:cnaf:matricule"
CAF_NUMERO_DEMANDE_RSA = "urn:fr:cnaf:numero-demande-rsa"
"""Numéro de demande RSA (CAF flux NUMDEMRSA, webrsa numero_demande_rsa): identifies a BenefitRight."""
"""Numéro allocataire CAF (matricule), identifies a foyer (Household) at a given CAF."""
MSA_MATRICULE = "urn:fr:msa:matricule"
SIRET = "urn:fr:insee:siret"
SIREN = "urn:fr:insee:siren"
DSN_INDIVIDU = "urn:fr:dsn:matricule-salarie"
DATA_INCLUSION = "urn:fr:data-inclusion:id"
RDV_INSERTION = "urn:fr:rdv-insertion:id"
NL_BSN = "urn:nl:bsn"
"""Dutch burgerservicenummer (Suwinet SOAP peer used as a legacy-SOAP example)."""

SENSITIVE_IDENTIFIERS = frozenset({NIR})
"""Identifiers that may only travel where a convention flow sets `nir_allowed`."""

PERSONAL_IDENTIFIERS = frozenset(
    {
        NIR,
        FRANCE_TRAVAIL_ID,
        FRANCE_TRAVAIL_IDRCI,
        CAF_MATRICULE,
        MSA_MATRICULE,
        DSN_INDIVIDU,
        RDV_INSERTION,
        NL_BSN,
    }
)
"""Identifiers that point at a natural person or a foyer: pseudonymised in the audit log."""


def departement_id(code: str) -> str:
    """Identifier system of a département's own beneficiary number (e.g. IODAS, Solis, webrsa id)."""
    return f"urn:fr:departement:{code.lower()}:id"


def plie_id(siret: str) -> str:
    """Identifier system of a PLIE's participant number, keyed by the PLIE's SIRET."""
    return f"urn:fr:plie:{siret}:participant"


def is_personal(system: str) -> bool:
    """True if identifiers of this system designate a person (so must be pseudonymised in logs)."""
    return (
        system in PERSONAL_IDENTIFIERS
        or system.startswith("urn:fr:departement:")
        or system.startswith("urn:fr:plie:")
    )
