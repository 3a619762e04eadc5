"""Benchmark 1, the prepay path: orders turned into signed ``wx.requestPayment`` params.

Concurrent simulated Mini Program clients log in once, then loop "create order + pay"
against ``mppay serve --real`` with ``mppay emulator`` in its own process, on SQLite and on
PostgreSQL. Reported: orders/s, p50/p95/p99 of one order (both requests), CPU milliseconds
per order by process, and orders/s as a fraction of the cryptographic floor measured in the
same run (``bench.crypto_floor``).
"""

from __future__ import annotations

from typing import Any

from bench import crypto_floor
from bench.common import (
    Databases,
    Options,
    Stack,
    close_clients,
    console,
    login_clients,
    print_table,
    write_result,
)
from bench.load import run_orders

NAME = "prepay"


def sizes(options: Options) -> dict[str, Any]:
    if options.quick:
        return {"clients": 16, "warmup_s": 1.0, "duration_s": 3.0, "floor_s": 0.3}
    return {"clients": 50, "warmup_s": 3.0, "duration_s": 20.0, "floor_s": 2.0}


async def run(options: Options, databases: Databases) -> dict[str, Any]:
    size = sizes(options)
    console.rule("[bold]1. prepay path")
    floor = crypto_floor.measure(size["floor_s"])
    console.print(
        f"crypto floor: sign {floor['sign_ms']} ms, verify {floor['verify_ms']} ms, "
        f"{floor['cpu_ms_per_order']} ms CPU per order -> "
        f"{floor['floor_orders_per_s']:,} orders/s on {floor['cpus']} CPUs"
    )
    runs: dict[str, Any] = {}
    for kind in options.databases:
        url = await databases.new(kind, f"prepay_{kind[:2]}")
        stack = Stack(options, kind, url, options.work_dir / f"prepay-{kind}").start()
        try:
            clients = await login_clients(stack, size["clients"])
            try:
                result = await run_orders(
                    stack, clients, warmup=size["warmup_s"], duration=size["duration_s"]
                )
            finally:
                await close_clients(clients)
            problems = stack.check_logs()
        finally:
            stack.stop()
            await databases.drop(url)
        data = result.to_json()
        data["fraction_of_floor"] = round(result.orders_per_s / floor["floor_orders_per_s"], 4)
        data["problems"] = problems
        runs[kind] = data

    print_table(
        f"prepay path: {size['clients']} clients, {size['duration_s']:.0f} s window",
        [
            "database",
            "orders/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "CPU ms/order service",
            "emulator",
            "loadgen",
            "postgres",
            "% of floor",
        ],
        [
            (
                kind,
                data["orders_per_s"],
                data["latency"]["p50_ms"],
                data["latency"]["p95_ms"],
                data["latency"]["p99_ms"],
                data["errors"],
                data["cpu_ms_per_order"].get("service"),
                data["cpu_ms_per_order"].get("emulator"),
                data["cpu_ms_per_order"].get("loadgen"),
                data["cpu_ms_per_order"].get("postgres"),
                f"{data['fraction_of_floor'] * 100:.1f}%",
            )
            for kind, data in runs.items()
        ],
    )
    result = {
        "sizes": size,
        "crypto_floor": floor,
        "runs": runs,
        "target": {"fraction_of_floor": 0.5},
    }
    write_result(options, NAME, result)
    return result
