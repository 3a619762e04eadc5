"""The per-client token buckets behind the login rate limit (issue 11, item 6b)."""

from __future__ import annotations

from mppay.web.rate_limit import TokenBuckets


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_burst_passes_and_the_next_call_waits_for_a_refill() -> None:
    ticks = Ticks()
    buckets = TokenBuckets(rate_per_minute=6, burst=3, clock=ticks)
    assert [buckets.take("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("10.0.0.1") == 10.0  # one token every 10 s
    assert buckets.take("10.0.0.2") == 0.0  # another address has its own bucket
    ticks.now += 10
    assert buckets.take("10.0.0.1") == 0.0
    assert buckets.take("10.0.0.1") == 10.0


def test_idle_buckets_are_forgotten() -> None:
    ticks = Ticks()
    buckets = TokenBuckets(rate_per_minute=60, burst=2, clock=ticks)
    for host in range(100):
        buckets.take(f"10.0.0.{host}")
    assert len(buckets) == 100
    ticks.now += 2  # every bucket is full again: the same as never seen
    buckets.take("10.0.1.1")
    assert len(buckets) == 1


def test_memory_stays_bounded_under_a_flood_of_addresses() -> None:
    ticks = Ticks()
    buckets = TokenBuckets(rate_per_minute=1, burst=5, max_clients=50, clock=ticks)
    for host in range(10_000):
        buckets.take(f"2001:db8::{host:x}")
    assert len(buckets) == 50
