"""One clock for the sandbox: the emulator's business clock also drives the service.

In sandbox mode the service and the emulator share a process, so the service's ``Clock``
simply reads the emulator's ``SandboxClock``: ``POST /sandbox/clock`` (what ``mppay clock
advance`` calls) moves both at once, and expiry, order and refund sync, reconciliation,
retention and retry schedules fire as they would that much later. Advancing also queues the
schedule's work (reconciliation, retention) and wakes the in-process worker, so due jobs run
now instead of at the next poll. Signatures keep using wall time on both sides (WeChat's
5-minute window is about real time), so only the service context gets this clock; the
WeChat Pay clients keep ``SystemClock``. Real mode never builds one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mppay.emulator.clock import SandboxClock
from mppay.jobs.runtime import enqueue_scheduled_work

if TYPE_CHECKING:
    from mppay.bootstrap import Service

__all__ = ["LinkedClock", "ServiceClock", "follow_clock"]

log = logging.getLogger(__name__)


class LinkedClock(SandboxClock):
    """The emulator's business clock, telling listeners when it moves forward."""

    def __init__(self) -> None:
        super().__init__()
        self._listeners: list[Callable[[float], None]] = []

    def on_advance(self, listener: Callable[[float], None]) -> None:
        self._listeners.append(listener)

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        for listener in self._listeners:
            try:
                listener(seconds)
            except Exception:  # a listener must not make the emulator's clock call fail
                log.exception("sandbox clock listener failed")


class ServiceClock:
    """The service's ``Clock`` port over the emulator's business clock (aware UTC)."""

    def __init__(self, business: SandboxClock) -> None:
        self._business = business

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._business.now(), UTC)


def follow_clock(clock: LinkedClock, service: Service) -> None:
    """After each advance, queue the schedule's work and wake the in-process worker.

    The listener runs inside the emulator's request handler, on the loop both servers share,
    so the catch-up is a task: the emulator answers at once and the service catches up
    right behind it (a caller waits for the consequence it expects, e.g. the order closing).
    """
    tasks: set[asyncio.Task[None]] = set()

    async def catch_up() -> None:
        try:
            await enqueue_scheduled_work(service.ctx)
        except Exception:
            log.exception("scheduling after a sandbox clock advance failed")
        if service.worker is not None:
            service.worker.wake()

    def listener(_: float) -> None:
        task = asyncio.get_running_loop().create_task(catch_up(), name="mppay:clock-catch-up")
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    clock.on_advance(listener)
