"""Prometheus metrics: orders by status, notifications by outcome, WeChat call latency/errors."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from mppay.usecases.observer import LoggingObserver

__all__ = ["Metrics", "MetricsObserver"]


class Metrics:
    """One registry per app, so tests and several apps in one process do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.orders = Gauge("mppay_orders", "Orders by status", ["status"], registry=self.registry)
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
