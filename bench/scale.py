"""Benchmark 4, scale: how the cost grows with the data.

With ``orders`` (1,000,000) orders bulk-loaded into a migrated PostgreSQL database
(``bench.dataset``), the p99 of the queries the service runs per request, through the real
repositories and units of work: order lookup by id (``OrderRepository.get``), by id for its
user (``get_for_user``, the Mini Program's GET), by ``out_trade_no`` (every notification), the
user's order list (``list_for_user``, first page and the next one), and the outbox claim
(``JobRepository.claim``: the order-sync job's query, rolled back each time so the backlog
stays). Then reconciliation of a bill with as many lines as orders, in a child process:
wall time and peak RSS.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.common import Databases, Options, console, latency_summary, print_table, write_result
from bench.dataset import Dataset, default_bill_date, load, write_bill

NAME = "scale"


def sizes(options: Options) -> dict[str, Any]:
    if options.quick:
        return {"orders": options.scale_orders or 10_000, "samples": 200}
    return {"orders": options.scale_orders or 1_000_000, "samples": 2000}


async def time_queries(url: str, samples: int) -> dict[str, Any]:
    from mppay.store.db import create_engine
    from mppay.store.uow import UnitOfWorkFactory

    engine = create_engine(url)
    uow = UnitOfWorkFactory(engine)
    try:
        async with engine.connect() as connection:
            picked = (
                await connection.execute(
                    text("SELECT id, user_id, out_trade_no FROM orders ORDER BY md5(id) LIMIT :n"),
                    {"n": samples},
                )
            ).all()
        now = datetime.now(UTC)

        async def get(row: Any) -> None:
            async with uow(read_only=True) as u:
                assert await u.orders.get(row.id) is not None

        async def get_for_user(row: Any) -> None:
            async with uow(read_only=True) as u:
                assert await u.orders.get_for_user(row.id, row.user_id) is not None

        async def by_out_trade_no(row: Any) -> None:
            async with uow(read_only=True) as u:
                assert await u.orders.get_by_out_trade_no(row.out_trade_no) is not None

        cursors: dict[int, tuple[datetime, str]] = {}

        async def list_first(row: Any) -> None:
            async with uow(read_only=True) as u:
                page = await u.orders.list_for_user(row.user_id, limit=21)
            assert page
            if len(page) == 21:
                cursors[row.user_id] = (page[19].created_at, page[19].id)

        async def list_next(row: Any) -> None:
            before = cursors.get(row.user_id)
            async with uow(read_only=True) as u:
                await u.orders.list_for_user(row.user_id, limit=21, before=before)

        async def claim(row: Any) -> None:
            async with uow() as u:  # a write transaction, rolled back on exit
                await u.jobs.claim("bench", now, lease=timedelta(seconds=60), limit=4)

        queries: dict[str, Callable[[Any], Awaitable[None]]] = {
            "order_lookup (get)": get,
            "order_lookup_for_user (get_for_user)": get_for_user,
            "notification_lookup (get_by_out_trade_no)": by_out_trade_no,
            "user_orders_first_page (list_for_user)": list_first,
            "user_orders_next_page (list_for_user, cursor)": list_next,
            "order_sync_claim (JobRepository.claim)": claim,
        }
        results: dict[str, Any] = {}
        for name, query in queries.items():
            for row in picked[:20]:  # warm the statement cache and the buffer pool
                await query(row)
            durations = []
            for row in picked:
                started = time.perf_counter()
                await query(row)
                durations.append(time.perf_counter() - started)
            results[name] = {"samples": len(durations), **latency_summary(durations)}
        async with uow() as u:
            claimed = await u.jobs.claim("bench", now, lease=timedelta(seconds=60), limit=4)
            results["order_sync_claim (JobRepository.claim)"]["claimed_per_call"] = len(claimed)
        results["plans"] = await explain(engine, picked[0])
        return results
    finally:
        await engine.dispose()


async def explain(engine: Any, row: Any) -> dict[str, str]:
    """The planner's choice for the list and claim queries (does it use the indexes?)."""
    statements = {
        "list_for_user": (
            "SELECT * FROM orders WHERE user_id = :u ORDER BY created_at DESC, id DESC LIMIT 21",
            {"u": row.user_id},
        ),
        "claim_candidates": (
            "SELECT id FROM jobs WHERE (status = 'QUEUED' AND run_at <= now()) OR "
            "(status = 'RUNNING' AND locked_until < now()) ORDER BY run_at LIMIT 4 "
            "FOR UPDATE SKIP LOCKED",
            {},
        ),
    }
    plans = {}
    async with engine.connect() as connection:
        for name, (sql, params) in statements.items():
            rows = await connection.execute(text("EXPLAIN (ANALYZE, BUFFERS OFF) " + sql), params)
            plans[name] = "\n".join(r[0] for r in rows)
        await connection.rollback()
    return plans


