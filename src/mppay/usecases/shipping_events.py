"""What WeChat tells us about shipping: message pushes, get_order and get_order_list.

- ``handle_push``: a verified push is stored once (unique ``dedupe_key``) and applied in the
  same transaction; a duplicate is acknowledged and changes nothing. A settlement push moves
  the shipment to SETTLED (with its confirmation); the push at shipping only notes the
  estimated settlement; reminders raise alerts.
- ``refresh_shipping``: asks WeChat (get_order) and moves our state forward (never back).
- ``watch_shipping``: shipments still waiting for their upload past the alert threshold raise
  one alert each (job ``shipping.watch``, rescheduling itself).
- ``sync_shipping``: ``mppay shipping sync``: pages through get_order_list.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mppay.domain.events import OrderEventType
from mppay.domain.shipping import ShippingState, advance_from_wechat
from mppay.store.models import OrderRow
from mppay.store.repos.shipping import ShippingRepository
from mppay.store.uow import UnitOfWork
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import NotFound, UpstreamUnavailable
from mppay.usecases.ports import OutcomeUnknown, Refused
from mppay.usecases.shipping import setup_of, shipping_view
from mppay.usecases.shipping_ports import PushEvent, WeChatShipping

__all__ = [
    "SETTLEMENT",
    "WATCH_SHIPPING",
    "SyncReport",
    "enqueue_watch",
    "handle_push",
    "refresh_shipping",
    "sync_shipping",
    "watch_shipping",
]

log = logging.getLogger(__name__)

SETTLEMENT = "trade_manage_order_settlement"
REMIND_SHIPPING = "trade_manage_remind_shipping"
REMIND_ACCESS = "trade_manage_remind_access_api"
WATCH_SHIPPING = "shipping.watch"


def _at(value: object) -> datetime | None:
    if isinstance(value, int | str) and str(value).isdigit() and int(value) > 0:
        return datetime.fromtimestamp(int(value), UTC)
    return None


async def handle_push(ctx: ServiceContext, event: PushEvent) -> str:
    """Store and apply one verified push exactly once; the outcome (for logs and metrics)."""
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        repo = ShippingRepository(uow.session)
        order = (
            await repo.order_by_transaction(event.transaction_id) if event.transaction_id else None
        )
        outcome = "applied" if order is not None else "no_order"
        if event.event not in (SETTLEMENT, REMIND_SHIPPING, REMIND_ACCESS):
            outcome = "ignored"
        stored = await repo.record_push(
            dedupe_key=event.dedupe_key[:200],
            event=event.event[:64],
            transaction_id=(event.transaction_id or None) and event.transaction_id[:32],
            order_id=order.id if order is not None else None,
            outcome=outcome,
            body=event.body,
            now=now,
        )
        if not stored:
            return "duplicate"
        if order is not None and outcome == "applied":
            await _apply(ctx, uow, repo, order, event, now)
        await uow.commit()
    if event.event == REMIND_ACCESS:
        ctx.observer.alert("WeChat asks for shipping uploads", msg=event.fields.get("msg"))
    elif event.event == REMIND_SHIPPING:
        ctx.observer.alert(
            "WeChat reminds: an order is waiting for its shipping",
            transaction_id=event.transaction_id,
        )
    return outcome


async def _apply(
    ctx: ServiceContext,
    uow: UnitOfWork,
    repo: ShippingRepository,
    order: OrderRow,
    event: PushEvent,
    now: datetime,
) -> None:
    fields = event.fields
    if event.event == REMIND_SHIPPING:
        await uow.events.append(
            order.id, OrderEventType.SHIPPING_REMINDED, at=now, source="message_push",
            detail={"msg": str(fields.get("msg", ""))[:200]},
        )  # fmt: skip
        return
    settled_at = _at(fields.get("settlement_time"))
    if settled_at is None:
        estimate = _at(fields.get("estimated_settlement_time"))
        await uow.events.append(
            order.id, OrderEventType.SHIPPING_SHIPPED, at=now, source="message_push",
            detail={"estimated_settlement_time": estimate.isoformat() if estimate else None},
        )  # fmt: skip
        return
    confirmed_at = _at(fields.get("confirm_receive_time")) or settled_at
    moved = await repo.move(
        order.id,
        to=ShippingState.SETTLED.value,
        from_states=[s.value for s in ShippingState if s is not ShippingState.SETTLED],
        confirmed_at=confirmed_at,
        settled_at=settled_at,
        updated_at=now,
    )
    await uow.events.append(
        order.id,
        OrderEventType.SHIPPING_SETTLED,
        at=now,
        source="message_push",
        detail={
            "settlement_time": settled_at.isoformat(),
            "confirm_receive_method": fields.get("confirm_receive_method"),
            "confirm_receive_time": confirmed_at.isoformat(),
            "state_changed": moved,
        },
    )


async def refresh_shipping(ctx: ServiceContext, order: OrderRow) -> dict[str, object]:
    """Ask WeChat about the order's shipping, move our state forward, return the view."""
    setup = setup_of(ctx)
    async with ctx.uow(read_only=True) as uow:
        shipment = await ShippingRepository(uow.session).get(order.id)
    if shipment is None or not order.transaction_id:
        return shipping_view(order, shipment)
    if shipment.state in (ShippingState.NOT_REQUIRED, ShippingState.SETTLED):
        return shipping_view(order, shipment)
    try:
        theirs = await setup.gateway.get_order(order.transaction_id)
    except (Refused, OutcomeUnknown) as exc:
        raise UpstreamUnavailable(
            "WECHAT_UNAVAILABLE", "could not ask WeChat about the shipping; try again"
        ) from exc
    async with ctx.uow() as uow:
        repo = ShippingRepository(uow.session)
        await _advance(ctx, uow, repo, order.id, theirs, source="refresh")
        fresh = await repo.get(order.id)
        await uow.commit()
    return shipping_view(order, fresh)


