"""SFTP polling against an in-process asyncssh peer: each complete file is stored once, then acknowledged."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from sqlalchemy import Engine, func, select

from gateway.errors import FatalError, RetriableError
from gateway.pipeline.intake import Envelope, receive
from gateway.pipeline.leases import acquire_lease
from gateway.store.engine import make_engine, upgrade
from gateway.store.payloads import read_payload
from gateway.store.tables import exchanges, polled_files
from gateway.transports.sftp import PollReport, SftpPoller, UnknownHostKeyError
from gateway.transports.sftp.poller import message_id
from tests.peers.sftp_server import SftpServer, sftp_endpoint

DSN = b"S10.G00.00.001,'Logiciel test'\nS10.G00.00.006,'01'\nS90.G00.90.001,'3'\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SftpServer]:
    (tmp_path / "root" / "incoming").mkdir(parents=True)
    peer = SftpServer(tmp_path / "root", tmp_path).start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path}/store.db"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def poller(engine: Engine, server: SftpServer, holder: str = "node-a", **options: Any) -> SftpPoller:
    settings = {"directory": "/incoming", "min_age_seconds": 60, **options}
    return SftpPoller(engine, sftp_endpoint("dsn-in", "in", server.options(**settings)), holder=holder)


def drop(server: SftpServer, name: str, body: bytes = DSN, age: float = 3600) -> Path:
    path = server.root / "incoming" / name
    path.write_bytes(body)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def stored(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(exchanges).order_by(exchanges.c.received_at)))


def test_a_complete_file_is_taken_once_then_moved_to_the_processed_folder(
    engine: Engine, server: SftpServer
) -> None:
    drop(server, "dsn-2024-01.dsn")
    node = poller(engine, server)

    first = node.poll_once()
    again = node.poll_once()

    assert first.taken == ["/incoming/dsn-2024-01.dsn"]
    assert again == PollReport()
    rows = stored(engine)
    assert len(rows) == 1
    assert (read_payload(engine, rows[0].id), rows[0].transport, rows[0].source_name) == (
        DSN,
        "sftp",
        "/incoming/dsn-2024-01.dsn",
    )
    assert not (server.root / "incoming" / "dsn-2024-01.dsn").exists()
    assert (server.root / "incoming" / "processed" / "dsn-2024-01.dsn").read_bytes() == DSN


def test_a_file_younger_than_the_minimum_age_is_not_taken(engine: Engine, server: SftpServer) -> None:
    path = drop(server, "young.dsn", age=0)
    node = poller(engine, server, min_age_seconds=600)

    report = node.poll_once()

    assert report.not_ready == ["/incoming/young.dsn"] and report.taken == []
    assert stored(engine) == [] and path.exists()
    os.utime(path, (time.time() - 601, time.time() - 601))
    assert node.poll_once().taken == ["/incoming/young.dsn"]


def test_with_a_done_marker_a_file_is_taken_only_once_its_marker_exists(
    engine: Engine, server: SftpServer
) -> None:
    drop(server, "big.dsn")  # old enough, but the partner has not written the marker yet
    node = poller(engine, server, done_marker=True)

    assert node.poll_once().not_ready == ["/incoming/big.dsn"]
    (server.root / "incoming" / "big.dsn.done").write_bytes(b"")
    report = node.poll_once()

    assert report.taken == ["/incoming/big.dsn"]
    assert len(stored(engine)) == 1
    assert sorted(p.name for p in (server.root / "incoming").iterdir()) == ["processed"]


def test_a_restarted_poller_does_not_take_a_file_left_in_place_again(
    engine: Engine, server: SftpServer
) -> None:
    drop(server, "left.dsn")
    before = poller(engine, server, after="leave")
    assert before.poll_once().taken == ["/incoming/left.dsn"]
    before.close()

    after_restart = poller(engine, server, holder="node-a-restarted", after="leave").poll_once()

    assert after_restart.taken == [] and after_restart.already_taken == ["/incoming/left.dsn"]
    assert len(stored(engine)) == 1
    assert (server.root / "incoming" / "left.dsn").exists()


def test_a_file_rewritten_in_place_with_new_content_is_a_new_file(engine: Engine, server: SftpServer) -> None:
    drop(server, "monthly.dsn")
    node = poller(engine, server, after="leave")
    node.poll_once()

    drop(server, "monthly.dsn", DSN + b"S90.G00.90.002,'1'\n", age=1800)
    report = node.poll_once()

    assert report.taken == ["/incoming/monthly.dsn"]
    assert [row.size for row in stored(engine)] == [len(DSN), len(DSN) + 19]


def test_two_nodes_polling_at_once_take_each_file_once_in_total(engine: Engine, server: SftpServer) -> None:
    names = [f"f{n}.dsn" for n in range(5)]
    for n, name in enumerate(names):
        drop(server, name, DSN + str(n).encode())
    nodes = [poller(engine, server, holder="node-a"), poller(engine, server, holder="node-b")]
    start = threading.Barrier(2)
    reports: dict[str, PollReport] = {}

    def poll(node: SftpPoller) -> None:
        start.wait(timeout=10)
        reports[node.holder] = node.poll_once()

    threads = [threading.Thread(target=poll, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(reports) == 2, "a polling thread did not finish"

    assert sorted(path for r in reports.values() for path in r.taken) == [f"/incoming/{n}" for n in names]
    assert [r.lease_elsewhere for r in reports.values()].count(True) == 1
    assert len(stored(engine)) == 5


def test_the_other_node_takes_over_after_release_and_does_not_take_again(
    engine: Engine, server: SftpServer
) -> None:
    drop(server, "shared.dsn")
    node_a, node_b = poller(engine, server, after="leave"), poller(engine, server, "node-b", after="leave")
    assert node_a.poll_once().taken == ["/incoming/shared.dsn"]
    assert node_b.poll_once().lease_elsewhere

    node_a.close()
    report = node_b.poll_once()

    assert not report.lease_elsewhere and report.already_taken == ["/incoming/shared.dsn"]
    assert len(stored(engine)) == 1


def test_a_lease_held_by_another_node_means_no_poll(engine: Engine, server: SftpServer) -> None:
    drop(server, "waiting.dsn")
    assert acquire_lease(engine, "poll:dsn-in", "node-z", ttl=60)

    report = poller(engine, server).poll_once()

    assert report.lease_elsewhere and stored(engine) == []


def test_stored_but_not_acknowledged_before_a_crash_is_acknowledged_not_taken_again(
    engine: Engine, server: SftpServer
) -> None:
    drop(server, "crash.dsn")
    crashed = poller(engine, server, after="leave")
    crashed.poll_once()  # stored and remembered; the node "crashes" before moving the file
    crashed.close()

    report = poller(engine, server, holder="node-b", after="delete").poll_once()

    assert report.taken == [] and report.already_taken == ["/incoming/crash.dsn"]
    assert not (server.root / "incoming" / "crash.dsn").exists()
    assert len(stored(engine)) == 1


def test_received_but_not_remembered_before_a_crash_is_recognised_as_the_same_exchange(
    engine: Engine, server: SftpServer
) -> None:
    drop(server, "half.dsn")

    envelope = Envelope(
        "dsn-in",
        "urssaf",
        "sftp",
        DSN,
        message_id=message_id("/incoming/half.dsn", hashlib.sha256(DSN).hexdigest()),
    )
    earlier = receive(engine, envelope)

    report = poller(engine, server).poll_once()

    assert report.taken == [] and report.already_taken == ["/incoming/half.dsn"]
    with engine.connect() as connection:
        memory = connection.execute(select(polled_files)).one()
    assert memory.exchange_id == earlier.exchange_id and len(stored(engine)) == 1


def test_a_file_over_the_size_limit_is_left_and_reported(engine: Engine, server: SftpServer) -> None:
    path = drop(server, "huge.dsn")

    report = poller(engine, server, max_bytes=10).poll_once()

    assert report.too_large == ["/incoming/huge.dsn"]
    assert stored(engine) == [] and path.exists()


def test_a_processed_name_already_used_keeps_both_files(engine: Engine, server: SftpServer) -> None:
    node = poller(engine, server)
    drop(server, "daily.dsn")
    node.poll_once()
    drop(server, "daily.dsn", DSN + b"\n")
    node.poll_once()

    processed = sorted(p.name for p in (server.root / "incoming" / "processed").iterdir())
    assert len(processed) == 2 and processed[0].startswith("daily.") and "daily.dsn" in processed


def test_a_wrong_host_key_is_refused_naming_the_host(engine: Engine, server: SftpServer) -> None:
    drop(server, "x.dsn")
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    node = poller(engine, server, known_hosts=[f"[127.0.0.1]:{server.port} {impostor}"])

    with pytest.raises(FatalError, match=rf"\[127\.0\.0\.1\]:{server.port}.*different"):
        node.poll_once()
    assert stored(engine) == []


def test_an_unpinned_host_is_refused(engine: Engine, server: SftpServer) -> None:
    other_host = server.known_hosts_line.replace("[127.0.0.1]", "[sftp.example.org]")
    node = poller(engine, server, known_hosts=[other_host])

    with pytest.raises(UnknownHostKeyError, match=rf"\[127\.0\.0\.1\]:{server.port}.*not in known_hosts"):
        node.poll_once()


def test_a_refused_client_key_is_fatal(engine: Engine, server: SftpServer, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger_key"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))

    with pytest.raises(FatalError, match="authentication refused"):
        poller(engine, server, private_key_file=str(stranger)).poll_once()


def test_connection_refused_is_retriable(engine: Engine, server: SftpServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    node = poller(engine, server, port=closed_port)

    with pytest.raises(RetriableError, match="connection refused"):
        node.poll_once()


def test_the_private_key_can_come_from_an_environment_variable(
    engine: Engine, server: SftpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(server, "env.dsn")
    monkeypatch.setenv("TEST_SFTP_KEY", server.client_key_file.read_text())

    report = poller(engine, server, private_key_file=None, private_key_env="TEST_SFTP_KEY").poll_once()

    assert report.taken == ["/incoming/env.dsn"]


def test_one_connection_per_poll_cycle(engine: Engine, server: SftpServer) -> None:
    for n in range(3):
        drop(server, f"c{n}.dsn", DSN + bytes([65 + n]))

    poller(engine, server).poll_once()

    assert server.connections == 1
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(polled_files)).scalar_one() == 3
