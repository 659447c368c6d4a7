"""Fixtures shared by the policy tests: an editable copy of the example conventions, an empty store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.store.engine import make_engine
from gateway.store.tables import metadata

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def editable(tmp_path: Path) -> Path:
    """A copy of conventions/ that a test may edit (suspend, revoke, change a flow)."""
    directory = tmp_path / "conventions"
    shutil.copytree(ROOT / "conventions", directory)
    return directory


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """An empty store with every table (test modules may define their own ``engine``)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    metadata.create_all(engine)
    return engine
