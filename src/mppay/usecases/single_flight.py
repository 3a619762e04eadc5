"""At most one run of a piece of work per key at a time; concurrent callers share its result.

``GET /api/orders/{id}?refresh=true`` is what a Mini Program polls while the user waits: twenty
tabs (or one looping script) polling one order must cost one WeChat query, not twenty. This is
per process; instances behind a balancer each run their own flight.

    flights: SingleFlight[str, OrderRow] = SingleFlight()
    order = await flights.run(order_id, lambda: refresh_order(ctx, order_id, source="..."))
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

K = TypeVar("K")
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._flights: dict[K, asyncio.Task[V]] = {}
        self._callers: dict[K, int] = {}

    def callers(self, key: K) -> int:
        """How many callers are waiting on the flight for ``key`` now (0: none in flight)."""
        return self._callers.get(key, 0)

    async def run(self, key: K, work: Callable[[], Awaitable[V]]) -> V:
        """``work()``'s result, or the result of the run already in flight for ``key``.

        Its exception is raised to every caller of that flight. A caller that is cancelled
        (a client that hung up) leaves the run going for the others.
        """
        task = self._flights.get(key)
        if task is None:
            task = asyncio.ensure_future(work())
            self._flights[key] = task
            task.add_done_callback(lambda done: self._land(key, done))
        self._callers[key] = self._callers.get(key, 0) + 1
        try:
            return await asyncio.shield(task)
        finally:
            left = self._callers[key] - 1
            if left:
                self._callers[key] = left
            else:
                del self._callers[key]

    def _land(self, key: K, task: asyncio.Task[V]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved here: every caller may have gone away
