"""Wiring: build the gateway's parts once from the settings (store, catalogs, policy, audit, workers).

Both the one-process server and the CLI commands use :class:`Gateway`, so that a command run by an
operator behaves exactly like the running service.
"""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Engine, select

from gateway.audit import AuditLog, KeyedPseudonymiser
from gateway.delivery.outbox import Outbox, OutboxItem
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.worker import DeliveryWorker
from gateway.errors import ConfigurationError
from gateway.logging_setup import get_logger
from gateway.mapping import MappingCatalog
from gateway.pipeline.endpoints import EndpointConfig, load_endpoints
from gateway.pipeline.processor import Processor
from gateway.policy import ConventionRegistry
from gateway.settings import Settings
from gateway.store.engine import get_engine, upgrade
from gateway.store.tables import records
from gateway.transports.factory import TransportPool

log = get_logger("gateway.runtime")


@dataclass
class Gateway:
    settings: Settings
    transports: TransportPool = field(default_factory=TransportPool)
    migrate: bool = True

    def __post_init__(self) -> None:
        if self.migrate:
            upgrade(self.settings.effective_database_url)

    @cached_property
    def engine(self) -> Engine:
        return get_engine(self.settings.effective_database_url)

    @cached_property
    def endpoints(self) -> EndpointConfig:
        return load_endpoints(self.settings.config_dir / "endpoints.yaml", self.settings.home)

    @cached_property
    def catalog(self) -> MappingCatalog:
        return MappingCatalog(self.settings.mappings_dir)

    @cached_property
    def registry(self) -> ConventionRegistry:
        registry = ConventionRegistry.load(self.settings.conventions_dir)
        registry.sync_to_store(self.engine)
        return registry

    @cached_property
    def pseudonymiser(self) -> KeyedPseudonymiser:
        return KeyedPseudonymiser.from_settings(self.settings)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.engine, self.settings)

    @cached_property
    def retry(self) -> RetryPolicy:
        s = self.settings
        return RetryPolicy(
            initial_seconds=s.retry_initial_seconds,
            max_seconds=s.retry_max_seconds,
            jitter_seconds=min(1.0, s.retry_initial_seconds),
            max_attempts=s.retry_max_attempts,
            max_age=timedelta(hours=s.retry_max_age_hours),
        )

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.engine, self.retry, lease=timedelta(seconds=self.settings.delivery_lease_seconds))

    @cached_property
    def processor(self) -> Processor:
        return Processor(
            self.engine, self.endpoints, self.catalog, self.registry, self.audit, self.pseudonymiser
        )

    def warm_up(self) -> None:
        """Load what processing needs (conventions, inbound mappings, schemas), then take those
        long-lived objects out of the garbage collector's passes (``gc.freeze``): a busy processor
        otherwise walks them all again on every full collection (about 15 % of processing time in
        bench/pipeline). Call once, after start-up, in processes that process exchanges."""
        from gateway.model.validation import get_validator

        _ = self.registry, self.processor
        for endpoint in self.endpoints.inbound():
            if endpoint.mapping:
                try:
                    self.catalog.get(endpoint.mapping)
                except ConfigurationError as error:  # reported again, per exchange, when used
                    log.warning("mapping.unusable", endpoint=endpoint.name, error=str(error))
        get_validator()
        gc.collect()
        gc.freeze()

    def worker(self, name: str | None = None) -> DeliveryWorker:
        return DeliveryWorker(
            self.outbox,
            self.endpoints,
            self.transports,
            mappings=self.partner_format,
            on_delivered=self.audit_delivery,
            name=name,
            endpoints_filter=self.push_endpoints(),
        )

    def push_endpoints(self) -> list[str]:
        """Outbound endpoints the workers deliver to (partners fetch "pull" ones through the API)."""
        return [
            e.name
            for e in self.endpoints.endpoints.values()
            if e.direction == "out" and e.transport.type != "pull"
        ]

    def reload_conventions(self) -> None:
        """Re-read the convention files (after a status change); the processor uses the new registry."""
        self.__dict__.pop("registry", None)
        self.processor.registry = self.registry

    def partner_format(self, name: str) -> Any:
        from gateway.delivery.partner_format import PartnerFormatAdapter

        return PartnerFormatAdapter(self.catalog.get(name))

    def audit_delivery(self, item: OutboxItem, receipt: str | None) -> None:
        """Audit a confirmed delivery: who received which record, when, with which receipt."""
        bundle = None
        if item.record_id:
            with self.engine.connect() as connection:
                bundle = connection.execute(
                    select(records.c.bundle).where(records.c.id == item.record_id)
                ).scalar()
        self.audit.record_event(
            "delivery",
            actor="system",
            decision="delivered",
            exchange_id=item.exchange_id,
            convention_id=item.convention_id,
            convention_version=item.convention_version,
            flow_id=item.flow_id,
            purpose=item.purpose,
            receiver=item.receiver,
            receipt=(receipt or "")[:256] or None,
            pseudonyms=self.audit.pseudonyms_of(bundle),
        )

    def process_pending(self) -> int:
        count = 0
        for exchange_id in self.processor.pending():
            self.processor.process(exchange_id)
            count += 1
        return count

    def run_background(self, stop: threading.Event) -> list[threading.Thread]:
        """Processor, delivery worker and inbound pollers as daemon threads (embedded default)."""
        from gateway.pipeline.pollers import start_pollers

        threads = [
            threading.Thread(target=self._process_loop, args=(stop,), name="processor", daemon=True),
            threading.Thread(target=self.worker().run_forever, args=(stop,), name="worker", daemon=True),
            *start_pollers(self, stop),
        ]
        if self.settings.audit_checkpoint_minutes > 0:
            threads.append(
                threading.Thread(
                    target=self._checkpoint_loop, args=(stop,), name="audit-checkpoint", daemon=True
                )
            )
        for thread in threads:
            if not thread.is_alive():
                thread.start()
        return threads

    def _checkpoint_loop(self, stop: threading.Event) -> None:
        """Sign the chain head periodically: verification then detects a truncated tail."""
        while not stop.wait(self.settings.audit_checkpoint_minutes * 60):
            try:
                self.audit.checkpoint()
            except Exception:  # the next period tries again
                log.exception("audit.checkpoint_failed")

    def _process_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if self.process_pending() == 0:
                    stop.wait(0.5)
            except Exception:  # keep the loop alive; the exchange stays "processing" and is resumed
                log.exception("processor.loop_error")
                stop.wait(2.0)
