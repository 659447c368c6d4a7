"""Console sessions: login, CSRF on every POST form, roles per page, logout, security headers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.auth import clients as clients_module
from tests.api_support import PASSWORDS, ApiEnv, api_env


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> ApiEnv:
    return api_env(tmp_path_factory.mktemp("console"))


@pytest.fixture
def browser(env: ApiEnv) -> Iterator[TestClient]:
    with TestClient(
        create_app(env.settings, env.gateway.engine, env.gateway), follow_redirects=False
    ) as client:
        yield client


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


def login(client: TestClient, user: str, password: str | None = None) -> str:
    page = client.get("/console/connexion")
    form = {
        "username": user,
        "password": password or PASSWORDS[user],
        "csrf_token": _hidden(page.text, "csrf_token"),
    }
    response = client.post("/console/connexion", data=form)
    assert response.status_code == 303, response.text
    return _hidden(client.get("/console/").text, "csrf_token")


def test_pages_need_a_session(browser: TestClient) -> None:
    response = browser.get("/console/echanges")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/connexion?suite=/console/echanges"


def test_login_refuses_bad_password_and_missing_csrf(browser: TestClient) -> None:
    page = browser.get("/console/connexion")
    assert '<html lang="fr">' in page.text and 'for="username"' in page.text
    bad = {"username": "dpo", "password": "wrong", "csrf_token": _hidden(page.text, "csrf_token")}
    refused = browser.post("/console/connexion", data=bad)
    assert refused.status_code == 401 and "Identifiant ou mot de passe incorrect" in refused.text
    unknown = {"username": "nobody", "password": "wrong", "csrf_token": _hidden(refused.text, "csrf_token")}
    assert "Identifiant ou mot de passe incorrect" in browser.post("/console/connexion", data=unknown).text
    browser.cookies.clear()
    no_csrf = browser.post("/console/connexion", data={"username": "dpo", "password": PASSWORDS["dpo"]})
    assert no_csrf.status_code == 403 and "gw_session" not in no_csrf.cookies


def test_operator_session_csrf_and_logout(env: ApiEnv, browser: TestClient) -> None:
    csrf = login(browser, "operateur")
    dashboard = browser.get("/console/")
    assert dashboard.status_code == 200 and "Tableau de bord" in dashboard.text
    assert "default-src 'self'" in dashboard.headers["content-security-policy"]
    assert dashboard.headers["cache-control"] == "no-store"
    letters = browser.get("/console/messages-en-echec")
    assert env.seeded.dead_letter in letters.text
    forged = browser.post(
        f"/console/messages-en-echec/{env.seeded.dead_letter}/relance", data={"csrf_token": "x"}
    )
    assert forged.status_code == 403
    assert browser.get("/console/dpo").status_code == 403
    assert browser.post("/console/deconnexion", data={"csrf_token": csrf}).status_code == 303
    assert browser.get("/console/").status_code == 303


def test_dpo_sees_dpo_pages_not_operations(env: ApiEnv, browser: TestClient) -> None:
    csrf = login(browser, "dpo")
    assert browser.get("/console/echanges").status_code == 403
    form = {"csrf_token": csrf, "nir": env.seeded.nir, "date_naissance": env.seeded.birth_date}
    result = browser.post("/console/dpo/recherche", data=form)
    assert result.status_code == 200 and "plie-lille-ft" in result.text
    invalid = browser.post("/console/dpo/recherche", data={"csrf_token": csrf, "nir": "12"})
    assert (
        "13 ou 15 caractères" in invalid.text
        and "12" not in re.sub(r"<[^>]+>", "", invalid.text).split("NIR")[0]
    )
    verification = browser.post("/console/dpo/verification", data={"csrf_token": csrf})
    assert "Chaîne intègre" in verification.text


def test_admin_changes_a_convention_status(env: ApiEnv, browser: TestClient) -> None:
    csrf = login(browser, "admin")
    page = browser.get("/console/conventions/data-inclusion-drome")
    assert "Changer le statut" in page.text and "Service.contact_nom_prenom" in page.text
    done = browser.post("/console/conventions/data-inclusion-drome/suspendre", data={"csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"].endswith("resultat=statut-modifie")
    assert env.gateway.registry.convention("data-inclusion-drome").status == "suspended"


def test_revoked_user_loses_the_session(
    env: ApiEnv, browser: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clients_module, "RELOAD_CHECK_SECONDS", 0.0)
    login(browser, "operateur")
    path = env.settings.config_dir / "clients.yaml"
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(
            original.replace("  operateur:\n", "  operateur:\n    revoked: true\n"), encoding="utf-8"
        )
        assert browser.get("/console/").status_code == 303
    finally:
        path.write_text(original, encoding="utf-8")
