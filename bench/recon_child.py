"""Reconciliation of a big bill in a process of its own, so its peak RSS is its own.

``python -m bench.recon_child DATABASE_URL BILL.gz SHA1 YYYY-MM-DD`` runs the real
``mppay.usecases.reconciliation.reconcile`` over the real database; the only stand-in is the
gateway, whose ``bill_entries`` streams the gzipped file from disk (in place of the download)
through the same ``BillDecoder`` (gunzip + SHA-1 check) and ``TradeBillParser`` the v3 adapter
uses. Prints one JSON line: wall time, peak RSS (VmHWM), rows and the summary.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

from bench.dataset import APPID, MCHID
from mppay.adapters.bills import bill_entries
from mppay.adapters.catalog_file import load_demo_catalog
from mppay.domain.wechat_facts import BillEntry
from mppay.store.db import create_engine
from mppay.store.uow import UnitOfWorkFactory
from mppay.usecases.context import ServiceContext
from mppay.usecases.reconciliation import reconcile
from mppay.wechatpay import SystemClock
from mppay.wechatpay.v3.bills import BillDecoder
from mppay.wechatpay.v3.models import TradeBill

READ_SIZE = 64 * 1024


class FileBillGateway:
    """A v3 gateway whose bill comes from a file; every other call is a bug here."""

    api_version = "v3"
    appid = APPID
    mchid = MCHID

    def __init__(self, path: Path, sha1: str) -> None:
        self.path = path
        self.bill = TradeBill.model_validate(
            {"hash_type": "SHA1", "hash_value": sha1, "download_url": f"file://{path}"}
        )

    def bill_entries(self, bill_date: date) -> AsyncIterator[BillEntry]:
        return bill_entries(self._chunks())

    async def _chunks(self) -> AsyncIterator[bytes]:
        decoder = BillDecoder(self.bill)
        with self.path.open("rb") as handle:
            while chunk := handle.read(READ_SIZE):
                for piece in decoder.feed(chunk):
                    yield piece
                await asyncio.sleep(0)
        for piece in decoder.finish():
            yield piece

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the bench gateway has no {name}: reconciliation needed WeChat")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def main(database_url: str, bill: Path, sha1: str, bill_date: date) -> dict[str, Any]:
    engine = create_engine(database_url)
    ctx = ServiceContext(
        uow=UnitOfWorkFactory(engine),
        gateways={"v3": FileBillGateway(bill, sha1)},  # type: ignore[dict-item]
        active_version="v3",
        login=None,  # type: ignore[arg-type]
        catalog=load_demo_catalog(),
        clock=SystemClock(),
        notify_base_url="http://127.0.0.1:8000",
    )
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    cpu_started = time.process_time()
    try:
        report = await reconcile(ctx, bill_date)
    finally:
        await engine.dispose()
    return {
        "wall_s": round(time.perf_counter() - started, 2),
        "cpu_s": round(time.process_time() - cpu_started, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_mb": round(rss_before, 1),
        "status": report.status,
        "bill_rows": report.bill_rows,
        "summary": report.summary,
    }


if __name__ == "__main__":
    url, path, digest, day = sys.argv[1:5]
    job = main(url, Path(path), digest, date.fromisoformat(day))
    try:  # the loop `mppay worker`, which runs the daily reconciliation, runs on
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        result = asyncio.run(job)
    else:
        result = uvloop.run(job)
    print(json.dumps(result))
