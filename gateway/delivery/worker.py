"""Delivery workers: claim due outbox items, render them, send them, record the outcome.

Only retriable errors are retried (with the persisted backoff); fatal errors go straight to the dead
letters. A worker killed mid-batch loses nothing: its leases expire and another worker (or itself, after a
restart) takes the items again; the receiver deduplicates with the idempotency key.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.clock import utcnow
from gateway.delivery.outbox import DEAD, Outbox, OutboxItem
from gateway.delivery.render import MappingLookup, render, render_many
from gateway.errors import ConfigurationError, FatalError, GatewayError
from gateway.logging_setup import get_logger
from gateway.pipeline.endpoints import EndpointConfig
from gateway.pipeline.routing import PARIS
from gateway.transports.factory import TransportPool

log = get_logger("gateway.delivery")

DeliveredHook = Callable[[OutboxItem, str | None], None]


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class RunStats:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0


class DeliveryWorker:
    def __init__(
        self,
        outbox: Outbox,
        endpoints: EndpointConfig,
        transports: TransportPool,
        mappings: MappingLookup | None = None,
        on_delivered: DeliveredHook | None = None,
        name: str | None = None,
        endpoints_filter: Sequence[str] | None = None,
    ) -> None:
        self.outbox = outbox
        self.endpoints = endpoints
        self.transports = transports
        self.mappings = mappings
        self.on_delivered = on_delivered
        self.name = name or worker_id()
        self.endpoints_filter = endpoints_filter
        """Only these outbound endpoints (None: all); pull endpoints are left to the partner's fetch."""

    def run_once(self, limit: int = 100, endpoints: Sequence[str] | None = None) -> RunStats:
        stats = self.flush_batches()
        items = self.outbox.claim(
            self.name, limit, endpoints if endpoints is not None else self.endpoints_filter
        )
        stats.claimed += len(items)
        for item in items:
            self._deliver(item, stats)
        return stats

    def flush_batches(self, now: datetime | None = None, force: bool = False) -> RunStats:
        """Deliver each closed daily batch as ONE file (all of a day's items of an endpoint).

        A batch closes when its day (Paris time) is over; ``force`` also flushes today's. The file is
        named after the batch, so a retried flush rewrites the same file instead of adding one.
        """
        stats = RunStats()
        today = (now or utcnow()).astimezone(PARIS).date()
        cutoff = (today + timedelta(days=1) if force else today).isoformat()
        for batch_key in self.outbox.closed_batches(cutoff):
            endpoint_name = batch_key.rsplit(":", 1)[0]
            if self.endpoints_filter is not None and endpoint_name not in self.endpoints_filter:
                continue
            items = self.outbox.claim_batch(self.name, batch_key)
            if not items:
                continue
            stats.claimed += len(items)
            try:
                endpoint = self.endpoints.endpoint(endpoint_name)
                bundles = [item.payload["bundle"] for item in items]
                delivery = render_many(batch_key.replace(":", "_"), bundles, endpoint, self.mappings)
                receipt = self.transports.get(endpoint).send(delivery)
            except GatewayError as error:
                for item in items:
                    self._failed(item, error, stats)
                continue
            for item in items:
                if self.outbox.delivered(item, receipt, self.name):
                    stats.delivered += 1
                    if self.on_delivered:
                        self.on_delivered(item, receipt)
        return stats

    def _deliver(self, item: OutboxItem, stats: RunStats) -> None:
        try:
            endpoint = self.endpoints.endpoint(item.endpoint)
            delivery = render(item, endpoint, self.mappings)
            receipt = self.transports.get(endpoint).send(delivery)
        except GatewayError as error:
            self._failed(item, error, stats)
            return
        except Exception as error:  # a bug in a renderer/transport must not kill the worker
            self._failed(item, FatalError(f"unexpected {type(error).__name__} while delivering"), stats)
            log.exception("delivery.unexpected", item=item.id, endpoint=item.endpoint)
            return
        if self.outbox.delivered(item, receipt, self.name):
            stats.delivered += 1
            if self.on_delivered:
                self.on_delivered(item, receipt)

    def _failed(self, item: OutboxItem, error: GatewayError, stats: RunStats) -> None:
        status = self.outbox.failed(item, error, self.name)
        if status == DEAD:
            stats.dead += 1
            log.warning("delivery.dead_letter", item=item.id, endpoint=item.endpoint, error=str(error))
        else:
            stats.retried += 1
            log.info("delivery.retry", item=item.id, endpoint=item.endpoint, attempts=item.attempts)

    def run_forever(self, stop: threading.Event, idle_seconds: float = 0.5, limit: int = 100) -> None:
        while not stop.is_set():
            try:
                stats = self.run_once(limit)
            except ConfigurationError:
                raise
            except Exception:  # database hiccup: log and try again shortly
                log.exception("worker.loop_error")
                stop.wait(2.0)
                continue
            if stats.claimed == 0:
                stop.wait(idle_seconds)
