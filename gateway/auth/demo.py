"""Demo credentials: accounts flagged ``demo: true`` get fresh secrets at each ``gateway demo`` start.

The secrets live in memory only (the clients file keeps no usable hash for them) and are printed once on
stdout for the person starting the demo, never written to the logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from gateway.auth.clients import ClientDirectory
from gateway.auth.secrets import hash_secret, new_api_key, new_password


@dataclass(frozen=True)
class DemoCredential:
    kind: str
    """``user`` (console login) or ``client`` (API key)."""
    name: str
    role: str
    party: str | None
    secret: str


def issue_demo_credentials(directory: ClientDirectory) -> list[DemoCredential]:
    issued: list[DemoCredential] = []
    for user in directory.users():
        if user.demo and not user.revoked:
            password = new_password()
            directory.override_user_secret(user.username, hash_secret(password))
            issued.append(DemoCredential("user", user.username, user.role.value, None, password))
    for client in directory.clients():
        if client.demo and not client.revoked:
            key = new_api_key(client.id)
            directory.override_client_secret(client.id, hash_secret(key))
            issued.append(DemoCredential("client", client.id, client.role.value, client.party, key))
    return issued


def print_credentials(credentials: list[DemoCredential], base_url: str, stream: TextIO) -> None:
    """Write the credentials for the operator of the demo (stdout, never the log)."""
    lines = [
        "",
        "=== Démo : identifiants valables jusqu'à l'arrêt du processus (jamais écrits dans les journaux) ===",
        f"Console : {base_url}/console/   API : {base_url}/docs",
    ]
    for credential in credentials:
        if credential.kind == "user":
            lines.append(
                f"  console  {credential.role:<9} identifiant={credential.name}"
                f"  mot de passe={credential.secret}"
            )
        else:
            lines.append(
                f"  API      {credential.party or credential.role:<9} X-API-Key: {credential.secret}"
            )
    lines.append("")
    stream.write("\n".join(lines) + "\n")
    stream.flush()
