"""The order gauges' full-table count runs at most once per TTL, shared by concurrent scrapes."""

import asyncio

from mppay.web.metrics import Metrics


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_order_counts_are_reused_until_the_ttl_passes_then_counted_again() -> None:
    ticks = Ticks()
    metrics = Metrics(gauge_ttl_seconds=30, monotonic=ticks)
    counts: list[int] = []

    async def count() -> dict[str, int]:
        counts.append(1)
        return {"PAID": len(counts)}

    await metrics.refresh_order_counts(count)
    ticks.now += 29.9
    await metrics.refresh_order_counts(count)
    assert b'mppay_orders{status="PAID"} 1.0' in metrics.render()
    ticks.now += 0.1
    await metrics.refresh_order_counts(count)
    assert len(counts) == 2
    assert b'mppay_orders{status="PAID"} 2.0' in metrics.render()


async def test_concurrent_scrapes_wait_for_one_count() -> None:
    metrics = Metrics(gauge_ttl_seconds=30, monotonic=Ticks())
    release = asyncio.Event()
    calls: list[int] = []

    async def slow_count() -> dict[str, int]:
        calls.append(1)
        await release.wait()
        return {"PENDING": 3}

    scrapes = [asyncio.create_task(metrics.refresh_order_counts(slow_count)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*scrapes)
    assert calls == [1]
    assert b'mppay_orders{status="PENDING"} 3.0' in metrics.render()


async def test_a_zero_ttl_counts_on_every_scrape() -> None:
    metrics = Metrics(gauge_ttl_seconds=0, monotonic=Ticks())
    calls: list[int] = []

    async def count() -> dict[str, int]:
        calls.append(1)
        return {}

    for _ in range(3):
        await metrics.refresh_order_counts(count)
    assert len(calls) == 3
