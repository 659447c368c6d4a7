"""The console in a real browser (Debian's Chromium driven by Playwright) against the real app served by
uvicorn: log in, see the dashboard, replay a dead letter until the receiver has it, search a person and
download the CSV export. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.api.app import create_app
from tests.api_support import PASSWORDS, ApiEnv, ServerThread, api_env
from tests.conftest import IN_CI, PROJECT_ROOT
from tests.peers.http_receiver import Receiver

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require_browser() -> Any:
    """The Playwright module; skip (or fail under CI=true) when it or Chromium is missing."""
    try:
        from playwright import sync_api
    except ImportError:
        sync_api = None
    missing = "playwright (pip)" if sync_api is None else (None if CHROMIUM.exists() else str(CHROMIUM))
    if missing:
        message = f"{missing} not available"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: interop tests must run)")
        pytest.skip(message)
    return sync_api


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    peer = Receiver().start()
    yield peer
    peer.stop()


@pytest.fixture
def served(tmp_path: Path, receiver: Receiver) -> Iterator[tuple[ApiEnv, str]]:
    env = api_env(tmp_path, receiver.url)
    stop = threading.Event()

    def deliver() -> None:  # the delivery worker, limited to the HTTP endpoint of this test
        worker = env.gateway.worker("browser-test")
        while not stop.is_set():
            if worker.run_once(endpoints=["sftp-cd26-insertion"]).claimed == 0:
                stop.wait(0.1)

    thread = threading.Thread(target=deliver, daemon=True)
    thread.start()
    with ServerThread(create_app(env.settings, env.gateway.engine, env.gateway)) as server:
        yield env, server.url
    stop.set()
    thread.join(timeout=5)


def _wait_for(condition: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _login(page: Any, base: str, user: str) -> None:
    page.goto(f"{base}/console/")
    page.get_by_label("Identifiant").fill(user)
    page.get_by_label("Mot de passe").fill(PASSWORDS[user])
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("heading", level=1).wait_for()


def test_operator_and_dpo_journeys(served: tuple[ApiEnv, str], receiver: Receiver) -> None:
    sync_api = _require_browser()
    env, base = served
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_context(accept_downloads=True, locale="fr-FR").new_page()
            _login(page, base, "operateur")
            assert page.get_by_role("heading", level=1).inner_text() == "Tableau de bord"
            assert page.get_by_role("navigation", name="Navigation principale").is_visible()
            page.screenshot(path=str(ARTIFACTS / "console-tableau-de-bord.png"), full_page=True)

            page.get_by_role("link", name="Messages en échec").first.click()
            page.get_by_role("button", name="Relancer").first.click()
            assert "Relance acceptée" in page.get_by_role("status").inner_text()
            _wait_for(lambda: len(receiver.accepted) == 1)
            page.screenshot(path=str(ARTIFACTS / "console-relance.png"), full_page=True)
            page.get_by_role("button", name="Se déconnecter").click()

            _login(page, base, "dpo")
            page.get_by_role("link", name="Espace DPO").click()
            page.get_by_label("NIR (13 ou 15 caractères)").fill(env.seeded.nir)
            page.get_by_label("Date de naissance").fill(env.seeded.birth_date)
            page.get_by_role("button", name="Rechercher").click()
            assert "plie-lille-ft" in page.get_by_role("table").inner_text()
            page.screenshot(path=str(ARTIFACTS / "console-dpo-historique.png"), full_page=True)
            with page.expect_download() as download_info:
                page.get_by_role("button", name="Télécharger l'historique (CSV)").click()
            exported = Path(download_info.value.path()).read_text(encoding="utf-8")
            page.get_by_role("button", name="Vérifier la chaîne").click()
            assert "Chaîne intègre" in page.get_by_role("status").inner_text()
        finally:
            browser.close()
    assert env.seeded.plie_exchange in exported and env.seeded.ft_exchange in exported
    assert "replay" in exported  # the replayed delivery is in the person's history
    assert env.seeded.nir not in exported and env.seeded.nir[:13] not in exported
