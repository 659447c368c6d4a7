"""Shared test fixtures: where the domain data lives, and how tests reach real servers.

- ``domain_data``: the real public files of ``../shared/domain-data``. Tests that need them skip with a
  clear reason when that folder is absent (a clone without ``shared/`` beside it).
- ``require_service(name, host, port)``: interop tests need real servers. Outside CI an absent server
  skips the test with the reason; with ``CI=true`` the test fails instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DOMAIN_DATA = PROJECT_ROOT.parent / "shared" / "domain-data"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def domain_data() -> Path:
    """Path of ``../shared/domain-data``; skips the test (with the reason) when it is absent."""
    if not DOMAIN_DATA.is_dir():
        pytest.skip(f"domain data absent: {DOMAIN_DATA} not found (clone ../shared beside the project)")
    return DOMAIN_DATA


def service_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (outside CI) or fail (CI=true) when a real server the test needs is not listening."""
    if service_reachable(host, port):
        return
    message = f"{name} not reachable on {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: interop tests must run)")
    pytest.skip(message)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/unit, tests/peer, tests/interop get their marker from their folder."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for marker in ("unit", "peer", "interop"):
            if marker in parts:
                item.add_marker(getattr(pytest.mark, marker))
