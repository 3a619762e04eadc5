"""Reconciliation of one day: WeChat's trade bill against our orders and refunds, both ways.

The bill is streamed (constant memory: rows are checked in batches against the database, and
only an 8-byte hash of each key seen is kept, in a sorted array). Nothing is changed before
the whole bill has been read and its digest checked. Discrepancies that WeChat's signed API
can settle (a payment or refund we missed) are fixed through the normal sync path and
recorded as FIXED. Orders paid within ``HOLD_WINDOW`` of midnight that are missing from this
bill are HELD for the next day's bill, not flagged. A re-run of a date replaces its results.
"""

from __future__ import annotations

import hashlib
import logging
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from mppay.domain.events import OrderEventType
from mppay.domain.identifiers import BEIJING
from mppay.domain.states import OrderStatus, RefundStatus
from mppay.domain.wechat_facts import BillEntry
from mppay.store.models import DiscrepancyRow, OrderRow, RefundRow
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import UpstreamUnavailable, UseCaseError
from mppay.usecases.ports import GatewayError, NoBill
from mppay.usecases.refunds import sync_refund
from mppay.usecases.trade_sync import refresh_order

__all__ = ["HOLD_WINDOW", "Kind", "ReconciliationReport", "reconcile"]

log = logging.getLogger(__name__)

HOLD_WINDOW = timedelta(minutes=15)
BATCH = 1000
MAX_STORED = 10_000


class Kind:
    MISSING_LOCALLY = "MISSING_LOCALLY"
    MISSING_AT_WECHAT = "MISSING_AT_WECHAT"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    STATUS_MISMATCH = "STATUS_MISMATCH"
    REFUND_MISSING_LOCALLY = "REFUND_MISSING_LOCALLY"
    REFUND_MISSING_AT_WECHAT = "REFUND_MISSING_AT_WECHAT"
    REFUND_AMOUNT_MISMATCH = "REFUND_AMOUNT_MISMATCH"
    REFUND_STATUS_MISMATCH = "REFUND_STATUS_MISMATCH"


@dataclass
class ReconciliationReport:
    bill_date: date
    status: str
    bill_rows: int = 0
    summary: dict[str, object] = field(default_factory=dict)
    discrepancies: list[DiscrepancyRow] = field(default_factory=list)

    @property
    def unexplained(self) -> int:
        return sum(1 for d in self.discrepancies if d.resolution == "OPEN")


def _key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class _SeenKeys:
    """A compact set of strings: sorted 8-byte hashes (8 MB per million keys)."""

    def __init__(self) -> None:
        self._values = array("Q")
        self._sorted = True

    def add(self, text: str) -> None:
        self._values.append(_key(text))
        self._sorted = False

    def __contains__(self, text: str) -> bool:
        if not self._sorted:
            self._values = array("Q", sorted(self._values))
            self._sorted = True
        value = _key(text)
        index = bisect_left(self._values, value)
        return index < len(self._values) and self._values[index] == value

    def __len__(self) -> int:
        return len(self._values)


@dataclass
class _Run:
    ctx: ServiceContext
    bill_date: date
    found: list[DiscrepancyRow] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    orders_to_fix: list[str] = field(default_factory=list)
    refunds_to_fix: list[str] = field(default_factory=list)
    seen_payments: _SeenKeys = field(default_factory=_SeenKeys)
    seen_refunds: _SeenKeys = field(default_factory=_SeenKeys)
    totals: Counter[str] = field(default_factory=Counter)

    def flag(
        self, kind: str, *, resolution: str = "OPEN", **values: str | None
    ) -> DiscrepancyRow | None:
        self.counts[kind] += 1
        self.counts[f"resolution:{resolution}"] += 1
        if len(self.found) >= MAX_STORED:
            return None
        row = DiscrepancyRow(kind=kind, resolution=resolution, **values)
        self.found.append(row)
        return row


