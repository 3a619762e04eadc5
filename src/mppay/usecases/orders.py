"""Creating and reading a user's orders. Prices come from the catalog, never from the client."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from mppay.domain.catalog import PricingError, RequestedLine, price_order
from mppay.domain.events import OrderEventType
from mppay.domain.identifiers import new_order_id, new_out_trade_no
from mppay.domain.states import OrderStatus
from mppay.store.models import OrderItemRow, OrderRow, UserRow
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Conflict, InvalidInput, NotFound, UpstreamUnavailable
from mppay.usecases.followups import enqueue_order_expiry
from mppay.usecases.trade_sync import refresh_order

__all__ = ["CreatedOrder", "OrderPage", "create_order", "get_user_order", "list_user_orders"]

DESCRIPTION_LIMIT = 127


@dataclass(frozen=True)
class CreatedOrder:
    order: OrderRow
    replayed: bool


@dataclass(frozen=True)
class OrderPage:
    items: list[OrderRow]
    next_cursor: str | None


def _request_hash(lines: list[RequestedLine]) -> str:
    canonical = json.dumps(
        [[line.product_id, line.quantity] for line in lines], separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _describe(names: list[str]) -> str:
    """WeChat shows ``description`` in the user's bill: "A" or "A 等3件" (max 127 chars)."""
    text = names[0] if len(names) == 1 else f"{names[0]} 等{len(names)}件"
    return text[:DESCRIPTION_LIMIT]


async def create_order(
    ctx: ServiceContext,
    user: UserRow,
    lines: list[RequestedLine],
    idempotency_key: str | None,
) -> CreatedOrder:
    """Price ``lines`` from the catalog and store a PENDING order.

    With an ``idempotency_key``: the same key and body give back the same order
    (``replayed=True``); the same key with another body raises ``Conflict``
    (IDEMPOTENCY_KEY_REUSED). Raises ``InvalidInput`` for unknown products or bad quantities,
    ``Conflict`` (TOO_MANY_PENDING_ORDERS) when the user already holds
    ``ctx.max_pending_orders_per_user`` open orders (a replay is answered before that check).
    """
    try:
        priced, total_fen = price_order(ctx.catalog, lines)
    except PricingError as exc:
        raise InvalidInput(exc.code, exc.message) from exc
    request_hash = _request_hash(lines)
    if idempotency_key is not None:
        replay = await _replay(ctx, user.id, idempotency_key, request_hash)
        if replay is not None:
            return CreatedOrder(replay, replayed=True)

    gateway = ctx.gateway
    now = ctx.clock.now()
    order = OrderRow(
        id=new_order_id(),
        out_trade_no=new_out_trade_no(now),
        user_id=user.id,
        openid=user.openid,
        appid=gateway.appid,
        mchid=gateway.mchid,
        api_version=gateway.api_version,
        description=_describe([line.name for line in priced]),
        status=OrderStatus.PENDING,
        amount_total_fen=total_fen,
        currency=ctx.currency,
        refund_reserved_fen=0,
        refunded_fen=0,
        created_at=now,
        updated_at=now,
        expires_at=now + ctx.order_ttl,
        needs_review=False,
        items=[
            OrderItemRow(
                product_id=line.product_id,
                name=line.name,
                unit_price_fen=line.unit_price_fen,
                quantity=line.quantity,
                line_total_fen=line.line_total_fen,
            )
            for line in priced
        ],
    )
    async with ctx.uow() as uow:
        # A soft cap: two concurrent creates may both pass it, which only matters to abuse
        # that is then held to the cap plus the request's own concurrency.
        open_orders = await uow.orders.count_open_for_user(user.id, now=now, ttl=ctx.order_ttl)
        if open_orders >= ctx.max_pending_orders_per_user:
            raise Conflict(
                "TOO_MANY_PENDING_ORDERS",
                f"{open_orders} orders are waiting for payment; pay or cancel one first",
            )
        await uow.orders.insert(order)
        await uow.events.append(
            order.id,
            OrderEventType.CREATED,
            at=now,
            source="api",
            detail={"amount_total_fen": total_fen, "lines": len(priced)},
        )
        await enqueue_order_expiry(uow, order.id, order.expires_at, now)
        if idempotency_key is not None:
            claimed = await uow.idempotency.claim(
                user.id, idempotency_key, request_hash, order.id, now
            )
            if not claimed:
                # Another request with this key won the race: drop ours, answer with theirs.
                await uow.rollback()
                replay = await _replay(ctx, user.id, idempotency_key, request_hash)
                assert replay is not None
                return CreatedOrder(replay, replayed=True)
        await uow.commit()
    return CreatedOrder(order, replayed=False)


async def _replay(
    ctx: ServiceContext, user_id: int, key: str, request_hash: str
) -> OrderRow | None:
    async with ctx.uow(read_only=True) as uow:
        seen = await uow.idempotency.get(user_id, key)
        if seen is None:
            return None
        if seen.request_hash != request_hash:
            raise Conflict(
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was used with a different request body",
            )
        return await uow.orders.get(seen.order_id)


async def get_user_order(
    ctx: ServiceContext, user: UserRow, order_id: str, *, refresh: bool = False
) -> OrderRow:
    """The caller's own order (``NotFound`` for anyone else's); ``refresh`` asks WeChat first.

    Concurrent refreshes of one order share one WeChat query, and one that changes nothing
    writes nothing. A failed refresh still returns the stored order: the client shows
    "pending" honestly.
    """
    async with ctx.uow(read_only=True) as uow:
        order = await uow.orders.get_for_user(order_id, user.id)
    if order is None:
        raise NotFound("ORDER_NOT_FOUND", f"no order {order_id}")
    if refresh and order.status == OrderStatus.PENDING:
        try:
            return await ctx.order_refreshes.run(
                order.id,
                lambda: refresh_order(ctx, order.id, source="user_refresh", record_unchanged=False),
            )
        except UpstreamUnavailable:
            return order
    return order


def _encode_cursor(order: OrderRow) -> str:
    return f"{order.created_at.isoformat()}|{order.id}"


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) ``_encode_cursor`` wrote; ``InvalidInput`` for anything else.

    A cursor is client input: one naive, or one whose offset moves it out of years 1-9999 in
    UTC, is refused here, before the database column would raise on it.
    """
    try:
        created, order_id = cursor.split("|", 1)
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is None or not order_id:
            raise ValueError("not a cursor of ours")
        return moment.astimezone(UTC), order_id
    except (ValueError, OverflowError):
        raise InvalidInput("INVALID_CURSOR", "cursor is not one this API returned") from None


async def list_user_orders(
    ctx: ServiceContext, user: UserRow, *, limit: int, cursor: str | None
) -> OrderPage:
    """The caller's orders, newest first, ``limit`` per page with an opaque ``next_cursor``."""
    before = _decode_cursor(cursor) if cursor else None
    async with ctx.uow(read_only=True) as uow:
        rows = await uow.orders.list_for_user(user.id, limit=limit + 1, before=before)
    page, more = rows[:limit], len(rows) > limit
    return OrderPage(items=page, next_cursor=_encode_cursor(page[-1]) if more and page else None)
