"""SFTP against the real OpenSSH server partners run (Debian's sshd, internal-sftp, on a free local port).

Done-when: a DSN file dropped on the real sshd is taken once; a half-written file is not taken;
restarting the poller does not take it again; a wrong host key is refused. (Mapping and delivery of the
DSN happen downstream in the pipeline: here the exchange row is stored once with the DSN bytes.)
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from gateway.errors import FatalError
from gateway.store.engine import make_engine, upgrade
from gateway.store.payloads import read_payload
from gateway.store.tables import exchanges
from gateway.transports.base import Delivery
from gateway.transports.sftp import SftpOut, SftpPoller
from gateway.transports.sftp.options import OutboundOptions
from tests.peers.sftp_server import sftp_endpoint
from tests.peers.sshd import Sshd, running_sshd

DSN = (
    b"S10.G00.00.001,'Logiciel de paie fictif'\n"
    b"S10.G00.00.006,'01'\n"
    b"S20.G00.05.001,'01'\n"
    b"S90.G00.90.001,'4'\n"
)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def depot(tmp_path: Path) -> Path:
    folder = tmp_path / "depot"
    folder.mkdir()
    return folder


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path}/store.db"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def poller(engine: Engine, sshd: Sshd, depot: Path, holder: str = "node-a", **options: Any) -> SftpPoller:
    settings = sshd.options(**{"directory": str(depot), "min_age_seconds": 60, **options})
    return SftpPoller(engine, sftp_endpoint("dsn-urssaf-in", "in", settings), holder=holder)


def drop(depot: Path, name: str, body: bytes, age: float = 3600) -> Path:
    path = depot / name
    path.write_bytes(body)
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def stored_payloads(engine: Engine) -> list[bytes]:
    with engine.connect() as connection:
        ids = connection.execute(select(exchanges.c.id).order_by(exchanges.c.received_at)).scalars().all()
    return [read_payload(engine, exchange_id) for exchange_id in ids]


def test_a_dsn_dropped_on_sshd_is_taken_once_and_moved(engine: Engine, sshd: Sshd, depot: Path) -> None:
    drop(depot, "DSN_mensuelle_202401.dsn", DSN)
    node = poller(engine, sshd, depot)

    first, second = node.poll_once(), node.poll_once()

    assert first.taken == [f"{depot}/DSN_mensuelle_202401.dsn"] and second.taken == []
    assert stored_payloads(engine) == [DSN]
    assert (depot / "processed" / "DSN_mensuelle_202401.dsn").read_bytes() == DSN


def test_the_shared_fictional_dsn_is_taken_once(
    engine: Engine, sshd: Sshd, depot: Path, domain_data: Path
) -> None:
    body = (domain_data / "dsn" / "exemple-fictif-drolow.dsn").read_bytes()
    drop(depot, "exemple-fictif-drolow.dsn", body)

    node = poller(engine, sshd, depot, after="leave")
    node.poll_once()
    node.poll_once()

    assert stored_payloads(engine) == [body]


def test_a_half_written_file_is_not_taken(engine: Engine, sshd: Sshd, depot: Path) -> None:
    drop(depot, "young.dsn", DSN[:20], age=0)  # still being written: modified just now

    report = poller(engine, sshd, depot, min_age_seconds=600).poll_once()

    assert report.not_ready == [f"{depot}/young.dsn"] and report.taken == []
    assert stored_payloads(engine) == []


def test_a_file_without_its_done_marker_is_not_taken(engine: Engine, sshd: Sshd, depot: Path) -> None:
    drop(depot, "unmarked.dsn", DSN)  # old enough, but the partner has not written its marker yet
    node = poller(engine, sshd, depot, done_marker=True)

    before = node.poll_once()
    (depot / "unmarked.dsn.done").touch()
    after = node.poll_once()

    assert before.not_ready == [f"{depot}/unmarked.dsn"] and before.taken == []
    assert after.taken == [f"{depot}/unmarked.dsn"] and stored_payloads(engine) == [DSN]


def test_restarting_the_poller_does_not_take_the_file_again(engine: Engine, sshd: Sshd, depot: Path) -> None:
    drop(depot, "DSN_202402.dsn", DSN)
    before = poller(engine, sshd, depot, after="leave")
    assert before.poll_once().taken == [f"{depot}/DSN_202402.dsn"]
    before.close()

    restarted = poller(engine, sshd, depot, holder="node-a-after-restart", after="leave").poll_once()

    assert restarted.taken == [] and restarted.already_taken == [f"{depot}/DSN_202402.dsn"]
    assert stored_payloads(engine) == [DSN]


def test_a_wrong_host_key_is_refused(engine: Engine, sshd: Sshd, depot: Path) -> None:
    drop(depot, "DSN_202403.dsn", DSN)
    impostor = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    )
    node = poller(engine, sshd, depot, known_hosts=[f"[127.0.0.1]:{sshd.port} {impostor.decode()}"])

    with pytest.raises(FatalError, match=rf"\[127\.0\.0\.1\]:{sshd.port}"):
        node.poll_once()
    assert stored_payloads(engine) == [] and (depot / "DSN_202403.dsn").exists()


def test_an_upload_lands_atomically_under_its_final_name(sshd: Sshd, depot: Path) -> None:
    sender = SftpOut(OutboundOptions.model_validate(sshd.options(directory=str(depot))))

    sender.send(Delivery(b"first", "text/plain", "ali-2024.csv", "k1", {}))
    receipt = sender.send(Delivery(b"second", "text/plain", "ali-2024.csv", "k1", {}))
    sender.close()

    assert receipt == f"sftp:{depot}/ali-2024.csv"
    assert [p.name for p in depot.iterdir()] == ["ali-2024.csv"]
    assert (depot / "ali-2024.csv").read_bytes() == b"second"


def test_a_key_sshd_does_not_accept_is_fatal(engine: Engine, sshd: Sshd, depot: Path, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    stranger.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )

    with pytest.raises(FatalError, match="authentication refused"):
        poller(engine, sshd, depot, private_key_file=str(stranger)).poll_once()
