"""Hooks through which use cases report what happened (metrics, alerts), without knowing how."""

from __future__ import annotations

import logging
from typing import Protocol

__all__ = ["LoggingObserver", "Observer"]

alerts = logging.getLogger("mppay.alerts")


class Observer(Protocol):
    def notification(self, channel: str, outcome: str) -> None:
        """A notification was handled with ``outcome`` (applied, duplicate, rejected ...)."""
        ...

    def alert(self, message: str, **fields: object) -> None:
        """Something needs a human: amount mismatch, paid after close, abnormal refund."""
        ...


class LoggingObserver:
    """Logs alerts at ERROR on ``mppay.alerts``; counts nothing (the web layer adds metrics)."""

    def notification(self, channel: str, outcome: str) -> None:
        return None

    def alert(self, message: str, **fields: object) -> None:
        alerts.error("ALERT %s %s", message, " ".join(f"{k}={v}" for k, v in fields.items()))
