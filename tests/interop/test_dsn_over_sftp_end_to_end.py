"""Issue done-when: a DSN file dropped on the real OpenSSH sshd is taken once, mapped, enforced under
the SIAE → PLIE convention and delivered (uploaded by SFTP to the PLIE's drop), nothing leaking."""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import registry
from gateway.transports.sftp import SftpPoller
from tests.peers.sshd import Sshd, running_sshd
from tests.pipeline_support import AT, make_settings


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def test_a_dsn_on_sshd_is_taken_once_mapped_enforced_and_delivered(tmp_path: Path, sshd: Sshd) -> None:
    from gateway.runtime import Gateway

    depot, plie_drop = tmp_path / "aci-depot", tmp_path / "plie-depot"
    depot.mkdir()
    plie_drop.mkdir()
    settings = make_settings(tmp_path, "http://127.0.0.1:9/unused")
    endpoints = {
        "partners": {
            "aci-ateliers-avenir": {"name": "ACI"},
            "plie-mel": {"name": "PLIE MEL", "siret": "78451209300013"},
        },
        "endpoints": {
            "aci-dsn": {
                "direction": "in",
                "partner": "aci-ateliers-avenir",
                "mapping": "dsn-embauches-fins-contrat",
                "transport": {
                    "type": "sftp",
                    "options": sshd.options(directory=str(depot), min_age_seconds=30),
                },
            },
            "sftp-plie-mel-depot": {
                "direction": "out",
                "partner": "plie-mel",
                "transport": {"type": "sftp", "options": sshd.options(directory=str(plie_drop))},
            },
        },
    }
    (settings.config_dir / "endpoints.yaml").write_text(
        json.dumps(endpoints), encoding="utf-8"
    )  # JSON is YAML
    gateway = Gateway(settings)

    stream = io.BytesIO()
    registry.generator("dsn")("dsn", 40, stream, seed=4)
    dsn = stream.getvalue()
    half = depot / "DSN_202606.dsn"
    half.write_bytes(dsn[: len(dsn) // 2])  # still being written: too young to be taken
    poller = SftpPoller(gateway.engine, gateway.endpoints.endpoint("aci-dsn"), holder="node-a")
    assert poller.poll_once().taken == []
    half.write_bytes(dsn)
    old = time.time() - 3600
    os.utime(half, (old, old))
    assert len(poller.poll_once().taken) == 1
    assert poller.poll_once().taken == []
    poller.close()
    restarted = SftpPoller(gateway.engine, gateway.endpoints.endpoint("aci-dsn"), holder="node-b")
    assert restarted.poll_once().taken == [], "a restarted poller takes nothing twice"
    restarted.close()

    [exchange_id] = gateway.processor.pending()
    summary = gateway.processor.process(exchange_id, at=AT)
    assert summary.status == "processed" and summary.rejected == 0 and summary.read == 40
    assert summary.queued > 0 and summary.withheld > 0, "residents of the Nord only (population rule)"
    stats = gateway.worker().run_once(limit=1000)
    assert stats.delivered == summary.queued

    delivered = [json.loads(p.read_text()) for p in plie_drop.iterdir()]
    assert len(delivered) == summary.queued
    clear_nirs = {
        line.split(",'")[1].rstrip("'")
        for line in dsn.decode("latin-1").splitlines()
        if line.startswith("S21.G00.30.001,")
    }
    for bundle in delivered:
        text = json.dumps(bundle)
        assert not any(nir in text for nir in clear_nirs), "the NIR travels pseudonymised only"
        types = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
        assert types <= {"Person", "EmploymentContract", "Outcome"} and "EmploymentContract" in types
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "Person":
                assert set(resource) <= {"resourceType", "id", "meta", "identifier"}
                assert all(i["system"] == "urn:fr:reseau-emploi:pseudonym" for i in resource["identifier"])
            if resource["resourceType"] == "Outcome":
                assert "employmentContract" not in resource
