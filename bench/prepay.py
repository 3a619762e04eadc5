"""Benchmark 1, the prepay path: orders turned into signed ``wx.requestPayment`` params.

Concurrent simulated Mini Program clients log in once, then loop "create order + pay"
against ``mppay serve --real`` with ``mppay emulator`` in its own process. Four runs, the
same load (``bench.load.run_orders``, the same number of clients) each:

- mppay on SQLite (one process);
- the benchmark peer (``bench.peer``: Flask + ``wechatpayv3`` + ``sqlite3`` under gunicorn
  gthread 2x8) against the same emulator process, right after, on its own SQLite file;
- mppay on PostgreSQL with ``--workers 1``, then ``--workers 2`` (same emulator, same database).

Reported: orders/s, p50/p95/p99 of one order (both requests), CPU milliseconds per order by
process (the service's summed over its process tree: gunicorn's master and workers, mppay's
supervisor and children), orders/s as a fraction of the cryptographic floor measured in the
same run (``bench.crypto_floor``), mppay / peer on SQLite and ``--workers 2`` / ``--workers 1``.
"""

from __future__ import annotations

from typing import Any

from bench import crypto_floor
from bench.common import (
    Databases,
    Options,
    Stack,
    Target,
    close_clients,
    console,
    login_clients,
    print_table,
    write_result,
)
from bench.load import run_orders
from bench.peer import process as peer_process

NAME = "prepay"
TARGET_OVER_PEER = 3.0
TARGET_WORKERS_RATIO = 1.7


def sizes(options: Options) -> dict[str, Any]:
    if options.quick:
        return {"clients": 16, "warmup_s": 0.5, "duration_s": 2.0, "floor_s": 0.3}
    return {"clients": 50, "warmup_s": 3.0, "duration_s": 20.0, "floor_s": 2.0}


async def measure(
    target: Target, size: dict[str, Any], floor: dict[str, Any], prefix: str
) -> dict[str, Any]:
    """Log ``clients`` in at ``target``, drive them, return the run's JSON."""
    clients = await login_clients(target, size["clients"], prefix=prefix)
    try:
        result = await run_orders(
            target, clients, warmup=size["warmup_s"], duration=size["duration_s"]
        )
    finally:
        await close_clients(clients)
    data = result.to_json()
    data["fraction_of_floor"] = round(result.orders_per_s / floor["floor_orders_per_s"], 4)
    return data


async def run_sqlite(
    options: Options, databases: Databases, size: dict[str, Any], floor: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """mppay, then the peer against the same emulator: (mppay's run, the peer's run)."""
    url = await databases.new("sqlite", "prepay_sq")
    stack = Stack(options, "sqlite", url, options.work_dir / "prepay-sqlite").start()
    try:
        mppay = await measure(stack, size, floor, "mppay")
        mppay["workers"] = 1
        mppay["problems"] = stack.check_logs()
        absent = peer_process.missing()
        if absent:
            note = f"{', '.join(absent)} not importable: install the bench extra (pip install -e '.[bench]')"
            console.print(f"[yellow]peer skipped: {note}[/]")
            return mppay, {"skipped": note}
        peer = peer_process.Peer(stack, options.work_dir / "prepay-peer").start()
        try:
            loop_ok = peer.check_paid()
            data = await measure(peer, size, floor, "peer")
            data["server"] = peer.server
            data["loop_check_paid"] = loop_ok
            data["problems"] = peer.check_logs()
            if not loop_ok:
                data["problems"].append("loop check: the paid order never turned PAID")
        finally:
            peer.stop()
    finally:
        stack.stop()
        await databases.drop(url)
    return mppay, data


async def run_postgresql(
    options: Options, databases: Databases, size: dict[str, Any], floor: dict[str, Any]
) -> dict[int, dict[str, Any]]:
    """mppay with ``--workers 1``, then ``--workers 2``, same emulator and database."""
    url = await databases.new("postgresql", "prepay_pg")
    stack = Stack(options, "postgresql", url, options.work_dir / "prepay-postgresql").start()
    by_workers: dict[int, dict[str, Any]] = {}
    try:
        for workers in (1, 2):
            if workers != stack.workers:
                stack.restart_service(workers=workers)
            data = await measure(stack, size, floor, f"pg{workers}w")
            data["workers"] = workers
            data["problems"] = stack.check_logs()
            by_workers[workers] = data
    finally:
        stack.stop()
        await databases.drop(url)
    return by_workers


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 2) if denominator else None


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
    rows: list[tuple[str, dict[str, Any]]] = []
    runs["sqlite"], peer = await run_sqlite(options, databases, size, floor)
    rows.append(("mppay, SQLite", runs["sqlite"]))
    if "skipped" not in peer:
        rows.append(("peer, SQLite", peer))
    workers: dict[str, Any] = {}
    if options.postgres_url:
        by_workers = await run_postgresql(options, databases, size, floor)
        runs["postgresql"] = by_workers[1]
        rows += [
            (f"mppay, PG, {n} worker{'s' if n > 1 else ''}", data) for n, data in by_workers.items()
        ]
        workers = {
            "runs": {str(n): data for n, data in by_workers.items()},
            "ratio": ratio(by_workers[2]["orders_per_s"], by_workers[1]["orders_per_s"]),
            "target": TARGET_WORKERS_RATIO,
        }
    print_report(size, rows)
    if "skipped" not in peer:
        console.print(f"peer: Flask + wechatpayv3 + sqlite3 under {peer['server']} (bench/peer/)")
    comparison: dict[str, Any] = {"target": TARGET_OVER_PEER}
    if "skipped" in peer:
        comparison["skipped"] = peer["skipped"]
    else:
        comparison["mppay_over_peer"] = ratio(runs["sqlite"]["orders_per_s"], peer["orders_per_s"])
        comparison["peer_loop_check_paid"] = peer["loop_check_paid"]
        console.print(
            f"mppay / peer on SQLite: {comparison['mppay_over_peer']}x "
            f"(target ≥ {TARGET_OVER_PEER:g}x); peer's loop check (one order PAID through "
            f"/notify and the SDK's callback()): {'ok' if peer['loop_check_paid'] else 'FAILED'}"
        )
    if workers:
        console.print(
            f"mppay on PostgreSQL, --workers 2 / --workers 1: {workers['ratio']}x "
            f"(target ≥ {TARGET_WORKERS_RATIO:g}x when the service is the bottleneck)"
        )
    result = {
        "sizes": size,
        "crypto_floor": floor,
        "runs": runs,
        "peer": peer,
        "comparison": comparison,
        "workers": workers or {"skipped": "no PostgreSQL"},
        "target": {"fraction_of_floor": 0.5},
    }
    write_result(options, NAME, result)
    return result


def print_report(size: dict[str, Any], rows: list[tuple[str, dict[str, Any]]]) -> None:
    print_table(
        f"prepay path: {size['clients']} clients, {size['duration_s']:.0f} s window",
        [
            "service, database",
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
                label,
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
            for label, data in rows
        ],
    )
