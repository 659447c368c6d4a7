"""Prometheus metrics: store figures collected at scrape time, and the API's own request latency.

Counts (exchanges, records, outbox items, dead letters) are plain GROUP BY queries at each scrape. Figures
that need a pass over rows — policy decisions and stripped fields from the audit log, delivery latency from
the outbox — are accumulated incrementally: each scrape reads only rows after the last one it saw (audit
``seq``; outbox ``delivered_at`` with an overlap window), so a scrape stays cheap on a large store. Every
process computes the same totals from the store; a restart re-reads the history once.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, case, func, select
from starlette.requests import Request
from starlette.responses import Response

from gateway.clock import aware
from gateway.store.tables import audit_log, dead_letters, exchanges, outbox, records

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
API_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
DECISION_EVENTS = ("ingress", "egress", "replay")
BATCH = 5000
OVERLAP = dt.timedelta(seconds=30)
"""Deliveries committed out of order of their ``delivered_at`` within this window are still counted once."""


class _Histogram:
    def __init__(self) -> None:
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.total += seconds
        for index, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.buckets[index] += 1
                return
        self.buckets[-1] += 1

    def cumulative(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, count in zip((*map(str, LATENCY_BUCKETS), "+Inf"), self.buckets, strict=True):
            running += count
            out.append((bound, float(running)))
        return out


class StoreCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._audit_seq = 0
        self._decisions: dict[tuple[str, str], int] = defaultdict(int)
        self._stripped_fields: dict[str, int] = defaultdict(int)
        self._delivered_until: dt.datetime | None = None
        self._recent_ids: dict[str, dt.datetime] = {}
        self._latency: dict[tuple[str, str], _Histogram] = defaultdict(_Histogram)

    def collect(self) -> Iterator[Metric]:
        with self._lock, self.engine.connect() as connection:
            yield from self._counts(connection)
            self._scan_audit(connection)
            self._scan_deliveries(connection)
        decisions = CounterMetricFamily(
            "gateway_policy_decisions", "Policy decisions in the audit log", labels=["convention", "decision"]
        )
        for (convention, decision), count in sorted(self._decisions.items()):
            decisions.add_metric([convention, decision], count)
        yield decisions
        stripped = CounterMetricFamily(
            "gateway_refused_fields", "Field paths removed or refused by the policy", labels=["convention"]
        )
        for convention, count in sorted(self._stripped_fields.items()):
            stripped.add_metric([convention], count)
        yield stripped
        latency = HistogramMetricFamily(
            "gateway_delivery_latency_seconds",
            "From enqueued to delivered (receipt stored)",
            labels=["convention", "endpoint"],
        )
        for (convention, endpoint), histogram in sorted(self._latency.items()):
            latency.add_metric([convention, endpoint], histogram.cumulative(), histogram.total)
        yield latency

    def _counts(self, connection: Any) -> Iterator[Metric]:
        received = CounterMetricFamily(
            "gateway_exchanges_received", "Exchanges received", labels=["endpoint"]
        )
        for endpoint, count in connection.execute(
            select(exchanges.c.endpoint, func.count()).group_by(exchanges.c.endpoint)
        ):
            received.add_metric([endpoint], count)
        yield received
        recs = CounterMetricFamily(
            "gateway_records", "Records read, by outcome", labels=["endpoint", "status"]
        )
        query = (
            select(exchanges.c.endpoint, records.c.status, func.count())
            .join(exchanges, exchanges.c.id == records.c.exchange_id)
            .group_by(exchanges.c.endpoint, records.c.status)
        )
        for endpoint, status, count in connection.execute(query):
            recs.add_metric([endpoint, status], count)
        yield recs
        items = GaugeMetricFamily(
            "gateway_outbox_items", "Outbox items by status", labels=["convention", "endpoint", "status"]
        )
        delivered = CounterMetricFamily(
            "gateway_delivered", "Items delivered (receipt stored)", labels=["convention", "endpoint"]
        )
        retries = CounterMetricFamily(
            "gateway_delivery_retries", "Delivery attempts after the first", labels=["convention", "endpoint"]
        )
        query = select(
            outbox.c.convention_id,
            outbox.c.endpoint,
            outbox.c.status,
            func.count(),
            func.coalesce(func.sum(case((outbox.c.attempts > 1, outbox.c.attempts - 1), else_=0)), 0),
        ).group_by(outbox.c.convention_id, outbox.c.endpoint, outbox.c.status)
        retried: dict[tuple[str, str], int] = defaultdict(int)
        for convention, endpoint, status, count, extra_attempts in connection.execute(query):
            items.add_metric([convention, endpoint, status], count)
            if status == "delivered":
                delivered.add_metric([convention, endpoint], count)
            retried[(convention, endpoint)] += int(extra_attempts)
        for (convention, endpoint), count in sorted(retried.items()):
            retries.add_metric([convention, endpoint], count)
        yield items
        yield delivered
        yield retries
        letters = CounterMetricFamily("gateway_dead_letters", "Dead letters", labels=["stage", "state"])
        query = select(
            dead_letters.c.stage, dead_letters.c.replayed_at.is_(None).label("open"), func.count()
        ).group_by(dead_letters.c.stage, dead_letters.c.replayed_at.is_(None))
        for stage, is_open, count in connection.execute(query):
            letters.add_metric([stage, "open" if is_open else "replayed"], count)
        yield letters

    def _scan_audit(self, connection: Any) -> None:
        while True:
            rows = connection.execute(
                select(audit_log.c.seq, audit_log.c.event, audit_log.c.convention_id, audit_log.c.decision,
                       audit_log.c.details)
                .where(audit_log.c.seq > self._audit_seq)
                .order_by(audit_log.c.seq)
                .limit(BATCH)
            ).all()  # fmt: skip
            for seq, event, convention, decision, details in rows:
                self._audit_seq = int(seq)
                if event not in DECISION_EVENTS:
                    continue
                label = convention or "none"
                self._decisions[(label, decision)] += 1
                removed = (details or {}).get("removed_fields") if isinstance(details, dict) else None
                if removed:
                    self._stripped_fields[label] += len(removed)
            if len(rows) < BATCH:
                return

    def _scan_deliveries(self, connection: Any) -> None:
        query = select(
            outbox.c.id, outbox.c.convention_id, outbox.c.endpoint, outbox.c.created_at, outbox.c.delivered_at
        ).where(outbox.c.status == "delivered", outbox.c.delivered_at.is_not(None))
        if self._delivered_until is not None:
            query = query.where(outbox.c.delivered_at > self._delivered_until - OVERLAP)
        newest = self._delivered_until
        for item_id, convention, endpoint, created, delivered in connection.execute(query):
            delivered_at = aware(delivered)
            if item_id in self._recent_ids:
                continue
            self._recent_ids[item_id] = delivered_at
            seconds = max((delivered_at - aware(created)).total_seconds(), 0.0)
            self._latency[(convention, endpoint)].observe(seconds)
            if newest is None or delivered_at > newest:
                newest = delivered_at
        self._delivered_until = newest
        if newest is not None:
            horizon = newest - 2 * OVERLAP
            self._recent_ids = {k: v for k, v in self._recent_ids.items() if v >= horizon}


def build_registry(engine: Engine) -> tuple[CollectorRegistry, Histogram]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(engine))
    requests = Histogram(
        "gateway_api_request_seconds",
        "API request latency",
        ["method", "route", "status"],
        registry=registry,
        buckets=API_BUCKETS,
    )
    return registry, requests


def latency_middleware(
    histogram: Histogram,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        histogram.labels(request.method, template, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response

    return measure
