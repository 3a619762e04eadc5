"""Benchmark 2, upstream latency: the prepay path while every WeChat API call takes 150 ms more.

The emulator's fault knob ``api_latency_ms`` delays every API call (``PUT /sandbox/faults``).
An async service keeps many orders in flight while it waits, so throughput should grow with
the number of clients until the CPU, not the waiting, is the limit. Reported against a run
without latency on the same service in the same run.
"""

from __future__ import annotations

from typing import Any

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

NAME = "latency"
LATENCY_MS = 150


def sizes(options: Options) -> dict[str, Any]:
    if options.quick:
        return {"baseline_clients": 10, "clients": [5, 20, 50], "warmup_s": 1.0, "duration_s": 2.0}
    return {
        "baseline_clients": 50,
        "clients": [50, 200, 500],
        "warmup_s": 3.0,
        "duration_s": 15.0,
    }


async def run(options: Options, databases: Databases) -> dict[str, Any]:
    size = sizes(options)
    console.rule(f"[bold]2. upstream latency ({LATENCY_MS} ms per WeChat call)")
    # PostgreSQL is what a deployment with many clients runs; SQLite when there is none.
    kind = "postgresql" if options.postgres_url else "sqlite"
    url = await databases.new(kind, "latency")
    stack = Stack(options, kind, url, options.work_dir / f"latency-{kind}").start()
    runs: list[dict[str, Any]] = []
    try:
        clients = await login_clients(stack, max(size["clients"] + [size["baseline_clients"]]))
        try:
            baseline = await run_orders(
                stack,
                clients[: size["baseline_clients"]],
                warmup=size["warmup_s"],
                duration=size["duration_s"],
            )
            runs.append({"latency_ms": 0, **baseline.to_json()})
            stack.set_faults(api_latency_ms=LATENCY_MS)
            for count in size["clients"]:
                result = await run_orders(
                    stack, clients[:count], warmup=size["warmup_s"], duration=size["duration_s"]
                )
                runs.append({"latency_ms": LATENCY_MS, **result.to_json()})
        finally:
            stack.set_faults()
            await close_clients(clients)
        problems = stack.check_logs()
    finally:
        stack.stop()
        await databases.drop(url)

    base = runs[0]["orders_per_s"] or 1.0
    for data in runs:
        data["ratio_to_no_latency"] = round(data["orders_per_s"] / base, 3)
    print_table(
        f"upstream latency on {kind}: {size['duration_s']:.0f} s windows",
        [
            "WeChat latency",
            "clients",
            "orders/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "ratio to no latency",
        ],
        [
            (
                f"{data['latency_ms']} ms",
                data["clients"],
                data["orders_per_s"],
                data["latency"]["p50_ms"],
                data["latency"]["p99_ms"],
                data["errors"],
                f"{data['ratio_to_no_latency']:.2f}",
            )
            for data in runs
        ],
    )
    at_200 = next((d for d in runs[1:] if d["clients"] == size["clients"][1]), runs[-1])
    result = {
        "database": kind,
        "sizes": size,
        "runs": runs,
        "problems": problems,
        "target": {"clients": size["clients"][1], "ratio_to_no_latency": 0.8},
        "ratio_at_target_clients": at_200["ratio_to_no_latency"],
    }
    write_result(options, NAME, result)
    return result
