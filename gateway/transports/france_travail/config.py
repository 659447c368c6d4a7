"""Configuration of the France Travail partner API client (documented in this folder's README.md).

Paths, scopes and the realm follow what public clients of these APIs use (itou, rdv-insertion, webrsa,
carnet-de-bord); they are settings because France Travail versions its APIs (v1 → v2 …) — **to confirm
against the francetravail.io catalogue for each convention**.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import ConfigurationError

APIS = ("rechercher_usager", "diagnostic", "orientation", "rendez_vous")

DEFAULT_PATHS: dict[str, str] = {
    "rechercher_usager_nir": "/rechercher-usager/v2/usagers/par-datenaissance-et-nir",
    "rechercher_usager_numero": "/rechercher-usager/v2/usagers/par-numero-francetravail",
    "diagnostic": "/diagnosticargumente/v1/individus/dossier",
    "orientation": "/orientation/v1/orientations",
    "rendez_vous": "/rendez-vous-partenaire/v1/rendez-vous",
}
DEFAULT_SCOPES: dict[str, str] = {
    "rechercher_usager": "api_rechercher-usagerv2 rechercheusager profil_accedant",
    "diagnostic": "api_diagnosticargumentev1 h2a",
    "orientation": "api_orientationv1",
    "rendez_vous": "api_rendez-vous-partenairev1",
}
DEFAULT_MAPPINGS: dict[str, str] = {
    "rechercher_usager": "france-travail-rechercher-usager",
    "diagnostic": "france-travail-diagnostic-api",
    "orientation": "france-travail-orientation-api",
    "rendez_vous": "france-travail-rdv-partenaire-api",
}


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """Who asks, sent as ``pa-identifiant-agent`` / ``pa-nom-agent`` / ``pa-prenom-agent`` (never logged)."""

    identifiant: str
    nom: str
    prenom: str

    def __repr__(self) -> str:
        return "AgentIdentity(***)"

    def headers(self) -> dict[str, str]:
        return {
            "pa-identifiant-agent": self.identifiant,
            "pa-nom-agent": self.nom,
            "pa-prenom-agent": self.prenom,
        }


@dataclass(frozen=True)
class FranceTravailConfig:
    base_url: str
    """E.g. ``https://api.francetravail.io/partenaire`` (no trailing slash)."""
    token_url: str
    """E.g. ``https://entreprise.francetravail.fr/connexion/oauth2/access_token``."""
    client_id: str
    client_secret: str = field(repr=False)
    agent: AgentIdentity
    realm: str = "/partenaire"
    scopes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SCOPES))
    paths: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PATHS))
    mappings: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MAPPINGS))
    timeout: float = 30.0
    verify: bool | str = True
    jeton_ttl_seconds: float = 600.0
    """How long a jeton usager is reused for the same person (in memory only); 0 = one resolution per call."""

    def url(self, path_key: str) -> str:
        return self.base_url.rstrip("/") + self.paths[path_key]

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any], client_secret: str) -> FranceTravailConfig:
        """Build from endpoint options (``transport: {type: api, options: {...}}``)."""
        known = {
            "base_url",
            "token_url",
            "client_id",
            "client_secret",
            "client_secret_env",
            "agent",
            "realm",
            "scopes",
            "paths",
            "mappings",
            "timeout",
            "verify",
            "jeton_ttl_seconds",
        }
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigurationError(
                f"endpoint {name}: unknown France Travail option(s): {', '.join(unknown)}"
            )
        try:
            agent = options["agent"]
            return cls(
                base_url=str(options["base_url"]),
                token_url=str(options["token_url"]),
                client_id=str(options["client_id"]),
                client_secret=client_secret,
                agent=AgentIdentity(str(agent["identifiant"]), str(agent["nom"]), str(agent["prenom"])),
                realm=str(options.get("realm", "/partenaire")),
                scopes={**DEFAULT_SCOPES, **dict(options.get("scopes", {}))},
                paths={**DEFAULT_PATHS, **dict(options.get("paths", {}))},
                mappings={**DEFAULT_MAPPINGS, **dict(options.get("mappings", {}))},
                timeout=float(options.get("timeout", 30)),
                verify=options.get("verify", True),
                jeton_ttl_seconds=float(options.get("jeton_ttl_seconds", 600)),
            )
        except KeyError as exc:
            raise ConfigurationError(
                f"endpoint {name}: France Travail option {exc.args[0]!r} is required"
            ) from None
