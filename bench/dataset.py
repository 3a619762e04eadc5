"""A day of a big shop, bulk-loaded into PostgreSQL with COPY, and its WeChat trade bill.

``orders`` orders, all paid on ``bill_date`` (a Beijing day), by ``orders // 10`` users with a
skewed activity (user ``k`` is picked with probability ~ 1/sqrt(k): a few users have thousands
of orders, most have a handful), one item each, and one ``order.sync`` outbox job each: most
DONE, 1 % QUEUED for later, 0.1 % QUEUED and due now (a backlog), a few RUNNING with an
expired lease. The bill has exactly ``orders`` data rows: every order except the last
``UNBILLED`` ones, plus ``UNBILLED`` rows WeChat has and we do not (so reconciliation finds
discrepancies both ways), in WeChat's "ALL" format (spec §2.10) built with the emulator's
own column layout.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from mppay.domain.identifiers import BEIJING
from mppay.emulator.bills import HEADERS, SUMMARY_HEADER, fee_fen, fee_text, yuan

CHUNK = 50_000
UNBILLED = 100
PRODUCTS = [
    ("latte", "拿铁咖啡", 1800),
    ("croissant", "黄油可颂", 1250),
    ("beans", "云南咖啡豆", 6800),
]
APPID = "wxbench0000000001"
MCHID = "1900000001"


@dataclass(frozen=True)
class Dataset:
    orders: int
    bill_date: date
    seed: int = 20261129

    @property
    def users(self) -> int:
        return max(10, self.orders // 10)

    @property
    def unbilled(self) -> int:
        return min(UNBILLED, max(1, self.orders // 1000))

    def day_start(self) -> datetime:
        return datetime.combine(self.bill_date, time(0), BEIJING)

    # --- identities shared by the database rows and the bill ------------------------------

    def order_id(self, i: int) -> str:
        # Same shape as new_order_id(), and like it unrelated to time (a hash of the index).
        return "ord_" + hashlib.blake2b(i.to_bytes(8, "big"), digest_size=10).hexdigest()

    def out_trade_no(self, i: int, paid_at: datetime) -> str:
        return "MP" + paid_at.astimezone(BEIJING).strftime("%Y%m%d%H%M%S") + f"{i:012d}"

    def transaction_id(self, i: int) -> str:
        return f"420000{i % 10000:04d}{self.bill_date:%Y%m%d}{i:010d}"

    def openid(self, user: int) -> str:
        return f"obench{user:012d}"

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every order, in paid_at order, with what both sides know of it."""
        rng = random.Random(self.seed)
        start = self.day_start()
        step = 86_400 / self.orders
        for i in range(self.orders):
            paid_at = start + timedelta(seconds=int(i * step) + 1)
            user = int(self.users * rng.random() ** 2) + 1
            product = PRODUCTS[i % len(PRODUCTS)]
            quantity = 1 + (i % 3 == 0)
            yield {
                "i": i,
                "user": user,
                "paid_at": paid_at,
                "created_at": paid_at - timedelta(seconds=5 + i % 55),
                "product": product,
                "quantity": quantity,
                "amount": product[2] * quantity,
                "out_trade_no": self.out_trade_no(i, paid_at),
            }


# --- PostgreSQL bulk load -----------------------------------------------------------------


async def load(dataset: Dataset, dsn: str, *, now: datetime) -> dict[str, Any]:
    """COPY the dataset into a migrated, empty database; returns row counts."""
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "users",
            records=[
                (dataset.openid(u), None, now - timedelta(days=30), now)
                for u in range(1, dataset.users + 1)
            ],
            columns=["openid", "unionid", "created_at", "last_login_at"],
        )
        assert await connection.fetchval("SELECT max(id) FROM users") == dataset.users
        rng = random.Random(dataset.seed + 1)
        orders: list[tuple[Any, ...]] = []
        items: list[tuple[Any, ...]] = []
        jobs: list[tuple[Any, ...]] = []
        counts = {"orders": 0, "order_items": 0, "jobs": 0, "jobs_due": 0, "jobs_queued": 0}
        for row in dataset.rows():
            i = row["i"]
            order_id = dataset.order_id(i)
            product_id, name, price = row["product"]
            description = name
            orders.append(
                (
                    order_id,
                    row["out_trade_no"],
                    row["user"],
                    dataset.openid(row["user"]),
                    APPID,
                    MCHID,
                    "v3",
                    description,
                    "PAID",
                    row["amount"],
                    "CNY",
                    0,
                    0,
                    dataset.transaction_id(i),
                    row["created_at"],
                    row["paid_at"],
                    row["created_at"] + timedelta(minutes=30),
                    row["paid_at"],
                    None,
                    row["created_at"] + timedelta(seconds=1),
                    False,
                    None,
                )
            )
            items.append((order_id, product_id, name, price, row["quantity"], row["amount"]))
            draw = rng.random()
            if draw < 0.001:
                status, run_at, dedupe = (
                    "QUEUED",
                    now - timedelta(seconds=rng.randint(1, 600)),
                    f"sync:{order_id}",
                )
                counts["jobs_due"] += 1
            elif draw < 0.011:
                status, run_at, dedupe = (
                    "QUEUED",
                    now + timedelta(seconds=rng.randint(30, 1800)),
                    f"sync:{order_id}",
                )
                counts["jobs_queued"] += 1
            elif draw < 0.0111:
                status, run_at, dedupe = "RUNNING", now - timedelta(minutes=5), f"sync:{order_id}"
            else:
                status, run_at, dedupe = "DONE", row["paid_at"], None
            locked_until = now - timedelta(minutes=3) if status == "RUNNING" else None
            jobs.append(
                (
                    "order.sync",
                    json.dumps({"order_id": order_id, "step": 1}),
                    dedupe,
                    status,
                    run_at,
                    1,
                    20,
                    "bench-worker" if status == "RUNNING" else None,
                    locked_until,
                    None,
                    row["created_at"],
                    now,
                )
            )
            if len(orders) >= CHUNK:
                await _flush(connection, orders, items, jobs, counts)
        await _flush(connection, orders, items, jobs, counts)
        for table in ("users", "orders", "order_items", "jobs"):
            await connection.execute(f"ANALYZE {table}")
        return counts
    finally:
        await connection.close()