async def reconcile(
    ctx: ServiceContext, bill_date: date, *, progress: Callable[[int], None] | None = None
) -> ReconciliationReport:
    """Reconcile ``bill_date`` (a Beijing calendar day) and store the run; return the report.

    Raises ``UseCaseError`` (UpstreamUnavailable) when the bill cannot be fetched completely;
    the run is then stored as FAILED with the reason.
    """
    gateway = ctx.gateway
    async with ctx.uow() as uow:
        run_row = await uow.reconciliations.start(bill_date, gateway.api_version, ctx.clock.now())
        await uow.commit()
    run = _Run(ctx, bill_date)
    rows = 0
    try:
        batch: list[BillEntry] = []
        async for entry in gateway.bill_entries(bill_date):
            batch.append(entry)
            if len(batch) >= BATCH:
                await _check_bill_batch(run, batch)
                rows += len(batch)
                batch = []
                if progress:
                    progress(rows)
        await _check_bill_batch(run, batch)
        rows += len(batch)
        if progress:
            progress(rows)
    except NoBill as exc:
        status = "NO_BILL"
        log.info("no bill for %s: %s", bill_date, exc.message)
    except GatewayError as exc:
        async with ctx.uow() as uow:
            await uow.reconciliations.fail(
                run_row.id, now=ctx.clock.now(), error=f"{exc.code or ''} {exc.message}"
            )
            await uow.commit()
        raise UpstreamUnavailable(
            "BILL_UNAVAILABLE", f"could not fetch the bill of {bill_date}: {exc.message}"
        ) from exc
    else:
        status = "DONE"
    await _check_local_side(run)
    await _apply_fixes(run)
    summary: dict[str, object] = {
        "bill_payments": run.totals["payments"],
        "bill_refunds": run.totals["refunds"],
        "bill_payment_total_fen": run.totals["payment_fen"],
        "bill_refund_total_fen": run.totals["refund_fen"],
        "matched": run.totals["matched"],
        "local_checked": run.totals["local_checked"],
        "by_kind": {k: v for k, v in run.counts.items() if not k.startswith("resolution:")},
        "fixed": run.counts["resolution:FIXED"],
        "held": run.counts["resolution:HELD"],
        "unexplained": run.counts["resolution:OPEN"],
    }
    async with ctx.uow() as uow:
        await uow.reconciliations.finish(
            run_row.id,
            status=status,
            now=ctx.clock.now(),
            bill_rows=rows,
            summary=summary,
            discrepancies=run.found,
        )
        await uow.commit()
    return ReconciliationReport(bill_date, status, rows, summary, run.found)


async def _check_bill_batch(run: _Run, batch: list[BillEntry]) -> None:
    payments = [e for e in batch if not e.is_refund]
    refunds = [e for e in batch if e.is_refund]
    async with run.ctx.uow(read_only=True) as uow:
        orders = await uow.orders.by_out_trade_nos([e.out_trade_no for e in payments])
        known_refunds = await uow.refunds.by_out_refund_nos([e.out_refund_no for e in refunds])
    for entry in payments:
        run.totals["payments"] += 1
        run.totals["payment_fen"] += entry.total_fen
        run.seen_payments.add(entry.out_trade_no)
        _check_payment(run, entry, orders.get(entry.out_trade_no))
    for entry in refunds:
        run.totals["refunds"] += 1
        run.totals["refund_fen"] += entry.refund_fen
        run.seen_refunds.add(entry.out_refund_no)
        _check_refund(run, entry, known_refunds.get(entry.out_refund_no))


def _check_payment(run: _Run, entry: BillEntry, order: OrderRow | None) -> None:
    ids = {"out_trade_no": entry.out_trade_no, "transaction_id": entry.transaction_id}
    if order is None:
        run.flag(
            Kind.MISSING_LOCALLY,
            theirs=f"paid {entry.total_fen} fen at {entry.trade_time.isoformat()}",
            **ids,
        )
        return
    if order.amount_total_fen != entry.total_fen:
        run.flag(
            Kind.AMOUNT_MISMATCH,
            ours=str(order.amount_total_fen),
            theirs=str(entry.total_fen),
            **ids,
        )
        return
    if not OrderStatus(order.status).is_paid:
        # WeChat's bill says paid; the signed order query will confirm and apply it.
        row = run.flag(Kind.STATUS_MISMATCH, ours=order.status, theirs="SUCCESS", **ids)
        if row is not None:
            row.detail = f"order {order.id}"
        run.orders_to_fix.append(order.id)
        return
    if order.transaction_id != entry.transaction_id:
        run.flag(
            Kind.STATUS_MISMATCH,
            ours=order.transaction_id,
            theirs=entry.transaction_id,
            detail="transaction_id differs",
            **ids,
        )
        return
    run.totals["matched"] += 1


