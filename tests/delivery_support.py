"""Helpers shared by delivery tests: a migrated store with one exchange, and outbox rows."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine

from gateway.delivery.outbox import new_item_row
from gateway.pipeline.endpoints import EndpointConfig
from gateway.pipeline.intake import Envelope, receive


def seed_exchange(engine: Engine) -> str:
    return receive(engine, Envelope("demo-in", "plie-lille", "test", uuid.uuid4().bytes)).exchange_id


def item_rows(
    exchange_id: str, count: int, endpoint: str = "receiver-http", **extra: Any
) -> list[dict[str, Any]]:
    return [
        new_item_row(
            exchange_id=exchange_id,
            record_id=None,
            convention_id="conv-test",
            convention_version="1",
            flow_id="flow-test",
            purpose="suivi-parcours",
            receiver="ft-hdf",
            endpoint=endpoint,
            idempotency_key=f"key-{exchange_id[:8]}-{n}",
            payload={"bundle": {"resourceType": "Bundle", "type": "collection", "id": f"b{n}", "entry": []}},
            **extra,
        )
        for n in range(count)
    ]


def endpoint_config(url: str, directory: str = "/tmp/none") -> EndpointConfig:
    return EndpointConfig.model_validate(
        {
            "partners": {"ft-hdf": {"name": "France Travail HDF"}, "plie-lille": {"name": "PLIE"}},
            "endpoints": {
                "receiver-http": {
                    "name": "receiver-http",
                    "direction": "out",
                    "partner": "ft-hdf",
                    "transport": {"type": "http", "options": {"url": url, "timeout": 0.5}},
                },
                "receiver-files": {
                    "name": "receiver-files",
                    "direction": "out",
                    "partner": "ft-hdf",
                    "transport": {"type": "file-drop", "options": {"directory": directory}},
                },
            },
        }
    )
