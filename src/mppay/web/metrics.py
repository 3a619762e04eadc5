"""Prometheus metrics: orders by status, notifications by outcome, WeChat call latency/errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from mppay.usecases.observer import LoggingObserver

__all__ = ["Metrics", "MetricsObserver"]


class Metrics:
    """One registry per app, so tests and several apps in one process do not collide.

    The order gauges come from a GROUP BY over the whole orders table (about 80 ms of
    PostgreSQL time, in three processes, at 500 000 orders), so ``refresh_order_counts`` runs
    it at most once per ``gauge_ttl_seconds`` per process, however often and however many
    scrapers ask.
    """

    def __init__(
        self,
        *,
        gauge_ttl_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gauge_ttl = gauge_ttl_seconds
        self._monotonic = monotonic
        self._counted_at: float | None = None
        self._counting = asyncio.Lock()
        self.registry = CollectorRegistry()
        self.orders = Gauge("mppay_orders", "Orders by status", ["status"], registry=self.registry)
        self.shipments = Gauge(
            "mppay_shipments",
            "Shipments (发货信息) by state; SETTLED = money released by WeChat",
            ["state"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "mppay_notifications_total",
            "Notifications received, by channel and outcome",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.wechat_calls = Histogram(
            "mppay_wechat_call_seconds",
            "Latency of calls to WeChat Pay / WeChat login, by operation and outcome",
            ["operation", "outcome"],
            registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.wechat_errors = Counter(
            "mppay_wechat_errors_total",
            "WeChat calls that failed, by operation and kind (refused / unknown)",
            ["operation", "kind"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "mppay_alerts_total", "Situations that need a human", ["kind"], registry=self.registry
        )

    def record_call(self, operation: str, outcome: str, seconds: float) -> None:
        self.wechat_calls.labels(operation, outcome).observe(seconds)
        if outcome != "ok":
            self.wechat_errors.labels(operation, outcome).inc()

    def set_order_counts(self, counts: dict[str, int]) -> None:
        for status in ("PENDING", "PAID", "CLOSED", "PARTIALLY_REFUNDED", "REFUNDED"):
            self.orders.labels(status).set(counts.get(status, 0))

    def set_shipment_counts(self, counts: dict[str, int]) -> None:
        for state in ("NOT_REQUIRED", "PENDING_UPLOAD", "UPLOADED", "CONFIRMED", "SETTLED"):
            self.shipments.labels(state).set(counts.get(state, 0))

    async def refresh_order_counts(self, count: Callable[[], Awaitable[dict[str, int]]]) -> None:
        """Set the order gauges from ``count()`` unless they are younger than the TTL.

        Concurrent scrapes wait for one ``count()`` instead of each running their own.
        """
        if self._fresh():
            return
        async with self._counting:
            if self._fresh():
                return
            self.set_order_counts(await count())
            self._counted_at = self._monotonic()

    def _fresh(self) -> bool:
        return (
            self._counted_at is not None and self._monotonic() - self._counted_at < self._gauge_ttl
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsObserver(LoggingObserver):
    """Counts notifications and alerts, and logs alerts like the default observer."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def notification(self, channel: str, outcome: str) -> None:
        self._metrics.notifications.labels(channel, outcome).inc()

    def alert(self, message: str, **fields: object) -> None:
        self._metrics.alerts.labels(message.split(":")[0][:60]).inc()
        super().alert(message, **fields)
