"""France Travail partner API client (OAuth2 realm /partenaire, jeton usager, diagnostic, orientation,
rendez-vous partenaire). See gateway/transports/france_travail/README.md."""

from __future__ import annotations

from gateway.transports.france_travail.client import FranceTravailClient
from gateway.transports.france_travail.config import AgentIdentity, FranceTravailConfig
from gateway.transports.france_travail.identity import IdentityQuery, Resolution, ResolutionOutcome
from gateway.transports.france_travail.jeton import JetonCache, UsagerHandle

__all__ = [
    "AgentIdentity",
    "FranceTravailClient",
    "FranceTravailConfig",
    "IdentityQuery",
    "JetonCache",
    "Resolution",
    "ResolutionOutcome",
    "UsagerHandle",
]
