"""A fake France Travail partner API on loopback (http.server, one thread per request).

It checks what the real one checks, as far as public clients document it: OAuth2 client credentials on
the token endpoint with ``realm=/partenaire`` and the requested scopes; a Bearer token carrying the scope
of the API called; the agent headers (``pa-identifiant-agent``, ``pa-nom-agent``, ``pa-prenom-agent``);
the ``ft-jeton-usager`` header issued by rechercher-usager. Data answers follow the payloads of
``shared/domain-data/carnet-de-bord/france-travail/`` (diagnostic argumenté dossier individu).
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PREFIX = "/partenaire"
SCOPE_OF_PATH = {
    "/rechercher-usager/": "api_rechercher-usagerv2",
    "/diagnosticargumente/": "api_diagnosticargumentev1",
    "/orientation/": "api_orientationv1",
    "/rendez-vous-partenaire/": "api_rendez-vous-partenairev1",
}
AGENT_HEADERS = ("pa-identifiant-agent", "pa-nom-agent", "pa-prenom-agent")


@dataclass
class Usager:
    nir13: str
    birth_date: str
    france_travail_id: str


@dataclass
class FranceTravailFake:
    diagnostic_file: Path
    client_id: str = "gateway-client"
    client_secret: str = "gateway-secret"
    realm: str = "/partenaire"
    usagers: list[Usager] = field(default_factory=list)
    ambiguous_nirs: set[str] = field(default_factory=set)
    forbidden_nirs: set[str] = field(default_factory=set)
    """rechercher-usager answers 403 with codeRetour R001 for these."""
    fail_status: int | None = None
    """When set, every API call (not the token endpoint) answers this status."""
    tokens: dict[str, set[str]] = field(default_factory=dict)
    tokens_issued: int = 0
    jetons: dict[str, str] = field(default_factory=dict)
    """jeton → France Travail number."""
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    """(method, path, status) of every API call."""
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/connexion/oauth2/access_token"

    def revoke_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def start(self) -> FranceTravailFake:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- behaviour ------------------------------------------------------------------------------------

    def issue_token(
        self, query: dict[str, list[str]], form: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        if query.get("realm") != [self.realm]:
            return 400, {"error": "invalid_realm"}
        if (
            form.get("grant_type") != ["client_credentials"]
            or form.get("client_id") != [self.client_id]
            or form.get("client_secret") != [self.client_secret]
        ):
            return 401, {"error": "invalid_client"}
        token = "tok-" + secrets.token_hex(8)
        with self._lock:
            self.tokens[token] = set(" ".join(form.get("scope", [""])).split())
            self.tokens_issued += 1
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 1499,
            "scope": form.get("scope"),
        }

    def api(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        if self.fail_status is not None:
            return self.fail_status, {"message": "indisponible"}
        authorization = headers.get("Authorization", "")
        scopes = self.tokens.get(authorization.removeprefix("Bearer "))
        if scopes is None:
            return 401, {"message": "token invalide"}
        needed = next((scope for prefix, scope in SCOPE_OF_PATH.items() if path.startswith(prefix)), None)
        if needed is None:
            return 404, {"message": "inconnu"}
        if needed not in scopes:
            return 403, {"message": "scope manquant"}
        if any(not headers.get(name) for name in AGENT_HEADERS):
            return 400, {"codeRetour": "R997", "message": "en-têtes agent manquants"}
        if path.startswith("/rechercher-usager/"):
            return self._rechercher(path, json.loads(body or b"{}"))
        if headers.get("ft-jeton-usager") not in self.jetons:
            return 401, {"message": "jeton usager invalide"}
        if path.startswith("/diagnosticargumente/") and method == "GET":
            return 200, json.loads(self.diagnostic_file.read_text(encoding="utf-8"))
        if method == "POST":
            echoed = json.loads(body or b"{}")
            return 201, echoed
        return 405, {"message": "méthode"}

    def _rechercher(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path.endswith("par-datenaissance-et-nir"):
            nir13 = str(body.get("nir", ""))[:13]
            if not nir13 or not body.get("dateNaissance"):
                return 400, {"codeRetour": "R997", "message": "Une erreur de validation s'est produite"}
            if nir13 in self.forbidden_nirs:
                return 403, {"codeRetour": "R001", "message": "Accès non autorisé", "jetonUsager": None}
            if nir13 in self.ambiguous_nirs:
                return 200, {
                    "codeRetour": "S003",
                    "message": "Plusieurs usagers trouvés",
                    "jetonUsager": None,
                }
            found = [u for u in self.usagers if u.nir13 == nir13 and u.birth_date == body["dateNaissance"]]
        else:
            found = [u for u in self.usagers if u.france_travail_id == body.get("numeroFranceTravail")]
        if not found:
            return 200, {"codeRetour": "S002", "message": "Aucun approchant trouvé", "jetonUsager": None}
        jeton = "jeton-" + secrets.token_urlsafe(24)
        with self._lock:
            self.jetons[jeton] = found[0].france_travail_id
        return 200, {
            "codeRetour": "S001",
            "message": "Approchant trouvé",
            "jetonUsager": jeton,
            "topIdentiteCertifiee": "O",
        }


def _handler(fake: FranceTravailFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            return

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def _dispatch(self, method: str) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if parts.path == "/connexion/oauth2/access_token" and method == "POST":
                status, answer = fake.issue_token(parse_qs(parts.query), parse_qs(body.decode()))
            elif parts.path.startswith(PREFIX + "/"):
                status, answer = fake.api(method, parts.path[len(PREFIX) :], self.headers, body)
                fake.calls.append((method, parts.path[len(PREFIX) :], status))
            else:
                status, answer = 404, {"message": "inconnu"}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