async def run(options: Options, databases: Databases) -> dict[str, Any]:
    size = sizes(options)
    console.rule(f"[bold]4. scale: {size['orders']:,} orders in PostgreSQL")
    if not options.postgres_url:
        console.print("[yellow]skipped: no PostgreSQL[/]")
        result = {"skipped": "no PostgreSQL server (MPPAY_BENCH_DATABASE_URL)", "sizes": size}
        write_result(options, NAME, result)
        return result
    from mppay.store.migrate import run_sync_upgrade

    dataset = Dataset(size["orders"], default_bill_date())
    url = await databases.new("postgresql", "scale")
    try:
        await asyncio.to_thread(run_sync_upgrade, url)
        began = time.perf_counter()
        counts = await load(dataset, url, now=datetime.now(UTC))
        load_s = time.perf_counter() - began
        console.print(f"loaded {counts} in {load_s:.1f} s")
        began = time.perf_counter()
        bill = await asyncio.to_thread(
            write_bill, dataset, options.work_dir / f"bill-{dataset.bill_date}.csv.gz"
        )
        bill_s = time.perf_counter() - began
        console.print(
            f"bill: {bill['lines']:,} lines, {bill['uncompressed_bytes'] / 1e6:.0f} MB "
            f"({bill['gzip_bytes'] / 1e6:.0f} MB gzip) in {bill_s:.1f} s"
        )
        queries = await time_queries(url, size["samples"])
        reconciliation = await reconcile_in_child(url, bill, dataset)
    finally:
        await databases.drop(url)

    plans = queries.pop("plans")
    print_table(
        f"queries with {size['orders']:,} orders ({size['samples']} samples each, one connection)",
        ["query", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        [(name, q["p50_ms"], q["p95_ms"], q["p99_ms"], q["max_ms"]) for name, q in queries.items()],
    )
    summary = reconciliation.get("summary", {})
    print_table(
        f"reconciliation of a {bill['lines']:,}-line bill",
        ["wall s", "CPU s", "peak RSS MB", "rows", "matched", "unexplained", "held", "status"],
        [
            (
                reconciliation.get("wall_s"),
                reconciliation.get("cpu_s"),
                reconciliation.get("peak_rss_mb"),
                reconciliation.get("bill_rows"),
                summary.get("matched"),
                summary.get("unexplained"),
                summary.get("held"),
                reconciliation.get("status"),
            )
        ],
    )
    expected_matched = dataset.orders - dataset.unbilled
    result = {
        "sizes": size,
        "bill_date": dataset.bill_date.isoformat(),
        "loaded": counts,
        "load_s": round(load_s, 1),
        "bill": {k: v for k, v in bill.items() if k != "path"},
        "bill_generation_s": round(bill_s, 1),
        "queries": queries,
        "plans": plans,
        "reconciliation": reconciliation,
        "reconciliation_correct": summary.get("matched") == expected_matched
        and reconciliation.get("bill_rows") == bill["lines"],
        "target": {"reconciliation_wall_s": 60, "reconciliation_peak_rss_mb": 300},
    }
    write_result(options, NAME, result)
    return result


async def reconcile_in_child(url: str, bill: dict[str, Any], dataset: Dataset) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "bench.recon_child",
        url,
        bill["path"],
        bill["sha1"],
        dataset.bill_date.isoformat(),
    ]
    began = time.perf_counter()
    completed = await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, text=True, timeout=1800, check=False
    )
    elapsed = time.perf_counter() - began
    if completed.returncode != 0:
        raise RuntimeError(f"reconciliation failed: {completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(elapsed, 2)  # with interpreter start-up and imports
    return result