async def _advance(
    ctx: ServiceContext,
    uow: UnitOfWork,
    repo: ShippingRepository,
    order_id: str,
    theirs: WeChatShipping,
    *,
    source: str,
) -> bool:
    shipment = await repo.get(order_id)
    if shipment is None:
        return False
    current = ShippingState(shipment.state)
    target = advance_from_wechat(current, theirs.order_state)
    if target is current:
        return False
    now = ctx.clock.now()
    values: dict[str, object] = {"updated_at": now}
    if target in (ShippingState.CONFIRMED, ShippingState.SETTLED) and not shipment.confirmed_at:
        values["confirmed_at"] = now
    if target is ShippingState.SETTLED:
        values["settled_at"] = now
    moved = await repo.move(order_id, to=target.value, from_states=[current.value], **values)
    if moved:
        kind = (
            OrderEventType.SHIPPING_CONFIRMED
            if target is ShippingState.CONFIRMED
            else OrderEventType.SHIPPING_SYNCED
        )
        await uow.events.append(
            order_id, kind, at=now, source=source,
            detail={"from": current.value, "to": target.value, "order_state": theirs.order_state},
        )  # fmt: skip
    return moved


async def enqueue_watch(uow: UnitOfWork, now: datetime) -> None:
    await uow.jobs.enqueue(WATCH_SHIPPING, {}, run_at=now, now=now, dedupe_key=WATCH_SHIPPING)


async def watch_shipping(ctx: ServiceContext) -> int:
    """Alert once for each shipment waiting past the threshold; how many were alerted."""
    setup = setup_of(ctx)
    now = ctx.clock.now()
    before = now - timedelta(seconds=setup.alert_after_seconds)
    async with ctx.uow() as uow:
        repo = ShippingRepository(uow.session)
        waiting = await repo.waiting_since(before)
        for shipment, _, _ in waiting:
            await repo.update(shipment.order_id, alerted_at=now)
            await uow.events.append(
                shipment.order_id, OrderEventType.SHIPPING_OVERDUE, at=now, source="shipping_watch",
                detail={"waiting_since": shipment.created_at.isoformat()},
            )  # fmt: skip
        await uow.commit()
    for shipment, out_trade_no, transaction_id in waiting:
        ctx.observer.alert(
            "paid order still waiting for its shipping upload (money frozen at WeChat)",
            order_id=shipment.order_id,
            out_trade_no=out_trade_no,
            transaction_id=transaction_id,
        )
    return len(waiting)


@dataclass
class SyncReport:
    seen: int = 0
    unknown: int = 0
    advanced: int = 0
    disagreements: list[str] = field(default_factory=list)


async def sync_shipping(ctx: ServiceContext, *, max_pages: int = 1000) -> SyncReport:
    """Reconcile our shipping states with ``get_order_list`` (forward moves only).

    An order WeChat still lists as 1 (待发货) that we hold as UPLOADED or later is reported
    as a disagreement (our upload may have been lost), not changed.
    """
    setup = setup_of(ctx)
    report = SyncReport()
    last_index: str | None = None
    for _ in range(max_pages):
        try:
            orders, last_index, more = await setup.gateway.list_orders(last_index=last_index)
        except (Refused, OutcomeUnknown) as exc:
            raise UpstreamUnavailable("WECHAT_UNAVAILABLE", f"get_order_list: {exc}") from exc
        async with ctx.uow() as uow:
            repo = ShippingRepository(uow.session)
            for theirs in orders:
                report.seen += 1
                order = await repo.order_by_out_trade_no(theirs.out_trade_no)
                if order is None:
                    report.unknown += 1
                    continue
                if await _advance(ctx, uow, repo, order.id, theirs, source="shipping_sync"):
                    report.advanced += 1
                shipment = await repo.get(order.id)
                if (
                    shipment is not None
                    and theirs.order_state == 1
                    and shipment.state not in (ShippingState.PENDING_UPLOAD, "NOT_REQUIRED")
                ):
                    report.disagreements.append(
                        f"{order.out_trade_no}: WeChat says 待发货, we say {shipment.state}"
                    )
            await uow.commit()
        if not more:
            break
    return report


async def shipping_of(ctx: ServiceContext, order_id: str) -> Mapping[str, object]:
    """The shipping view of one order (NotFound if unknown)."""
    async with ctx.uow(read_only=True) as uow:
        order = await uow.orders.get(order_id, with_items=False)
        if order is None:
            raise NotFound("ORDER_NOT_FOUND", f"no order {order_id}")
        shipment = await ShippingRepository(uow.session).get(order_id)
    return {"order_id": order_id, **shipping_view(order, shipment)}


def push_body(fields: Mapping[str, object]) -> str:
    return json.dumps(dict(fields), ensure_ascii=False, sort_keys=True)[:20000]