def _check_refund(run: _Run, entry: BillEntry, refund: RefundRow | None) -> None:
    ids = {
        "out_trade_no": entry.out_trade_no,
        "out_refund_no": entry.out_refund_no,
        "transaction_id": entry.transaction_id,
    }
    if refund is None:
        run.flag(
            Kind.REFUND_MISSING_LOCALLY,
            theirs=f"refund {entry.refund_fen} fen {entry.refund_status}",
            **ids,
        )
        return
    if refund.amount_fen != entry.refund_fen:
        run.flag(
            Kind.REFUND_AMOUNT_MISMATCH,
            ours=str(refund.amount_fen),
            theirs=str(entry.refund_fen),
            **ids,
        )
        return
    if entry.refund_status == "SUCCESS" and refund.status != RefundStatus.SUCCESS:
        row = run.flag(
            Kind.REFUND_STATUS_MISMATCH, ours=refund.status, theirs=entry.refund_status, **ids
        )
        if row is not None:
            row.detail = f"refund {refund.id}"
        run.refunds_to_fix.append(refund.id)
        return
    run.totals["matched"] += 1


def _day_bounds(bill_date: date) -> tuple[datetime, datetime]:
    start = datetime.combine(bill_date, time(0), BEIJING)
    return start, start + timedelta(days=1)


async def _check_local_side(run: _Run) -> None:
    """Our paid orders / succeeded refunds of the day that the bill does not have."""
    start, end = _day_bounds(run.bill_date)
    previous = run.bill_date - timedelta(days=1)
    async with run.ctx.uow(read_only=True) as uow:
        held_orders = await uow.reconciliations.held(previous, Kind.MISSING_AT_WECHAT)
        held_refunds = await uow.reconciliations.held(previous, Kind.REFUND_MISSING_AT_WECHAT)
    for kind, held, fetch, seen in (
        (Kind.MISSING_AT_WECHAT, held_orders, "orders", run.seen_payments),
        (Kind.REFUND_MISSING_AT_WECHAT, held_refunds, "refunds", run.seen_refunds),
    ):
        after = ""
        while True:
            async with run.ctx.uow(read_only=True) as uow:
                if fetch == "orders":
                    page = await uow.orders.paid_between(
                        start - HOLD_WINDOW, end, after_id=after, limit=BATCH
                    )
                else:
                    page = await uow.refunds.succeeded_between(
                        start - HOLD_WINDOW, end, after_id=after, limit=BATCH
                    )
            if not page:
                break
            after = page[-1][0]
            for _, key, at in page:
                run.totals["local_checked"] += 1
                if key in seen:
                    continue
                ids = {"out_refund_no": key} if fetch == "refunds" else {"out_trade_no": key}
                if at < start:
                    # Yesterday's tail: only a problem if yesterday's run held it for today.
                    if key in held:
                        run.flag(
                            kind, ours=f"at {at.isoformat()}", detail="in neither day's bill", **ids
                        )
                    continue
                resolution = "HELD" if at >= end - HOLD_WINDOW else "OPEN"
                run.flag(kind, resolution=resolution, ours=f"at {at.isoformat()}", **ids)


async def _apply_fixes(run: _Run) -> None:
    by_detail = {row.detail: row for row in run.found if row.detail}
    for order_id in run.orders_to_fix:
        try:
            order = await refresh_order(
                run.ctx, order_id, source="reconciliation", include_closed=True
            )
        except UseCaseError as exc:
            log.warning("reconciliation could not fix order %s: %s", order_id, exc.message)
            continue
        row = by_detail.get(f"order {order_id}")
        if OrderStatus(order.status).is_paid and row is not None:
            row.resolution = "FIXED"
            run.counts["resolution:OPEN"] -= 1
            run.counts["resolution:FIXED"] += 1
            async with run.ctx.uow() as uow:
                await uow.events.append(
                    order_id,
                    OrderEventType.RECONCILED_FIX,
                    at=run.ctx.clock.now(),
                    source="reconciliation",
                    detail={
                        "bill_date": run.bill_date.isoformat(),
                        "fixed": "paid at WeChat, recorded as paid",
                    },
                )
                await uow.commit()
    for refund_id in run.refunds_to_fix:
        try:
            refund = await sync_refund(run.ctx, refund_id)
        except (UseCaseError, GatewayError) as exc:
            log.warning("reconciliation could not fix refund %s: %s", refund_id, exc)
            continue
        row = by_detail.get(f"refund {refund_id}")
        if refund.status == RefundStatus.SUCCESS and row is not None:
            row.resolution = "FIXED"
            run.counts["resolution:OPEN"] -= 1
            run.counts["resolution:FIXED"] += 1
