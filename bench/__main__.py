"""``python -m bench [--quick] [--only NAME ...]``: run the benchmarks, print tables, write JSON.

PostgreSQL parts use the server named by ``MPPAY_BENCH_DATABASE_URL`` (or
``MPPAY_TEST_DATABASE_URL``, which the Makefile sets); they are skipped when neither is set
or the server cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import latency, notifications, prepay, scale
from bench.common import Databases, Options, console, postgres_reachable

BENCHMARKS = {
    "prepay": prepay.run,
    "latency": latency.run,
    "notifications": notifications.run,
    "scale": scale.run,
}
RESULTS = Path(__file__).with_name("results")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="a few seconds each, small data (the smoke test)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS, help="where the JSON results go"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("MPPAY_BENCH_DATABASE_URL")
        or os.environ.get("MPPAY_TEST_DATABASE_URL"),
        help="a PostgreSQL server URL (any database on it); benchmark databases are "
        "created and dropped on that server",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL parts")
    parser.add_argument(
        "--scale-orders", type=int, default=None, help="orders in the scale benchmark"
    )
    parser.add_argument(
        "--keep-work-dir", action="store_true", help="keep logs and generated bills"
    )
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> int:
    postgres_url = None if args.no_postgres else args.database_url
    if postgres_url and not await postgres_reachable(postgres_url):
        console.print(f"[yellow]PostgreSQL at {postgres_url} is not reachable: skipping it[/]")
        postgres_url = None
    if not postgres_url:
        console.print(
            "[yellow]no PostgreSQL: the PostgreSQL runs and the scale benchmark are skipped[/]"
        )
    work_dir = Path(tempfile.mkdtemp(prefix="mppay-bench-"))
    options = Options(
        quick=args.quick,
        results_dir=args.results_dir,
        work_dir=work_dir,
        postgres_url=postgres_url,
        scale_orders=args.scale_orders,
    )
    databases = Databases(options)
    started = time.perf_counter()
    failed: list[str] = []
    try:
        for name in args.only or list(BENCHMARKS):
            begun = time.perf_counter()
            try:
                await BENCHMARKS[name](options, databases)
            except Exception as exc:  # report and go on with the next benchmark
                failed.append(name)
                console.print_exception()
                console.print(f"[red]{name} failed: {exc}[/]")
            console.print(f"[dim]{name}: {time.perf_counter() - begun:.0f} s[/]")
    finally:
        if postgres_url:
            await databases.drop_all()
        if args.keep_work_dir:
            console.print(f"work dir kept: {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    console.print(f"total {time.perf_counter() - started:.0f} s")
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}[/]")
        return 1
    return 0


def run(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.run(main(args))
    return uvloop.run(main(args))


if __name__ == "__main__":
    sys.exit(run())