_ORDER_COLUMNS = [
    "id", "out_trade_no", "user_id", "openid", "appid", "mchid", "api_version", "description",
    "status", "amount_total_fen", "currency", "refund_reserved_fen", "refunded_fen",
    "transaction_id", "created_at", "updated_at", "expires_at", "paid_at", "closed_at",
    "first_prepay_at", "needs_review", "review_reason",
]  # fmt: skip
_ITEM_COLUMNS = ["order_id", "product_id", "name", "unit_price_fen", "quantity", "line_total_fen"]
_JOB_COLUMNS = [
    "kind", "payload", "dedupe_key", "status", "run_at", "attempts", "max_attempts",
    "locked_by", "locked_until", "last_error", "created_at", "updated_at",
]  # fmt: skip


async def _flush(
    connection: Any,
    orders: list[tuple[Any, ...]],
    items: list[tuple[Any, ...]],
    jobs: list[tuple[Any, ...]],
    counts: dict[str, int],
) -> None:
    if not orders:
        return
    await connection.copy_records_to_table("orders", records=orders, columns=_ORDER_COLUMNS)
    await connection.copy_records_to_table("order_items", records=items, columns=_ITEM_COLUMNS)
    await connection.copy_records_to_table("jobs", records=jobs, columns=_JOB_COLUMNS)
    counts["orders"] += len(orders)
    counts["order_items"] += len(items)
    counts["jobs"] += len(jobs)
    orders.clear()
    items.clear()
    jobs.clear()


# --- the trade bill -----------------------------------------------------------------------


def write_bill(dataset: Dataset, path: Path) -> dict[str, Any]:
    """The gzipped "ALL" bill of ``bill_date``; returns its SHA-1 (of the uncompressed bytes),
    sizes and line count. Streams: memory stays flat whatever the size."""
    digest = hashlib.sha1()  # noqa: S324 - WeChat's bill digest is SHA-1
    raw_bytes = 0
    lines = 0
    settle_total = 0
    fee_total = 0
    with gzip.open(path, "wb", compresslevel=1) as out:

        def emit(text: str) -> None:
            nonlocal raw_bytes
            data = (text + "\r\n").encode("utf-8")
            digest.update(data)
            raw_bytes += len(data)
            out.write(data)

        emit(HEADERS["ALL"])
        billed = dataset.orders - dataset.unbilled
        buffer: list[str] = []
        for row in dataset.rows():
            i = row["i"]
            if i >= billed:
                continue
            buffer.append(_bill_line(dataset, row, dataset.openid(row["user"])))
            if len(buffer) >= 10_000:
                emit("\r\n".join(buffer))
                buffer.clear()
            settle_total += row["amount"]
            fee_total += fee_fen(row["amount"])
            lines += 1
        # Payments WeChat has that we never recorded (another system, a lost order...).
        end = dataset.day_start() + timedelta(hours=23, minutes=30)
        for k in range(dataset.unbilled):
            amount = 990 + k
            row = {
                "i": dataset.orders + k,
                "user": 1,
                "paid_at": end,
                "product": PRODUCTS[0],
                "amount": amount,
                "out_trade_no": f"MPUNKNOWN{k:019d}",
            }
            buffer.append(_bill_line(dataset, row, dataset.openid(1)))
            settle_total += amount
            fee_total += fee_fen(amount)
            lines += 1
        if buffer:
            emit("\r\n".join(buffer))
        emit(SUMMARY_HEADER)
        summary = [
            str(lines),
            yuan(settle_total),
            "0.00",
            "0.00",
            fee_text(fee_total),
            yuan(settle_total),
            "0.00",
        ]
        emit(",".join("`" + field for field in summary))
    return {
        "path": str(path),
        "lines": lines,
        "uncompressed_bytes": raw_bytes,
        "gzip_bytes": path.stat().st_size,
        "sha1": digest.hexdigest(),
    }


def _bill_line(dataset: Dataset, row: dict[str, Any], openid: str) -> str:
    amount = row["amount"]
    fields = [
        row["paid_at"].astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        APPID,
        MCHID,
        "0",
        "",
        dataset.transaction_id(row["i"]),
        row["out_trade_no"],
        openid,
        "JSAPI",
        "SUCCESS",
        "OTHERS",
        "CNY",
        yuan(amount),
        "0.00",
        "0",
        "0",
        "0.00",
        "0.00",
        "",
        "",
        row["product"][1],
        "",
        fee_text(fee_fen(amount)),
        "0.60%",
        yuan(amount),
        "0.00",
        "",
    ]
    return ",".join("`" + field for field in fields)


def default_bill_date(now: datetime | None = None) -> date:
    """Yesterday in Beijing: the newest day whose bill WeChat would have."""
    current = (now or datetime.now(UTC)).astimezone(BEIJING)
    return current.date() - timedelta(days=1)
