"""Closed-loop load: every client creates an order and pays it, again and again.

Only orders that complete inside the measurement window count; the warm-up before it fills
connection pools and caches. CPU of each process is read at the window's two edges.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from bench.common import (
    Client,
    CpuSnapshot,
    RequestFailed,
    Target,
    cpu_between,
    cpu_snapshot,
    create_and_pay,
    latency_summary,
)


@dataclass
class LoadResult:
    clients: int
    window_s: float
    orders: int
    errors: int
    latencies: list[float] = field(repr=False)
    cpu: dict[str, float]
    error_samples: list[str]

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.window_s if self.window_s else 0.0

    def to_json(self) -> dict[str, Any]:
        per_order = {
            name: round(seconds / self.orders * 1000, 3) if self.orders else None
            for name, seconds in self.cpu.items()
        }
        return {
            "clients": self.clients,
            "window_s": round(self.window_s, 2),
            "orders": self.orders,
            "orders_per_s": round(self.orders_per_s, 1),
            "errors": self.errors,
            "latency": latency_summary(self.latencies),
            "cpu_s": self.cpu,
            "cpu_ms_per_order": per_order,
            "cpu_utilisation": {
                name: round(seconds / self.window_s, 2) for name, seconds in self.cpu.items()
            },
            "error_samples": self.error_samples,
        }


async def run_orders(
    stack: Target, clients: list[Client], *, warmup: float, duration: float
) -> LoadResult:
    """Drive ``clients`` for ``warmup + duration`` seconds; measure the last ``duration``."""
    loop_start = time.perf_counter()
    window_start = loop_start + warmup
    window_end = window_start + duration
    completions: list[tuple[float, float]] = []
    errors: list[tuple[float, str]] = []
    postgres = stack.database == "postgresql"
    snapshots: dict[str, CpuSnapshot] = {}

    async def client_loop(client: Client) -> None:
        while True:
            started = time.perf_counter()
            if started >= window_end:
                return
            try:
                await create_and_pay(client)
            except (RequestFailed, ConnectionError, asyncio.IncompleteReadError) as exc:
                errors.append((time.perf_counter(), str(exc)[:300]))
                await asyncio.sleep(0.05)
                continue
            completions.append((time.perf_counter(), time.perf_counter() - started))

    async def edges() -> None:
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        snapshots["start"] = cpu_snapshot(stack.pids, postgres=postgres)
        await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        snapshots["end"] = cpu_snapshot(stack.pids, postgres=postgres)

    await asyncio.gather(edges(), *(client_loop(client) for client in clients))
    start, end = snapshots["start"], snapshots["end"]
    window = end.at - start.at
    inside = [latency for done, latency in completions if start.at <= done < end.at]
    failed = [message for at, message in errors if start.at <= at < end.at]
    return LoadResult(
        clients=len(clients),
        window_s=window,
        orders=len(inside),
        errors=len(failed),
        latencies=inside,
        cpu=cpu_between(start, end),
        error_samples=sorted(set(failed))[:5],
    )
