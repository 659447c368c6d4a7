"""A delivery worker killed with SIGKILL in the middle of a batch: after a restart every record is
delivered exactly once at the receiver (leases expire; the receiver deduplicates on the key)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

from sqlalchemy import func, select

from gateway.pipeline.intake import Envelope, receive
from gateway.store.tables import outbox
from tests.peers.http_receiver import Receiver
from tests.pipeline_support import AT, make_gateway, plie_file


def _deliver_forever(tmp: str, url: str, database_url: str) -> None:
    gateway = make_gateway(Path(tmp), url, database_url, delivery_lease_seconds=1.0)
    worker = gateway.worker(name="doomed")
    while True:
        worker.run_once(limit=500)


def run_sigkill_scenario(tmp_path: Path, database_url: str = "") -> None:
    receiver = Receiver().start()
    receiver.mode, receiver.slow_seconds = "slow", 0.05
    try:
        gateway = make_gateway(tmp_path, receiver.url, database_url, delivery_lease_seconds=1.0)
        receipt = receive(gateway.engine, Envelope("plie-in", "plie-mel", "test", plie_file(25, seed=9)))
        gateway.processor.process(receipt.exchange_id, at=AT)
        with gateway.engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(outbox)).scalar_one()
        assert total > 10

        process = multiprocessing.get_context("spawn").Process(
            target=_deliver_forever, args=(str(tmp_path), receiver.url, database_url)
        )
        process.start()
        deadline = time.monotonic() + 60
        while len(receiver.accepted) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(receiver.accepted) >= 5, "the worker never started delivering"
        os.kill(process.pid, signal.SIGKILL)  # mid-batch: items in flight stay leased to a dead worker
        process.join(10)
        assert len(receiver.accepted) < total, "the worker finished before it could be killed"

        receiver.mode = "ok"
        worker = gateway.worker(name="restarted")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            worker.run_once(limit=500)
            counts = gateway.outbox.counts()
            if counts.get("delivered") == total:
                break
            time.sleep(0.2)  # expired leases are taken again after 1 s
        assert gateway.outbox.counts() == {"delivered": total}
        assert len(receiver.accepted) == total, "every record reached the receiver, none twice"
        gateway.engine.dispose()
    finally:
        receiver.stop()


def test_worker_killed_mid_batch_sqlite(tmp_path: Path) -> None:
    run_sigkill_scenario(tmp_path)
