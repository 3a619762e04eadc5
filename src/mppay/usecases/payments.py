"""Turning an order into signed ``wx.requestPayment`` parameters (JSAPI prepay).

No database transaction is held while WeChat is called: the attempt is recorded first, the
call is made, and the answer is recorded after. Re-asking with the same ``out_trade_no`` and
the same parameters is how WeChat lets a merchant get a fresh prepay_id, so a retry after a
timeout or an expired prepay_id can never charge twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mppay.domain.events import OrderEventType
from mppay.domain.states import OrderStatus
from mppay.domain.timing import MIN_PAY_WINDOW, prepay_expires_at, prepay_reusable
from mppay.store.models import UserRow
from mppay.store.rows import PayableOrder
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Conflict, NotFound, UpstreamRefused, UpstreamUnavailable
from mppay.usecases.followups import enqueue_order_sync
from mppay.usecases.ports import (
    AlreadyClosed,
    AlreadyPaid,
    OutcomeUnknown,
    PrepayCommand,
    Refused,
)
from mppay.usecases.trade_sync import refresh_order

__all__ = ["PaymentStart", "pay_order"]


@dataclass(frozen=True)
class PaymentStart:
    order_id: str
    params: dict[str, str]


class _Payable(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...


def ensure_payable(order: _Payable, ctx: ServiceContext) -> None:
    status = OrderStatus(order.status)
    if status.is_paid:
        raise Conflict("ORDER_ALREADY_PAID", "this order is already paid")
    if status is OrderStatus.CLOSED:
        raise Conflict("ORDER_CLOSED", "this order is closed; create a new order")
    if order.expires_at - ctx.clock.now() < MIN_PAY_WINDOW:
        raise Conflict("ORDER_EXPIRED", "this order has expired; create a new order")


async def pay_order(
    ctx: ServiceContext, user: UserRow, order_id: str, *, client_ip: str
) -> PaymentStart:
    """Signed params for ``wx.requestPayment``; reuses a prepay_id that is still fresh.

    Raises ``NotFound`` (not the caller's order), ``Conflict`` (ORDER_ALREADY_PAID,
    ORDER_CLOSED, ORDER_EXPIRED), ``UpstreamRefused`` (WeChat refused the order) or
    ``UpstreamUnavailable`` (no usable answer from WeChat: safe to retry).

    One transaction before the WeChat call (read the order and its newest prepay; record the
    attempt, the sync job and the event) and one after (the prepay id and its event).
    """
    async with ctx.uow() as uow:
        order = await uow.orders.payable_for_user(order_id, user.id)
        if order is None:
            raise NotFound("ORDER_NOT_FOUND", f"no order {order_id}")
        ensure_payable(order, ctx)
        gateway = ctx.gateway_for(order.api_version)
        now = ctx.clock.now()
        if (
            order.prepay_id is not None
            and order.prepay_expires_at is not None
            and prepay_reusable(order.prepay_expires_at, now)
        ):
            return PaymentStart(order.id, gateway.payment_params(order.prepay_id))
        attempt_id = await uow.attempts.start(order.id, order.api_version, now)
        await uow.orders.set_first_prepay(order.id, now)
        # Recovery for a notification that never comes starts as soon as WeChat knows the order.
        await enqueue_order_sync(uow, order.id, now)
        await uow.events.append(order.id, OrderEventType.PREPAY_REQUESTED, at=now, source="api")
        await uow.commit()

    command = PrepayCommand(
        out_trade_no=order.out_trade_no,
        description=order.description,
        amount_total_fen=order.amount_total_fen,
        currency=order.currency,
        payer_openid=order.openid,
        notify_url=ctx.notify_url(order.api_version, "payments"),
        time_expire=order.expires_at,
        client_ip=client_ip,
    )
    try:
        prepay_id = await gateway.prepay(command)
    except (AlreadyPaid, AlreadyClosed) as exc:
        await _record_failure(ctx, order, attempt_id, "FAILED", exc.code, exc.message)
        fresh = await refresh_order(ctx, order.id, source="prepay_refused")
        ensure_payable(fresh, ctx)
        raise Conflict("ORDER_NOT_PAYABLE", exc.message) from exc
    except Refused as exc:
        await _record_failure(ctx, order, attempt_id, "FAILED", exc.code, exc.message)
        raise UpstreamRefused(
            "WECHAT_REFUSED",
            f"WeChat Pay refused the order: {exc.code or ''} {exc.message}".strip(),
        ) from exc
    except OutcomeUnknown as exc:
        await _record_failure(ctx, order, attempt_id, "UNKNOWN", exc.code, exc.message)
        raise UpstreamUnavailable(
            "WECHAT_UNAVAILABLE", "WeChat Pay did not answer; it is safe to try paying again"
        ) from exc

    obtained_at = ctx.clock.now()
    async with ctx.uow() as uow:
        await uow.attempts.update(
            attempt_id,
            status="OBTAINED",
            prepay_id=prepay_id,
            obtained_at=obtained_at,
            expires_at=prepay_expires_at(obtained_at),
        )
        await uow.events.append(
            order.id,
            OrderEventType.PREPAY_OBTAINED,
            at=obtained_at,
            source="wechat",
            detail={"prepay_id": prepay_id, "api_version": order.api_version},
        )
        await uow.commit()
    return PaymentStart(order.id, gateway.payment_params(prepay_id))


async def _record_failure(
    ctx: ServiceContext,
    order: PayableOrder,
    attempt_id: int,
    status: str,
    code: str | None,
    message: str,
) -> None:
    event = (
        OrderEventType.PREPAY_FAILED
        if status == "FAILED"
        else OrderEventType.PREPAY_OUTCOME_UNKNOWN
    )
    async with ctx.uow() as uow:
        await uow.attempts.update(
            attempt_id, status=status, error_code=code, error_message=message[:500]
        )
        await uow.events.append(
            order.id,
            event,
            at=ctx.clock.now(),
            source="wechat",
            detail={"code": code, "message": message[:500]},
        )
        await uow.commit()
