"""Read models for operators: order search and the full timeline of one order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mppay.store.models import (
    DiscrepancyRow,
    NotificationRow,
    OrderEventRow,
    OrderRow,
    PaymentAttemptRow,
    ReconciliationRunRow,
    RefundRow,
)
from mppay.store.repos.orders import OrderFilter
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import NotFound

__all__ = [
    "OrderDossier",
    "OrderFilter",
    "get_order_dossier",
    "get_reconciliation",
    "list_reconciliations",
    "search_orders",
]


@dataclass(frozen=True)
class OrderDossier:
    order: OrderRow
    attempts: list[PaymentAttemptRow]
    refunds: list[RefundRow]
    notifications: list[NotificationRow]
    events: list[OrderEventRow]


async def search_orders(
    ctx: ServiceContext, criteria: OrderFilter, *, limit: int, offset: int
) -> list[OrderRow]:
    async with ctx.uow(read_only=True) as uow:
        return await uow.orders.search(criteria, limit=limit, offset=offset)


async def get_order_dossier(ctx: ServiceContext, order_id: str) -> OrderDossier:
    """Everything we know about one order, in the order it happened."""
    async with ctx.uow(read_only=True) as uow:
        order = await uow.orders.get(order_id)
        if order is None:
            raise NotFound("ORDER_NOT_FOUND", f"no order {order_id}")
        return OrderDossier(
            order=order,
            attempts=await uow.attempts.for_order(order_id),
            refunds=await uow.refunds.for_order(order_id),
            notifications=await uow.notifications.for_order(order_id, order.out_trade_no),
            events=await uow.events.for_order(order_id),
        )


async def list_reconciliations(ctx: ServiceContext, *, limit: int) -> list[ReconciliationRunRow]:
    async with ctx.uow(read_only=True) as uow:
        return await uow.reconciliations.recent(limit=limit)


async def get_reconciliation(
    ctx: ServiceContext, bill_date: date
) -> tuple[ReconciliationRunRow, list[DiscrepancyRow]]:
    async with ctx.uow(read_only=True) as uow:
        run = await uow.reconciliations.get(bill_date)
        if run is None:
            raise NotFound("RECONCILIATION_NOT_FOUND", f"no reconciliation for {bill_date}")
        return run, await uow.reconciliations.discrepancies(run.id)
