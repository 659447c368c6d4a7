"""SFTP upload against an in-process asyncssh peer: atomic files, retries on one name, classified errors."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from gateway.errors import FatalError, RetriableError
from gateway.transports.base import Delivery
from gateway.transports.factory import build_outbound
from gateway.transports.sftp import OutboundOptions, SftpOut
from gateway.transports.sftp.connection import SftpSession
from tests.peers.sftp_server import SftpServer, sftp_endpoint


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SftpServer]:
    (tmp_path / "root" / "outgoing").mkdir(parents=True)
    (tmp_path / "root" / "readonly").mkdir()
    peer = SftpServer(tmp_path / "root", tmp_path).start()
    try:
        yield peer
    finally:
        peer.stop()


def out(server: SftpServer, **options: Any) -> SftpOut:
    options = {"directory": "/outgoing", **options}
    transport = build_outbound(sftp_endpoint("ft-out", "out", server.options(**options)))
    assert isinstance(transport, SftpOut)
    return transport


def delivery(body: bytes, filename: str = "bundle-42.json") -> Delivery:
    return Delivery(body, "application/json", filename, f"key-{filename}", {})


def test_a_file_is_written_under_a_part_name_then_renamed_atomically(server: SftpServer) -> None:
    sender = out(server)

    receipt = sender.send(delivery(b'{"resourceType":"Bundle"}'))
    sender.close()

    assert receipt == "sftp:/outgoing/bundle-42.json"
    assert server.operations == [
        ("write", "/outgoing/.bundle-42.json.part"),
        ("posix_rename", "/outgoing/.bundle-42.json.part", "/outgoing/bundle-42.json"),
    ]
    assert [p.name for p in (server.root / "outgoing").iterdir()] == ["bundle-42.json"]
    assert (server.root / "outgoing" / "bundle-42.json").read_bytes() == b'{"resourceType":"Bundle"}'


def test_a_concurrent_listing_never_sees_the_final_name_with_partial_content(server: SftpServer) -> None:
    body = bytes(range(256)) * 8 * 1024  # 2 MiB: the upload takes many round trips
    sender = out(server)
    watcher = SftpSession(OutboundOptions.model_validate(server.options(directory="/outgoing")))
    sizes_seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for entry in watcher.sftp.listdir_attr("/outgoing"):
                if entry.filename == "big.json":
                    sizes_seen.add(int(entry.st_size or 0))

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        sender.send(delivery(body, "big.json"))
    finally:
        done.set()
        thread.join(timeout=10)
        watcher.close()
        sender.close()

    assert sizes_seen <= {len(body)}, f"the final name was visible with partial sizes {sorted(sizes_seen)}"
    assert (server.root / "outgoing" / "big.json").read_bytes() == body


def test_a_retried_delivery_overwrites_the_same_name(server: SftpServer) -> None:
    sender = out(server, if_exists="overwrite")

    sender.send(delivery(b"first"))
    sender.send(delivery(b"second"))
    sender.close()

    assert [p.name for p in (server.root / "outgoing").iterdir()] == ["bundle-42.json"]
    assert (server.root / "outgoing" / "bundle-42.json").read_bytes() == b"second"


def test_with_skip_a_file_already_there_is_kept(server: SftpServer) -> None:
    sender = out(server, if_exists="skip")

    sender.send(delivery(b"first"))
    receipt = sender.send(delivery(b"second"))
    sender.close()

    assert receipt is not None and "already present" in receipt
    assert (server.root / "outgoing" / "bundle-42.json").read_bytes() == b"first"


def test_the_connection_is_reused_across_sends_and_reopened_when_lost(server: SftpServer) -> None:
    sender = out(server)
    for n in range(3):
        sender.send(delivery(b"x", f"m{n}.json"))
    assert server.connections == 1

    assert sender._session is not None
    sender._session.close()  # the server or a firewall dropped the connection
    sender.send(delivery(b"y", "m3.json"))
    sender.close()

    assert server.connections == 2
    assert (server.root / "outgoing" / "m3.json").read_bytes() == b"y"


def test_permission_denied_is_fatal_and_leaves_no_part_file(server: SftpServer) -> None:
    server.read_only.add("/readonly")
    sender = out(server, directory="/readonly")

    with pytest.raises(FatalError, match="permission denied"):
        sender.send(delivery(b"refused"))
    sender.close()
    assert list((server.root / "readonly").iterdir()) == []


def test_a_missing_directory_is_fatal(server: SftpServer) -> None:
    with pytest.raises(FatalError, match="no such file"):
        out(server, directory="/nowhere").send(delivery(b"lost"))


def test_connection_refused_is_retriable(server: SftpServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(RetriableError, match="connection refused"):
        out(server, port=closed_port).send(delivery(b"later"))


def test_a_wrong_host_key_is_fatal(server: SftpServer) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    sender = out(server, known_hosts=f"[127.0.0.1]:{server.port} {impostor}\n")

    with pytest.raises(FatalError, match=rf"\[127\.0\.0\.1\]:{server.port}"):
        sender.send(delivery(b"never"))
    assert server.operations == []


def test_known_hosts_can_be_a_file(server: SftpServer, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"# partner server, checked by phone\n{server.known_hosts_line}\n")

    assert out(server, known_hosts=str(known_hosts)).send(delivery(b"ok")) == "sftp:/outgoing/bundle-42.json"
