"""The SIGKILL scenario on the real PostgreSQL server."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.conftest import require_service
from tests.peer.test_worker_sigkill import run_sigkill_scenario
from tests.pg import temporary_database


def test_worker_killed_mid_batch_postgres(tmp_path: Path) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with temporary_database(f"gw_kill_{uuid.uuid4().hex[:8]}") as url:
        run_sigkill_scenario(tmp_path, url)
